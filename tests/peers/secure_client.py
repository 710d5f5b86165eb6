"""One bounded connection attempt with amq_python, recording what a user's handler would see.

``attempt(url, **options)`` runs a Container whose handler connects with ``options`` (the keyword
arguments of ``Container.connect``), closes the connection as soon as it is open, and returns an
``Outcome``: whether it opened, the SASL mechanism and TLS state the client saw, every
``on_transport_error`` condition, how many transports were tried, and ``repr(connection)``.
A watchdog ends the run with TimeoutError, so a test never hangs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.helpers import run


@dataclass
class Outcome:
    """What the client saw; ``container_id`` finds the server's record of the same connection."""

    container_id: str
    opened: bool = False
    mech: str | None = None
    encrypted: bool = False
    user: str | None = None
    peer_subject: str | None = None
    errors: list[tuple[str | None, str | None]] = field(default_factory=list)
    transports: int = 0
    connection_repr: str = ""

    def texts(self) -> list[str]:
        """Every text the outcome holds (for checks that no secret leaked)."""
        return [self.connection_repr] + [str(part) for error in self.errors for part in error]


class _Client(MessagingHandler):
    """Connects once with the given options; records; closes when open."""

    def __init__(self, url: str, outcome: Outcome, options: dict[str, Any]) -> None:
        """Remember where to connect and with which options."""
        super().__init__()
        self.url = url
        self.outcome = outcome
        self.options = options

    def on_start(self, event: Any) -> None:
        """Connect."""
        connection = event.container.connect(self.url, **self.options)
        self.outcome.connection_repr = repr(connection)

    def on_connection_bound(self, event: Any) -> None:
        """A transport was tried (one per attempt)."""
        self.outcome.transports += 1

    def on_connection_opened(self, event: Any) -> None:
        """Record what the open connection negotiated, then close it."""
        transport = event.transport
        outcome = self.outcome
        outcome.opened = True
        outcome.encrypted = transport.encrypted
        outcome.user = transport.user
        if self.options.get("sasl_enabled", True):
            outcome.mech = transport.sasl().mech
        if transport.encrypted:
            outcome.peer_subject = transport.ssl().get_cert_subject()
        outcome.connection_repr = repr(event.connection)
        event.connection.close()

    def on_transport_error(self, event: Any) -> None:
        """Record the condition; MessagingHandler then closes on fatal ones."""
        condition = event.transport.condition
        self.outcome.errors.append(
            (condition.name, condition.description) if condition else (None, None)
        )
        super().on_transport_error(event)


def attempt(
    url: str,
    timeout: float = 5.0,
    setup: Callable[[Container], None] | None = None,
    **options: Any,
) -> Outcome:
    """Connect to ``url`` with ``options`` (no reconnect unless ``reconnect`` is given) and
    report; ``setup`` may configure the container first (its default TLS domains, ...)."""
    options.setdefault("reconnect", False)
    outcome = Outcome(container_id=f"client-{uuid.uuid4()}")
    container = Container(_Client(url, outcome, options), outcome.container_id)
    if setup is not None:
        setup(container)
    run(container, timeout)
    return outcome
