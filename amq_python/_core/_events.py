"""Event types, events, handlers and dispatch.

How an event reaches user code:
1. The container pops a C event from the collector and makes an ``Event`` holding only its type
   and its context wrapper (a Connection, Session, Link, Delivery or Transport). Every other
   attribute (``connection``, ``link``, ``delivery``, ...) is derived on first access, and is
   ``None`` where it does not apply.
2. ``dispatch(handler, event)`` looks up a table built once per handler: for each event type,
   the tuple of callables to run, namely the handler's own ``on_<type>`` method (or its
   ``on_unhandled`` when it has none and overrides it) followed by those of its child handlers
   (``handler.handlers``), flattened depth first. This is the order python-qpid-proton uses,
   without its per-event ``getattr`` walk.
3. An exception from a callable propagates: it stops ``Container.run()`` and reaches its caller.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable

from proton_ext import ffi, lib

from ._delivery import Delivery
from ._endpoints import Connection, Link, Receiver, Sender, Session
from ._handler import Handler
from ._transport import Transport

KIND_NONE, KIND_CONNECTION, KIND_SESSION, KIND_LINK, KIND_DELIVERY, KIND_TRANSPORT = range(6)

# How to wrap an event's context pointer (``void *``) that has no wrapper yet, by kind.
_POINTER_WRAPPERS: dict[int, Callable[[Any], Any]] = {
    KIND_NONE: lambda ptr: None,
    KIND_CONNECTION: lambda ptr: Connection.wrap(ffi.cast("pn_connection_t *", ptr)),
    KIND_SESSION: lambda ptr: Session.wrap(ffi.cast("pn_session_t *", ptr)),
    KIND_LINK: lambda ptr: Link.wrap(ffi.cast("pn_link_t *", ptr)),
    KIND_DELIVERY: Delivery.from_event_pointer,
    KIND_TRANSPORT: lambda ptr: Transport.wrap(ffi.cast("pn_transport_t *", ptr)),
}


_FIRST_EXTENDED = 10000


class EventType:
    """One kind of event, as in python-qpid-proton: ``name``, ``number`` and the handler
    ``method`` it calls (``on_`` + name unless given). A type made with a name and no number
    is an *extended* (Python) event, numbered from 10000 up; one made with only a number is
    named by the engine (``PN_LINK_FLOW``). ``TYPES`` maps each number to its type; an
    engine event's number keeps the type this library made for it, which the container
    dispatches. Types are made under a lock: an ApplicationEvent may be made on any thread.

    For the container: ``kind`` says which endpoint an engine event is about (``KIND_*``),
    ``wrap`` gives the context wrapper of a C event, ``wrap_pointer`` that of a context
    pointer not wrapped yet, and ``by_link`` the dispatch-table keys for senders and receivers (see
    ``only_for``)."""

    TYPES: dict[int, EventType] = {}
    _by_name: dict[str, EventType] = {}
    _next_extended = _FIRST_EXTENDED
    _lock = threading.Lock()

    __slots__ = ("number", "name", "method", "kind", "wrap_pointer", "by_link")

    def __init__(
        self, name: str | None = None, number: int | None = None, method: str | None = None
    ) -> None:
        if name is None and number is None:
            raise TypeError("extended events require a name")
        with EventType._lock:
            if number is None:
                number = EventType._next_extended
                EventType._next_extended += 1
            if name is None:
                name = ffi.string(lib.pn_event_type_name(number)).decode()
            self.number: int = number
            self.name: str = name
            self.method: str = "on_" + name if method is None else method
            self._set_kind(KIND_NONE)
            if number >= _FIRST_EXTENDED or number not in EventType.TYPES:
                EventType.TYPES[number] = self
                EventType._by_name[name] = self

    def _set_kind(self, kind: int) -> None:
        """Say which endpoint events of this type are about, and so how to wrap it."""
        self.kind = kind
        self.wrap_pointer: Callable[[Any], Any] = _POINTER_WRAPPERS[kind]
        # For link and delivery events: the dispatch-table key for each kind of link.
        self.by_link: dict[type, tuple[EventType, type]] = (
            {Sender: (self, Sender), Receiver: (self, Receiver)}
            if kind == KIND_LINK or kind == KIND_DELIVERY
            else {}
        )

    def wrap(self, c_event: Any) -> Any:
        """The wrapper of a C event's context (the one it has, else a new one), checked to
        wrap the C object there now (see ``_wrapper.registered``): code reading a collector
        itself may let the engine free objects whose wrappers are still registered."""
        pointer = lib.pn_event_context(c_event)
        if self.kind == KIND_DELIVERY:
            return Delivery.wrap(ffi.cast("pn_delivery_t *", pointer))
        return self.wrap_pointer(pointer)

    @classmethod
    def get(cls, name: str) -> EventType:
        """The type most recently registered under ``name`` in ``TYPES``, else a new
        extended one: for code that finds a type by its name instead of keeping it."""
        found = cls._by_name.get(name)
        return found if found is not None else cls(name)

    def __repr__(self) -> str:
        return f"EventType(name={self.name}, number={self.number})"

    def __str__(self) -> str:
        return self.name


def _c_type(name: str, kind: int) -> EventType:
    """The type of the engine's ``PN_<name>`` events, about endpoints of ``kind``."""
    etype = EventType(number=getattr(lib, "PN_" + name), method="on_" + name.lower())
    etype._set_kind(kind)
    return etype


