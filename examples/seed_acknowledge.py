"""Seed 5.3.4, acknowledging received messages: ``delivery.update(ACCEPTED or REJECTED)``.

Receives ``--count`` messages from ``--address`` with ``auto_accept=False``; a message whose
body contains "bad" fails processing and is rejected, the others are accepted.
"""

from __future__ import annotations

import argparse

from amq_python import ACCEPTED, REJECTED
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


def process_message(message):
    """The application's work: here, refuse bodies that contain "bad"."""
    if "bad" in str(message.body):
        raise ValueError(f"cannot process {message.body!r}")
    print("processed", message.body)


class ExampleHandler(MessagingHandler):
    """Accepts what it could process, rejects the rest."""

    def __init__(self, url: str, address: str, count: int) -> None:
        super().__init__(auto_accept=False)
        self.url = url
        self.address = address
        self.count = count
        self.received = 0

    def on_start(self, event):
        conn = event.container.connect(self.url)
        event.container.create_receiver(conn, self.address)

    def on_message(self, event):
        try:
            process_message(event.message)
            event.delivery.update(ACCEPTED)
        except Exception as error:
            print("rejected:", error)
            event.delivery.update(REJECTED)
        event.delivery.settle()
        self.received += 1
        if self.received == self.count:
            event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--address", default="jobs", help="the queue to receive from")
    parser.add_argument("--count", type=int, default=3, help="how many messages")
    args = parser.parse_args()
    Container(ExampleHandler(args.url, args.address, args.count)).run()


if __name__ == "__main__":
    main()
