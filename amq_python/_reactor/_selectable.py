"""Selectables: python-qpid-proton's way to have the container watch any file descriptor.

How a selectable is watched:
1. ``container.selectable(handler, delegate)`` makes a Selectable over ``delegate`` (anything
   with ``fileno()``; the selectable passes other attributes through, so ``sel.recv(n)`` reads
   a socket delegate). It pushes SELECTABLE_INIT on the container (``Container.push_event``).
2. The container dispatches each pushed event to the selectable's ``handler`` (else to its
   own handlers), then to its IOHandler, which does the watching: at INIT and at every
   UPDATED (``sel.update()`` or ``container.update(sel)``) it registers the descriptor with
   the container's selector for ``reading`` and/or ``writing`` and sets a timer for
   ``deadline`` (seconds on ``container.now``'s clock).
3. The selector loop calls ``readable()`` / ``writable()``, the timer ``expired()``; each
   pushes its event, dispatched on the loop's next turn, before it waits again.
4. ``terminate()`` then ``update()`` stops the watching at once and pushes SELECTABLE_FINAL
   (once), after which the IOHandler closes the delegate (unless ``release()`` gave it away).
   A watched selectable keeps ``run()`` going; ``container.stop()`` stops watching it without
   a FINAL, as python-qpid-proton leaves its selectables.

Connections never use selectables here: the container's channels move their bytes. So the
IOHandler and PythonIO do nothing for connection and transport events, and either is
harmless when a program adds one to a container's handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._core._events import Event, Handler, dispatch
from ._io import EVENT_READ, EVENT_WRITE

if TYPE_CHECKING:
    from .._core._transport import Transport
    from ._host import Host, Task

INVALID_SOCKET = -1


class Selectable:
    """A file descriptor (its ``delegate``'s) that a container watches for ``handler``: set
    ``reading``, ``writing`` and ``deadline``, then call ``update()``."""

    def __init__(self, delegate: Any, container: Host) -> None:
        self._delegate = delegate
        self._container = container
        self.handler: Any = None
        self.reading = False
        self.writing = False
        self._deadline: float | None = None
        self._terminal = False
        self._terminated = False
        self._released = False
        self._closed = False
        self._watch = _Watch(self, container)
        self.push_event(self, Event.SELECTABLE_INIT)

    def __getattr__(self, name: str) -> Any:
        """Any other attribute is the delegate's (``selectable.recv(n)`` reads its socket)."""
        delegate = self.__dict__.get("_delegate")
        if delegate is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(delegate, name)

    def fileno(self) -> int:
        """The delegate's descriptor, or -1 when there is none (a deadline-only selectable)."""
        return self._delegate.fileno() if self._delegate is not None else INVALID_SOCKET

    @property
    def deadline(self) -> float | None:
        """When ``expired()`` fires, on the container's ``now`` clock; None for never."""
        return self._deadline

    @deadline.setter
    def deadline(self, deadline: float | None) -> None:
        self._deadline = deadline or None

    def push_event(self, context: Any, etype: Any) -> None:
        """Push an event about ``context`` on this selectable's container."""
        self._container.push_event(context, etype)

    def update(self) -> None:
        """Apply the new interest (SELECTABLE_UPDATED); after ``terminate()``, stop being
        watched and push SELECTABLE_FINAL, once."""
        if self._terminated:
            return
        if self._terminal:
            self._terminated = True
            self._watch.close()
            self.push_event(self, Event.SELECTABLE_FINAL)
        else:
            self.push_event(self, Event.SELECTABLE_UPDATED)

    def readable(self) -> None:
        """The descriptor is readable: push SELECTABLE_READABLE."""
        self.push_event(self, Event.SELECTABLE_READABLE)

    def writable(self) -> None:
        """The descriptor is writable: push SELECTABLE_WRITABLE."""
        self.push_event(self, Event.SELECTABLE_WRITABLE)

    def expired(self) -> None:
        """The deadline passed: push SELECTABLE_EXPIRED."""
        self.push_event(self, Event.SELECTABLE_EXPIRED)

    @property
    def is_terminal(self) -> bool:
        """True once ``terminate()`` was called."""
        return self._terminal

    def terminate(self) -> None:
        """Mark the selectable finished; the next ``update()`` ends it."""
        self._terminal = True

    def release(self) -> None:
        """Give the delegate away: ``close()`` (and the FINAL event) will leave it open."""
        self._released = True

    def close(self) -> None:
        """Close the delegate (if it has ``close()``), once, unless it was released."""
        if self._released or self._closed:
            return
        self._closed = True
        close = getattr(self._delegate, "close", None)
        if close is not None:
            close()

    def __repr__(self) -> str:
        return f"Selectable({self._delegate!r})"


class _Watch:
    """The container's side of a Selectable: its selector registration and deadline timer.

    While active it is one of the container's injectors (what keeps ``run()`` going besides
    sockets and timers), so ``container.stop()`` (``close()``) or an interrupted loop
    (``_release()``) ends the watching."""

    def __init__(self, selectable: Selectable, container: Host) -> None:
        self.selectable = selectable
        self.container = container
        self.active = False
        self.fd = INVALID_SOCKET
        self.mask = 0
        self.deadline: float | None = None
        self.timer: Task | None = None

    def start(self) -> None:
        """Begin watching (at SELECTABLE_INIT), with the selectable's current interest."""
        if not self.active and not self.selectable._terminated:
            self.active = True
            self.container._injectors.add(self)
        self.refresh()

    def refresh(self) -> None:
        """Register the descriptor for what the selectable now wants; reset the timer."""
        if not self.active:
            return
        selectable = self.selectable
        mask = (EVENT_READ if selectable.reading else 0) | (
            EVENT_WRITE if selectable.writing else 0
        )
        fd = selectable.fileno() if mask else INVALID_SOCKET
        if fd < 0:
            mask = 0
        selector = self.container._selector
        if self.mask and (fd != self.fd or not mask):
            selector.unregister(self.fd)
            self.mask = 0
        if mask and not self.mask:
            selector.register(fd, mask, self)
        elif mask and mask != self.mask:
            selector.modify(fd, mask, self)
        self.fd, self.mask = fd, mask
        deadline = selectable.deadline
        if deadline != self.deadline or self.timer is None or self.timer.cancelled:
            self._cancel_timer()
            self.deadline = deadline
            if deadline is not None:
                delay = max(0.0, deadline - self.container.now)
                self.timer = self.container._schedule_internal(delay, self._expire)

    def on_ready(self, mask: int) -> None:
        """The selector says the descriptor is readable and/or writable."""
        if mask & EVENT_READ:
            self.selectable.readable()
        if mask & EVENT_WRITE:
            self.selectable.writable()

    def _expire(self) -> None:
        self.timer = None
        if self.active:
            self.selectable.expired()

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def close(self) -> None:
        """Stop watching: unregister the descriptor, cancel the timer, let the loop end."""
        if self.mask:
            self.container._selector.unregister(self.fd)
            self.mask = 0
        self._cancel_timer()
        self.active = False
        self.container._injectors.discard(self)

    _release = close  # what an interrupted loop calls on each of the container's injectors


def _selectable_of(event: Any) -> Selectable | None:
    context = event.context
    return context if isinstance(context, Selectable) else None


class IOHandler(Handler):
    """Watches selectables for the container (it gets every pushed event after their handler).

    In python-qpid-proton this handler also opens the sockets of connections and moves their
    bytes; here the container's channels do that, so its connection and transport methods do
    nothing. Watching is idempotent: one added to a container's handlers is harmless."""

    def on_selectable_init(self, event: Event) -> None:
        """Start watching the selectable."""
        selectable = _selectable_of(event)
        if selectable is not None:
            selectable._watch.start()

    def on_selectable_updated(self, event: Event) -> None:
        """Apply the selectable's reading, writing and deadline."""
        selectable = _selectable_of(event)
        if selectable is not None:
            selectable._watch.refresh()

    def on_selectable_final(self, event: Event) -> None:
        """Stop watching the selectable and close its delegate (unless released)."""
        selectable = _selectable_of(event)
        if selectable is not None:
            selectable._watch.close()
            selectable.close()

    def on_reactor_quiesced(self, event: Event) -> None:
        """Nothing: the container's loop waits on its selector itself."""

    def on_selectable_readable(self, event: Event) -> None:
        """Nothing: the selectable's own handler reads (connection sockets are the
        container's)."""

    def on_selectable_writable(self, event: Event) -> None:
        """Nothing: the selectable's own handler writes."""

    def on_selectable_error(self, event: Event) -> None:
        """A selectable in error is finished: terminate it (its FINAL follows)."""
        selectable = _selectable_of(event)
        if selectable is not None:
            selectable.terminate()
            selectable.update()

    def on_selectable_expired(self, event: Event) -> None:
        """Nothing: the selectable's own handler acts on its deadline."""

    def on_connection_local_open(self, event: Event) -> None:
        """Nothing: the container's connector makes the transport and connects."""

    def on_connection_bound(self, event: Event) -> None:
        """Nothing: the container's connector opens the socket."""

    @staticmethod
    def update(transport: Transport, selectable: Selectable, now: float) -> None:
        """Set a selectable's interest from a transport it carries: read while the transport
        takes input, write while it has output, wake at its next tick; terminate the
        selectable once the transport is closed both ways. Then ``selectable.update()``."""
        if transport.closed:
            selectable.terminate()
        selectable.reading = transport.capacity() > 0
        selectable.writing = transport.pending() > 0
        selectable.deadline = transport.tick(now)
        selectable.update()

    def on_transport(self, event: Event) -> None:
        """Nothing: the container's channel writes the transport's output."""

    def on_transport_closed(self, event: Event) -> None:
        """Nothing: the container unbinds and frees a closed transport itself."""


class PythonIO:
    """python-qpid-proton's select()-based IO handler, kept for programs that add one.

    The container's own loop does the select here, so PythonIO keeps the list of selectables
    it saw (``selectables``) and, at a terminal selectable's FINAL, drops and closes it; any
    other event goes to its ``delegate`` IOHandler, which is idempotent beside the
    container's own."""

    def __init__(self) -> None:
        self.selectables: list[Selectable] = []
        self.delegate = IOHandler()

    def on_unhandled(self, method: str, event: Event) -> None:
        """Pass the event on to the delegate IOHandler."""
        dispatch(self.delegate, event)

    def on_selectable_init(self, event: Event) -> None:
        """Remember the selectable."""
        self.selectables.append(event.context)

    def on_selectable_updated(self, event: Event) -> None:
        """Nothing: the container's IOHandler applies the new interest."""

    def on_selectable_final(self, event: Event) -> None:
        """Forget a terminal selectable and close it."""
        selectable = event.context
        if selectable.is_terminal:
            if selectable in self.selectables:
                self.selectables.remove(selectable)
            selectable.close()

    def on_reactor_quiesced(self, event: Event) -> None:
        """Nothing: the container's loop waits on its selector itself."""


__all__ = ["INVALID_SOCKET", "IOHandler", "PythonIO", "Selectable"]
