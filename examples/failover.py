"""Failover (seed 5.2.4): one connection over a ring of URLs, moving on when one fails.

Connects with ``urls=[...]`` (give ``--url`` once per peer), opens a sender and a receiver on
``--address``, and sends one message a second, printing which peer answered each (re)connection
and each message that comes back. Stop the peer in use to watch it move to the next one.
Run with: ``python examples/failover.py --url amqp://127.0.0.1:5672 --url amqp://127.0.0.1:5673``.
"""

from __future__ import annotations

import argparse
from typing import Any

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class Failover(MessagingHandler):
    """Sends a numbered message every second over whichever peer is reachable."""

    def __init__(self, urls: list[str], address: str, count: int) -> None:
        super().__init__()
        self.urls = urls
        self.address = address
        self.count = count
        self.sent = 0
        self.received = 0

    def on_start(self, event: Any) -> None:
        connection = event.container.connect(urls=self.urls)
        self.sender = event.container.create_sender(connection, self.address)
        event.container.create_receiver(connection, self.address)
        event.container.schedule(1, self)

    def on_timer_task(self, event: Any) -> None:
        if self.sender.credit > 0 and self.sent < self.count:
            self.sent += 1
            self.sender.send(Message(body=f"tick {self.sent}"))
        event.container.schedule(1, self)

    def on_connection_opened(self, event: Any) -> None:
        connection = event.connection
        print("connected to", connection.connected_address, "peer", connection.remote_container)

    def on_disconnected(self, event: Any) -> None:
        print("lost", event.connection.connected_address, "-", event.transport.condition)

    def on_message(self, event: Any) -> None:
        print("received", event.message.body)
        self.received += 1
        if self.received == self.count:
            event.container.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", action="append", help="a peer (repeat for each, in order)")
    parser.add_argument("--address", default="examples", help="the address to send to")
    parser.add_argument("--count", type=int, default=30, help="messages before exiting")
    args = parser.parse_args()
    urls = args.url or ["amqp://127.0.0.1:5672", "amqp://127.0.0.1:5673"]
    Container(Failover(urls, args.address, args.count)).run()


if __name__ == "__main__":
    main()
