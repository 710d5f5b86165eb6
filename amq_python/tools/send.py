"""``amq-send``: send COUNT messages to an address and wait until each is accepted.

The body may contain ``{i}``, replaced by the message's number (0, 1, ...). With a count of
1,000 or more (or ``--progress``) a progress bar with the rate is drawn on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, cast

from amq_python import Event, Message, Sender
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container, Task

from . import common
from .progress import ProgressBar

PROGRESS_FROM = 1000


class Send(common.ErrorEnds, MessagingHandler):
    """Sends the messages as credit allows and counts the outcomes."""

    link = "sender"

    def __init__(self, args: Any, properties: dict[str, Any]) -> None:
        super().__init__()
        self.args = args
        self.properties = properties
        self.sent = 0
        self.accepted = 0
        self.failed = 0
        self.status = common.OK
        self.error: str | None = None
        self.connection: Any = None
        self.progress: ProgressBar | None = None
        self.timer: Task | None = None
        if args.progress or (args.count >= PROGRESS_FROM and not args.quiet):
            self.progress = ProgressBar(args.count)

    def on_start(self, event: Event) -> None:
        """Connect, open the sender, and start the timeout."""
        container = event.container
        self.connection = container.connect(self.args.url, **common.connect_options(self.args))
        container.create_sender(self.connection, self.args.address)
        if self.args.timeout is not None:
            self.timer = container.schedule(self.args.timeout, self)

    def on_sendable(self, event: Event) -> None:
        """Send while there is credit and messages left."""
        sender = cast(Sender, event.sender)
        while self.sent < self.args.count and sender.credit > 0:
            body = self.args.body.replace("{i}", str(self.sent))
            sender.send(Message(body=body, properties=self.properties or None))
            self.sent += 1

    def _settled(self) -> None:
        done = self.accepted + self.failed
        if self.progress is not None:
            self.progress.update(done)
        if done == self.args.count:
            self._end(common.ERROR if self.failed else common.OK)

    def on_accepted(self, event: Event) -> None:
        """One more accepted."""
        self.accepted += 1
        self._settled()

    def on_rejected(self, event: Event) -> None:
        """A failure: counted, the run goes on."""
        self.failed += 1
        self._settled()

    def on_released(self, event: Event) -> None:
        """A failure: counted, the run goes on."""
        self.failed += 1
        self._settled()

    def on_timer_task(self, event: Event) -> None:
        """The timeout passed."""
        self.timer = None
        self.error = f"timed out after {self.args.timeout} s"
        self._end(common.TIMEOUT)

    def _end(self, status: int) -> None:
        if self.status == common.OK:
            self.status = status
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.progress is not None:
            self.progress.finish(self.accepted + self.failed)
            self.progress = None
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, send, and return the exit status."""
    parser = common.parser("amq-send", "Send messages to an AMQP 1.0 address.")
    parser.add_argument("-c", "--count", type=int, default=1, help="messages to send (default 1)")
    parser.add_argument("-b", "--body", default="message {i}",
                        help="message body; {i} is the message number (default 'message {i}')")
    parser.add_argument("-P", "--property", action="append", default=[],
                        type=common.parse_property, metavar="KEY=VALUE",
                        help="an application property (repeatable); JSON values are typed")
    parser.add_argument("--progress", action="store_true",
                        help=f"draw the progress bar even below {PROGRESS_FROM} messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    handler = Send(args, dict(args.property))
    container = Container(handler)
    container.run()
    if handler.status == common.OK and handler.accepted < args.count:
        handler.status = common.ERROR
        handler.error = handler.error or "the connection ended before every message was settled"
    if handler.failed:
        print(f"amq-send: {handler.failed} message(s) rejected or released", file=sys.stderr)
    if handler.error:
        print(f"amq-send: {handler.error}", file=sys.stderr)
    return handler.status


if __name__ == "__main__":
    raise SystemExit(main())
