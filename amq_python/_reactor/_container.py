"""The Container: the event loop, timers, outgoing connections with reconnect, and listeners.

One thread runs ``run()``:
1. ``on_start`` (the REACTOR_INIT event) goes to the container's handlers.
2. Loop: dispatch every event queued in the collector (all connections share one); write the
   output of every transport that has some; wait in the selector until a socket is ready or
   the next timer is due; read; run due timers. ``run()`` returns when no socket, listener,
   timer or injector is left, or after ``stop()``.
3. An event goes to the handler scoped to its link, session or connection (``handler=`` of
   ``connect``/``create_sender``/``create_receiver``) if one is set, else to the container's
   root ``handler`` (the handlers it was made with), then to its ``global_handler`` (see
   ``_base``). An exception from a handler ends ``run()`` and propagates.

Outgoing connections are owned by a Connector (``_connector``), which makes each attempt.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import time
import traceback
import uuid
import warnings
from collections import deque
from types import TracebackType
from typing import Any, Callable

from proton_ext import ffi, lib

from .._core import _log, _resend
from .._core._backoff import Policy
from .._core._condition import Condition
from .._core._connect_config import load_connect_config
from .._core._delivery import Delivery, detach_settled, pending_settled
from .._core._endpoints import Connection, Link, Receiver, Sender, Session
from .._core._events import (
    KIND_DELIVERY,
    KIND_LINK,
    Event,
    EventType,
    calls_for,
    handler_for,
    python_event,
    scoped_handler,
)
from .._core._exceptions import UnavailableError
from .._core._transport import SSLDomain, Transport, missing_mechanisms, set_cyrus_config
from .._core._url import Url
from .._core._wrapper import live
from . import _transactions
from ._base import Reactor
from ._connector import DEFAULT_MAX_FRAME, Connector, host_port, hostname_connector
from ._host import Task
from ._io import Acceptor, Channel, peer_url
from ._poller import Poller
from ._pushed import dispatch_pushed
from ._selectable import Selectable

_CONNECT_OPTIONS = frozenset(
    {
        "user",
        "password",
        "sasl_enabled",
        "allowed_mechs",
        "allow_insecure_mechs",
        "sasl_config_name",
        "sasl_config_path",
        "virtual_host",
        "sni",
        "offered_capabilities",
        "desired_capabilities",
        "properties",
        "max_frame_size",
        "container_id",
    }
)


class SSLConfig:
    """The container's default TLS domains, made on first use (loading CAs costs time)."""

    def __init__(self) -> None:
        self._client: SSLDomain | None = None
        self._server: SSLDomain | None = None

    @property
    def client(self) -> SSLDomain:
        """Client domain: verify the server's certificate and name against the system CAs."""
        if self._client is None:
            self._client = SSLDomain(SSLDomain.MODE_CLIENT)
        return self._client

    @client.setter
    def client(self, domain: SSLDomain) -> None:
        self._client = domain

    @property
    def server(self) -> SSLDomain:
        """Server domain used by listeners with amqps URLs."""
        if self._server is None:
            self._server = SSLDomain(SSLDomain.MODE_SERVER)
        return self._server

    @server.setter
    def server(self, domain: SSLDomain) -> None:
        self._server = domain


