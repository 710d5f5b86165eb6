"""Seed 5.1.1, accessing event objects: which attributes an event carries, and which are null.

Sends one message to ``--address`` through the broker at ``--url`` and, for the sendable and
message events, prints each of ``event.container``, ``connection``, ``session``, ``sender``,
``receiver``, ``delivery`` and ``message`` as set or None.
"""

from __future__ import annotations

import argparse

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container

ATTRIBUTES = ("container", "connection", "session", "sender", "receiver", "delivery", "message")


def describe(name, event):
    """One line: the event name, then each attribute as 'set' or 'None'."""
    found = [f"{a}={'set' if getattr(event, a) is not None else 'None'}" for a in ATTRIBUTES]
    return f"{name}: " + " ".join(found)


class ExampleHandler(MessagingHandler):
    """Prints which event objects are present."""

    def __init__(self, url: str, address: str) -> None:
        super().__init__()
        self.url = url
        self.address = address
        self.sent = False

    def on_start(self, event):
        conn = event.container.connect(self.url)
        event.container.create_receiver(conn, self.address)
        event.container.create_sender(conn, self.address)

    def on_sendable(self, event):
        if not self.sent:
            print(describe("on_sendable", event))
            event.sender.send(Message("hello"))
            self.sent = True

    def on_message(self, event):
        print(describe("on_message", event))
        event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--address", default="examples", help="the queue to use")
    args = parser.parse_args()
    Container(ExampleHandler(args.url, args.address)).run()


if __name__ == "__main__":
    main()
