"""What the command-line tools share: exit codes, the command line and its checks, passwords."""

from __future__ import annotations

import argparse
import getpass
import json
import math
import os
import sys
import warnings
from typing import Any

from amq_python import Url

from .usage import USAGE as USAGE
from .usage import OneLineParser

OK = 0
ERROR = 1
TIMEOUT = 3
INTERRUPTED = 130  # 128 + SIGINT, what shells report for a Ctrl-C

PASSWORD_ENV = "AMQ_PASSWORD"

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
  environment (for the user of --user or of the URL, when --password is not given), or
  use --password-prompt."""


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

    The environment's is for a user named by --user or in the URL (and no password in the
    URL). A Ctrl-C at the prompt raises KeyboardInterrupt (the tool's interrupted exit)."""
    in_url = Url(args.url)
    user = args.user or in_url.username
    if args.password_prompt:
        if not user:
            usage.error("--password-prompt needs a user: --user NAME or amqp://NAME@HOST")
        try:
            with warnings.catch_warnings():  # without a terminal getpass says so in one line
                warnings.simplefilter("ignore", getpass.GetPassWarning)
                args.password = getpass.getpass(f"password for {user}: ")
        except KeyboardInterrupt:
            sys.stderr.write("\n")  # end the prompt's line
            raise
        except EOFError:
            sys.stderr.write("\n")
            usage.error("--password-prompt: no password was typed")
    elif args.password is None and user and not in_url.password:
        args.password = os.environ.get(PASSWORD_ENV)


def connect_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for ``Container.connect`` from the parsed options."""
    options: dict[str, Any] = {"reconnect": False}
    if args.user is not None:
        options["user"] = args.user
    if args.password is not None:
        options["password"] = args.password
    return options
