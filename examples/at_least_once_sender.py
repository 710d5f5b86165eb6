"""At-least-once sending through connection losses: resend whatever was not yet accepted.

Sends ``--count`` messages (message id and body 1..count) to ``--address`` at ``--url``, with
reconnect on (the default). Each delivery is kept until the peer accepts it. When the
connection is lost (``on_disconnected``) every message not yet accepted goes back to the front
of the queue and is sent again once the connection and its sender re-attach by themselves.
Nothing is lost; a message whose acceptance was lost with the connection arrives twice, so
receivers must tolerate duplicates (the message id tells them apart).
Run with: ``python examples/at_least_once_sender.py --url amqp://127.0.0.1:5672``.
"""

from __future__ import annotations

import argparse
from collections import deque
from typing import Any

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class AtLeastOnceSender(MessagingHandler):
    """Sends ids 1..count and resends the unaccepted ones after each connection loss."""

    def __init__(self, url: str, address: str, count: int) -> None:
        super().__init__()
        self.url = url
        self.address = address
        self.count = count
        self.to_send: deque[int] = deque(range(1, count + 1))
        self.unconfirmed: dict[Any, int] = {}
        self.confirmed = 0
        self.resent = 0

    def on_start(self, event: Any) -> None:
        connection = event.container.connect(self.url)
        event.container.create_sender(connection, self.address)

    def on_sendable(self, event: Any) -> None:
        sender = event.sender
        while sender.credit > 0 and self.to_send:
            ident = self.to_send.popleft()
            delivery = sender.send(Message(id=ident, body=ident))
            self.unconfirmed[delivery] = ident

    def on_accepted(self, event: Any) -> None:
        if self.unconfirmed.pop(event.delivery, None) is None:
            return  # a delivery from before a loss, already queued again
        self.confirmed += 1
        if self.confirmed == self.count:
            event.connection.close()

    def on_rejected(self, event: Any) -> None:
        self.on_released(event)

    def on_released(self, event: Any) -> None:
        ident = self.unconfirmed.pop(event.delivery, None)
        if ident is not None:
            self.to_send.appendleft(ident)

    def on_disconnected(self, event: Any) -> None:
        self.resent += len(self.unconfirmed)
        self.to_send.extendleft(sorted(self.unconfirmed.values(), reverse=True))
        self.unconfirmed.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the peer to send to")
    parser.add_argument("--address", default="examples", help="the address to send to")
    parser.add_argument("--count", type=int, default=1000, help="how many messages")
    args = parser.parse_args()
    sender = AtLeastOnceSender(args.url, args.address, args.count)
    Container(sender).run()
    print(f"{sender.confirmed} accepted, {sender.resent} resent after connection losses")


if __name__ == "__main__":
    main()