class Container(Reactor):
    """Runs the event loop and creates connections, links, listeners and timers."""

    def __init__(self, *handlers: Any, **kwargs: Any) -> None:
        container_id = kwargs.pop("container_id", None)
        global_handler = kwargs.pop("global_handler", None)
        real_handlers = []
        for handler in handlers:
            if isinstance(handler, str):
                container_id = handler
            elif handler is not None:
                real_handlers.append(handler)
        if kwargs:
            raise TypeError(
                f"Container() got unexpected keyword argument(s) {sorted(kwargs)}; "
                "the keywords are container_id and global_handler"
            )
        super().__init__(*real_handlers, global_handler=global_handler)
        self.container_id: str = container_id or str(uuid.uuid4())
        self.ssl = SSLConfig()
        self.sasl_enabled = True
        self.allowed_mechs: str | None = None
        self.allow_insecure_mechs = True
        self.user: str | None = None
        self.password: str | None = None
        self.sasl_config_name: str | None = None
        self.sasl_config_path: str | None = None
        self._selector: Any = Poller()  # or, under asyncio, the driver's AsyncioPoller
        self._collector = ffi.gc(lib.pn_collector(), lib.pn_collector_free)
        self._context_out = ffi.new("void **")
        self._passes = 0  # _process_events calls so far: Channel.write_early's pass ids
        self._channels: dict[Any, Channel] = {}
        self._dirty: set[Channel] = set()
        self._acceptors: set[Acceptor] = set()
        self._injectors: set[Any] = set()
        self._timers: list[tuple[float, int, Task]] = []
        self._timer_seq = itertools.count()
        self._connections: set[Connection] = set()
        self._stopping = False
        self._stop_grace: Task | None = None  # after stop(): ends the wait for silent peers
        self._started = False
        self._link_names = itertools.count()
        self._t0 = time.monotonic()
        self._timeout: float | None = None
        self._yield = False
        # Handler errors reported through on_error(), raised by run() or stop().
        self.errors: list[tuple[type[BaseException], BaseException, TracebackType | None]] = []
        self._pushed: deque[Event] = deque()  # push_event(): dispatched before each wait
        self._events_stopped = False
        self._driver: Any = None  # the asyncio driver while run_async (or aio) drives this

    @property
    def now(self) -> float:
        """Seconds on the container's monotonic clock."""
        return time.monotonic()

    def now_ms(self) -> int:
        """Milliseconds on the same clock, for the engine's timers."""
        return int(time.monotonic() * 1000)

    def mark(self) -> float:
        """The current ``now`` (python-qpid-proton caches ``now`` per loop turn and this
        refreshes it; ours is read live, so there is nothing to refresh)."""
        return self.now

    # ----- timers -----

    def schedule(self, delay: float | int, handler: Any) -> Task:
        """Fire ``on_timer_task`` on ``handler`` (None: the container's handlers) after
        ``delay`` seconds."""
        if not isinstance(delay, (int, float)) or delay != delay:
            raise TypeError(f"schedule() delay must be a number of seconds, not {delay!r}")
        if delay < 0:
            raise ValueError(f"schedule() delay must not be negative (got {delay})")
        task = Task(self, time.monotonic() + delay, handler)
        heapq.heappush(self._timers, (task.deadline, next(self._timer_seq), task))
        if self._driver is not None:
            self._driver.kick()  # called from a coroutine: the loop timer must be re-armed
        return task

    def _schedule_internal(self, delay: float, callback: Callable[[], None]) -> Task:
        task = Task(self, time.monotonic() + delay, None, callback)
        heapq.heappush(self._timers, (task.deadline, next(self._timer_seq), task))
        return task

    def _run_timers(self) -> None:
        timers = self._timers
        now = time.monotonic()
        while timers and timers[0][0] <= now:
            task = heapq.heappop(timers)[2]
            if task.cancelled:
                continue
            task.cancelled = True
            if task._callback is not None:
                task._callback()
            else:
                self._dispatch(Event(Event.TIMER_TASK, task, self), task.handler)
            self._process_events()

    @property
    def timer_deadline(self) -> float | None:
        """When the next timer is due, on the ``now`` clock; None when none is scheduled."""
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def timer_tick(self) -> None:
        """Fire every timer that is due now (``run()`` and ``process()`` do this each turn):
        for code that drives the loop itself."""
        self._run_timers()

    def _next_timeout(self) -> float | None:
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        if not timers:
            return None
        return max(0.0, timers[0][0] - time.monotonic())

    # ----- connections -----

    def connect(
        self,
        url: str | Url | None = None,
        urls: list[str] | None = None,
        address: str | None = None,
        handler: Any = None,
        reconnect: Any = None,
        heartbeat: float | None = None,
        ssl_domain: SSLDomain | None = None,
        **kwargs: Any,
    ) -> Connection:
        """Open a connection to ``url`` (or the first of ``urls``), reconnecting by default.

        Where to connect (give at most one of them):

        - ``url``: a URL string or ``Url``, ``[amqp[s]://][user[:password]@]host[:port]``; the
          port defaults to 5672, or 5671 for ``amqps`` (which uses TLS).
        - ``urls``: a non-empty list of URLs to fail over between, in order.
        - ``address``: the same as ``url`` (kept for older programs).
        - none of them: the options come from a ``connect.json`` file, the first found of
          ``$MESSAGING_CONNECT_FILE``, ``./connect.json``, ``~/.config/messaging/connect.json``
          and ``/etc/messaging/connect.json``. Without a file: ``amqps://localhost:5671``.
          Keywords given here win over the file's values.

        A host name is tried at every address it resolves to, in the order the resolver gives
        them (``localhost`` may be ``::1`` then ``127.0.0.1``), before an attempt fails.

        Keyword options:

        - ``handler``: gets this connection's events (and its sessions' and links'), instead
          of the container's handlers.
        - ``reconnect``: the delays between attempts. Default (None or True): a ``Backoff()``,
          0 s then 0.1 s doubling up to 10 s, with no limit on attempts. ``False``: one
          attempt, no reconnect. A ``Backoff(initial, factor, max_delay, max_tries, jitter)``,
          a list (or other iterable) of delays in seconds, or any object with ``reset()`` and
          ``next()`` (``next()`` raising StopIteration to give up) sets them.
        - ``heartbeat``: our idle timeout in seconds, sent in Open: with no frame from the
          peer for that long the connection is lost; the engine sends empty frames often
          enough for the peer's own idle timeout.
        - ``ssl_domain``: the ``SSLDomain`` for ``amqps`` URLs (default: the container's
          ``ssl.client``, which verifies the server's certificate and name).
        - ``user``, ``password``: SASL credentials; the URL's own user and password are used
          when these are not given, and the container's ``user``/``password`` after that.
        - ``sasl_enabled``: False to connect without a SASL layer (default: the container's).
        - ``allowed_mechs``: the SASL mechanisms we may use, a space-separated string or a list
          of names (UnavailableError now when none of them is installed here).
        - ``allow_insecure_mechs``: whether mechanisms that send the password in the clear
          (PLAIN) may be used without TLS (default: the container's, True).
        - ``sasl_config_name``, ``sasl_config_path``: the Cyrus SASL configuration file's name
          and directory to use for this connection.
        - ``virtual_host``: the hostname sent in Open (default: the URL's host); an empty
          string sends none. It is also the TLS SNI name unless ``sni`` is given.
        - ``sni``: the TLS Server Name Indication host name (default: virtual_host, else the
          URL's host).
        - ``offered_capabilities``, ``desired_capabilities``: lists of symbols for Open.
        - ``properties``: the connection properties map for Open (string keys become symbols).
        - ``max_frame_size``: the largest frame we accept, in bytes (default 1 MiB).
        - ``container_id``: the container id sent in this connection's Open (default: the
          container's ``container_id``).

        An unknown keyword raises TypeError naming the valid ones (python-qpid-proton ignores
        it silently; under ``python -m amq_python.compat`` we warn once and ignore it too).

        Reconnect and failover: when the connection is lost (or an attempt fails) before the
        program closes it, the next attempt goes to the next URL of ``urls`` (round robin),
        after the policy's next delay: one delay per attempt (python-qpid-proton takes one per
        pass over the whole list). A new outage starts the policy over once the peer has
        answered with Open. Sessions and links are re-attached on the new connection; messages
        with no outcome yet are resent only by senders made with ``resend_unsettled=True``
        (``create_sender``), else ``on_disconnected`` may resend them. When the
        policy runs out, the handlers get ``on_transport_error`` with the condition
        ``amqp:connection:forced`` ("gave up reconnecting after N attempts; last error: ...").
        It does not reconnect after ``close()``, after ``container.stop()``, or with
        ``reconnect=False``. Intended differences from python-qpid-proton:

        - authentication failure (``amqp:unauthorized-access``) or a server certificate that
          fails verification stops at once, with that error: retrying cannot help (proton
          retries forever);
        - a host name that cannot be resolved is an attempt failure like any other, retried
          by the policy with a clear message ("cannot resolve 'host': ..."); proton's ``run()``
          ends with a raw ``socket.gaierror``.

        Returns the ``Connection`` (opened now; it connects from the event loop).
        """
        unknown = set(kwargs) - _CONNECT_OPTIONS
        if unknown:
            kwargs = _unknown_options(kwargs, unknown)
        if url is not None and urls is not None:
            raise ValueError(
                "connect(): use either url or urls, not both (urls is the failover list)"
            )
        if urls is not None:
            if isinstance(urls, str) or not urls:
                raise ValueError("connect(): urls must be a non-empty list of URLs")
            url_list = [Url(u) for u in urls]
        elif url is not None:
            url_list = [url if isinstance(url, Url) else Url(url)]
        elif address is not None:
            url_list = [Url(address)]
        else:
            config = load_connect_config()
            url_list = [Url(config.pop("url"))]
            file_domain = config.pop("ssl_domain", None)
            if ssl_domain is None:
                ssl_domain = file_domain
            kwargs = {**config, **kwargs}
        _check_connect_options(heartbeat, kwargs)
        if heartbeat is not None and heartbeat < 0:
            raise ValueError(f"connect(): heartbeat must be positive seconds, not {heartbeat}")
        if kwargs.get("allowed_mechs") is not None:
            kwargs["allowed_mechs"] = _check_mechanisms(kwargs["allowed_mechs"])
        policy = Policy(reconnect)
        connection = Connection()
        connection.container = kwargs.get("container_id") or self.container_id
        connection._container_obj = self
        connection.handler = handler
        first = url_list[0]
        user = kwargs.get("user", first.username or self.user)
        password = kwargs.get("password", first.password or self.password)
        if user is not None:
            connection.user = user
            if password is not None:
                connection.password = password
        for name in ("offered_capabilities", "desired_capabilities", "properties"):
            if kwargs.get(name) is not None:
                setattr(connection, name, kwargs[name])
        lib.pn_connection_collect(connection._impl, self._collector)
        connector = Connector(self, connection, url_list, policy, ssl_domain, heartbeat, kwargs)
        connection._connector = connector
        self._connections.add(connection)
        connection.open()
        if self._driver is not None:
            self._driver.kick()
        return connection

    def _accept(self, sock: socket.socket, acceptor: Acceptor) -> None:
        connection = Connection()
        connection.container = self.container_id
        connection._container_obj = self
        connection.handler = acceptor.handler
        connection._url = peer_url(sock)
        lib.pn_connection_collect(connection._impl, self._collector)
        transport = Transport(Transport.SERVER)
        if self.sasl_enabled:
            sasl = transport.sasl()
            sasl.allow_insecure_mechs = self.allow_insecure_mechs
            if self.allowed_mechs is not None:
                sasl.allowed_mechs(self.allowed_mechs)
            path = self.sasl_config_path or os.environ.get("PN_SASL_CONFIG_PATH")
            if path or self.sasl_config_name:
                set_cyrus_config(path, self.sasl_config_name)
        if acceptor.ssl_domain is not None:
            transport.ssl(acceptor.ssl_domain)
        transport.max_frame_size = DEFAULT_MAX_FRAME
        transport.bind(connection)
        channel = Channel(self, transport, connection, sock)
        channel.peer = _log.peer_name(sock)
        _log.accepted(channel.peer, acceptor.port)
        self._channels[transport._impl] = channel
        self._connections.add(connection)
        channel.tick()
        channel.update()

    def listen(self, url: str | Url, ssl_domain: SSLDomain | None = None) -> Acceptor:
        """Accept connections on ``url``'s host and port (IPv4 or IPv6)."""
        parsed = url if isinstance(url, Url) else Url(url)
        if ssl_domain is None and parsed.scheme == Url.AMQPS:
            ssl_domain = self.ssl.server
        host, port = host_port(parsed, "")
        acceptor = Acceptor(self, host, port, ssl_domain)
        _log.listening(host, acceptor.port)
        return acceptor

    # ----- links -----

    def acceptor(self, host: str, port: int | str, handler: Any = None) -> Acceptor:
        """Listen on ``host``:``port``; ``handler`` (when given) gets the events of every
        connection accepted there, instead of the container's handlers."""
        return Acceptor(self, host, int(port), None, handler)

    def _link_context(
        self, context: str | Url | Connection | Session, address: str | None
    ) -> tuple[Session, str | None]:
        """The session a new link goes on, and its node address: a URL context opens a new
        connection, and its path is the address when none is given."""
        if isinstance(context, (str, Url)):
            url = context if isinstance(context, Url) else Url(context)
            if address is None and url.path:
                address = url.path
            context = self.connect(url)
        return self._session_for(context), address

    def _session_for(self, context: Any) -> Session:
        if isinstance(context, Session):
            return context
        if isinstance(context, Connection):
            return context.default_session
        raise TypeError(
            f"expected a Connection, Session or URL as the context, got {type(context).__name__}"
        )

    def _link_name(self, kind: str) -> str:
        return f"{self.container_id}-{kind}-{next(self._link_names)}"

    def create_sender(
        self,
        context: str | Url | Connection | Session,
        target: str | None = None,
        source: str | None = None,
        name: str | None = None,
        handler: Any = None,
        tags: Callable[[], bytes] | None = None,
        options: Any = None,
        *,
        resend_unsettled: bool = False,
        max_unsettled: int = _resend.DEFAULT_MAX_UNSETTLED,
    ) -> Sender:
        """Open a sender to ``target`` on a connection, session, or a new connection to a URL
        (whose path is the target when none is given). ``resend_unsettled``: after a reconnect,
        send again what had no outcome, holding at most ``max_unsettled`` messages."""
        session, target = self._link_context(context, target)
        _check_text("create_sender", target=target, source=source, name=name)
        sender = session.sender(name or self._link_name("sender"))
        if source:
            sender.source.address = source
        if target:
            sender.target.address = target
        if tags is not None:
            sender._tags = tags
        if resend_unsettled:
            _resend.enable(sender, max_unsettled)
        _open_link(sender, handler, options)
        return sender

    def create_receiver(
        self,
        context: str | Url | Connection | Session,
        source: str | None = None,
        target: str | None = None,
        name: str | None = None,
        dynamic: bool = False,
        handler: Any = None,
        options: Any = None,
    ) -> Receiver:
        """Open a receiver from ``source`` (or a dynamic node) on a connection, session or URL."""
        session, source = self._link_context(context, source)
        _check_text("create_receiver", source=source, target=target, name=name)
        receiver = session.receiver(name or self._link_name("receiver"))
        if source:
            receiver.source.address = source
        if dynamic:
            receiver.source.dynamic = True
        if target:
            receiver.target.address = target
        _open_link(receiver, handler, options)
        return receiver

    def declare_transaction(
        self, context: Connection, handler: Any = None, settle_before_discharge: bool = False
    ) -> _transactions.Transaction:
        """Declare a local transaction on a connection (its coordinator link is made on first
        use); ``handler`` (a TransactionHandler, else the container's handlers) gets
        ``on_transaction_declared`` with ``event.transaction``, then the discharge's outcome.
        ``settle_before_discharge`` settles deliveries accepted in it at once."""
        return _transactions.declare(self, context, handler, settle_before_discharge)

    def selectable(self, handler: Any = None, delegate: Any = None) -> Any:
        """Watch ``delegate`` (default: ``handler``): an EventInjector is registered and
        returned (``container.selectable(injector)``); anything else with ``fileno()`` gets
        a Selectable whose SELECTABLE_* events go to ``handler`` (see ``_selectable``)."""
        if delegate is None:
            delegate = handler
        register = getattr(delegate, "_register", None)
        if register is not None:
            register(self)
            return delegate
        selectable = Selectable(delegate, self)
        selectable.handler = handler
        return selectable

    def update(self, selectable: Selectable) -> None:
        """Apply a selectable's new reading, writing and deadline (``selectable.update()``)."""
        selectable.update()

    def push_event(self, obj: Any, etype: EventType) -> None:
        """Queue an event of type ``etype`` about any object, for this container's thread
        (other threads use an EventInjector). The loop dispatches pushed events in order
        before it next waits, each to its handler (its link's, session's or connection's, else
        ``obj.handler``) or else the container's handlers. An Event is pushed as itself."""
        if not self._events_stopped:
            self._pushed.append(python_event(obj, etype, self))
            if self._driver is not None:
                self._driver.kick()

    def stop_events(self) -> None:
        """Dispatch no more events, for tearing the container down after ``run()``: drop the
        queued and pushed ones unseen (finishing what the container itself tracks) and queue
        no new ones. The container cannot run again afterwards."""
        self._events_stopped = True
        self._pushed.clear()
        collector = self._collector
        while (c_event := lib.pn_collector_peek(collector)) != ffi.NULL:
            etype = EventType.TYPES.get(lib.pn_event_type(c_event))
            if etype in _FINISHING:
                self._after(etype, etype.wrap(c_event))
            lib.pn_collector_pop(collector)
        lib.pn_collector_release(collector)

    def on_error(
        self, info: tuple[type[BaseException], BaseException, TracebackType | None]
    ) -> None:
        """Record a handler error (an ``exc_info()`` triple) and hand control back; ``run()``
        raises it when the loop ends (before REACTOR_FINAL), or ``stop()`` at once."""
        self.errors.append(info)
        self.yield_()

    def _raise_errors(self) -> None:
        """Raise the last error ``on_error`` recorded (printing any earlier ones), once."""
        errors, self.errors = self.errors, []
        if not errors:
            return
        for earlier in errors[:-1]:
            traceback.print_exception(*earlier)
        exc_type, value, tb = errors[-1]
        raise (value if value is not None else exc_type()).with_traceback(tb)

    def wakeup(self) -> None:
        """Under ``run_async``: process what code outside the handlers (a coroutine) changed
        in the engine, soon. Under ``run()`` nothing to do: injectors wake the loop."""
        if self._driver is not None:
            self._driver.kick()

    def connection(self, handler: Any = None) -> Connection:
        """A new connection of this container, with no address yet: its events go to
        ``handler`` (else the container's handlers). Give it an address with
        ``set_connection_host``, or set its ``hostname`` to ``"host:port"`` (which Open then
        carries, as in python-qpid-proton), before opening it: it connects when opened, one
        attempt, no reconnect. Opened with neither, it stays unconnected."""
        connection = Connection()
        connection.container = self.container_id
        connection._container_obj = self
        connection.handler = handler
        lib.pn_connection_collect(connection._impl, self._collector)
        self._connections.add(connection)
        return connection

    def connection_to_host(self, host: str, port: Any, handler: Any = None) -> Connection:
        """A connection to ``host``:``port`` that connects when opened, with one attempt and
        no reconnect (``connect()`` is the full-featured way)."""
        connection = self.connection(handler)
        self.set_connection_host(connection, host, port)
        return connection

    def set_connection_host(self, connection: Connection, host: str, port: Any) -> None:
        """Set the address a connection made by ``connection()`` connects to when opened
        (one attempt, no reconnect). It must be set before the connection is opened."""
        if connection.state & lib.PN_LOCAL_ACTIVE or connection._connector is not None:
            raise ValueError("set_connection_host: the connection is already opened")
        url = Url(f"amqp://{host}:{int(port)}")
        connection._connector = Connector(self, connection, [url], Policy(False), None, None, {})

    @property
    def quiesced(self) -> bool:
        """True when no engine event is waiting to be dispatched."""
        return lib.pn_collector_peek(self._collector) == ffi.NULL

    @property
    def timeout(self) -> float | None:
        """The longest one ``process()`` turn waits for a socket or timer, in seconds; None
        (the default) waits as long as needed, so a caller driving ``process()`` in its own
        loop sets this to get control back regularly."""
        return self._timeout

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        if seconds is not None and not seconds >= 0:
            raise ValueError(f"timeout must be None or seconds >= 0, not {seconds!r}")
        self._timeout = seconds

    def yield_(self) -> None:
        """Make the current (or next) ``process()`` turn return True once the queued events
        are dispatched, without waiting for a socket or timer: a handler hands control back
        to the code driving the loop."""
        self._yield = True

    def get_connection_address(self, connection: Connection) -> str | None:
        """The URL a connection is connected to."""
        return connection.connected_address

    # ----- the loop -----

    def run(self) -> None:
        """Run until there is nothing left to do (or ``stop()``).

        A KeyboardInterrupt (or SystemExit) inside the loop closes every socket at once (no
        graceful Close: the loop is not running any more) and propagates; an exception from a
        handler propagates with the sockets left as they are, so ``run()`` can go on."""
        self.start()
        try:
            while self.process():
                pass
        except (KeyboardInterrupt, SystemExit):
            self._abort()
            raise
        self._raise_errors()
        self._dispatch(Event(Event.REACTOR_FINAL, self, self))

    async def run_async(self) -> None:
        """``run()`` on the running asyncio loop, with no thread: the same handlers, dispatch,
        connect and reconnect; the loop watches the sockets and timers (``_asyncio``).
        Code outside the handlers that changes the engine calls ``wakeup()`` afterwards."""
        # Imported here: programs that never use asyncio do not pay for importing it.
        from ._asyncio import run_container

        await run_container(self)

    def _abort(self) -> None:
        """Close every socket now: connections (their transports get a ``proton:io``
        condition), listeners and injectors; cancel the timers."""
        self._stopping = True
        for channel in list(self._channels.values()):
            if channel._t is not None:
                channel.io_error("interrupted")
        for acceptor in list(self._acceptors):
            acceptor.close()
        for injector in list(self._injectors):
            injector._release()
        for _deadline, _seq, task in self._timers:
            task.cancel()

    def start(self) -> None:
        """Fire ``on_start``; ``run()`` calls this."""
        self._started = True
        self._dispatch(Event(Event.REACTOR_INIT, self, self))
        self._process_events()

    def process(self) -> bool:
        """One turn of the loop (waiting at most ``timeout``); False when there is nothing
        left to do."""
        self._process_events()
        if self._pushed:
            dispatch_pushed(self)
        if not self._has_work():
            return False
        if self._yield:
            self._yield = False
            return True
        wait = self._next_timeout()
        if self._timeout is not None:
            wait = self._timeout if wait is None else min(wait, self._timeout)
        for handler, events in self._selector.select(wait):
            handler.on_ready(events)
        self._process_events()
        self._run_timers()
        return True

    def do_work(self, timeout: float | None = None) -> bool:
        """One turn of the loop waiting at most ``timeout`` seconds; False when idle."""
        self._process_events()
        if self._pushed:
            dispatch_pushed(self)
        if not self._has_work():
            return False
        wait = self._next_timeout()
        if timeout is not None:
            wait = timeout if wait is None else min(wait, timeout)
        for handler, events in self._selector.select(wait):
            handler.on_ready(events)
        self._process_events()
        self._run_timers()
        return True

    def _has_work(self) -> bool:
        if self._channels or self._acceptors or self._injectors:
            return True
        grace = self._stop_grace
        if grace is not None:  # every connection closed within the grace
            grace.cancel()
            self._stop_grace = None
        return self._next_timeout() is not None

    def stop(self) -> None:
        """Close every connection and listener; ``run()`` returns once they are closed, or
        after STOP_GRACE seconds for peers that do not answer the close (a hung peer: proton
        returns at once). An error recorded by ``on_error`` is raised here, after all that."""
        self._stopping = True
        for acceptor in list(self._acceptors):
            acceptor.close()
        for injector in list(self._injectors):
            injector.close()
        for connection in list(self._connections):
            if connection._impl is not None and not connection.state & lib.PN_LOCAL_CLOSED:
                connection.close()
        for _deadline, _seq, task in self._timers:
            task.cancel()
        for channel in list(self._channels.values()):
            if channel.sock is None and channel.connector is not None:
                channel.io_error("container stopped")
        if self._channels and self._stop_grace is None:
            self._stop_grace = self._schedule_internal(STOP_GRACE, self._end_unanswered)
        if self._driver is not None:
            self._driver.kick()
        self._raise_errors()

    def _end_unanswered(self) -> None:
        """The stop's grace is over: drop the connections whose peer has not answered."""
        self._stop_grace = None
        for channel in list(self._channels.values()):
            if channel._t is not None:
                channel.io_error("container stopped: the peer did not answer the close")

    # ----- event dispatch -----

    def _process_events(self) -> None:
        """Dispatch every queued engine event, then write what the transports have to send.

        An Event object is made only when some handler has a method for its type. After a
        message arrives, or a sender gets credit, what its connection has to send is written
        at once (``Channel.write_early``), once per pass; the rest when the queue is empty."""
        collector = self._collector
        peek = lib.pn_collector_peek
        if peek(collector) == ffi.NULL and not self._dirty:
            # Nothing queued, nothing to write (every loop turn starts so): only let go of
            # what was settled outside an engine event, as below.
            if pending_settled():
                detach_settled()
            return
        pop = lib.pn_collector_pop
        next_event = lib.amqx_next_event
        context_out = self._context_out
        types = EventType.TYPES
        wrapper_of = live.get
        null = ffi.NULL
        transport_type = Event.TRANSPORT
        endings = _ENDINGS
        bookkeeping = _BOOKKEEPING
        channels = self._channels
        link_kind, delivery_kind = KIND_LINK, KIND_DELIVERY
        settled = pending_settled()
        if settled:
            # Settled outside an engine event (a timer, an injected or pushed event, code
            # between runs): let go now, before the engine can free them.
            detach_settled()
        early = _WRITE_EARLY
        link_queued = lib.pn_link_queued
        global_targets = self._global_targets
        pass_id = self._passes = self._passes + 1
        while True:
            while True:
                code = next_event(collector, context_out)
                if not code:
                    break
                etype = types.get(code)
                try:
                    if etype is not None:
                        pointer = context_out[0]
                        context = wrapper_of(pointer)
                        if context is None:
                            context = etype.wrap_pointer(pointer)
                        kind = etype.kind
                        if kind == delivery_kind or (kind == link_kind and context is not None):
                            # handler_for's rule, its usual case inline (once per message)
                            link = context._link if kind == delivery_kind else context
                            handler = link._handler
                            if handler is None:
                                session = link._parent
                                if (
                                    session is None
                                    or session._handler is not None
                                    or session._parent is None
                                ):
                                    handler = handler_for(link_kind, link)
                                else:
                                    handler = session._parent._handler
                            key = etype.by_link.get(link.__class__, etype)
                        elif etype is transport_type:
                            channel = channels.get(context._impl)
                            if channel is not None:
                                self._dirty.add(channel)
                                handler = channel.connection._handler
                            else:
                                handler = handler_for(kind, context)
                            key = etype
                        elif etype in endings and endings[etype](self, etype, context):
                            continue
                        else:
                            handler = handler_for(kind, context)
                            key = etype
                        event = None
                        for target in (handler,) if handler is not None else self._targets:
                            try:
                                calls = target._amq_table[key]
                            except (AttributeError, KeyError):
                                calls = calls_for(target, key)
                            if calls:
                                if event is None:
                                    event = Event(etype, context, self)
                                for call in calls:
                                    call(event)
                        if global_targets:
                            if event is None:
                                event = Event(etype, context, self)
                            self._to_global(global_targets, key, event)
                        if etype in bookkeeping:
                            self._after(etype, context)
                        if key in early and (
                            kind == delivery_kind
                            or (context._impl is not None and link_queued(context._impl))
                        ):
                            session = link._parent
                            connection = session._parent if session is not None else None
                            if connection is None and link._impl is not None:
                                connection = link.connection
                            channel = connection._channel if connection is not None else None
                            if channel is not None and channel.early_pass != pass_id:
                                channel.write_early(pass_id)
                finally:
                    pop(collector)
                    if settled:
                        detach_settled()
            if not self._dirty:
                return
            dirty = self._dirty
            self._dirty = set()
            for channel in dirty:
                channel.flush()
            if peek(collector) == null and not self._dirty:
                return

    @staticmethod
    def _to_global(targets: list[Any], key: Any, event: Event) -> None:
        """Run the global handlers' callables for an engine event (``key``: its table key)."""
        for target in targets:
            try:
                calls = target._amq_table[key]
            except (AttributeError, KeyError):
                calls = calls_for(target, key)
            for call in calls:
                call(event)

    def _transport_ending(self, etype: EventType, transport: Transport) -> bool:
        """Before handlers see TRANSPORT_ERROR or TRANSPORT_TAIL_CLOSED: make a broken
        connection end as one. True means: drop this event (an error already reported).

        The engine ends some broken connections quietly: a socket error we recorded, a frame
        cut short by the peer, an unknown performative close the input with no
        TRANSPORT_ERROR, sometimes with no condition, and leave the output open, so the socket
        would never close (and a peer that stopped reading keeps our output from draining).
        When the input ends without the peer's Close, this gives the transport a condition
        (``amqp:connection:framing-error`` "connection aborted" if none is set), dispatches
        one TRANSPORT_ERROR, writes what output the socket still takes and closes the output.
        """
        channel = self._channels.get(transport._impl)
        if channel is None:
            return False
        if etype is Event.TRANSPORT_ERROR:
            duplicate = channel.error_reported
            channel.error_reported = True
            return duplicate
        connection = channel.connection
        if connection._impl is not None and connection.state & lib.PN_REMOTE_CLOSED:
            return False  # the peer said Close: an orderly end
        engine = channel.engine
        engine.aborted()
        if not channel.error_reported:
            channel.error_reported = True
            event = Event(Event.TRANSPORT_ERROR, transport, self)
            self._dispatch(event, scoped_handler(event))
        if engine.pending() >= 0:
            if channel.sock is not None and not channel.connecting:
                channel.write()
            engine.close_output()
        return False

    def _peer_ending(self, etype: EventType, session: Session) -> bool:
        """Before handlers see the peer end a session: when a fault in the peer stranded a
        resending sender's messages, or an ``aio`` receiver (``_resend.ended_by_fault``), on a
        connection that reconnects, end the connection as lost instead, with the peer's
        condition, so the links re-attach (on the next URL) and the sender resends. True means:
        drop this event, and every later one of that connection's ending (the application's
        answer to them would be to close the connection, which would stop the reconnect)."""
        channel = session.connection._channel
        if channel is None:
            return False
        if channel.faulted:
            return True
        connector = channel.connector
        if connector is None or not connector.policy.enabled or self._stopping:
            return False
        condition = _resend.ended_by_fault(session)
        if condition is None:
            return False
        channel.faulted = True
        channel.transport.condition = Condition(
            condition.name, f"session ended by the peer: {condition.description}"
        )
        channel.io_error("session ended by the peer")
        return True

    def _after(self, etype: EventType, context: Any) -> None:
        """The container's own bookkeeping, after handlers have seen the event."""
        if etype is Event.CONNECTION_LOCAL_OPEN:
            connector = context._connector or hostname_connector(self, context)
            if connector is not None and connector.channel is None:
                connector.attempt()
        elif etype is Event.CONNECTION_REMOTE_OPEN:
            connector = context._connector
            if connector is not None:
                connector.on_remote_open()
        elif etype is Event.CONNECTION_LOCAL_CLOSE:
            connector = context._connector
            if connector is not None:
                connector.on_local_close()
        elif etype is Event.TRANSPORT_CLOSED:
            self._transport_closed(context)
        elif etype is Event.CONNECTION_FINAL:
            self._connections.discard(context)
            context._detach()
        elif etype is Event.SESSION_FINAL or etype is Event.LINK_FINAL:
            context._detach()

    def _transport_closed(self, transport: Transport) -> None:
        channel = self._channels.pop(transport._impl, None)
        if channel is None:
            return
        connection = channel.connection
        connector = channel.connector
        _log.transport_closed(
            _log.which(connection._url if connector else None, channel.peer),
            connection,
            transport.condition,
        )
        reconnecting = connector is not None and connector.on_transport_closed(transport)
        if reconnecting:
            lost = _resend.before_unbind(connection)
        else:
            lost = None
            _resend.lost_for_good(connection)
        # Unbind now (a reconnect binds the connection anew) but free the transport only after
        # the events still queued for it: else they would wrap the dying pointer afresh and
        # leave a stale wrapper that a reused address later finds.
        transport.unbind()
        if lost is not None:
            _resend.after_unbind(connection, lost)
        self._schedule_internal(0, channel.finish)
        if connector is not None:
            connector.channel = None
        if not reconnecting:
            self._connections.discard(connection)
            connection.free()


