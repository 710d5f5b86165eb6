"""EventInjector and ApplicationEvent: how other threads hand work to a running container.

``trigger(event)`` may be called from any thread: it queues the event under a lock and writes a
byte to a socket pair the container's selector watches, so the loop wakes at once (no polling),
then dispatches the event on the container's thread.
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from .._core._events import Event, EventType, scoped_handler
from ._io import EVENT_READ

if TYPE_CHECKING:
    from ._host import Host


class ApplicationEvent(Event):
    """A custom event: ``ApplicationEvent("job_done")`` calls ``on_job_done(event)``. As in
    python-qpid-proton, its context is the event itself, and it has no attributes beyond
    its own (no fallback to a context's)."""

    #: The event type of each application event name made so far (``"job_done"`` ->
    #: EventType), shared by every ApplicationEvent of that name, as in python-qpid-proton.
    TYPES: dict[str, EventType] = {}

    def __init__(
        self,
        typename: str | EventType,
        connection: Any = None,
        session: Any = None,
        link: Any = None,
        delivery: Any = None,
        subject: Any = None,
    ) -> None:
        if isinstance(typename, EventType):
            etype = typename
        else:
            found = ApplicationEvent.TYPES.get(typename)
            if found is None:
                found = ApplicationEvent.TYPES[typename] = EventType(typename)
            etype = found
        # Not Event.__init__: the context is this event (a property), not a given object.
        self.type = etype
        self.container = None
        if delivery is not None and link is None:
            link = delivery.link
        if link is not None and session is None:
            session = link.session
        if session is not None and connection is None:
            connection = session.connection
        self._connection = connection
        self._session = session
        self._link = link
        self._delivery = delivery
        self.subject = subject

    @property
    def context(self) -> ApplicationEvent:
        """This event itself, as in python-qpid-proton."""
        return self

    @property
    def connection(self) -> Any:
        """The connection given (or implied by the link/session/delivery)."""
        return self._connection

    @property
    def session(self) -> Any:
        """The session given (or implied)."""
        return self._session

    @property
    def link(self) -> Any:
        """The link given (or implied by the delivery)."""
        return self._link

    @property
    def delivery(self) -> Any:
        """The delivery given."""
        return self._delivery

    @property
    def handler(self) -> Any:
        """The handler scoped to the link, session or connection, if any."""
        for endpoint in (self._link, self._session, self._connection):
            if endpoint is not None and endpoint.handler is not None:
                return endpoint.handler
        return None

    def __getattr__(self, name: str) -> Any:
        """No fallback: an attribute this event lacks is an error, as in python-qpid-proton."""
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        about = (self._connection, self._session, self._link, self._delivery, self.subject)
        return f"{self.type}({', '.join(str(each) for each in about if each is not None)})"


class EventInjector:
    """Thread-safe queue of events for a container; register it with
    ``container.selectable(injector)``."""

    def __init__(self) -> None:
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._queue: deque[Event] = deque()
        # Reentrant: a signal handler may trigger() on the thread that is in on_ready().
        self._lock = threading.RLock()
        self._closed = False
        self._container: Host | None = None

    def fileno(self) -> int:
        """The descriptor the container watches."""
        return self._wake_r.fileno()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"!")
        except (BlockingIOError, OSError):
            pass

    def trigger(self, event: Event) -> None:
        """Queue ``event`` for dispatch on the container's thread (callable from any thread)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("EventInjector is closed")
            self._queue.append(event)
        self._wake()

    def close(self) -> None:
        """Stop accepting events; the container lets go of the injector after draining it."""
        with self._lock:
            self._closed = True
        self._wake()

    def _register(self, container: Host) -> None:
        self._container = container
        container._selector.register(self._wake_r, EVENT_READ, self)
        container._injectors.add(self)

    def on_ready(self, mask: int) -> None:
        """Drain the wake-up bytes and dispatch the queued events."""
        container = self._container
        assert container is not None
        self._drain_wakeups()
        while True:
            event, closed = self._next_queued()
            if event is None:
                break
            event.container = container
            container._dispatch(event, scoped_handler(event))
            container._process_events()
        if closed:
            self._release()

    def _next_queued(self) -> tuple[Event | None, bool]:
        """The next triggered event; or None, and whether the injector is closed, when the
        queue is empty (both read under one lock, so no trigger slips in between)."""
        with self._lock:
            if self._queue:
                return self._queue.popleft(), False
            return None, self._closed

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def on_selectable_init(self, event: Event) -> None:
        """Watched through a Selectable (``event.context``, python-qpid-proton's way): ask
        to be told when woken."""
        selectable = event.context
        selectable.reading = True
        selectable.update()

    def on_selectable_readable(self, event: Event) -> None:
        """Woken, when watched through a Selectable: push each triggered event onto the
        selectable's container, in order; once closed, end the selectable."""
        selectable = event.context
        self._drain_wakeups()
        while True:
            triggered, closed = self._next_queued()
            if triggered is None:
                break
            selectable.push_event(triggered, triggered.type)
        if closed:
            selectable.terminate()
            selectable.update()

    def on_selectable_final(self, event: Event) -> None:
        """The Selectable watching this injector has ended: close the wake-up sockets."""
        self._release()

    def _release(self) -> None:
        """Stop being watched and close the wake-up sockets (closed, drained or interrupted)."""
        with self._lock:
            self._closed = True
        container = self._container
        if container is not None and self in container._injectors:
            container._selector.unregister(self._wake_r)
            container._injectors.discard(self)
        self._wake_r.close()
        self._wake_w.close()
