"""amq_python's logging, through the standard ``logging`` module.

Loggers, under ``amq_python`` (configure that one to see them all):
- ``amq_python.container``: listeners opened, incoming connections accepted.
- ``amq_python.connection``: outgoing connection attempts (DEBUG), connections opened and closed
  (INFO), transports lost with their error and the reconnect that follows (WARNING, INFO),
  reconnecting given up (ERROR).
- ``amq_python.delivery``: a delivery from before a connection loss settled after it (WARNING:
  it has no effect, the peer redelivers the message).

Nothing is printed unless the application configures logging: the ``amq_python`` logger has a
``NullHandler``, as the logging documentation asks of libraries (so Python's last-resort
handler does not write warnings to stderr behind the application's back). Addresses are logged as
``scheme://host:port`` only: never a user name or a password. Each function checks
``isEnabledFor`` first, so a disabled level costs one call.

Frame tracing is separate: ``PN_TRACE_FRM=1`` (read by the C engine) prints every frame to
stderr, or to ``Transport.tracer`` when one is set.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from ._condition import Condition
from ._endpoints import Endpoint
from ._url import Url

logging.getLogger("amq_python").addHandler(logging.NullHandler())
container_log = logging.getLogger("amq_python.container")
connection_log = logging.getLogger("amq_python.connection")
delivery_log = logging.getLogger("amq_python.delivery")


def address(url: Url) -> str:
    """``scheme://host:port`` of a URL: what logs show of it (never credentials)."""
    host = url.host or "localhost"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = url.port if url.port is not None else (5671 if url.scheme == Url.AMQPS else 5672)
    return f"{url.scheme or Url.AMQP}://{host}:{port}"


def which(url: Url | None, peer: str | None) -> str:
    """How a log line names a connection: ours by the address we connect to, an accepted one
    by its peer's address."""
    if url is not None:
        return f"connection to {address(url)}"
    return f"incoming connection from {peer or '(unknown)'}"


def _describe(condition: Condition | None) -> str:
    if condition is None:
        return "no error"
    return f"{condition.name}: {condition.description}" if condition.description \
        else str(condition.name)


def connecting(url: Url, attempt: int) -> None:
    """An outgoing connection attempt starts (DEBUG)."""
    if connection_log.isEnabledFor(logging.DEBUG):
        connection_log.debug("connecting to %s (attempt %d)", address(url), attempt)


def opened(url: Url) -> None:
    """The peer opened an outgoing connection (INFO)."""
    if connection_log.isEnabledFor(logging.INFO):
        connection_log.info("connection to %s opened", address(url))


def transport_closed(name: str, connection: Any, condition: Condition | None) -> None:
    """A connection's transport ended: the connection was closed (INFO), closed by the peer
    with an error (WARNING), or the transport was lost (WARNING, with its error)."""
    if connection.state & Endpoint.REMOTE_CLOSED:
        remote = connection.remote_condition
        if remote is None:
            if connection_log.isEnabledFor(logging.INFO):
                connection_log.info("%s closed", name)
        elif connection_log.isEnabledFor(logging.WARNING):
            connection_log.warning("%s closed by the peer: %s", name, _describe(remote))
    elif connection_log.isEnabledFor(logging.WARNING):
        connection_log.warning("%s lost: %s", name, _describe(condition))


def reconnecting(url: Url, delay: float, attempt: int) -> None:
    """The next attempt is scheduled (INFO)."""
    if connection_log.isEnabledFor(logging.INFO):
        connection_log.info(
            "reconnecting to %s in %.3g s (attempt %d)", address(url), delay, attempt
        )


def gave_up(url: Url, attempts: int) -> None:
    """The reconnect policy ran out of attempts (ERROR)."""
    if connection_log.isEnabledFor(logging.ERROR):
        connection_log.error(
            "gave up reconnecting to %s after %d attempts", address(url), attempts
        )


def stale_delivery(delivery: Any, what: str) -> None:
    """A stale delivery was settled or updated (WARNING): nothing goes to the peer."""
    if delivery_log.isEnabledFor(logging.WARNING):
        link = delivery.link
        delivery_log.warning(
            "%s on %r (link %r) ignored: it was received before its connection was lost, "
            "and the peer will deliver the message again", what, delivery,
            link.name if link._impl is not None else "?",
        )


def listening(host: str, port: int) -> None:
    """A listener was opened (INFO)."""
    if container_log.isEnabledFor(logging.INFO):
        container_log.info("listening on %s:%d", host or "*", port)


def accepted(peer: str, port: int) -> None:
    """An incoming connection was accepted on the listener at ``port`` (DEBUG)."""
    if container_log.isEnabledFor(logging.DEBUG):
        container_log.debug("accepted a connection from %s on port %d", peer, port)


def peer_name(sock: socket.socket) -> str:
    """``host:port`` of an accepted socket's peer."""
    try:
        host, port = sock.getpeername()[:2]
    except OSError:
        return "(gone)"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
