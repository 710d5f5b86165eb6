"""Seed 5.4.2, connecting with a user and password: ``connect(url, user=..., password=...)``.

Connects to ``--url`` as ``--user`` and prints the SASL mechanism that was used.
"""

from __future__ import annotations

import argparse

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleHandler(MessagingHandler):
    """Authenticates, reports the mechanism, and closes."""

    def __init__(self, url: str, user: str, password: str) -> None:
        super().__init__()
        self.url = url
        self.user = user
        self.password = password

    def on_start(self, event):
        event.container.connect(self.url, user=self.user, password=self.password)
        self.failed = False

    def on_connection_opened(self, event):
        sasl = event.connection.transport.sasl()
        print(f"authenticated as {sasl.user} with {sasl.mech}")
        event.connection.close()

    def on_transport_error(self, event):
        print(f"failed: {event.transport.condition}")
        self.failed = True
        super().on_transport_error(event)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--user", default="guest", help="the user name")
    parser.add_argument("--password", default="guest", help="the password")
    args = parser.parse_args()
    handler = ExampleHandler(args.url, args.user, args.password)
    Container(handler).run()
    raise SystemExit(1 if handler.failed else 0)


if __name__ == "__main__":
    main()
