"""Hello world: a sender and a receiver in one program, through its own listener.

The program listens on a loopback port (``--url``; a free port by default), connects to
itself, opens a sender to the address ``examples``, and sends "Hello World!". The listening
side receives it on the link the sender opened, prints it, and everything closes.
Run with: ``python examples/hello_world.py``.
"""

from __future__ import annotations

import argparse

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class HelloWorld(MessagingHandler):
    """Listens, sends "Hello World!" to itself, and prints it when it arrives."""

    def __init__(self, url: str, address: str) -> None:
        super().__init__()
        self.url = url
        self.address = address
        self.acceptor = None
        self.sent = False

    def on_start(self, event):
        self.acceptor = event.container.listen(self.url)
        conn = event.container.connect(f"amqp://127.0.0.1:{self.acceptor.port}")
        event.container.create_sender(conn, self.address)

    def on_link_opening(self, event):
        event.link.target.address = event.link.remote_target.address

    def on_sendable(self, event):
        if not self.sent:
            event.sender.send(Message(body="Hello World!"))
            self.sent = True

    def on_message(self, event):
        print(event.message.body)

    def on_accepted(self, event):
        event.connection.close()
        self.acceptor.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:0", help="where to listen")
    parser.add_argument("--address", default="examples", help="the address to send to")
    args = parser.parse_args()
    Container(HelloWorld(args.url, args.address)).run()


if __name__ == "__main__":
    main()
