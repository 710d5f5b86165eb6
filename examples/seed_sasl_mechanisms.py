"""Seed 5.4.3, configuring SASL: ``allowed_mechs`` limits the mechanisms a connection may use.

Connects to ``--url`` allowing only ``--mechs`` ("ANONYMOUS" by default) and prints the
mechanism chosen.
"""

from __future__ import annotations

import argparse

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleHandler(MessagingHandler):
    """Connects with a restricted mechanism list."""

    def __init__(self, url: str, mechs: str) -> None:
        super().__init__()
        self.url = url
        self.mechs = mechs

    def on_start(self, event):
        event.container.connect(self.url, allowed_mechs=self.mechs)

    def on_connection_opened(self, event):
        print("authenticated with", event.connection.transport.sasl().mech)
        event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--mechs", default="ANONYMOUS", help="space-separated mechanism names")
    args = parser.parse_args()
    Container(ExampleHandler(args.url, args.mechs)).run()


if __name__ == "__main__":
    main()