_BOOKKEEPING = frozenset(
    {
        Event.CONNECTION_LOCAL_OPEN,
        Event.CONNECTION_REMOTE_OPEN,
        Event.CONNECTION_LOCAL_CLOSE,
        Event.TRANSPORT_CLOSED,
        Event.CONNECTION_FINAL,
        Event.SESSION_FINAL,
        Event.LINK_FINAL,
    }
)


# The events that the container looks at before the handlers do, and may drop.
_ENDINGS: dict[EventType, Callable[[Container, EventType, Any], bool]] = {
    Event.TRANSPORT_ERROR: Container._transport_ending,
    Event.TRANSPORT_TAIL_CLOSED: Container._transport_ending,
    Event.SESSION_REMOTE_CLOSE: Container._peer_ending,
}

# The events after which a connection's output is written at once: a message arrived (the
# handler may reply, and accepts it and tops up credit), a sender got credit (if it sent, so
# that messages are queued on it).
_WRITE_EARLY = frozenset(
    {Event.DELIVERY.by_link[Receiver], Event.LINK_FLOW.by_link[Sender]}
)

# The bookkeeping stop_events() still does for the events it drops.
_FINISHING = frozenset(
    {Event.TRANSPORT_CLOSED, Event.CONNECTION_FINAL, Event.SESSION_FINAL, Event.LINK_FINAL}
)


