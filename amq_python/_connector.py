"""Connector: an outgoing connection's attempts, URL ring and reconnect policy.

Each attempt binds a new Transport and socket to the same Connection object, so the user's
sessions and links re-attach on reconnect. When a transport closes, ``on_transport_closed``
decides: give up (closed by us, reconnect off, authentication refused, attempts used up), or
move to the next URL and schedule the next attempt after the policy's delay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from proton_ext import lib

from ._backoff import Policy
from ._endpoints import Connection
from ._io import Channel
from ._transport import SSLDomain, Transport
from ._url import Url

if TYPE_CHECKING:
    from ._container import Container


def host_port(url: Url, default_host: str = "localhost") -> tuple[str, int]:
    """Host and port of a URL, with the scheme's default port (5672, or 5671 for amqps)."""
    if url.port is not None:
        return url.host or default_host, int(url.port)
    return url.host or default_host, 5671 if url.scheme == Url.AMQPS else 5672



class Connector:
    """Owns an outgoing connection's attempts: URL ring, reconnect policy, transport set-up."""

    def __init__(
        self,
        container: Container,
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
        self.delays: list[float] = []

    def attempt(self) -> None:
        """Connect to the current URL: a new transport and socket for the same connection."""
        connection = self.connection
        if connection._impl is None or connection.state & lib.PN_LOCAL_CLOSED:
            return
        url = self.urls[self.index]
        connection._url = url
        options = self.options
        host, port = host_port(url)
        connection.hostname = options.get("virtual_host") or host
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
            ssl.peer_hostname = options.get("sni") or options.get("virtual_host") or host
        if self.heartbeat:
            transport.idle_timeout = self.heartbeat
        if options.get("max_frame_size"):
            transport.max_frame_size = options["max_frame_size"]
        transport.bind(connection)
        channel = Channel(self.container, transport, connection, None, self)
        self.channel = channel
        self.container._channels[transport._impl] = channel
        channel.tick()
        channel.start_connect(host, port)

    def on_remote_open(self) -> None:
        """The peer answered: the outage (if any) is over."""
        self.in_outage = False

    def on_transport_closed(self, transport: Transport) -> bool:
        """Decide what follows a lost transport; True when a reconnect was scheduled."""
        connection = self.connection
        if connection._impl is None or connection.state & lib.PN_LOCAL_CLOSED:
            return False
        if self.container._stopping or not self.policy.enabled:
            return False
        condition = transport.condition if transport._impl is not None else None
        if condition is not None and condition.name == "amqp:unauthorized-access":
            return False
        if not self.in_outage:
            self.in_outage = True
            self.policy.reset()
        delay = self.policy.next()
        if delay is None:
            return False
        self.delays.append(delay)
        self.index = (self.index + 1) % len(self.urls)
        self.container._schedule_internal(delay, self.attempt)
        return True
