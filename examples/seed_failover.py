"""Seed 5.2.4, configuring failover: ``connect(urls=[...])`` tries each URL in turn.

Give ``--url`` several times; the first that answers is used, and printed.
"""

from __future__ import annotations

import argparse

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleHandler(MessagingHandler):
    """Connects to the first URL of the list that answers."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__()
        self.urls = urls

    def on_start(self, event):
        event.container.connect(urls=self.urls)

    def on_connection_opened(self, event):
        print("connected to", event.container.get_connection_address(event.connection))
        event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", action="append", help="a broker URL (repeat for failover)")
    args = parser.parse_args()
    urls = args.url or ["amqp://127.0.0.1:5672", "amqp://127.0.0.1:5673"]
    Container(ExampleHandler(urls)).run()


if __name__ == "__main__":
    main()
