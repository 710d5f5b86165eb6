"""``aio.connect`` and ``aio.Connection``: one Container per connection, driven by the asyncio
driver; the events of the connection and its sessions go to one handler (``_Events``), each
link's to the aio link's own (``_links.LinkEvents``).

The connection, URL/failover, reconnect, SSL and SASL options are ``Container.connect``'s, passed
through unchanged: there is one place for them. ``container_id`` names the AMQP container.
"""

from __future__ import annotations

import asyncio
import itertools
from types import TracebackType
from typing import Any

from proton_ext import lib

from .._core import _resend
from .._core._condition import Condition
from .._core._endpoints import Receiver as EngineReceiver
from .._core._endpoints import Sender as EngineSender
from .._core._exceptions import ConnectionException, LinkException
from .._core._link_options import AtMostOnce
from .._core._message import Message
from .._core._transport import SSLDomain
from .._core._url import Url
from .._reactor._asyncio import AsyncioDriver
from .._reactor._container import Container
from ._links import Delivery, Receiver, Sender, _Link, deadline_of, wait


class _Events:
    """The engine handler of one aio.Connection: the events of the connection, its transport
    and its sessions (each aio link has its own, ``_links.LinkEvents``)."""

    def __init__(self, owner: Connection) -> None:
        self.owner = owner

    def on_connection_remote_open(self, event: Any) -> None:
        self.owner._on_open()

    def on_connection_remote_close(self, event: Any) -> None:
        connection = event.connection
        condition = connection.remote_condition
        if condition is not None:
            self.owner._condition = condition
        if not connection.state & lib.PN_LOCAL_CLOSED:
            connection.close()

    def on_transport_error(self, event: Any) -> None:
        condition = event.transport.condition
        if condition is not None:
            self.owner._condition = condition

    def on_transport_closed(self, event: Any) -> None:
        condition = event.transport.condition
        for link in list(self.owner._links):
            link._on_lost(condition)

    def on_session_remote_close(self, event: Any) -> None:
        """The peer ended a session (RabbitMQ does so for a terminus it cannot make): every
        link on it fails with the peer's condition instead of waiting for ever; the next link
        gets a new session."""
        session = event.session
        condition = session.remote_condition
        error = LinkException(
            f"session ended by the peer: {condition}" if condition is not None
            else "session ended by the peer"
        )
        for found in list(self.owner._links):
            link = found._link
            if link._impl is not None and lib.pn_link_session(link._impl) == session._impl:
                found._fail(error, quiet=condition is None)
                self.owner._links.discard(found)
        if not session.state & lib.PN_LOCAL_CLOSED:
            session.close()
        connection = event.connection
        default = connection._default_session
        if default is not None and default._impl == session._impl:
            connection._default_session = None


class _Replies(Receiver):
    """The dynamic receiver of ``Connection.request``: each reply resolves the request with its
    ``correlation_id`` and is accepted at once."""

    def __init__(self, connection: Connection, link: EngineReceiver) -> None:
        super().__init__(connection, link, credit=100, auto_accept=True)
        self.pending: dict[Any, asyncio.Future[Message]] = {}

    def _on_message(self, delivery: Any, message: Message) -> None:
        self._held += 1
        Delivery(self, delivery, message).accept()
        future = self.pending.pop(message.correlation_id, None)
        if future is not None and not future.done():
            future.set_result(message)


class _DefaultDomain:
    """The default client TLS domain (the system's CAs, host names checked), shared by the aio
    connections that give no ``ssl_domain``: loading the CAs takes tens of milliseconds, so it
    is made once, in the loop's executor."""

    domain: SSLDomain | None = None
    loading: asyncio.Future[SSLDomain] | None = None  # under way, on the loop that asked

    @classmethod
    async def get(cls) -> SSLDomain:
        if cls.domain is not None:
            return cls.domain
        loop = asyncio.get_running_loop()
        loading = cls.loading
        if loading is None or loading.get_loop() is not loop:
            loading = cls.loading = loop.run_in_executor(None, SSLDomain, SSLDomain.MODE_CLIENT)
        domain = await asyncio.shield(loading)
        cls.domain = domain
        cls.loading = None
        return domain


