"""Connector: an outgoing connection's attempts, URL ring and reconnect policy.

Each attempt binds a new Transport and socket to the same Connection object. Proton's
``pn_transport_unbind`` resets every session's and link's wire state (channels, handles,
delivery ids, credit) and marks them modified, so binding the next transport re-sends their
begin and attach frames: the user's sessions and links re-attach with no user code. Deliveries
that were on the wire are never re-sent by the engine: around the unbind the container has
``_resend`` resend them for senders made with ``resend_unsettled=True``, mark the others
``stale``, and make each sender's ``credit`` count from the new peer's grant.

When a transport closes, ``on_transport_closed`` decides: stop (closed by us, container stopping,
reconnect off, ``amqp:unauthorized-access``), give up (the policy has no more delays: a
``TRANSPORT_ERROR`` event with condition ``GAVE_UP`` goes to the handlers first), or move to the
next URL and schedule the next attempt after the policy's delay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from proton_ext import lib

from .._core import _log
from .._core._backoff import Policy
from .._core._condition import Condition
from .._core._endpoints import Connection
from .._core._events import Event, scoped_handler
from .._core._transport import SSLDomain, Transport
from .._core._url import Url
from ._io import Channel

if TYPE_CHECKING:
    from ._host import Host, Task

DEFAULT_MAX_FRAME = 1 << 20
"""The largest frame we accept unless told otherwise: without a limit a peer may send a large
message as one frame, which the engine then buffers whole before we can read any of it."""

UNAUTHORIZED = "amqp:unauthorized-access"
GAVE_UP = "amqp:connection:forced"


def host_port(url: Url, default_host: str = "localhost") -> tuple[str, int]:
    """Host and port of a URL, with the scheme's default port (5672, or 5671 for amqps)."""
    if url.port is not None:
        return url.host or default_host, int(url.port)
    return url.host or default_host, 5671 if url.scheme == Url.AMQPS else 5672


def refused(transport: Transport, connection: Connection) -> bool:
    """True when retrying cannot help: the peer refused our credentials, or its certificate
    failed verification (both need a configuration change, not another attempt)."""
    conditions = (transport.condition, connection.remote_condition)
    return any(
        c is not None
        and (c.name == UNAUTHORIZED or "certificate verify failed" in (c.description or ""))
        for c in conditions
    )


def hostname_connector(container: Host, connection: Connection) -> Connector | None:
    """For a connection made by ``Container.connection()`` and opened with only its
    ``hostname`` set (``"host:port"`` or ``"host"``): a Connector to that address, one attempt
    and no reconnect, which keeps the hostname as given in Open (as python-qpid-proton).
    None for any other connection (accepted ones have their peer's URL)."""
    if connection._connector is not None or connection._url is not None:
        return None
    hostname = connection.hostname
    if not hostname:
        return None
    url = Url(hostname)
    options = {"virtual_host": hostname, "sni": url.host}
    connector = Connector(container, connection, [url], Policy(False), None, None, options)
    connection._connector = connector
    return connector


class Connector:
    """Owns an outgoing connection's attempts: URL ring, reconnect policy, transport set-up."""

    def __init__(
        self,
        container: Host,
        connection: Connection,
        urls: list[Url],
        policy: Policy,
        ssl_domain: SSLDomain | None,
        heartbeat: float | None,
        options: dict[str, Any],
    ) -> None:
        self.container = container
        self.connection = connection
        self.urls = urls
        self.index = 0
        self.policy = policy
        self.ssl_domain = ssl_domain
        self.heartbeat = heartbeat
        self.options = options
        self.channel: Channel | None = None
        self.in_outage = False
        self.tries = 0
        self.retry: Task | None = None
        self.delays: list[float] = []

    def attempt(self) -> None:
        """Connect to the current URL: a new transport and socket for the same connection."""
        self.retry = None
        connection = self.connection
        if connection._impl is None or connection.state & lib.PN_LOCAL_CLOSED:
            return
        url = self.urls[self.index]
        connection._url = url
        options = self.options
        host, port = host_port(url)
        virtual_host = options.get("virtual_host")
        # An empty virtual_host sends no hostname in Open at all (as python-qpid-proton).
        connection.hostname = host if virtual_host is None else virtual_host or None
        transport = Transport(Transport.CLIENT)
        if options.get("sasl_enabled", self.container.sasl_enabled):
            sasl = transport.sasl()
            mechs = options.get("allowed_mechs", self.container.allowed_mechs)
            if mechs is not None:
                sasl.allowed_mechs(mechs)
            sasl.allow_insecure_mechs = options.get(
                "allow_insecure_mechs", self.container.allow_insecure_mechs
            )
            if options.get("sasl_config_name"):
                sasl.config_name(options["sasl_config_name"])
            if options.get("sasl_config_path"):
                sasl.config_path(options["sasl_config_path"])
        if url.scheme == Url.AMQPS:
            ssl = transport.ssl(self.ssl_domain or self.container.ssl.client)
            ssl.peer_hostname = options.get("sni") or virtual_host or host
        if self.heartbeat:
            transport.idle_timeout = self.heartbeat
        transport.max_frame_size = options.get("max_frame_size") or DEFAULT_MAX_FRAME
        transport.bind(connection)
        channel = Channel(self.container, transport, connection, None, self)
        self.channel = channel
        self.container._channels[transport._impl] = channel
        channel.tick()
        _log.connecting(url, self.tries + 1)
        channel.start_connect(host, port)

    def on_remote_open(self) -> None:
        """The peer answered: the outage (if any) is over, the next one starts a fresh policy."""
        self.in_outage = False
        _log.opened(self.urls[self.index])

    def on_local_close(self) -> None:
        """The user closed the connection: cancel a pending attempt; free it if it has no
        transport left (no TRANSPORT_CLOSED will come to do it)."""
        if self.retry is not None:
            self.retry.cancel()
            self.retry = None
        if self.channel is None and self.connection._impl is not None:
            self.container._connections.discard(self.connection)
            self.connection.free()

    def on_transport_closed(self, transport: Transport) -> bool:
        """Decide what follows a lost transport; True when a reconnect was scheduled."""
        connection = self.connection
        if connection._impl is None or connection.state & lib.PN_LOCAL_CLOSED:
            return False
        if self.container._stopping or not self.policy.enabled or refused(transport, connection):
            return False
        if not self.in_outage:
            self.in_outage = True
            self.tries = 0
            self.policy.reset()
        delay = self.policy.next()
        if delay is None:
            self.give_up(transport)
            return False
        self.tries += 1
        self.delays.append(delay)
        self.index = (self.index + 1) % len(self.urls)
        self.retry = self.container._schedule_internal(delay, self.attempt)
        _log.reconnecting(self.urls[self.index], delay, self.tries)
        return True

    def give_up(self, transport: Transport) -> None:
        """Attempts ran out: tell the handlers with a TRANSPORT_ERROR whose condition is GAVE_UP
        (its description names the attempts and the last error); the container frees the
        connection next."""
        _log.gave_up(self.urls[self.index], self.tries)
        last = transport.condition
        cause = f"; last error: {last.name}: {last.description}" if last is not None else ""
        transport.condition = Condition(
            GAVE_UP, f"gave up reconnecting after {self.tries} attempts{cause}"
        )
        event = Event(Event.TRANSPORT_ERROR, transport, self.container)
        self.container._dispatch(event, scoped_handler(event))