STOP_GRACE = 2.0
"""Seconds ``run()`` waits after ``stop()`` for peers to answer the close."""

LENIENT_OPTIONS = False
"""True under ``amq_python.compat`` (set by its ``install()``): connect() warns once about each
keyword it does not know and ignores it, as python-qpid-proton silently does, instead of
raising TypeError, so an unmodified proton program goes on."""
_warned_options: set[str] = set()


def _unknown_options(kwargs: dict[str, Any], unknown: set[str]) -> dict[str, Any]:
    """``kwargs`` without the ``unknown`` keywords, each warned about once, when
    LENIENT_OPTIONS; else a TypeError naming them and the valid ones."""
    valid = ", ".join(sorted(_CONNECT_OPTIONS))
    if not LENIENT_OPTIONS:
        raise TypeError(
            f"connect() got unknown option(s) {sorted(unknown)}; valid options: url, urls, "
            f"address, handler, reconnect, heartbeat, ssl_domain, {valid}"
        )
    for name in sorted(unknown - _warned_options):
        _warned_options.add(name)
        warnings.warn(
            f"connect() ignores the unknown option {name!r} (as python-qpid-proton does); "
            f"valid options: url, urls, address, handler, reconnect, heartbeat, ssl_domain, "
            f"{valid}",
            RuntimeWarning,
            stacklevel=3,
        )
    return {key: value for key, value in kwargs.items() if key not in unknown}


