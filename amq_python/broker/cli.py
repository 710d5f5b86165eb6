"""The broker's command line: options, logging, the listening line, and shutdown on signals.

With ``--port 0`` the system picks a free port; the line ``listening on HOST:PORT`` on stdout
(always printed, flushed) tells scripts and tests which. SIGINT and SIGTERM close every
connection cleanly and end the process with status 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from amq_python.reactor import Acceptor, ApplicationEvent, Container, EventInjector

from .handler import BrokerHandler, ShutdownTimeout


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The broker's options."""
    parser = argparse.ArgumentParser(
        prog="amq-broker",
        description="An embedded AMQP 1.0 broker for development and tests "
        "(in memory, no security options yet); production uses a real broker.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on "
                        "(default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=5672,
                        help="port to listen on (default 5672; 0 picks a free one)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log connections, links and queues; twice for every message")
    return parser.parse_args(argv)


def _url(host: str, port: int) -> str:
    return f"amqp://[{host}]:{port}" if ":" in host else f"amqp://{host}:{port}"


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

    def announce(acceptor: Acceptor) -> None:
        print(f"listening on {args.host}:{acceptor.port}", flush=True)

    container = Container(BrokerHandler(_url(args.host, args.port), announce), "amq-broker")
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
