"""Seed 5.4.3, disabling SASL: ``connect(url, sasl_enabled=False)`` skips the SASL layer.

Connects to ``--url`` without SASL (the server must allow that) and reports it.
"""

from __future__ import annotations

import argparse

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleHandler(MessagingHandler):
    """Connects with SASL turned off."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def on_start(self, event):
        event.container.connect(self.url, sasl_enabled=False)

    def on_connection_opened(self, event):
        print("connected without SASL")
        event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    args = parser.parse_args()
    Container(ExampleHandler(args.url)).run()


if __name__ == "__main__":
    main()
