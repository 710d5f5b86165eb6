"""``amq-receive``: receive COUNT messages (or forever) from an address and print them.

Each message is printed on one line: readably (``body`` and, when present, the properties and
subject), or with ``--json`` as one JSON object per line (non-JSON values such as bytes or UUIDs
become strings). ``--timeout`` is an idle timeout: it ends a ``--count 0`` (forever) run with
status 0, and any other run short of its count with status 3.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from amq_python import Event, Message
from amq_python.handlers import MessagingHandler, Release
from amq_python.reactor import Container, Task

from . import common

FIELDS = ("id", "correlation_id", "subject", "reply_to", "address", "content_type")


def as_json(message: Message) -> str:
    """One JSON object: the body, the properties, the set header fields, the delivery count."""
    record: dict[str, Any] = {"body": message.body}
    for field in FIELDS:
        value = getattr(message, field)
        if value is not None:
            record[field] = value
    if message.properties:
        record["properties"] = dict(message.properties)
    record["delivery_count"] = message.delivery_count
    return json.dumps(record, default=_text, ensure_ascii=False)


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "backslashreplace")
    return str(value)


def readable(message: Message) -> str:
    """The body, then the subject and properties when there are any."""
    parts = [_text(message.body) if not isinstance(message.body, str) else message.body]
    if message.subject:
        parts.append(f"subject={message.subject!r}")
    if message.properties:
        parts.append(f"properties={dict(message.properties)!r}")
    return "  ".join(parts)


class Receive(common.ErrorEnds, MessagingHandler):
    """Prints each message and stops after the count or the idle timeout."""

    link = "receiver"

    def __init__(self, args: Any) -> None:
        super().__init__(prefetch=min(max(args.count, 1), 100) if args.count else 100)
        self.args = args
        self.received = 0
        self.status = common.OK
        self.error: str | None = None
        self.connection: Any = None
        self.idle: Task | None = None

    def on_start(self, event: Event) -> None:
        """Connect, open the receiver, start the idle timer."""
        container = event.container
        self.connection = container.connect(self.args.url, **common.connect_options(self.args))
        container.create_receiver(self.connection, self.args.address)
        self._restart_idle(container)

    def _restart_idle(self, container: Container) -> None:
        if self.args.timeout is None:
            return
        if self.idle is not None:
            self.idle.cancel()
        self.idle = container.schedule(self.args.timeout, self)

    def on_message(self, event: Event) -> None:
        """Print it; stop after the count."""
        if self.args.count and self.received >= self.args.count:
            raise Release()  # beyond the count: give it back for another receiver
        self.received += 1
        print(as_json(event.message) if self.args.json else readable(event.message), flush=True)
        if self.args.count and self.received >= self.args.count:
            self._end(common.OK)
        else:
            self._restart_idle(event.container)

    def on_timer_task(self, event: Event) -> None:
        """No message for ``--timeout`` seconds."""
        self.idle = None
        if self.args.count:
            self.error = f"timed out after {self.args.timeout} s idle: " \
                f"{self.received} of {self.args.count} message(s)"
            self._end(common.TIMEOUT)
        else:
            self._end(common.OK)

    def _end(self, status: int) -> None:
        if self.status == common.OK:
            self.status = status
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, receive, and return the exit status."""
    parser = common.parser("amq-receive", "Receive messages from an AMQP 1.0 address.")
    parser.add_argument("-c", "--count", type=int, default=1,
                        help="messages to receive (default 1; 0 receives until stopped)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be 0 (forever) or more")
    handler = Receive(args)
    try:
        Container(handler).run()
    except KeyboardInterrupt:
        return common.OK if not args.count else common.ERROR
    if handler.error:
        print(f"amq-receive: {handler.error}", file=sys.stderr)
    if handler.status == common.OK and args.count and handler.received < args.count:
        return common.ERROR
    return handler.status


if __name__ == "__main__":
    raise SystemExit(main())
