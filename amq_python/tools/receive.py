"""``amq-receive``: receive COUNT messages (or forever) from an address and print them.

Each message is printed on one line: readably (the body and, when present, the subject and
properties; control characters escaped as ``\\n``, ``\\x1b``...), or with ``--json`` as one JSON
object per line. ``--timeout`` is an idle timeout: it ends a ``--count 0`` (forever) run with
status 0, and any other run short of its count with status 3.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from amq_python import Event, Message
from amq_python.handlers import MessagingHandler, Release
from amq_python.reactor import Container

from . import common, ending

FIELDS = ("id", "correlation_id", "subject", "reply_to", "address", "content_type")

JSON_FORM = """JSON (--json): one object per line with "body", the header fields that are set
("id", "subject", ...), "properties" and "delivery_count". A binary value (body or property) is
{"$binary": "<base64>"}; a string is always text. Other non-JSON values (UUIDs, timestamps,
decimals) are strings."""

# C0 and C1 control characters and the Unicode line separators, escaped in text mode so a body
# can neither break the one-line-per-message output nor drive the terminal.
_ESCAPES = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0)]}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t",
                 0x2028: "\\u2028", 0x2029: "\\u2029"})


def jsonable(value: Any) -> Any:
    """``value`` with bytes as ``{"$binary": base64}`` and other non-JSON values as strings."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$binary": base64.b64encode(bytes(value)).decode("ascii")}
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {_key(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return str(value)


def _key(key: Any) -> str:
    if isinstance(key, (bytes, bytearray)):
        return base64.b64encode(bytes(key)).decode("ascii")
    return key if isinstance(key, str) else str(key)


def as_json(message: Message) -> str:
    """One JSON object: the body, the set header fields, the properties, the delivery count."""
    record: dict[str, Any] = {"body": message.body}
    for field in FIELDS:
        value = getattr(message, field)
        if value is not None:
            record[field] = value
    if message.properties:
        record["properties"] = dict(message.properties)
    record["delivery_count"] = message.delivery_count
    return json.dumps(jsonable(record), ensure_ascii=False)


def escaped(text: str) -> str:
    """``text`` with its control characters escaped (``\\n``, ``\\x1b``...)."""
    return text.translate(_ESCAPES)


def readable(message: Message) -> str:
    """The body, then the subject and properties when there are any; one line, no controls."""
    body = message.body
    if isinstance(body, (bytes, bytearray, memoryview)):
        body = bytes(body).decode("utf-8", "backslashreplace")
    parts = [body if isinstance(body, str) else str(body)]
    if message.subject:
        parts.append(f"subject={message.subject!r}")
    if message.properties:
        parts.append(f"properties={dict(message.properties)!r}")
    return escaped("  ".join(parts))


class Receive(ending.ToolHandler, MessagingHandler):
    """Prints each message and stops after the count or the idle timeout."""

    link = "receiver"

    def __init__(self, args: Any) -> None:
        MessagingHandler.__init__(
            self, prefetch=min(max(args.count, 1), 100) if args.count else 100)
        ending.ToolHandler.__init__(self)
        self.args = args
        self.received = 0

    def on_start(self, event: Event) -> None:
        """Connect, open the receiver, start the idle timer."""
        self.container = container = event.container
        self.connection = container.connect(self.args.url, **common.connect_options(self.args))
        container.create_receiver(self.connection, self.args.address)
        if self.args.timeout is not None:
            self.idle = ending.IdleTimer(container, self.args.timeout, self._idle)

    def on_message(self, event: Event) -> None:
        """Print it; stop after the count."""
        if self.connection is None or (self.args.count and self.received >= self.args.count):
            raise Release()  # beyond the count or the run: give it back for another receiver
        if not self.args.quiet:
            try:
                print(as_json(event.message) if self.args.json else readable(event.message),
                      flush=True)
            except BrokenPipeError:  # e.g. `amq-receive -c 0 | head -1`
                self._output_closed()
                raise Release()  # not shown to anyone: back to the queue
        self.received += 1
        if self.idle is not None:
            self.idle.progress()
        if self.args.count and self.received >= self.args.count:
            self._end(common.OK)

    def _output_closed(self) -> None:
        """Whoever read our standard output stopped: end with ERROR. Further writes (Python's
        own flush at exit included) go to /dev/null."""
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        self.error = f"standard output was closed: {self.summary()}"
        self._end(common.ERROR)

    def _idle(self) -> None:
        """No message for ``--timeout`` seconds: the end of a -c 0 run, else a timeout."""
        if self.args.count:
            self.error = f"{ending.idle_text(self.args.timeout)}: {self.summary()}"
            self._end(common.TIMEOUT)
        else:
            self._end(common.OK)

    def summary(self) -> str:
        """How far the run got: ``12 of 100 received`` (``12 received`` with -c 0)."""
        if self.args.count:
            return f"{self.received:,} of {self.args.count:,} received"
        return f"{self.received:,} received"

    def report(self) -> list[str]:
        """The lines for stderr at the end: the error or the interruption."""
        if self.status == common.INTERRUPTED:
            return [f"interrupted: {self.summary()}"]
        return [self.error] if self.error else []


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, receive, and return the exit status."""
    parser = common.parser("amq-receive", "Receive messages from an AMQP 1.0 address.")
    parser.epilog = f"{JSON_FORM}\n\n{parser.epilog}"
    parser.add_argument("-c", "--count", type=common.count(0), default=1,
                        help="messages to receive (default 1; 0 receives until stopped)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print no messages (count them only, e.g. to drain a queue)")
    try:
        args = parser.parse_args(argv)
        common.read_password(args, parser)
    except KeyboardInterrupt:
        print("amq-receive: interrupted before connecting", file=sys.stderr)
        return common.INTERRUPTED
    handler = Receive(args)
    if not ending.run(Container(handler), handler):
        handler.abandon()
    if handler.status == common.OK and args.count and handler.received < args.count:
        handler.status = common.ERROR
        handler.error = handler.error or "the connection ended before every message arrived"
    for line in handler.report():
        print(f"amq-receive: {line}", file=sys.stderr)
    return handler.status


if __name__ == "__main__":
    raise SystemExit(main())
