"""Seed 5.2.3, configuring reconnect: a policy object with ``reset()`` and ``next()``.

Connects to ``--url`` with ``reconnect=ExampleReconnect()``: while nothing listens there it
prints each retry delay (0.1 s, doubling up to 10 s); once a broker answers it prints
"connected" and exits. Start it before the broker to watch it retry.
"""

from __future__ import annotations

import argparse

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class ExampleReconnect:
    """The seed's policy: no delay at first, then 0.1 s doubling up to 10 s."""

    def __init__(self):
        self.delay = 0

    def reset(self):
        self.delay = 0

    def next(self):
        if self.delay == 0:
            self.delay = 0.1
        else:
            self.delay = min(10, 2 * self.delay)
        print(f"retrying in {self.delay} s", flush=True)
        return self.delay


class ExampleHandler(MessagingHandler):
    """Connects with the policy and stops once connected."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def on_start(self, event):
        event.container.connect(self.url, reconnect=ExampleReconnect())

    def on_connection_opened(self, event):
        print("connected", flush=True)
        event.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672", help="the broker")
    args = parser.parse_args()
    Container(ExampleHandler(args.url)).run()


if __name__ == "__main__":
    main()
