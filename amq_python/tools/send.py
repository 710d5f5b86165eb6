"""``amq-send``: send COUNT messages to an address and wait until each is accepted.

The body may contain ``{i}``, replaced by the message's number (0, 1, ...). With a count of
1,000 or more (or ``--progress``) a progress bar with the rate is drawn on stderr. A message the
broker rejects is reported with the broker's condition (name and description).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, cast

from amq_python import Event, Message, Sender
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container

from . import common, ending
from .progress import ProgressBar

PROGRESS_FROM = 1000


class Send(ending.ToolHandler, MessagingHandler):
    """Sends the messages as credit allows and counts the outcomes."""

    link = "sender"

    def __init__(self, args: Any, properties: dict[str, Any]) -> None:
        MessagingHandler.__init__(self)
        ending.ToolHandler.__init__(self)
        self.args = args
        self.properties = properties
        self.sent = 0
        self.accepted = 0
        self.rejected = 0
        self.released = 0
        self.rejection: str | None = None
        self.progress: ProgressBar | None = None
        if args.progress or (args.count >= PROGRESS_FROM and not args.quiet):
            self.progress = ProgressBar(args.count)

    def on_start(self, event: Event) -> None:
        """Connect, open the sender, and start the idle timer."""
        self.container = container = event.container
        self.connection = container.connect(self.args.url, **common.connect_options(self.args))
        container.create_sender(self.connection, self.args.address)
        if self.args.timeout is not None:
            self.idle = ending.IdleTimer(container, self.args.timeout, self._idle)

    def on_sendable(self, event: Event) -> None:
        """Send while there is credit and messages left (and the run goes on)."""
        sender = cast(Sender, event.sender)
        while self.connection is not None and self.sent < self.args.count and sender.credit > 0:
            body = self.args.body.replace("{i}", str(self.sent))
            sender.send(Message(body=body, properties=self.properties or None))
            self.sent += 1

    def _settled(self) -> None:
        done = self.accepted + self.rejected + self.released
        if self.idle is not None:
            self.idle.progress()
        if self.progress is not None:
            self.progress.update(done)
        if done == self.args.count:
            self._end(common.ERROR if done > self.accepted else common.OK)

    def on_accepted(self, event: Event) -> None:
        """One more accepted."""
        self.accepted += 1
        self._settled()

    def on_rejected(self, event: Event) -> None:
        """A failure, with the broker's reason: counted, the run goes on."""
        self.rejected += 1
        delivery = event.delivery
        condition = delivery.remote.condition if delivery is not None else None
        if condition is not None:
            self.rejection = f"{condition.name}: {condition.description}"
        self._settled()

    def on_released(self, event: Event) -> None:
        """A failure (a release carries no reason): counted, the run goes on."""
        self.released += 1
        self._settled()

    def _idle(self) -> None:
        self.error = f"{ending.idle_text(self.args.timeout)}: {self.summary()}"
        self._end(common.TIMEOUT)

    def _ending(self) -> None:
        if self.progress is not None:
            self.progress.finish(self.accepted + self.rejected + self.released)
            self.progress = None

    def summary(self) -> str:
        """How far the run got: ``1,234 of 2,000 sent, 1,230 accepted``."""
        return f"{self.sent:,} of {self.args.count:,} sent, {self.accepted:,} accepted"

    def report(self) -> list[str]:
        """The lines for stderr at the end: failures, then the error or the interruption."""
        lines = []
        if self.rejected:
            reason = self.rejection or "no condition given"
            lines.append(f"{self.rejected:,} message(s) rejected by the broker: {reason}")
        if self.released:
            lines.append(f"{self.released:,} message(s) released by the broker "
                         "(not taken; a release carries no reason)")
        if self.status == common.INTERRUPTED:
            lines.append(f"interrupted: {self.summary()}")
        elif self.error:
            lines.append(self.error)
        return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, send, and return the exit status."""
    parser = common.parser("amq-send", "Send messages to an AMQP 1.0 address.")
    parser.add_argument("-c", "--count", type=common.count(1), default=1,
                        help="messages to send (default 1)")
    parser.add_argument("-b", "--body", default="message {i}",
                        help="message body; {i} is the message number (default 'message {i}')")
    parser.add_argument("-P", "--property", action="append", default=[],
                        type=common.parse_property, metavar="KEY=VALUE",
                        help="an application property (repeatable); JSON values are typed")
    parser.add_argument("--progress", action="store_true",
                        help=f"draw the progress bar even below {PROGRESS_FROM} messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    try:
        args = parser.parse_args(argv)
        common.read_password(args, parser)
    except KeyboardInterrupt:
        print("amq-send: interrupted before connecting", file=sys.stderr)
        return common.INTERRUPTED
    handler = Send(args, dict(args.property))
    if not ending.run(Container(handler), handler):
        handler.abandon()
    if handler.status == common.OK and handler.accepted < args.count:
        handler.status = common.ERROR
        handler.error = "the connection ended before every message was settled"
    for line in handler.report():
        print(f"amq-send: {line}", file=sys.stderr)
    return handler.status


if __name__ == "__main__":
    raise SystemExit(main())