_TEXT_OPTIONS = (
    "user",
    "password",
    "virtual_host",
    "sni",
    "sasl_config_name",
    "sasl_config_path",
    "container_id",
)


def _check_text(where: str, **values: Any) -> None:
    """TypeError naming the argument when one that must be text is not (before C sees it)."""
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{where}(): {name} must be a str, not {type(value).__name__}")


def _check_connect_options(heartbeat: Any, options: dict[str, Any]) -> None:
    """Reject connect() options of the wrong type or range now, with the option's name: else
    they would fail later, inside the event loop, in a C call. Values are never echoed (one of
    them is the password)."""
    if heartbeat is not None and (
        isinstance(heartbeat, bool) or not isinstance(heartbeat, (int, float))
    ):
        raise TypeError(
            f"connect(): heartbeat must be a number of seconds, not {type(heartbeat).__name__}"
        )
    _check_text("connect", **{name: options.get(name) for name in _TEXT_OPTIONS})
    size = options.get("max_frame_size")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(
                f"connect(): max_frame_size must be an int, not {type(size).__name__}"
            )
        if not 0 <= size <= 0xFFFFFFFF:
            raise ValueError(f"connect(): max_frame_size must be in [0, 2**32 - 1], not {size}")
    mechs = options.get("allowed_mechs")
    if mechs is not None and not (
        isinstance(mechs, str)
        or (isinstance(mechs, (list, tuple)) and all(isinstance(m, str) for m in mechs))
    ):
        raise TypeError("connect(): allowed_mechs must be a str or a list of str")


def _check_mechanisms(mechs: Any) -> str:
    """The allowed mechanisms as one string; UnavailableError when none of them has a Cyrus
    plug-in installed here (the message names each one's package)."""
    text = mechs if isinstance(mechs, str) else " ".join(mechs)
    names = text.split()
    if not names:
        raise ValueError("allowed_mechs is empty: name at least one SASL mechanism")
    missing, reason = missing_mechanisms(" ".join(names))
    if missing == len(names):
        raise UnavailableError(f"allowed_mechs={text!r} cannot work on this machine: {reason}")
    return " ".join(names)


def _open_link(link: Link, handler: Any, options: Any) -> None:
    """Scope ``handler`` to the link, apply the link options, and send Attach."""
    if handler is not None:
        link.handler = handler
    _apply_options(link, options)
    link.open()


def _apply_options(link: Link, options: Any) -> None:
    if options is None:
        return
    for option in options if isinstance(options, (list, tuple)) else [options]:
        if not callable(getattr(option, "apply", None)):
            raise TypeError(f"link option {option!r} has no apply(link) method")
        test = getattr(option, "test", None)
        if test is None or test(link):
            option.apply(link)


__all__ = ["Container", "Task", "Acceptor", "Delivery", "Connector"]