class Event:
    """What happened, and to which objects; attributes that do not apply are None, and so is
    any other attribute its context lacks (see ``__getattr__``)."""

    TIMER_TASK = _c_type("TIMER_TASK", KIND_NONE)
    CONNECTION_INIT = _c_type("CONNECTION_INIT", KIND_CONNECTION)
    CONNECTION_BOUND = _c_type("CONNECTION_BOUND", KIND_CONNECTION)
    CONNECTION_UNBOUND = _c_type("CONNECTION_UNBOUND", KIND_CONNECTION)
    CONNECTION_LOCAL_OPEN = _c_type("CONNECTION_LOCAL_OPEN", KIND_CONNECTION)
    CONNECTION_LOCAL_CLOSE = _c_type("CONNECTION_LOCAL_CLOSE", KIND_CONNECTION)
    CONNECTION_REMOTE_OPEN = _c_type("CONNECTION_REMOTE_OPEN", KIND_CONNECTION)
    CONNECTION_REMOTE_CLOSE = _c_type("CONNECTION_REMOTE_CLOSE", KIND_CONNECTION)
    CONNECTION_FINAL = _c_type("CONNECTION_FINAL", KIND_CONNECTION)
    SESSION_INIT = _c_type("SESSION_INIT", KIND_SESSION)
    SESSION_LOCAL_OPEN = _c_type("SESSION_LOCAL_OPEN", KIND_SESSION)
    SESSION_LOCAL_CLOSE = _c_type("SESSION_LOCAL_CLOSE", KIND_SESSION)
    SESSION_REMOTE_OPEN = _c_type("SESSION_REMOTE_OPEN", KIND_SESSION)
    SESSION_REMOTE_CLOSE = _c_type("SESSION_REMOTE_CLOSE", KIND_SESSION)
    SESSION_FINAL = _c_type("SESSION_FINAL", KIND_SESSION)
    LINK_INIT = _c_type("LINK_INIT", KIND_LINK)
    LINK_LOCAL_OPEN = _c_type("LINK_LOCAL_OPEN", KIND_LINK)
    LINK_LOCAL_CLOSE = _c_type("LINK_LOCAL_CLOSE", KIND_LINK)
    LINK_LOCAL_DETACH = _c_type("LINK_LOCAL_DETACH", KIND_LINK)
    LINK_REMOTE_OPEN = _c_type("LINK_REMOTE_OPEN", KIND_LINK)
    LINK_REMOTE_CLOSE = _c_type("LINK_REMOTE_CLOSE", KIND_LINK)
    LINK_REMOTE_DETACH = _c_type("LINK_REMOTE_DETACH", KIND_LINK)
    LINK_FLOW = _c_type("LINK_FLOW", KIND_LINK)
    LINK_FINAL = _c_type("LINK_FINAL", KIND_LINK)
    DELIVERY = _c_type("DELIVERY", KIND_DELIVERY)
    TRANSPORT = _c_type("TRANSPORT", KIND_TRANSPORT)
    TRANSPORT_AUTHENTICATED = _c_type("TRANSPORT_AUTHENTICATED", KIND_TRANSPORT)
    TRANSPORT_ERROR = _c_type("TRANSPORT_ERROR", KIND_TRANSPORT)
    TRANSPORT_HEAD_CLOSED = _c_type("TRANSPORT_HEAD_CLOSED", KIND_TRANSPORT)
    TRANSPORT_TAIL_CLOSED = _c_type("TRANSPORT_TAIL_CLOSED", KIND_TRANSPORT)
    TRANSPORT_CLOSED = _c_type("TRANSPORT_CLOSED", KIND_TRANSPORT)
    # Python events, numbered in python-qpid-proton's order.
    REACTOR_INIT = EventType("reactor_init")
    REACTOR_QUIESCED = EventType("reactor_quiesced")
    REACTOR_FINAL = EventType("reactor_final")
    SELECTABLE_INIT = EventType("selectable_init")
    SELECTABLE_UPDATED = EventType("selectable_updated")
    SELECTABLE_READABLE = EventType("selectable_readable")
    SELECTABLE_WRITABLE = EventType("selectable_writable")
    SELECTABLE_EXPIRED = EventType("selectable_expired")
    SELECTABLE_ERROR = EventType("selectable_error")
    SELECTABLE_FINAL = EventType("selectable_final")

    message: Any = None

    def __init__(self, type: EventType, context: Any = None, container: Any = None) -> None:
        self.type = type
        self.context = context
        self.container = container

    @staticmethod
    def wrap(impl: Any) -> Event | None:
        """The Event for a C event (a ``pn_event_t *``), with its context wrapped: how code
        that drives a ``pn_collector_t`` itself reads it. None for NULL and for an event type
        this library does not know."""
        if impl is None or impl == ffi.NULL:
            return None
        etype = event_type_of(impl)
        if etype is None:
            return None
        return Event(etype, etype.wrap(impl))

    @property
    def clazz(self) -> str | None:
        """The kind of the context object, as python-qpid-proton names it."""
        context = self.context
        return None if context is None else "pn_" + type(context).__name__.lower()

    @property
    def reactor(self) -> Any:
        """The container (its older name)."""
        return self.container

    @property
    def connection(self) -> Connection | None:
        """The connection the event is about, or None (as for a timer task's event, whose
        context is the Task)."""
        context = self.context
        if context is None or self.type.kind == KIND_NONE:
            return None
        return context.connection

    @property
    def session(self) -> Session | None:
        """The session the event is about, or None."""
        kind = self.type.kind
        if kind == KIND_SESSION:
            return self.context
        if kind == KIND_LINK or kind == KIND_DELIVERY:
            return self.context.session
        return None

    @property
    def link(self) -> Link | None:
        """The sender or receiver the event is about, or None."""
        kind = self.type.kind
        if kind == KIND_LINK:
            return self.context
        if kind == KIND_DELIVERY:
            return self.context._link
        return None

    @property
    def sender(self) -> Link | None:
        """The link, when it is a sender."""
        link = self.link
        return link if isinstance(link, Sender) else None

    @property
    def receiver(self) -> Link | None:
        """The link, when it is a receiver."""
        link = self.link
        return link if isinstance(link, Receiver) else None

    @property
    def delivery(self) -> Any:
        """The delivery the event is about, or None."""
        return self.context if self.type.kind == KIND_DELIVERY else None

    @property
    def transport(self) -> Any:
        """The transport of the event's connection, or None."""
        if self.type.kind == KIND_TRANSPORT:
            return self.context
        connection = self.connection
        return connection.transport if connection is not None and connection._impl else None

    @property
    def handler(self) -> Any:
        """The handler scoped to the event's link, session or connection, if one is set; for
        any other event, its context's ``handler`` (the container's root handler for the
        container's own events, a timer task's handler), as in python-qpid-proton."""
        if self.type.kind == KIND_NONE:
            return getattr(self.context, "handler", None)
        return scoped_handler(self)

    def dispatch(self, handler: Any, type: EventType | None = None) -> None:
        """Deliver this event to ``handler`` (and its children)."""
        if type is not None and type is not self.type:
            Event(type, self.context, self.container).dispatch(handler)
            return
        dispatch(handler, self)

    def __getattr__(self, name: str) -> Any:
        """An attribute an Event lacks, as python-qpid-proton reads it: the context, when
        ``name`` is its class's or a direct base class's (lower case), else the context's
        attribute, or None (``event.subject`` on an engine event is None)."""
        if name.startswith("__") or name == "context":
            raise AttributeError(name)
        context = self.context
        cls = type(context)
        if cls.__name__.lower() == name or any(b.__name__.lower() == name for b in cls.__bases__):
            return context
        return getattr(context, name, None)

    def __repr__(self) -> str:
        return f"{self.type}({self.context!r})"


