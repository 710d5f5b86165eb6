"""Seed 5.1.1, handling messaging events: on_start, on_sendable and on_message.

Connects to ``--url``, sends one message to ``--address`` and receives it back, printing each
event as it happens. Run a broker first: ``python -m amq_python.broker``.
"""

from __future__ import annotations

import argparse

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleHandler(MessagingHandler):
    """Prints the three most common events."""

    def __init__(self, url: str, address: str) -> None:
        super().__init__()
        self.url = url
        self.address = address
        self.sent = False

    def on_start(self, event):
        print("The container event loop has started")
        conn = event.container.connect(self.url)
        event.container.create_sender(conn, self.address)
        event.container.create_receiver(conn, self.address)

    def on_sendable(self, event):
        print("A message can be sent")
        if not self.sent:
            event.sender.send(Message("hello"))
            self.sent = True

    def on_message(self, event):
        print("A message is received")
        event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--address", default="examples", help="the queue to use")
    args = parser.parse_args()
    Container(ExampleHandler(args.url, args.address)).run()


if __name__ == "__main__":
    main()
