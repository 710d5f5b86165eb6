"""Seed 5.2.2, creating outgoing connections: ``Container.connect()`` in ``on_start``.

Connects to ``--url``, prints that the connection is open, and closes it.
"""

from __future__ import annotations

import argparse

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleHandler(MessagingHandler):
    """Opens one connection and reports it."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def on_start(self, event):
        event.container.connect(self.url)

    def on_connection_opened(self, event):
        print("Connection", event.connection, "is open")
        event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    args = parser.parse_args()
    Container(ExampleHandler(args.url)).run()


if __name__ == "__main__":
    main()
