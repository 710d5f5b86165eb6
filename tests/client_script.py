"""A client run as a subprocess on either library: sends the sample messages, then reads them back.

``python tests/client_script.py --module amq_python|proton --url URL`` connects (reconnect off),
sends ``tests.helpers.sample_messages(module)`` to the address ``interop``, records the outcome
of each by index, then attaches a receiver to ``interop`` and receives the accepted ones. It
prints one JSON line: ``{"outcomes": [...], "received": [canonical messages], "errors": [...]}``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import sample_messages  # noqa: E402
from tests.peer_script import canon_message  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="amq_python")
    parser.add_argument("--url", required=True)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    module = importlib.import_module(args.module)
    handlers = importlib.import_module(args.module + ".handlers")
    reactor = importlib.import_module(args.module + ".reactor")
    messages = sample_messages(module)

    class Client(handlers.MessagingHandler):
        def __init__(self) -> None:
            super().__init__()
            self.to_send = list(enumerate(messages))
            self.index_of: dict[str, int] = {}
            self.outcomes: list[str | None] = [None] * len(messages)
            self.received: list[Any] = []
            self.errors: list[str] = []

        def on_start(self, event: Any) -> None:
            self.watchdog = event.container.schedule(args.timeout, self)
            self.conn = event.container.connect(args.url, reconnect=False)
            event.container.create_sender(self.conn, "interop")

        def on_timer_task(self, event: Any) -> None:
            self.errors.append("timeout")
            event.container.stop()

        def on_sendable(self, event: Any) -> None:
            while event.sender.credit and self.to_send:
                index, message = self.to_send.pop(0)
                self.index_of[event.sender.send(message).tag] = index

        def outcome(self, name: str, event: Any) -> None:
            self.outcomes[self.index_of[event.delivery.tag]] = name
            if None not in self.outcomes:
                self.expected = self.outcomes.count("accepted")
                event.container.create_receiver(self.conn, "interop")

        def on_accepted(self, event: Any) -> None:
            self.outcome("accepted", event)

        def on_rejected(self, event: Any) -> None:
            self.outcome("rejected", event)

        def on_released(self, event: Any) -> None:
            self.outcome("released", event)

        def on_message(self, event: Any) -> None:
            self.received.append(canon_message(event.message))
            if len(self.received) == self.expected:
                self.watchdog.cancel()
                event.connection.close()

        def on_transport_error(self, event: Any) -> None:
            self.errors.append(f"transport error: {event.transport.condition}")

    client = Client()
    reactor.Container(client).run()
    print(json.dumps(
        {"outcomes": client.outcomes, "received": client.received, "errors": client.errors}
    ))


if __name__ == "__main__":
    main()
