"""Seed 5.1.2, creating a container and setting its identity.

``Container(handler, "job-processor-3")`` names the container; the name is sent to the peer
when connecting. Without a name the library makes a UUID. Prints the identity, connects to
``--url`` and prints it again from the open connection.
"""

from __future__ import annotations

import argparse

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleHandler(MessagingHandler):
    """Connects once and reports the container identity the connection carries."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def on_start(self, event):
        print("container id:", event.container.container_id)
        event.container.connect(self.url)

    def on_connection_opened(self, event):
        print("connection opened with container id:", event.connection.container)
        event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    parser.add_argument("--id", default="job-processor-3", help="the container identity")
    args = parser.parse_args()
    handler = ExampleHandler(args.url)
    container = Container(handler, args.id)
    container.run()


if __name__ == "__main__":
    main()
