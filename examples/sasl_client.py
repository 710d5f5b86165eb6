"""Authenticate with a user and password (seed 5.4.2, 5.4.3) or Kerberos (5.4.4), then close.

``--user``/``--password`` (or ``user:password@`` in ``--url``) name the credentials;
``--mechs`` restricts the SASL mechanisms, a space-separated list such as "SCRAM-SHA-256" or
"GSSAPI" (after ``kinit USER@REALM``); without it the strongest mechanism both sides allow is
chosen. The password is read from the AMQP_PASSWORD environment variable when ``--password`` is
not given, so it need not appear in the process list. Run with, for example:
``python examples/sasl_client.py --url amqp://localhost:5672 --user alice@EXAMPLE``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class Authenticate(MessagingHandler):
    """Connects, prints the mechanism and user the connection authenticated with, closes."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        self.failed = False

    def on_start(self, event: Any) -> None:
        args = self.args
        options: dict[str, Any] = {"reconnect": False}
        if args.user:
            options["user"] = args.user
            password = args.password or os.environ.get("AMQP_PASSWORD")
            if password:
                options["password"] = password
        if args.mechs:
            options["allowed_mechs"] = args.mechs
        if args.no_sasl:
            options["sasl_enabled"] = False
        event.container.connect(args.url, **options)

    def on_connection_opened(self, event: Any) -> None:
        sasl = None if self.args.no_sasl else event.transport.sasl().mech
        print(f"authenticated with {sasl or 'no SASL'}; encrypted: {event.transport.encrypted}")
        event.connection.close()

    def on_transport_error(self, event: Any) -> None:
        print(f"failed: {event.transport.condition}")
        self.failed = True
        super().on_transport_error(event)


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="amqp://localhost:5672")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--mechs", help='allowed mechanisms, e.g. "SCRAM-SHA-256 PLAIN"')
    parser.add_argument("--no-sasl", action="store_true", help="connect without SASL")
    handler = Authenticate(parser.parse_args())
    Container(handler).run()
    raise SystemExit(1 if handler.failed else 0)


if __name__ == "__main__":
    main()
