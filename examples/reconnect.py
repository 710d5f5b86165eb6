"""Reconnect with a custom delay policy (seed 5.2.3): the connection and its links come back.

Connects to ``--url`` with ``reconnect=ExampleReconnect()``, opens a sender and a receiver on
``--address`` and sends one message a second, printing each one that comes back, each loss
(``on_disconnected``) and each (re)connection. Stop the peer and start it again to watch the
same connection re-attach its links; ``--count`` messages end the program.
Run with: ``python examples/reconnect.py --url amqp://127.0.0.1:5672``.
"""

from __future__ import annotations

import argparse
from typing import Any

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleReconnect:
    """The seed's policy: 0.1 s, then doubling up to 10 s; reset() before each outage."""

    def __init__(self) -> None:
        self.delay = 0.0

    def reset(self) -> None:
        self.delay = 0.0

    def next(self) -> float:
        self.delay = 0.1 if self.delay == 0 else min(10, 2 * self.delay)
        return self.delay


class Ticker(MessagingHandler):
    """Sends a numbered message every second and prints what returns and what happens."""

    def __init__(self, url: str, address: str, count: int) -> None:
        super().__init__()
        self.url = url
        self.address = address
        self.count = count
        self.sent = 0
        self.received = 0

    def on_start(self, event: Any) -> None:
        self.connection = event.container.connect(self.url, reconnect=ExampleReconnect())
        self.sender = event.container.create_sender(self.connection, self.address)
        event.container.create_receiver(self.connection, self.address)
        event.container.schedule(1, self)

    def on_timer_task(self, event: Any) -> None:
        if self.sender.credit > 0 and self.sent < self.count:
            self.sent += 1
            self.sender.send(Message(body=f"tick {self.sent}"))
        event.container.schedule(1, self)

    def on_connection_opened(self, event: Any) -> None:
        print("connected to", event.connection.connected_address)

    def on_disconnected(self, event: Any) -> None:
        print("disconnected:", event.transport.condition)

    def on_message(self, event: Any) -> None:
        print("received", event.message.body)
        self.received += 1
        if self.received == self.count:
            event.container.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the peer to connect to")
    parser.add_argument("--address", default="examples", help="the address to send to")
    parser.add_argument("--count", type=int, default=30, help="messages before exiting")
    args = parser.parse_args()
    Container(Ticker(args.url, args.address, args.count)).run()


if __name__ == "__main__":
    main()