def scoped_handler(event: Event) -> Any:
    """The nearest handler set on the event's link, session or connection (python-qpid-proton's
    rule for where an event goes), or None."""
    return handler_for(event.type.kind, event.context)


def handler_for(kind: int, context: Any) -> Any:
    """The nearest handler set on ``context`` (of event kind ``kind``) or on the link, session
    or connection it belongs to, or None. (Parents are read from ``_parent``, where a wrapper
    keeps its session or connection once known, before asking the engine.)"""
    if context is None or kind == KIND_NONE:
        return None
    if kind == KIND_DELIVERY:
        context = context._link
        kind = KIND_LINK
    if kind == KIND_LINK:
        handler = context._handler
        if handler is not None:
            return handler
        parent = context._parent
        if parent is None:
            if context._impl is None:
                return None
            parent = context.session
        context = parent
        kind = KIND_SESSION
    if kind == KIND_SESSION:
        handler = context._handler
        if handler is not None:
            return handler
        parent = context._parent
        if parent is None:
            if context._impl is None:
                return None
            parent = context.connection
        return parent._handler
    if kind == KIND_TRANSPORT:
        context = context.connection
        if context is None:
            return None
    return context._handler


def _is_noop_unhandled(handler: Any) -> bool:
    method = getattr(type(handler), "on_unhandled", None)
    return method is None or method is Handler.on_unhandled


