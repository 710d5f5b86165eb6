"""What the command-line tools share: exit codes, the command line, passwords, error endings."""

from __future__ import annotations

import argparse
import getpass
import json
import math
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from amq_python import Endpoint, Event, Url
from amq_python.reactor import Container, Task

from .signals import SIGNALS, SignalEvents
from .usage import USAGE as USAGE
from .usage import OneLineParser

OK = 0
ERROR = 1
TIMEOUT = 3
INTERRUPTED = 130  # 128 + SIGINT, what shells report for a Ctrl-C

PASSWORD_ENV = "AMQ_PASSWORD"
CLOSE_GRACE = 2.0

EXIT_CODES = """exit status (the same for amq-send and amq-receive):
    0  done: every message was sent and accepted / every message asked for was received
       (amq-receive -c 0 ends with 0 when idle for --timeout seconds)
    1  error: the connection failed, the broker closed the connection or the link, or a
       message was rejected or released (the broker's reason is printed)
    2  usage: the command line is wrong (one line on stderr says what)
    3  timeout: idle for --timeout seconds (nothing settled / received) before the work was done
  130  interrupted: SIGINT (Ctrl-C) or SIGTERM; one line says how far it got; a second signal
       stops at once, without waiting for the broker to answer the close"""

ENVIRONMENT = f"""password:
  --password puts the password where `ps` shows it. Safer: set {PASSWORD_ENV} in the
  environment (used with --user when --password is not given), or --password-prompt."""


def parser(prog: str, description: str) -> OneLineParser:
    """An argument parser with the connection options, and the exit codes in --help."""
    result = OneLineParser(
        prog=prog,
        description=description,
        epilog=f"{ENVIRONMENT}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    result.add_argument("address", type=address,
                        help="the queue or topic (e.g. jobs, topic://news); never empty")
    result.add_argument("--url", type=url, default="amqp://127.0.0.1:5672",
                        help="where to connect (default amqp://127.0.0.1:5672)")
    result.add_argument("--user", help="user name for SASL (e.g. PLAIN)")
    password = result.add_mutually_exclusive_group()
    password.add_argument("--password", help=f"password for SASL (see {PASSWORD_ENV} below)")
    password.add_argument("--password-prompt", action="store_true",
                          help="ask for the password on the terminal")
    result.add_argument("--timeout", type=positive_float, default=None, metavar="SECONDS",
                        help="give up (exit status 3) when idle for this long")
    return result


def url(text: str) -> str:
    """An argparse type: an amqp:// or amqps:// URL that parses (credentials never echoed)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the URL is empty")
    try:
        Url(text)
    except ValueError as error:
        shown = _without_password(text)
        raise argparse.ArgumentTypeError(str(error).replace(text, shown))
    return text


def _without_password(text: str) -> str:
    scheme, sep, rest = text.rpartition("://")
    userinfo, at, hostpart = rest.partition("@")
    if not at or ":" not in userinfo:
        return text
    return f"{scheme}{sep}{userinfo.partition(':')[0]}:***@{hostpart}"


def address(text: str) -> str:
    """An argparse type: a queue or topic name, not empty (the broker would refuse it)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the address must not be empty (e.g. jobs)")
    if text.startswith("topic://") and not text[len("topic://"):].strip():
        raise argparse.ArgumentTypeError("topic:// needs a topic name (e.g. topic://news)")
    return text


def count(minimum: int) -> Any:
    """An argparse type: a whole number of messages, at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    parse.__name__ = "count"
    return parse


def positive_float(text: str) -> float:
    """An argparse type: a number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a number above zero, not {text}")
    return value


