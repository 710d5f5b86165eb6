"""Seed 5.3.3, receiving messages: ``create_receiver`` and ``on_message``.

Receives ``--count`` messages from ``--address`` ("jobs") at ``--url``, printing each.
"""

from __future__ import annotations

import argparse

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleHandler(MessagingHandler):
    """Prints messages until it has ``count`` of them."""

    def __init__(self, url: str, address: str, count: int) -> None:
        super().__init__()
        self.url = url
        self.address = address
        self.count = count
        self.received = 0

    def on_start(self, event):
        conn = event.container.connect(self.url)
        event.container.create_receiver(conn, self.address)

    def on_message(self, event):
        print("Received message", event.message.body, "from", event.receiver.source.address)
        self.received += 1
        if self.received == self.count:
            event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--address", default="jobs", help="the queue to receive from")
    parser.add_argument("--count", type=int, default=10, help="how many messages")
    args = parser.parse_args()
    Container(ExampleHandler(args.url, args.address, args.count)).run()


if __name__ == "__main__":
    main()
