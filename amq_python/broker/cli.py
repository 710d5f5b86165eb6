"""The broker's command line: options, logging, the listening line, and shutdown on signals.

With ``--port 0`` the system picks a free port; the line ``listening on HOST:PORT`` on stdout
(always printed, flushed; `` (amqps)`` follows it when TLS is on) tells scripts and tests which.
SIGINT and SIGTERM close every connection cleanly and end the process with status 0; once the
shutdown has begun, further SIGINT/SIGTERM are ignored (clients get at most ``GRACE`` seconds to
answer the close, so the stop never hangs). A wrong command line is one line on stderr, status 2.

Security options (all off by default: the broker then takes anyone, with ANONYMOUS or no SASL):

- ``--tls-cert FILE --tls-key FILE`` (an unencrypted key) listen with TLS only (amqps).
  ``--tls-ca FILE`` names the CA that signs client certificates, and
  ``--tls-verify-client`` refuses clients without a certificate signed by it (then SASL EXTERNAL
  can log them in as that certificate).
- ``--sasl-mechanisms "PLAIN SCRAM-SHA-256"`` limits the SASL mechanisms offered.
- ``--sasl-config-dir DIR`` / ``--sasl-config-name NAME`` point Cyrus SASL at ``DIR/NAME.conf``
  (default name ``proton-server``), e.g. one checking passwords against a sasldb
  (``pwcheck_method: auxprop``, ``auxprop_plugin: sasldb``, ``sasldb_path: ...``).
- ``--require-auth`` refuses clients that skip SASL or log in with ANONYMOUS. With it, a
  ``--sasl-mechanisms`` list of password mechanisms only (PLAIN, SCRAM-*...) and no password
  database (``sasl_check``) is refused at start-up; without it, that is a warning.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from amq_python import SSLDomain, SSLException, Url
from amq_python.reactor import Acceptor, Container

from ..tools.signals import SIGNALS, SignalEvents
from ..tools.usage import OneLineParser
from . import sasl_check
from .handler import BrokerHandler, ShutdownTimeout

GRACE = 2.0

SIGNALS_HELP = f"""signals:
  SIGINT (Ctrl-C) or SIGTERM closes every connection and the listener, and the broker exits
  with status 0 (clients get {GRACE:g} s to answer). Further SIGINT/SIGTERM during that
  shutdown are ignored.

exit status:
  0  stopped by SIGINT/SIGTERM
  1  could not listen, or a TLS file could not be loaded
  2  usage: the command line is wrong (one line on stderr says what)"""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is out of range (0-65535)")
    return value


def _host(text: str) -> str:
    try:
        Url(_url(text, 0, False))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a host name or address")
    return text


def _readable_file(text: str) -> str:
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    if not os.access(text, os.R_OK):
        raise argparse.ArgumentTypeError(f"cannot read {text!r}")
    return text


def _directory(text: str) -> str:
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"no such directory: {text!r}")
    return text


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The broker's options."""
    parser = OneLineParser(
        prog="amq-broker",
        description="An embedded AMQP 1.0 broker for development and tests "
        "(messages in memory only); production uses a real broker.",
        epilog=SIGNALS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", type=_host, default="127.0.0.1", help="address to listen on "
                        "(default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=_port, default=5672,
                        help="port to listen on (default 5672; 0 picks a free one)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log connections, links and queues; twice for every message")
    tls = parser.add_argument_group("TLS (given a certificate and key, the broker speaks amqps)")
    tls.add_argument("--tls-cert", metavar="FILE", type=_readable_file,
                     help="the broker's certificate (PEM)")
    tls.add_argument("--tls-key", metavar="FILE", type=_readable_file,
                     help="the broker's private key (PEM)")
    tls.add_argument("--tls-ca", metavar="FILE", type=_readable_file,
                     help="CA certificates (PEM) that sign the client certificates")
    tls.add_argument("--tls-verify-client", action="store_true",
                     help="require a client certificate signed by --tls-ca")
    sasl = parser.add_argument_group("SASL (Cyrus SASL; by default anyone may connect)")
    sasl.add_argument("--sasl-mechanisms", metavar="LIST",
                      help='the mechanisms offered, space-separated, e.g. "SCRAM-SHA-256 PLAIN"; '
                      "password mechanisms need a password database (see README.md); without one, "
                      "--require-auth refuses to start")
    sasl.add_argument("--sasl-config-dir", metavar="DIR", type=_directory,
                      help="directory of the Cyrus SASL server configuration NAME.conf")
    sasl.add_argument("--sasl-config-name", metavar="NAME",
                      help="name of that configuration (default proton-server)")
    sasl.add_argument("--require-auth", action="store_true",
                      help="refuse clients that skip SASL or log in with ANONYMOUS")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if (args.tls_ca or args.tls_verify_client) and not args.tls_cert:
        parser.error("the --tls-* options need --tls-cert and --tls-key")
    if args.tls_verify_client and not args.tls_ca:
        parser.error("--tls-verify-client needs --tls-ca (the CA of the client certificates)")
    if args.require_auth and "ANONYMOUS" in (args.sasl_mechanisms or "").upper().split():
        parser.error("--require-auth refuses ANONYMOUS: leave it out of --sasl-mechanisms")
    _check_passwords(args, parser)
    return args