def parse_property(text: str) -> tuple[str, Any]:
    """``KEY=VALUE``; the value is JSON when it parses (numbers, true, null), else a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"a property is KEY=VALUE, not {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if isinstance(value, (list, dict)):
        value = raw
    return key, value


def read_password(args: argparse.Namespace, usage: OneLineParser) -> None:
    """Set ``args.password`` from the prompt or the environment when the command line has none.

    A Ctrl-C at the prompt raises KeyboardInterrupt (the tool's interrupted exit)."""
    if args.password_prompt:
        try:
            with warnings.catch_warnings():  # without a terminal getpass says so in one line
                warnings.simplefilter("ignore", getpass.GetPassWarning)
                args.password = getpass.getpass(f"password for {args.user or 'the URL user'}: ")
        except KeyboardInterrupt:
            sys.stderr.write("\n")  # end the prompt's line
            raise
        except EOFError:
            sys.stderr.write("\n")
            usage.error("--password-prompt: no password was typed")
    elif args.password is None and args.user is not None:
        args.password = os.environ.get(PASSWORD_ENV)


def connect_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for ``Container.connect`` from the parsed options."""
    options: dict[str, Any] = {"reconnect": False}
    if args.user is not None:
        options["user"] = args.user
    if args.password is not None:
        options["password"] = args.password
    return options


def remote_error(endpoint: Endpoint | None) -> str:
    """The error condition the peer closed ``endpoint`` with, as text."""
    condition = endpoint.remote_condition if endpoint is not None else None
    if condition is None:
        return "no condition given"
    return f"{condition.name}: {condition.description}"


class IdleTimer:
    """``--timeout``: calls ``on_idle()`` once no ``progress()`` was made for ``seconds``.
    One timer at a time, re-armed when it fires early (no timer per message)."""

    def __init__(self, container: Container, seconds: float, on_idle: Callable[[], None]) -> None:
        self.container = container
        self.seconds = seconds
        self.on_idle = on_idle
        self.last = time.monotonic()
        self.task: Task | None = container.schedule(seconds, self)

    def progress(self) -> None:
        """Something happened: the idle time starts again."""
        self.last = time.monotonic()

    def on_timer_task(self, event: Event) -> None:
        """Fire, or wait for the rest of the idle time since the last progress."""
        left = self.last + self.seconds - time.monotonic()
        if left > 0:
            self.task = self.container.schedule(left, self)
        else:
            self.task = None
            self.on_idle()

    def cancel(self) -> None:
        """No more firing (the run is over)."""
        if self.task is not None:
            self.task.cancel()
            self.task = None


def idle_text(seconds: float) -> str:
    """How the help and the messages say it: ``idle for 1.5 s``."""
    return f"idle for {seconds:g} s"


class CloseTimeout(Exception):
    """The broker did not answer our close within ``CLOSE_GRACE`` seconds: ``run()`` ends."""


class _Grace:
    """The timer's handler: the wait for the broker's close is over."""

    def on_timer_task(self, event: Event) -> None:
        """Give up on the close (the run's outcome is already recorded)."""
        raise CloseTimeout(f"no answer to our close within {CLOSE_GRACE:g} s")


class ToolHandler:
    """Handler mixin for the tools: how a run ends.

    A failed connection, or the broker closing the connection or the link (with an error or
    without), records why and ends the run with ERROR; SIGINT/SIGTERM (the ``interrupt`` event
    from ``run``) end it with INTERRUPTED. ``_end`` keeps the first status, closes the
    connection and lets the container finish. The class names its link in ``link``."""

    link = "link"

    def __init__(self) -> None:
        self.status = OK
        self.error: str | None = None
        self.connection: Any = None
        self.idle: IdleTimer | None = None
        self.signals: SignalEvents | None = None
        self.container: Container | None = None
        self.grace: Task | None = None

    def _ending(self) -> None:
        """What the tool does at the end (e.g. finish its progress bar)."""

    def _end(self, status: int) -> None:
        if self.status == OK:
            self.status = status
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        self._ending()
        if self.connection is not None:
            self.connection.close()
            self.connection = None
            if self.container is not None:
                self.grace = self.container.schedule(CLOSE_GRACE, _Grace())
        if self.signals is not None:
            self.signals.close()
            self.signals = None

    def abandon(self) -> None:
        """A second signal stopped the run at once: INTERRUPTED, whatever happened before."""
        self.status = INTERRUPTED
        self._ending()

    def on_interrupt(self, event: Event) -> None:
        """SIGINT or SIGTERM: close and end with INTERRUPTED."""
        self._end(INTERRUPTED)

    def on_connection_closed(self, event: Event) -> None:
        """The broker answered our close: no need to wait any more."""
        if self.grace is not None:
            self.grace.cancel()
            self.grace = None

    def on_transport_error(self, event: Event) -> None:
        """The connection failed (the text is the transport's: what the server said)."""
        self.connection = None  # nothing to close
        self.on_connection_closed(event)
        condition = event.transport.condition if event.transport is not None else None
        if self.error is None:
            self.error = condition.description if condition is not None else "connection failed"
        self._end(ERROR)

    def on_connection_error(self, event: Event) -> None:
        """The broker closed the connection with an error."""
        self._closed_by_broker("connection", event.connection)

    def on_connection_closing(self, event: Event) -> None:
        """The broker closed the connection first, without an error."""
        self._closed_by_broker("connection", event.connection)

    def on_link_error(self, event: Event) -> None:
        """The broker refused or closed our link with an error."""
        self._closed_by_broker(self.link, event.link)

    def on_link_closing(self, event: Event) -> None:
        """The broker closed our link first, without an error."""
        self._closed_by_broker(self.link, event.link)

    def _closed_by_broker(self, what: str, endpoint: Endpoint | None) -> None:
        if self.error is None and self.status == OK:
            self.error = f"the broker closed the {what}: {remote_error(endpoint)}"
        self._end(ERROR)


def _stop_now(signum: int) -> None:
    raise KeyboardInterrupt


def run(container: Container, handler: ToolHandler) -> bool:
    """Run ``container`` with SIGINT/SIGTERM delivered to ``handler.on_interrupt``; a second
    signal stops at once. False when it did (the sockets were dropped, not closed)."""
    handler.signals = SignalEvents(container, "interrupt", again=_stop_now)
    try:
        try:
            container.run()
        finally:  # signals ignored from here on, also while Python exits
            for signum in SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
    except KeyboardInterrupt:
        return False
    except CloseTimeout:
        pass
    return True
