"""The broker's command line: options, logging, the listening line, and shutdown on signals.

With ``--port 0`` the system picks a free port; the line ``listening on HOST:PORT`` on stdout
(always printed, flushed; `` (amqps)`` follows it when TLS is on) tells scripts and tests which.
SIGINT and SIGTERM close every connection cleanly and end the process with status 0.

Security options (all off by default: the broker then takes anyone, with ANONYMOUS or no SASL):

- ``--tls-cert FILE --tls-key FILE`` (an unencrypted key) listen with TLS only (amqps).
  ``--tls-ca FILE`` names the CA that signs client certificates, and
  ``--tls-verify-client`` refuses clients without a certificate signed by it (then SASL EXTERNAL
  can log them in as that certificate).
- ``--sasl-mechanisms "PLAIN SCRAM-SHA-256"`` limits the SASL mechanisms offered.
- ``--sasl-config-dir DIR`` / ``--sasl-config-name NAME`` point Cyrus SASL at ``DIR/NAME.conf``
  (default name ``proton-server``), e.g. one checking passwords against a sasldb
  (``pwcheck_method: auxprop``, ``auxprop_plugin: sasldb``, ``sasldb_path: ...``).
- ``--require-auth`` refuses clients that skip SASL or log in with ANONYMOUS.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from amq_python import SSLDomain, SSLException
from amq_python.reactor import Acceptor, ApplicationEvent, Container, EventInjector

from .handler import BrokerHandler, ShutdownTimeout


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The broker's options."""
    parser = argparse.ArgumentParser(
        prog="amq-broker",
        description="An embedded AMQP 1.0 broker for development and tests "
        "(messages in memory only); production uses a real broker.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on "
                        "(default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=5672,
                        help="port to listen on (default 5672; 0 picks a free one)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log connections, links and queues; twice for every message")
    tls = parser.add_argument_group("TLS (given a certificate and key, the broker speaks amqps)")
    tls.add_argument("--tls-cert", metavar="FILE", help="the broker's certificate (PEM)")
    tls.add_argument("--tls-key", metavar="FILE", help="the broker's private key (PEM)")
    tls.add_argument("--tls-ca", metavar="FILE",
                     help="CA certificates (PEM) that sign the client certificates")
    tls.add_argument("--tls-verify-client", action="store_true",
                     help="require a client certificate signed by --tls-ca")
    sasl = parser.add_argument_group("SASL (Cyrus SASL; by default anyone may connect)")
    sasl.add_argument("--sasl-mechanisms", metavar="LIST",
                      help='the mechanisms offered, space-separated, e.g. "SCRAM-SHA-256 PLAIN"')
    sasl.add_argument("--sasl-config-dir", metavar="DIR",
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
    return args


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


def _on_signals(injector: EventInjector) -> None:
    """SIGINT/SIGTERM trigger a ``shutdown`` event on the container's thread.

    The handler only queues the event: it runs on the main thread between two bytecodes, so it
    must not log or start threads (either may need a lock the interrupted code holds); the
    injector's lock is reentrant for this reason.
    """

    def handle(signum: int, frame: FrameType | None) -> None:
        injector.trigger(ApplicationEvent("shutdown", subject=signum))

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


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
                            ssl_domain=domain, require_auth=args.require_auth)
    container = Container(handler, "amq-broker")
    configure(container, args)
    injector = EventInjector()
    container.selectable(injector)
    _on_signals(injector)
    try:
        container.run()
    except OSError as error:
        print(f"amq-broker: {error}", file=sys.stderr)
        return 1
    except ShutdownTimeout as late:
        logging.getLogger("amq_python.broker").warning("stopped anyway: %s", late)
    return 0