def _check_passwords(args: argparse.Namespace, parser: OneLineParser) -> None:
    """Password mechanisms without a password database: refused when nothing else can log in
    (``--require-auth`` and only those offered), else a warning."""
    needing = sasl_check.password_mechanisms(args.sasl_mechanisms)
    if not needing:
        return
    problem = sasl_check.password_database_problem(args.sasl_config_dir, args.sasl_config_name)
    if problem is None:
        return
    if args.require_auth and len(needing) == len(args.sasl_mechanisms.split()):
        parser.error(f"{' '.join(needing)} with --require-auth: {problem}")
    print(f"amq-broker: warning: {' '.join(needing)} logins will fail: {problem}",
          file=sys.stderr)


def server_domain(args: argparse.Namespace) -> SSLDomain | None:
    """The TLS server settings the options ask for, or None without ``--tls-cert``.

    Raises SSLException (naming the file) when a certificate, key or CA cannot be loaded.
    """
    if not args.tls_cert:
        return None
    domain = SSLDomain(SSLDomain.MODE_SERVER)
    domain.set_credentials(args.tls_cert, args.tls_key, None)
    if args.tls_ca:
        domain.set_trusted_ca_db(args.tls_ca)
        mode = SSLDomain.VERIFY_PEER if args.tls_verify_client else SSLDomain.ANONYMOUS_PEER
        domain.set_peer_authentication(mode, args.tls_ca)
    return domain


def _url(host: str, port: int, tls: bool) -> str:
    """The URL to listen on: amqps with TLS, IPv6 hosts in brackets."""
    scheme = "amqps" if tls else "amqp"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def configure(container: Container, args: argparse.Namespace) -> None:
    """Apply the SASL options to the container, which applies them to every accepted client."""
    if args.sasl_mechanisms:
        container.allowed_mechs = args.sasl_mechanisms
    if args.sasl_config_dir:
        container.sasl_config_path = args.sasl_config_dir
    if args.sasl_config_name:
        container.sasl_config_name = args.sasl_config_name


def main(argv: Sequence[str] | None = None) -> int:
    """Run the broker until SIGINT or SIGTERM; the exit status."""
    args = parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    try:
        domain = server_domain(args)
    except SSLException as error:
        print(f"amq-broker: {error}", file=sys.stderr)
        return 1

    def announce(acceptor: Acceptor) -> None:
        suffix = " (amqps)" if domain is not None else ""
        print(f"listening on {args.host}:{acceptor.port}{suffix}", flush=True)

    handler = BrokerHandler(_url(args.host, args.port, domain is not None), announce,
                            grace=GRACE, ssl_domain=domain, require_auth=args.require_auth)
    container = Container(handler, "amq-broker")
    configure(container, args)
    SignalEvents(container, "shutdown")  # the first signal: handler.on_shutdown; later: ignored
    try:
        container.run()
    except OSError as error:
        print(f"amq-broker: {error}", file=sys.stderr)
        return 1
    except ShutdownTimeout as late:
        logging.getLogger("amq_python.broker").warning("stopped anyway: %s", late)
    finally:
        for signum in SIGNALS:  # ignored while Python exits, too (it resets its own handlers)
            signal.signal(signum, signal.SIG_IGN)
    return 0