def only_for(link_class: type) -> Callable[[Any], Any]:
    """Mark a handler method that does nothing for events about the other kind of link (a
    FlowController's for senders, say): the container then skips calling it for those. A
    subclass's override carries no mark, so it is called for every link."""

    def mark(method: Any) -> Any:
        method._amq_only_for = link_class
        return method

    return mark


def _own_call(handler: Any, method: str) -> Callable[[Event], Any] | None:
    """What ``handler`` itself runs for ``method``: its method of that name, else its
    ``on_unhandled`` (when it overrides it) given the name, else None."""
    found = getattr(handler, method, None)
    if found is None and not _is_noop_unhandled(handler):
        unhandled = handler.on_unhandled
        found = lambda event: unhandled(method, event)  # noqa: E731
    return found


def _callables(
    handler: Any, method: str, link_class: type | None = None
) -> list[Callable[[Event], Any]]:
    calls: list[Callable[[Event], Any]] = []
    found = _own_call(handler, method)
    if found is not None:
        only = getattr(found, "_amq_only_for", None)
        if only is None or link_class is None or only is link_class:
            calls.append(found)
    for child in getattr(handler, "handlers", None) or ():
        calls.extend(_callables(child, method, link_class))
    return calls


def _cache(handler: Any, attribute: str) -> dict[Any, Any]:
    """The handler's lookup cache kept in ``attribute`` (made on first use); a fresh dict,
    not kept, for a handler that takes no attributes."""
    try:
        return getattr(handler, attribute)
    except AttributeError:
        cache: dict[Any, Any] = {}
        try:
            setattr(handler, attribute, cache)
        except AttributeError:
            pass
        return cache


def calls_for(handler: Any, key: Any) -> tuple[Callable[[Event], Any], ...]:
    """The callables ``handler`` runs for ``key``: an EventType, or one of its ``by_link``
    keys, which leave out the methods marked ``only_for`` the other kind of link (its table
    entry, made on first use)."""
    table = _cache(handler, "_amq_table")
    calls = table.get(key)
    if calls is None:
        if isinstance(key, EventType):
            found = _callables(handler, key.method)
        else:
            found = _callables(handler, key[0].method, key[1])
        calls = table[key] = tuple(found)
    return calls


def dispatch(handler: Any, event: Event) -> None:
    """Run the callables ``handler`` has for ``event.type``, in python-qpid-proton's order."""
    try:
        calls = handler._amq_table[event.type]
    except (AttributeError, KeyError):
        calls = calls_for(handler, event.type)
    for call in calls:
        call(event)


def call(handler: Any, method: str, event: Event) -> None:
    """Call one named method of a handler, or its ``on_unhandled``: how helper handlers reach
    the user's handler (their delegate) for synthesized events like ``on_message``. What to
    call is looked up once per handler and method, as ``dispatch`` does."""
    try:
        found = handler._amq_calls[method]
    except (AttributeError, KeyError):
        found = _delegate_call(handler, method)
    if found is not None:
        found(event)


