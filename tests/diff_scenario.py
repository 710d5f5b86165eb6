"""One handler script, run on python-qpid-proton or on amq_python, recording every handler call.

``python tests/diff_scenario.py --module proton|amq_python --url URL`` imports the library by
name and runs the scenario against the broker at URL: connect, attach a sender and a receiver
to ``diff``, send 3 messages (the broker rejects the second, accepts the others and hands them
back to the receiver, which auto-accepts them), then close. The Container is made with two
handlers, as python-qpid-proton allows, and every event goes to both:

- ``Recorder``, a MessagingHandler: logs each messaging-level call (``on_start``,
  ``on_sendable``, ``on_accepted``, ``on_message``, ``on_link_opened``, ...) and the raw event
  methods it sees, before the library's own behaviour runs;
- ``Raw``, a plain Handler: logs every raw event through ``on_unhandled``.

It prints the log as JSON: a list of ``[who, method, flags]`` where flags say which of
``connection, session, link, delivery`` were not None on the event.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

MESSAGING = (
    "on_start", "on_sendable", "on_message", "on_accepted", "on_rejected", "on_released",
    "on_settled", "on_disconnected", "on_transport_error",
    "on_connection_opening", "on_connection_opened", "on_connection_closing",
    "on_connection_closed", "on_connection_error",
    "on_session_opening", "on_session_opened", "on_session_closing", "on_session_closed",
    "on_session_error",
    "on_link_opening", "on_link_opened", "on_link_closing", "on_link_closed", "on_link_error",
)


def flags(event: Any) -> str:
    """Which of connection, session, link, delivery the event has: e.g. ``CSL-``."""
    return "".join(
        letter if getattr(event, name) is not None else "-"
        for letter, name in zip("CSLD", ("connection", "session", "link", "delivery"))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", required=True)
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    library = importlib.import_module(args.module)
    handlers = importlib.import_module(args.module + ".handlers")
    reactor = importlib.import_module(args.module + ".reactor")
    log: list[list[str]] = []

    class Recorder(handlers.MessagingHandler):
        def __init__(self) -> None:
            super().__init__()
            self.outcomes = 0
            self.received = 0

        def on_start(self, event: Any) -> None:
            log.append(["messaging", "on_start", flags(event)])
            self.watchdog = event.container.schedule(10, Watchdog())
            conn = event.container.connect(args.url, reconnect=False)
            event.container.create_sender(conn, "diff", name="diff-sender")
            event.container.create_receiver(conn, "diff", name="diff-receiver")
            self.to_send = ["one", "two", "three"]

        def on_sendable(self, event: Any) -> None:
            log.append(["messaging", "on_sendable", flags(event)])
            while event.sender.credit and self.to_send:
                body = self.to_send.pop(0)
                outcome = "reject" if body == "two" else "accept"
                event.sender.send(library.Message(body, properties={"outcome": outcome}))

        def on_accepted(self, event: Any) -> None:
            log.append(["messaging", "on_accepted", flags(event)])
            self.outcome(event)

        def on_rejected(self, event: Any) -> None:
            log.append(["messaging", "on_rejected", flags(event)])
            self.outcome(event)

        def on_message(self, event: Any) -> None:
            log.append(["messaging", "on_message", flags(event)])
            self.received += 1
            self.finish(event)

        def outcome(self, event: Any) -> None:
            self.outcomes += 1
            self.finish(event)

        def finish(self, event: Any) -> None:
            if self.outcomes == 3 and self.received == 2:
                self.watchdog.cancel()
                event.connection.close()

    def logged(name: str) -> Any:
        def method(self: Any, event: Any) -> None:
            log.append(["messaging", name, flags(event)])
            base = getattr(handlers.MessagingHandler, name, None)
            if base is not None:
                base(self, event)
        return method

    for name in MESSAGING:
        if name not in Recorder.__dict__:
            setattr(Recorder, name, logged(name))

    class Raw(reactor.Handler):
        def on_unhandled(self, method: str, *args: Any) -> None:
            log.append(["raw", method, flags(args[0])])

    class Watchdog:
        def on_timer_task(self, event: Any) -> None:
            print(json.dumps({"timeout": True, "log": log}), flush=True)
            os._exit(3)

    reactor.Container(Recorder(), Raw()).run()
    json.dump(log, sys.stdout)


if __name__ == "__main__":
    main()
