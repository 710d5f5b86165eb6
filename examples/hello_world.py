"""Hello world through a broker: send "Hello World!" to an address, receive it back, print it.

A receiver and a sender on one connection, to the same address on the broker at ``--url``
(default ``amqp://127.0.0.1:5672``). ``scripts/demo.sh`` starts the embedded broker
(``python -m amq_python.broker``) and runs this against it. Run by hand with:
``python -m amq_python.broker --port 5672 &`` then ``python examples/hello_world.py``.
"""

from __future__ import annotations

import argparse

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class HelloWorld(MessagingHandler):
    """Sends one message to ``address`` and prints it when it comes back."""

    def __init__(self, url: str, address: str) -> None:
        super().__init__()
        self.url = url
        self.address = address
        self.sent = False

    def on_start(self, event):
        conn = event.container.connect(self.url, reconnect=False)
        event.container.create_receiver(conn, self.address)
        event.container.create_sender(conn, self.address)

    def on_sendable(self, event):
        if not self.sent:
            event.sender.send(Message(body="Hello World!"))
            self.sent = True

    def on_message(self, event):
        print(event.message.body)
        event.connection.close()

    def on_transport_error(self, event):
        raise SystemExit(f"hello_world: cannot reach {self.url}: {event.transport.condition}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--address", default="examples", help="the address to send to")
    args = parser.parse_args()
    Container(HelloWorld(args.url, args.address)).run()


if __name__ == "__main__":
    main()