def _delegate_call(handler: Any, method: str) -> Callable[[Event], Any] | None:
    found = _own_call(handler, method)
    _cache(handler, "_amq_calls")[method] = found
    return found


def event_type_of(c_event: Any) -> EventType | None:
    """The EventType of a C event, or None for a type this library does not know."""
    return EventType.TYPES.get(lib.pn_event_type(c_event))


class PythonEvent(Event):
    """An event whose context is any Python object. As for any Event, an attribute it lacks
    is the context's (``event.selectable`` is a Selectable context, and ``event.foo`` the
    context's ``foo``, or None)."""

    @property
    def clazz(self) -> str:
        """python-qpid-proton's class name for a Python context."""
        return "pn_pyref"

    @property
    def delivery(self) -> Any:
        """The context, when it is a delivery."""
        context = self.context
        return context if isinstance(context, Delivery) else None

    @property
    def link(self) -> Link | None:
        """The context when it is a link, or a delivery context's link."""
        context = self.context
        if isinstance(context, Delivery):
            return context.link
        return context if isinstance(context, Link) else None

    @property
    def session(self) -> Session | None:
        """The context when it is a session, or the link's session."""
        link = self.link
        if link is not None:
            return link.session
        context = self.context
        return context if isinstance(context, Session) else None

    @property
    def connection(self) -> Connection | None:
        """The context when it is a connection, or the session's connection."""
        session = self.session
        if session is not None:
            return session.connection
        context = self.context
        return context if isinstance(context, Connection) else None

    @property
    def transport(self) -> Any:
        """The context, when it is a transport."""
        context = self.context
        return context if isinstance(context, Transport) else None

    @property
    def handler(self) -> Any:
        """The link's, session's or connection's handler, else the context's ``handler``."""
        for endpoint in (self.link, self.session, self.connection):
            if endpoint is not None and endpoint.handler is not None:
                return endpoint.handler
        return getattr(self.context, "handler", None)


def python_event(obj: Any, etype: EventType, container: Any = None) -> Event:
    """The event of type ``etype`` about ``obj``; an Event is its own."""
    if isinstance(obj, Event):
        if obj.container is None:
            obj.container = container
        return obj
    return PythonEvent(etype, obj, container)


class Collector:
    """A queue of events (python-qpid-proton's Collector): the engine's, from the connections
    collected to it, and Python ones from ``put``, which wait in a Python queue beside it.

    Order: a Python event put while no engine event waits comes before engine events queued
    later; one put while engine events wait comes after them (and after any the engine adds
    before they are all popped). Python events keep the order they were put in."""

    def __init__(self) -> None:
        self._impl = ffi.gc(lib.pn_collector(), lib.pn_collector_free)
        self._python: deque[Event] = deque()
        self._ahead = 0  # how many Python events come before every engine event queued
        self._released = False

    def put(self, obj: Any, etype: EventType) -> None:
        """Queue an event of type ``etype`` about any object (an Event is queued as itself);
        ignored once released."""
        if self._released:
            return
        self._python.append(python_event(obj, etype))
        if lib.pn_collector_peek(self._impl) == ffi.NULL:
            self._ahead = len(self._python)

    def peek(self) -> Event | None:
        """The next event, without removing it."""
        if self._ahead:
            return self._python[0]
        return Event.wrap(lib.pn_collector_peek(self._impl))

    def more(self) -> bool:
        """True when more than one event is queued."""
        waiting = len(self._python)
        if waiting > 1 or lib.pn_collector_more(self._impl):
            return True
        return waiting == 1 and lib.pn_collector_peek(self._impl) != ffi.NULL

    def pop(self) -> None:
        """Remove the next event."""
        if self._ahead:
            self._python.popleft()
            self._ahead -= 1
        elif lib.pn_collector_pop(self._impl) and lib.pn_collector_peek(self._impl) == ffi.NULL:
            self._ahead = len(self._python)

    def release(self) -> None:
        """Drop every queued event and queue no more (the C collector is freed with this
        object)."""
        self._released = True
        self._python.clear()
        self._ahead = 0
        lib.pn_collector_release(self._impl)


__all__ = ["Collector", "Event", "EventType", "Handler", "dispatch", "call"]
