"""Connections, sessions, links and their termini: thin Python objects over Proton's endpoints.

Each class keeps its C pointer in ``_impl`` and calls ``lib.pn_*`` directly. Wrappers are
unique per C object (see ``_wrapper``); ``wrap()`` finds or makes one. Properties and
capabilities set before ``open()`` are kept in Python and written to the C engine on open,
as python-qpid-proton does, so they can be read back unchanged.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Callable

from proton_ext import ffi, lib

from . import _codec
from ._condition import Condition, read_condition, write_condition
from ._exceptions import ConnectionException, LinkException, ProtonException, SessionException
from ._handler import Handler
from ._message import Message, encode_message
from ._transport import Transport
from ._wrapper import Wrapper, registered

if TYPE_CHECKING:
    from ._delivery import Delivery


def _str(ptr: Any) -> str | None:
    return ffi.string(ptr).decode("utf-8", "replace") if ptr != ffi.NULL else None


_STATE_ERR = lib.PN_STATE_ERR
_SND_SETTLED = lib.PN_SND_SETTLED


def _bytes_or_null(value: str | None) -> Any:
    return value.encode("utf-8") if value is not None else ffi.NULL


def _read_data(data: Any) -> Any:
    """The first value of a pn_data_t, or None when it is empty."""
    if not lib.pn_data_size(data):
        return None
    lib.pn_data_rewind(data)
    lib.pn_data_next(data)
    value = _codec.get_object(data)
    lib.pn_data_rewind(data)
    return value


def _write_data(data: Any, value: Any) -> None:
    lib.pn_data_clear(data)
    if value is not None:
        _codec.put_object(data, value)


def _write_symbols(data: Any, value: _codec.SymbolList | None) -> None:
    """Capabilities go on the wire as an array of symbols (AMQP's multiple-symbol encoding);
    an empty list is not sent at all."""
    _write_data(data, value.to_array() if value else None)


class Endpoint(Wrapper):
    """What connections, sessions and links share: state, conditions and a scoped handler."""

    LOCAL_UNINIT = lib.PN_LOCAL_UNINIT
    LOCAL_ACTIVE = lib.PN_LOCAL_ACTIVE
    LOCAL_CLOSED = lib.PN_LOCAL_CLOSED
    REMOTE_UNINIT = lib.PN_REMOTE_UNINIT
    REMOTE_ACTIVE = lib.PN_REMOTE_ACTIVE
    REMOTE_CLOSED = lib.PN_REMOTE_CLOSED

    _handler: Any = None  # read by the event loop (``_events.handler_for``)
    _exception: type[ProtonException] = ProtonException

    @property
    def handler(self) -> Any:
        """The handler scoped to this endpoint's events, or None. An object that is not a
        Handler is set as the only child of a new Handler, as python-qpid-proton does, so
        ``endpoint.handler.add(h)`` works either way."""
        return self._handler

    @handler.setter
    def handler(self, handler: Any) -> None:
        if handler is not None and not isinstance(handler, Handler):
            handler = _handler_around(handler)
        self._handler = handler

    def _live_impl(self) -> Any:
        impl = self._impl
        if impl is None:
            raise self._exception(f"{type(self).__name__} has been freed and can no longer be used")
        return impl

    def _get_cond_impl(self) -> Any:
        raise NotImplementedError

    def _get_remote_cond_impl(self) -> Any:
        raise NotImplementedError

    @property
    def condition(self) -> Condition | None:
        """The local error condition, sent to the peer on close."""
        return read_condition(self._get_cond_impl())

    @condition.setter
    def condition(self, value: Condition | None) -> None:
        write_condition(self._get_cond_impl(), value)

    @property
    def remote_condition(self) -> Condition | None:
        """The error condition the peer sent when it closed, if any."""
        return read_condition(self._get_remote_cond_impl())


def _handler_around(handler: Any) -> Any:
    """A new Handler whose only child is ``handler``."""
    root = Handler()
    root.add(handler)
    return root


class Connection(Endpoint):
    """An AMQP connection: the unit of reconnect, owning sessions and links."""

    _exception = ConnectionException
    _channel: Any = None  # the container's Channel for its current socket, if any
    _released = False  # free() was called: the C object is the engine's to free
    _get_context = lib.pn_connection_get_context
    _set_context = lib.pn_connection_set_context

    def __init__(self, impl: Any = None) -> None:
        self._owned = impl is None
        self._attach(lib.pn_connection() if impl is None else impl)
        self._offered_capabilities: Any = None
        self._desired_capabilities: Any = None
        self._properties: Any = None
        self._password: str | None = None
        self._default_session: Session | None = None
        self._url: Any = None
        self._container_obj: Any = None
        self._connector: Any = None
        # Sessions and links wrapped on this connection: dropped with it, even one the engine
        # never finalizes on its own (a session the peer orphaned with a second Begin).
        self._children: set[Endpoint] = set()

    @classmethod
    def wrap(cls, impl: Any) -> Connection | None:
        """The unique wrapper of a ``pn_connection_t``."""
        if impl == ffi.NULL:
            return None
        found = registered(impl, cls._get_context)
        return found if found is not None else cls(impl)

    def _detach(self) -> None:
        for child in list(self._children):
            child._detach()
        super()._detach()

    def _get_cond_impl(self) -> Any:
        return lib.pn_connection_condition(self._live_impl())

    def _get_remote_cond_impl(self) -> Any:
        return lib.pn_connection_remote_condition(self._live_impl())

    @property
    def connection(self) -> Connection:
        """This connection (so every endpoint has ``.connection``)."""
        return self

    @property
    def transport(self) -> Transport | None:
        """The transport this connection is bound to, or None between (re)connections."""
        return Transport.wrap(lib.pn_connection_transport(self._live_impl()))

    @property
    def state(self) -> int:
        """Local and remote state bits (``LOCAL_ACTIVE | REMOTE_ACTIVE`` and so on)."""
        return lib.pn_connection_state(self._live_impl())

    @property
    def container(self) -> str | None:
        """The container id sent to the peer in Open."""
        return _str(lib.pn_connection_get_container(self._live_impl()))

    @container.setter
    def container(self, name: str) -> None:
        lib.pn_connection_set_container(self._live_impl(), name.encode())

    @property
    def hostname(self) -> str | None:
        """The host name sent in Open (the virtual host) and used for TLS name checks."""
        return _str(lib.pn_connection_get_hostname(self._live_impl()))

    @hostname.setter
    def hostname(self, name: str | None) -> None:
        lib.pn_connection_set_hostname(self._live_impl(), _bytes_or_null(name))

    @property
    def user(self) -> str | None:
        """The user name to authenticate as."""
        return _str(lib.pn_connection_get_user(self._live_impl()))

    @user.setter
    def user(self, name: str | None) -> None:
        lib.pn_connection_set_user(self._live_impl(), _bytes_or_null(name))

    @property
    def authorization(self) -> str | None:
        """The identity to act as, when it differs from the authenticated user."""
        return _str(lib.pn_connection_get_authorization(self._live_impl()))

    @authorization.setter
    def authorization(self, name: str | None) -> None:
        lib.pn_connection_set_authorization(self._live_impl(), _bytes_or_null(name))

    @property
    def password(self) -> None:
        """Write-only: the password is handed to the engine and never read back."""
        return None

    @password.setter
    def password(self, secret: str | None) -> None:
        lib.pn_connection_set_password(self._live_impl(), _bytes_or_null(secret))

    @property
    def remote_container(self) -> str | None:
        """The peer's container id."""
        return _str(lib.pn_connection_remote_container(self._live_impl()))

    @property
    def remote_hostname(self) -> str | None:
        """The host name the peer sent in its Open."""
        return _str(lib.pn_connection_remote_hostname(self._live_impl()))

    @property
    def remote_offered_capabilities(self) -> _codec.SymbolList | None:
        """Capabilities the peer offers, as a SymbolList whether it sent an array, a list or
        one symbol (None if it sent none)."""
        data = lib.pn_connection_remote_offered_capabilities(self._live_impl())
        return _codec.symbol_list_of(_read_data(data))

    @property
    def remote_desired_capabilities(self) -> _codec.SymbolList | None:
        """Capabilities the peer desires, as a SymbolList (see remote_offered_capabilities)."""
        data = lib.pn_connection_remote_desired_capabilities(self._live_impl())
        return _codec.symbol_list_of(_read_data(data))

    @property
    def remote_properties(self) -> Any:
        """The connection properties the peer sent."""
        return _read_data(lib.pn_connection_remote_properties(self._live_impl()))

    @property
    def offered_capabilities(self) -> Any:
        """Capabilities to offer the peer (strings become symbols)."""
        return self._offered_capabilities

    @offered_capabilities.setter
    def offered_capabilities(self, value: Any) -> None:
        self._offered_capabilities = _codec.SymbolList(value) if value is not None else None

    @property
    def desired_capabilities(self) -> Any:
        """Capabilities to ask of the peer (strings become symbols)."""
        return self._desired_capabilities

    @desired_capabilities.setter
    def desired_capabilities(self, value: Any) -> None:
        self._desired_capabilities = _codec.SymbolList(value) if value is not None else None

    @property
    def properties(self) -> Any:
        """Connection properties to send (string keys become symbols)."""
        return self._properties

    @properties.setter
    def properties(self, value: Any) -> None:
        self._properties = _codec.PropertyDict(value) if value is not None else None

    @property
    def connected_address(self) -> str | None:
        """The URL this connection is currently connected to, if it is outgoing."""
        return str(self._url) if self._url is not None else None

    @property
    def error(self) -> int:
        """The engine's error code for this connection (0 when none)."""
        return lib.pn_error_code(lib.pn_connection_error(self._live_impl()))

    def open(self) -> None:
        """Send Open (now, or as soon as a transport is bound)."""
        impl = self._live_impl()
        _write_symbols(lib.pn_connection_offered_capabilities(impl), self._offered_capabilities)
        _write_symbols(lib.pn_connection_desired_capabilities(impl), self._desired_capabilities)
        _write_data(lib.pn_connection_properties(impl), self._properties)
        lib.pn_connection_open(impl)

    def close(self) -> None:
        """Send Close, with the local condition if one is set."""
        lib.pn_connection_close(self._live_impl())

    def session(self) -> Session:
        """A new session on this connection."""
        return Session(lib.pn_session(self._live_impl()))

    def session_head(self, mask: int) -> Session | None:
        """The first session whose state matches ``mask``."""
        return Session.wrap(lib.pn_session_head(self._live_impl(), mask))

    def link_head(self, mask: int) -> Link | None:
        """The first link whose state matches ``mask``."""
        return Link.wrap(lib.pn_link_head(self._live_impl(), mask))

    @property
    def default_session(self) -> Session:
        """The session the container uses for links made without one (opened on first use)."""
        session = self._default_session
        if session is None or session._impl is None:
            session = self._default_session = self.session()
            session.open()
        return session

    def collect(self, collector: Any) -> None:
        """Report this connection's events to a Collector."""
        lib.pn_connection_collect(self._live_impl(), collector._impl)

    def free(self) -> None:
        """Give up our reference: the engine frees the connection once it is done with it."""
        if self._impl is not None and self._owned:
            self._owned = False
            self._released = True
            lib.pn_connection_free(self._impl)

    def __repr__(self) -> str:
        return f"Connection({self._describe()})"

    def _describe(self) -> str:
        if self._impl is None:
            return "freed"
        if self._released:  # the engine may free it any time now: no C call from a repr
            return "released"
        return f"container={self.container!r}, hostname={self.hostname!r}"


class Session(Endpoint):
    """An AMQP session: an ordered, flow-controlled channel on a connection."""

    _exception = SessionException
    _get_context = lib.pn_session_get_context
    _set_context = lib.pn_session_set_context

    def __init__(self, impl: Any) -> None:
        self._attach(impl)
        self._parent: Connection | None = None
        self.connection._children.add(self)

    @classmethod
    def wrap(cls, impl: Any) -> Session | None:
        """The unique wrapper of a ``pn_session_t``."""
        if impl == ffi.NULL:
            return None
        found = registered(impl, cls._get_context)
        return found if found is not None else cls(impl)

    def _detach(self) -> None:
        if self._impl is not None:
            self.connection._children.discard(self)
        super()._detach()

    def _get_cond_impl(self) -> Any:
        return lib.pn_session_condition(self._live_impl())

    def _get_remote_cond_impl(self) -> Any:
        return lib.pn_session_remote_condition(self._live_impl())

    @property
    def state(self) -> int:
        """Local and remote state bits."""
        return lib.pn_session_state(self._live_impl())

    @property
    def connection(self) -> Connection:
        """The connection this session belongs to (looked up once: it never changes)."""
        conn = self._parent
        if conn is None:
            conn = self._parent = Connection.wrap(lib.pn_session_connection(self._live_impl()))
            assert conn is not None
        return conn

    @property
    def session(self) -> Session:
        """This session."""
        return self

    @property
    def transport(self) -> Transport | None:
        """The connection's transport."""
        return self.connection.transport

    @property
    def incoming_capacity(self) -> int:
        """Bytes of incoming transfers this session may buffer."""
        return lib.pn_session_get_incoming_capacity(self._live_impl())

    @incoming_capacity.setter
    def incoming_capacity(self, capacity: int) -> None:
        lib.pn_session_set_incoming_capacity(self._live_impl(), capacity)

    @property
    def outgoing_window(self) -> int:
        """The outgoing window, in transfer frames."""
        return lib.pn_session_get_outgoing_window(self._live_impl())

    @outgoing_window.setter
    def outgoing_window(self, window: int) -> None:
        lib.pn_session_set_outgoing_window(self._live_impl(), window)

    @property
    def outgoing_bytes(self) -> int:
        """Bytes queued to send on this session."""
        return lib.pn_session_outgoing_bytes(self._live_impl())

    @property
    def incoming_bytes(self) -> int:
        """Bytes received and not yet read on this session."""
        return lib.pn_session_incoming_bytes(self._live_impl())

    def open(self) -> None:
        """Send Begin."""
        lib.pn_session_open(self._live_impl())

    def close(self) -> None:
        """Send End."""
        lib.pn_session_close(self._live_impl())

    def next(self, mask: int) -> Session | None:
        """The next session of the connection whose state matches ``mask``."""
        return Session.wrap(lib.pn_session_next(self._live_impl(), mask))

    def sender(self, name: str) -> Sender:
        """A new sending link named ``name``."""
        return Sender(lib.pn_sender(self._live_impl(), name.encode()))

    def receiver(self, name: str) -> Receiver:
        """A new receiving link named ``name``."""
        return Receiver(lib.pn_receiver(self._live_impl(), name.encode()))

    def free(self) -> None:
        """Let the engine free this session once it is closed."""
        if self._impl is not None:
            lib.pn_session_free(self._impl)


class Terminus:
    """A link's source or target: the address and how the node behaves."""

    UNSPECIFIED = lib.PN_UNSPECIFIED
    SOURCE = lib.PN_SOURCE
    TARGET = lib.PN_TARGET
    COORDINATOR = lib.PN_COORDINATOR
    NONDURABLE = lib.PN_NONDURABLE
    CONFIGURATION = lib.PN_CONFIGURATION
    DELIVERIES = lib.PN_DELIVERIES
    DIST_MODE_UNSPECIFIED = lib.PN_DIST_MODE_UNSPECIFIED
    DIST_MODE_COPY = lib.PN_DIST_MODE_COPY
    DIST_MODE_MOVE = lib.PN_DIST_MODE_MOVE
    EXPIRE_WITH_LINK = lib.PN_EXPIRE_WITH_LINK
    EXPIRE_WITH_SESSION = lib.PN_EXPIRE_WITH_SESSION
    EXPIRE_WITH_CONNECTION = lib.PN_EXPIRE_WITH_CONNECTION
    EXPIRE_NEVER = lib.PN_EXPIRE_NEVER

    __slots__ = ("_impl", "_link")

    def __init__(self, impl: Any, link: Link) -> None:
        self._impl = impl
        self._link = link  # keeps the link (and so the terminus) reachable

    def _set(self, code: int) -> None:
        if code < 0:
            raise LinkException(f"[{code}]: cannot set terminus field")

    def _view(self, data: Any) -> _codec.Data:
        view = _codec.Data(data)
        view._owner = self  # the link owns the pn_data_t: keep it reachable from the view
        return view

    @property
    def type(self) -> int:
        """SOURCE, TARGET, COORDINATOR or UNSPECIFIED."""
        return lib.pn_terminus_get_type(self._impl)

    @type.setter
    def type(self, value: int) -> None:
        self._set(lib.pn_terminus_set_type(self._impl, value))

    @property
    def address(self) -> str | None:
        """The node's address."""
        return _str(lib.pn_terminus_get_address(self._impl))

    @address.setter
    def address(self, value: str | None) -> None:
        self._set(lib.pn_terminus_set_address(self._impl, _bytes_or_null(value)))

    @property
    def durability(self) -> int:
        """NONDURABLE, CONFIGURATION or DELIVERIES."""
        return lib.pn_terminus_get_durability(self._impl)

    @durability.setter
    def durability(self, value: int) -> None:
        self._set(lib.pn_terminus_set_durability(self._impl, value))

    @property
    def expiry_policy(self) -> int:
        """When the node expires: EXPIRE_WITH_LINK, ... EXPIRE_NEVER."""
        return lib.pn_terminus_get_expiry_policy(self._impl)

    @expiry_policy.setter
    def expiry_policy(self, value: int) -> None:
        self._set(lib.pn_terminus_set_expiry_policy(self._impl, value))

    @property
    def timeout(self) -> int:
        """Seconds the node survives its expiry trigger."""
        return lib.pn_terminus_get_timeout(self._impl)

    @timeout.setter
    def timeout(self, seconds: int) -> None:
        self._set(lib.pn_terminus_set_timeout(self._impl, seconds))

    @property
    def dynamic(self) -> bool:
        """Ask the peer to create the node (a temporary queue) and name it."""
        return bool(lib.pn_terminus_is_dynamic(self._impl))

    @dynamic.setter
    def dynamic(self, value: bool) -> None:
        self._set(lib.pn_terminus_set_dynamic(self._impl, value))

    @property
    def distribution_mode(self) -> int:
        """DIST_MODE_COPY (browse) or DIST_MODE_MOVE (consume)."""
        return lib.pn_terminus_get_distribution_mode(self._impl)

    @distribution_mode.setter
    def distribution_mode(self, mode: int) -> None:
        self._set(lib.pn_terminus_set_distribution_mode(self._impl, mode))

    @property
    def properties(self) -> _codec.Data:
        """Dynamic node properties, as a Data view."""
        return self._view(lib.pn_terminus_properties(self._impl))

    @property
    def capabilities(self) -> _codec.Data:
        """Node capabilities, as a Data view."""
        return self._view(lib.pn_terminus_capabilities(self._impl))

    @property
    def outcomes(self) -> _codec.Data:
        """Outcomes the node supports, as a Data view."""
        return self._view(lib.pn_terminus_outcomes(self._impl))

    @property
    def filter(self) -> _codec.Data:
        """Message filters (for example a selector), as a Data view."""
        return self._view(lib.pn_terminus_filter(self._impl))

    def copy(self, src: Terminus) -> None:
        """Make this terminus a copy of ``src``."""
        self._set(lib.pn_terminus_copy(self._impl, src._impl))


class Link(Endpoint):
    """A sender or receiver: a one-way route for messages between two nodes."""

    SND_UNSETTLED = lib.PN_SND_UNSETTLED
    SND_SETTLED = lib.PN_SND_SETTLED
    SND_MIXED = lib.PN_SND_MIXED
    RCV_FIRST = lib.PN_RCV_FIRST
    RCV_SECOND = lib.PN_RCV_SECOND

    _exception = LinkException
    _get_context = lib.pn_link_get_context
    _set_context = lib.pn_link_set_context
    # The Delivery class, handed over by _delivery (which builds on this module) once it defines
    # it: links make and find their deliveries without importing the module above.
    _delivery_class: type[Delivery]
    # At-least-once across reconnects (``_resend``): a resending sender's kept messages, the
    # credit the engine still counts from a lost peer, and the deliveries it counts as queued
    # for good (aborted before they were all written).
    _unsettled: Any = None
    _credit_offset = 0
    _leaked = 0
    # A receiver that outlives a broker fault ending its session, as it does a lost connection
    # (``_resend.ended_by_fault``): set for ``aio`` receivers.
    _outlives_faults = False

    def __init__(self, impl: Any) -> None:
        self._attach(impl)
        self._parent: Session | None = None
        self.connection._children.add(self)
        self._deliveries: dict[Any, Delivery] = {}

    @classmethod
    def wrap(cls, impl: Any) -> Link | None:
        """The unique wrapper of a ``pn_link_t`` (a Sender or a Receiver)."""
        if impl == ffi.NULL:
            return None
        found = registered(impl, lib.pn_link_get_context)
        if found is not None:
            return found
        return Sender(impl) if lib.pn_link_is_sender(impl) else Receiver(impl)

    def _detach(self) -> None:
        for delivery in list(self._deliveries.values()):
            delivery._detach()
        if self._impl is not None:
            self.connection._children.discard(self)
        super()._detach()

    def _get_cond_impl(self) -> Any:
        return lib.pn_link_condition(self._live_impl())

    def _get_remote_cond_impl(self) -> Any:
        return lib.pn_link_remote_condition(self._live_impl())

    @property
    def state(self) -> int:
        """Local and remote state bits."""
        return lib.pn_link_state(self._live_impl())

    @property
    def name(self) -> str:
        """The link name (unique per connection and direction)."""
        return _str(lib.pn_link_name(self._live_impl())) or ""

    @property
    def is_sender(self) -> bool:
        """True for a Sender."""
        return bool(lib.pn_link_is_sender(self._live_impl()))

    @property
    def is_receiver(self) -> bool:
        """True for a Receiver."""
        return bool(lib.pn_link_is_receiver(self._live_impl()))

    @property
    def session(self) -> Session:
        """The session this link belongs to (looked up once: it never changes)."""
        ssn = self._parent
        if ssn is None:
            ssn = self._parent = Session.wrap(lib.pn_link_session(self._live_impl()))
            assert ssn is not None
        return ssn

    @property
    def connection(self) -> Connection:
        """The connection this link belongs to."""
        return self.session.connection

    @property
    def transport(self) -> Transport | None:
        """The connection's transport."""
        return self.session.connection.transport

    @property
    def source(self) -> Terminus:
        """The local source terminus (set it before open)."""
        return Terminus(lib.pn_link_source(self._live_impl()), self)

    @property
    def target(self) -> Terminus:
        """The local target terminus (set it before open)."""
        return Terminus(lib.pn_link_target(self._live_impl()), self)

    @property
    def remote_source(self) -> Terminus:
        """The source terminus the peer sent."""
        return Terminus(lib.pn_link_remote_source(self._live_impl()), self)

    @property
    def remote_target(self) -> Terminus:
        """The target terminus the peer sent."""
        return Terminus(lib.pn_link_remote_target(self._live_impl()), self)

    @property
    def credit(self) -> int:
        """Messages this link may transfer now."""
        return lib.pn_link_credit(self._live_impl())

    @property
    def available(self) -> int:
        """Messages the sender says it has available."""
        return lib.pn_link_available(self._live_impl())

    @property
    def queued(self) -> int:
        """Deliveries queued locally (sent but not yet written, or received but not read)."""
        return lib.pn_link_queued(self._live_impl())

    @property
    def unsettled(self) -> int:
        """Deliveries on this link not yet settled locally."""
        return lib.pn_link_unsettled(self._live_impl())

    @property
    def current(self) -> Delivery | None:
        """The delivery the link is currently working on."""
        return self._delivery_class.wrap(lib.pn_link_current(self._live_impl()))

    def advance(self) -> bool:
        """Move on from the current delivery; True if there was one."""
        return bool(lib.pn_link_advance(self._live_impl()))

    def delivery(self, tag: str | bytes) -> Delivery:
        """A new outgoing delivery with the given tag."""
        raw = tag.encode() if isinstance(tag, str) else bytes(tag)
        delivery = self._delivery_class(
            lib.pn_delivery(self._live_impl(), lib.pn_dtag(raw, len(raw))), self
        )
        delivery._tag = raw
        return delivery

    @property
    def snd_settle_mode(self) -> int:
        """SND_UNSETTLED, SND_SETTLED or SND_MIXED (set before open)."""
        return lib.pn_link_snd_settle_mode(self._live_impl())

    @snd_settle_mode.setter
    def snd_settle_mode(self, mode: int) -> None:
        lib.pn_link_set_snd_settle_mode(self._live_impl(), mode)

    @property
    def rcv_settle_mode(self) -> int:
        """RCV_FIRST or RCV_SECOND (set before open)."""
        return lib.pn_link_rcv_settle_mode(self._live_impl())

    @rcv_settle_mode.setter
    def rcv_settle_mode(self, mode: int) -> None:
        lib.pn_link_set_rcv_settle_mode(self._live_impl(), mode)

    @property
    def remote_snd_settle_mode(self) -> int:
        """The peer's sender settle mode."""
        return lib.pn_link_remote_snd_settle_mode(self._live_impl())

    @property
    def remote_rcv_settle_mode(self) -> int:
        """The peer's receiver settle mode."""
        return lib.pn_link_remote_rcv_settle_mode(self._live_impl())

    @property
    def drain_mode(self) -> bool:
        """Whether credit is to be drained."""
        return bool(lib.pn_link_get_drain(self._live_impl()))

    @drain_mode.setter
    def drain_mode(self, drain: bool) -> None:
        lib.pn_link_set_drain(self._live_impl(), drain)

    def drained(self) -> int:
        """Credit the sender gave up in answer to a drain; 0 when none."""
        return lib.pn_link_drained(self._live_impl())

    @property
    def max_message_size(self) -> int:
        """The largest message this end accepts (0: no limit)."""
        return lib.pn_link_max_message_size(self._live_impl())

    @max_message_size.setter
    def max_message_size(self, size: int) -> None:
        lib.pn_link_set_max_message_size(self._live_impl(), size)

    @property
    def remote_max_message_size(self) -> int:
        """The largest message the peer accepts (0: no limit)."""
        return lib.pn_link_remote_max_message_size(self._live_impl())

    @property
    def properties(self) -> Any:
        """Link properties sent in Attach."""
        return _read_data(lib.pn_link_properties(self._live_impl()))

    @properties.setter
    def properties(self, value: Any) -> None:
        props = _codec.PropertyDict(value) if value is not None else None
        _write_data(lib.pn_link_properties(self._live_impl()), props)

    @property
    def remote_properties(self) -> Any:
        """Link properties the peer sent."""
        return _read_data(lib.pn_link_remote_properties(self._live_impl()))

    def open(self) -> None:
        """Send Attach."""
        lib.pn_link_open(self._live_impl())

    def close(self) -> None:
        """Send Detach with closed=true."""
        lib.pn_link_close(self._live_impl())

    def detach(self) -> None:
        """Send Detach without closing the link (it may be resumed)."""
        lib.pn_link_detach(self._live_impl())

    def next(self, mask: int) -> Link | None:
        """The next link of the connection whose state matches ``mask``."""
        return Link.wrap(lib.pn_link_next(self._live_impl(), mask))

    def free(self) -> None:
        """Let the engine free this link once it is closed."""
        if self._impl is not None:
            lib.pn_link_free(self._impl)

    def __repr__(self) -> str:
        if self._impl is None:
            return f"{type(self).__name__}(freed)"
        return f"{type(self).__name__}({self.name!r})"


class Sender(Link):
    """A link that sends messages."""

    def __init__(self, impl: Any) -> None:
        super().__init__(impl)
        self._tags: Callable[[], bytes] = _counter_tags()
        self._send_code: Any = None  # the ssize_t * that send() gets the engine's code in

    @property
    def credit(self) -> int:
        """Messages this sender may send now: the peer's credit (after a reconnect, the new
        peer's grant alone), and no more than room for while ``max_unsettled`` is reached."""
        impl = self._impl
        if impl is None:
            impl = self._live_impl()  # raises
        credit = lib.pn_link_credit(impl) - self._credit_offset
        unsettled = self._unsettled
        if unsettled is None or credit <= unsettled.limit - len(unsettled.items):
            return credit  # within max_unsettled: no call (room() only matters at the limit)
        return min(credit, unsettled.room())

    def delivery_tag(self) -> str:
        """The next delivery tag from this sender's tag generator (a str, as in proton)."""
        return self._tags().decode("utf-8", "surrogateescape")

    def offered(self, n: int) -> None:
        """Tell the peer how many messages are available to send."""
        lib.pn_link_offered(self._live_impl(), n)

    def stream(self, data: bytes) -> int:
        """Write bytes into the current delivery; returns how many were taken."""
        code = lib.pn_link_send(self._live_impl(), data, len(data))
        if code < 0:
            if code == lib.PN_EOS:
                raise LinkException(f"[{code}]: no current delivery on link {self.name!r} to "
                                    "stream bytes into (make one with delivery(tag))")
            raise LinkException(f"[{code}]: cannot send on link {self.name!r}")
        return code

    def send(self, obj: bytes | Message, tag: str | bytes | None = None) -> Any:
        """Send a Message as a new delivery (returned), or stream bytes into the current one;
        anything else is a TypeError."""
        if type(obj) is not Message and isinstance(obj, (bytes, bytearray, memoryview)):
            return self.stream(bytes(obj))
        impl = self._impl
        if impl is None:
            impl = self._live_impl()
        try:
            encoded = encode_message(obj)
        except AttributeError:
            if isinstance(obj, Message):
                raise
            raise TypeError(
                f"send() takes a Message or encoded bytes, got {type(obj).__name__}"
            ) from None
        raw = self._tags() if tag is None else (
            tag.encode("utf-8", "surrogateescape") if isinstance(tag, str) else tag
        )
        code = self._send_code
        if code is None:
            code = self._send_code = ffi.new("ssize_t *")
        delivery_impl = lib.amqx_send_message(impl, raw, len(raw), encoded, len(encoded), code)
        if delivery_impl == ffi.NULL:
            if code[0] == _STATE_ERR:
                raise LinkException(f"cannot send on link {self.name!r}: it is closed")
            raise LinkException(f"[{code[0]}]: cannot make a delivery on link {self.name!r}")
        delivery = self._delivery_class(delivery_impl, self)
        delivery._tag = raw
        if code[0] < 0:
            raise LinkException(f"[{code[0]}]: cannot send on link {self.name!r}")
        unsettled = self._unsettled
        if unsettled is not None:
            unsettled.items[delivery] = encoded  # kept until its outcome (_resend.Unsettled)
        if lib.pn_link_snd_settle_mode(impl) == _SND_SETTLED:
            delivery.settle()
        return delivery


class Receiver(Link):
    """A link that receives messages."""

    def flow(self, n: int) -> None:
        """Grant the sender ``n`` more credit."""
        lib.pn_link_flow(self._live_impl(), n)

    def recv(self, limit: int) -> bytes | None:
        """Read up to ``limit`` bytes of the current delivery; None at its end."""
        buf = ffi.new("char[]", max(limit, 1))
        n = lib.pn_link_recv(self._live_impl(), buf, limit)
        if n == lib.PN_EOS:
            return None
        if n < 0:
            raise LinkException(f"[{n}]: cannot receive on link {self.name!r}")
        return ffi.unpack(buf, n)

    def drain(self, n: int) -> None:
        """Grant ``n`` credit and ask the sender to use it or give it back."""
        lib.pn_link_drain(self._live_impl(), n)

    def draining(self) -> bool:
        """True while a drain is outstanding."""
        return bool(lib.pn_link_draining(self._live_impl()))


def _counter_tags() -> Callable[[], bytes]:
    """Delivery tags 0, 1, 2, ... as ASCII bytes: short and unique per link."""
    counter = itertools.count()
    return lambda: str(next(counter)).encode()


# _transport sits below this module: hand it the maker of a bound connection's wrapper.
Transport._wrap_connection = Connection.wrap