class Connection:
    """A connection driven by the running asyncio loop. ``await`` it (or ``async with`` it)
    to wait until the peer has opened it; ``close()`` and ``wait_closed()`` end it."""

    def __init__(
        self, url: str | Url | None, urls: list[str] | None, reconnect: Any, options: Any
    ) -> None:
        self._loop = asyncio.get_running_loop()
        container_id = options.pop("container_id", None)
        container = Container(container_id) if container_id is not None else Container()
        self._container = container
        self._links: set[_Link] = set()
        self._opened: asyncio.Future[None] = self._loop.create_future()
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._condition: Condition | None = None
        self._error: BaseException | None = None
        self._closing = False
        self._replies: _Replies | None = None
        self._request_senders: dict[str, Sender] = {}
        self._correlation = itertools.count()
        self._connection = container.connect(
            url, urls=urls, reconnect=reconnect, handler=_Events(self), **options
        )
        self._driver = AsyncioDriver(container, self._loop, self._on_driver_error, self._on_idle)
        self._driver.attach()
        self._setup: asyncio.Task[None] | None = None
        tls = [u for u in (url, *(urls or ())) if u is not None and Url(u).scheme == Url.AMQPS]
        if tls and options.get("ssl_domain") is None:
            # Nothing runs (no pass, so no attempt) until the default domain is there.
            self._setup = self._loop.create_task(self._set_up_tls())
        else:
            self._driver.kick()

    @property
    def container(self) -> Container:
        """The Container whose engine this connection uses."""
        return self._container

    @property
    def connection(self) -> Any:
        """The engine connection (the handler API's Connection)."""
        return self._connection

    def _kick(self) -> None:
        if self._setup is None:
            self._driver.kick()

    def _flush(self, always: bool = False) -> None:
        """A coroutine is about to wait for the peer: write what it changed now (``always``:
        with no kick before it)."""
        if self._setup is None:
            self._driver.flush(always)

    async def _set_up_tls(self) -> None:
        """Give the container the default client TLS domain, loaded off the loop, then start."""
        try:
            self._container.ssl.client = await _DefaultDomain.get()
        except BaseException as e:  # noqa: BLE001 - ends the connection with this error
            self._setup = None
            self._on_driver_error(e)
            return
        self._setup = None
        self._driver.kick()

    # ----- the engine's side -----

    def _on_open(self) -> None:
        self._condition = None
        if not self._opened.done():
            self._opened.set_result(None)

    def _on_driver_error(self, error: BaseException) -> None:
        """A handler or the IO failed: the connection cannot go on."""
        if self._error is None:
            self._error = error
        self._container._abort()
        self._on_idle()

    def _on_idle(self) -> None:
        """The container has nothing left to do: the connection ended; end every wait."""
        self._driver.detach()
        error = self._error
        if error is None and self._condition is not None:
            error = ConnectionException(f"connection failed: {self._condition}")
        elif error is None and not self._closing:
            error = ConnectionException("connection closed by the peer")
        for link in list(self._links):
            link._fail(error or ConnectionException("connection closed"), quiet=error is None)
        self._links.clear()
        if not self._opened.done():
            self._opened.set_exception(error or ConnectionException("closed before it opened"))
            self._opened.exception()  # retrieved: nobody may be waiting for the open
        if not self._closed.done():
            self._closed.set_result(None)

    # ----- the application's side -----

    async def _wait_open(self) -> Connection:
        try:
            await asyncio.shield(self._opened)
        except asyncio.CancelledError:
            if not self._opened.done():  # the caller gave up on the open: stop connecting
                self._on_driver_error(ConnectionException("the open was cancelled"))
            raise
        return self

    def __await__(self) -> Any:
        return self._wait_open().__await__()

    async def __aenter__(self) -> Connection:
        return await self._wait_open()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _check(self) -> None:
        if self._closed.done() or self._closing:
            raise ConnectionException("the connection is closed")

    async def open_sender(
        self,
        address: str | None,
        *,
        settle: str = "unsettled",
        resend_unsettled: bool = True,
        max_unsettled: int = _resend.DEFAULT_MAX_UNSETTLED,
        **link_options: Any,
    ) -> Sender:
        """A sender to ``address``, once the peer has attached it. ``settle="presettled"``
        sends pre-settled (at most once: no outcome, never resent). ``resend_unsettled``: after
        a reconnect, send again what had no outcome (each ``send()`` then gets its resend's
        outcome), holding at most ``max_unsettled`` messages (``submit()`` waits beyond).
        ``link_options`` are ``Container.create_sender``'s (``name``, ``source``, ``tags``,
        ``options``)."""
        if settle not in ("unsettled", "presettled"):
            raise ValueError(f'settle must be "unsettled" or "presettled", not {settle!r}')
        self._check()
        options = link_options.pop("options", None)
        options = list(options) if isinstance(options, (list, tuple)) else (
            [options] if options is not None else []
        )
        if settle == "presettled":
            options.append(AtMostOnce())
        link = self._container.create_sender(
            self._connection,
            address,
            options=options or None,
            resend_unsettled=resend_unsettled and settle != "presettled",
            max_unsettled=max_unsettled,
            **link_options,
        )
        assert isinstance(link, EngineSender)
        sender = Sender(self, link, settle == "presettled")
        self._kick()
        await sender.wait_open()
        return sender

    async def open_receiver(
        self,
        address: str | None,
        *,
        credit: int = 10,
        auto_accept: bool = False,
        **link_options: Any,
    ) -> Receiver:
        """A receiver from ``address`` holding at most ``credit`` deliveries, once the peer has
        attached it. ``auto_accept`` accepts each delivery as it is handed out.
        ``link_options`` are ``Container.create_receiver``'s (``name``, ``dynamic``, ...)."""
        self._check()
        link = self._container.create_receiver(self._connection, address, **link_options)
        assert isinstance(link, EngineReceiver)
        link._outlives_faults = True
        receiver = Receiver(self, link, credit, auto_accept)
        self._kick()
        await receiver.wait_open()
        return receiver

    async def request(
        self, address: str, message: Message, *, timeout: float | None = None
    ) -> Message:
        """Send ``message`` to ``address`` with a ``reply_to`` of this connection's (dynamic)
        reply queue and a fresh ``correlation_id``, and return the reply."""
        self._check()
        deadline = deadline_of(timeout)
        replies = self._replies
        if replies is None:
            reply_link = self._container.create_receiver(self._connection, None, dynamic=True)
            assert isinstance(reply_link, EngineReceiver)
            replies = self._replies = _Replies(self, reply_link)
            self._kick()
        await wait(asyncio.shield(replies._opened), deadline, "request timed out")
        sender = self._request_senders.get(address)
        if sender is None or sender._error is not None:
            link = self._container.create_sender(self._connection, address)
            assert isinstance(link, EngineSender)
            sender = self._request_senders[address] = Sender(self, link, False)
            self._kick()
        correlation_id = f"{self._container.container_id}:{next(self._correlation)}"
        message.reply_to = replies.address
        message.correlation_id = correlation_id
        future: asyncio.Future[Message] = self._loop.create_future()
        replies.pending[correlation_id] = future
        try:
            await sender._send(message, deadline)
            reply: Message = await wait(future, deadline, "no reply within the timeout")
            return reply
        finally:
            replies.pending.pop(correlation_id, None)

    async def close(self) -> None:
        """Close the connection and wait until it has ended."""
        connection = self._connection
        if not self._closed.done():
            self._closing = True
            if connection._impl is not None and not connection.state & lib.PN_LOCAL_CLOSED:
                connection.close()
            self._kick()
        await self.wait_closed()

    async def wait_closed(self) -> None:
        """Wait until the connection has ended (closed, or failed for good)."""
        await asyncio.shield(self._closed)


def connect(
    url: str | Url | None = None,
    *,
    urls: list[str] | None = None,
    reconnect: Any = True,
    **options: Any,
) -> Connection:
    """Connect on the running loop; ``await`` the result (or ``async with`` it) for the open
    Connection. Options are ``Container.connect``'s (``heartbeat``, ``ssl_domain``, ``user``,
    ``password``, ``allowed_mechs``, ``sasl_enabled``, ...) plus ``container_id``; with no
    ``url`` nor ``urls``, connect.json decides, as for the Container."""
    return Connection(url, urls, reconnect, options)


__all__ = ["Connection", "connect"]
