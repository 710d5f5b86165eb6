"""Seed 5.3.1, sending messages: ``Sender.send()`` in ``on_sendable``.

Sends ``--count`` messages to ``--address`` ("jobs") at ``--url`` and exits once the broker
has accepted them all.
"""

from __future__ import annotations

import argparse

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleHandler(MessagingHandler):
    """Sends while there is credit; closes after the last acceptance."""

    def __init__(self, url: str, address: str, count: int) -> None:
        super().__init__()
        self.url = url
        self.address = address
        self.count = count
        self.sent = 0
        self.accepted = 0

    def on_start(self, event):
        conn = event.container.connect(self.url)
        event.container.create_sender(conn, self.address)

    def on_sendable(self, event):
        while self.sent < self.count and event.sender.credit > 0:
            message = Message(f"job {self.sent}")
            event.sender.send(message)
            self.sent += 1

    def on_accepted(self, event):
        self.accepted += 1
        if self.accepted == self.count:
            print(f"sent {self.count} messages to {self.address}")
            event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--address", default="jobs", help="the queue to send to")
    parser.add_argument("--count", type=int, default=10, help="how many messages")
    args = parser.parse_args()
    Container(ExampleHandler(args.url, args.address, args.count)).run()


if __name__ == "__main__":
    main()
