"""Seed 5.3.2, tracking sent messages: ``on_accepted`` and ``on_rejected`` per delivery.

Sends ``--count`` messages to ``--address`` and prints the outcome of each delivery, matched
to the delivery ``send()`` returned.
"""

from __future__ import annotations

import argparse

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleHandler(MessagingHandler):
    """Remembers each delivery's number and reports its outcome."""

    def __init__(self, url: str, address: str, count: int) -> None:
        super().__init__()
        self.url = url
        self.address = address
        self.count = count
        self.deliveries = {}
        self.settled = 0

    def on_start(self, event):
        conn = event.container.connect(self.url)
        event.container.create_sender(conn, self.address)

    def on_sendable(self, event):
        while len(self.deliveries) < self.count and event.sender.credit > 0:
            message = Message(f"tracked {len(self.deliveries)}")
            delivery = event.sender.send(message)
            self.deliveries[delivery] = len(self.deliveries)

    def on_accepted(self, event):
        print("Delivery", self.deliveries[event.delivery], "is accepted")
        self.done(event)

    def on_rejected(self, event):
        print("Delivery", self.deliveries[event.delivery], "is rejected")
        self.done(event)

    def done(self, event):
        self.settled += 1
        if self.settled == self.count:
            event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--address", default="jobs", help="the queue to send to")
    parser.add_argument("--count", type=int, default=3, help="how many messages")
    args = parser.parse_args()
    Container(ExampleHandler(args.url, args.address, args.count)).run()


if __name__ == "__main__":
    main()
