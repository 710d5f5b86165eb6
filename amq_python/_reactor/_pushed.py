"""Events about any Python object: what ``Container.push_event`` and ``Collector.put`` queue.

The engine's collector holds only the engine's events, so these wait in a Python queue:
1. ``python_event(obj, etype)`` makes the event. An Event (an ApplicationEvent, say) is its
   own event, as in python-qpid-proton; any other object becomes the context of a
   PythonEvent, whose link, session and connection come from the object's own type.
2. The container keeps pushed events in ``Container._pushed``. Each turn of its loop, before
   it waits on the selector, ``dispatch_pushed`` dispatches them oldest first (with those
   their handlers push), each to its handler (``event.handler``: the link's, session's or
   connection's, else the object's ``handler`` attribute) or else the container's handlers,
   then to the container's IOHandler, which watches selectables; the engine events each one
   causes are dispatched right after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._core._delivery import Delivery
from .._core._endpoints import Connection, Link, Session
from .._core._events import Event, EventType, dispatch
from .._core._transport import Transport
from ._selectable import IOHandler

if TYPE_CHECKING:
    from ._container import Container

IO_HANDLER = IOHandler()


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


def python_event(obj: Any, etype: EventType, container: Container | None = None) -> Event:
    """The event of type ``etype`` about ``obj``; an Event is its own."""
    if isinstance(obj, Event):
        if obj.container is None:
            obj.container = container
        return obj
    return PythonEvent(etype, obj, container)


def dispatch_pushed(container: Container) -> None:
    """Dispatch the container's pushed events, oldest first, each followed by the engine
    events it caused (see the module docstring)."""
    queue = container._pushed
    while queue:
        event = queue.popleft()
        container._dispatch(event, event.handler)
        dispatch(IO_HANDLER, event)
        container._process_events()


__all__ = ["IO_HANDLER", "PythonEvent", "dispatch_pushed", "python_event"]
