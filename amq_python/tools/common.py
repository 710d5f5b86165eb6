"""What the command-line tools share: exit codes, connection options, and property parsing."""

from __future__ import annotations

import argparse
import json
from typing import Any

from amq_python import Endpoint, Event

OK = 0
ERROR = 1
USAGE = 2  # what argparse exits with on a bad command line
TIMEOUT = 3

EXIT_CODES = """exit status:
  0  done: every message sent was accepted / every message asked for was received
  1  error: the connection failed, or a message was rejected or released
  2  usage: the command line is wrong
  3  timeout: --timeout passed before the work was done"""


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """An argument parser with the connection options and the exit codes in --help."""
    result = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    result.add_argument("address", help="the queue or topic (e.g. jobs, topic://news)")
    result.add_argument("--url", default="amqp://127.0.0.1:5672",
                        help="where to connect (default amqp://127.0.0.1:5672)")
    result.add_argument("--user", help="user name for SASL (e.g. PLAIN)")
    result.add_argument("--password", help="password for SASL")
    result.add_argument("--timeout", type=positive_float, default=None,
                        help="seconds to wait before giving up (exit status 3)")
    return result


def positive_float(text: str) -> float:
    """An argparse type: a number of seconds above zero."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above zero, not {text}")
    return value


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
        return "closed by the peer"
    return f"{condition.name}: {condition.description}"


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


class ErrorEnds:
    """Handler mixin for the tools: a failed connection or a refused link records the error
    and ends the run with status ERROR. The class names its link (``"sender"``) in ``link``
    and defines ``_end(status)``."""

    link = "link"
    error: str | None

    def _end(self, status: int) -> None:
        raise NotImplementedError

    def on_transport_error(self, event: Event) -> None:
        """The connection failed."""
        condition = event.transport.condition if event.transport is not None else None
        self.error = condition.description if condition is not None else "connection failed"
        self._end(ERROR)

    def on_connection_error(self, event: Event) -> None:
        """The peer closed the connection with an error."""
        self.error = f"connection closed: {remote_error(event.connection)}"
        self._end(ERROR)

    def on_link_error(self, event: Event) -> None:
        """The peer refused or closed our link."""
        self.error = f"{self.link} closed: {remote_error(event.link)}"
        self._end(ERROR)
