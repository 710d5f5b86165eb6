"""The container's readiness poller: which sockets can be read or written now.

It has the register/modify/unregister calls of ``selectors``, but ``select`` gives the pairs
(handler, events) directly instead of SelectorKey objects: the container's loop calls
``handler.on_ready(events)`` for each, on every wake-up, so the lookup costs less this way.
Linux's epoll is used directly; elsewhere ``selectors.DefaultSelector`` does the work.
"""

from __future__ import annotations

import math
import select
import selectors
from typing import Any

EVENT_READ = selectors.EVENT_READ
EVENT_WRITE = selectors.EVENT_WRITE


def _fd(fileobj: Any) -> int:
    return fileobj if isinstance(fileobj, int) else fileobj.fileno()


def _wait_seconds(timeout: float | None) -> float:
    """epoll's timeout: -1 waits forever; a positive wait is rounded up to the millisecond
    (epoll's resolution), so a timer is never woken for just before it is due."""
    if timeout is None:
        return -1
    if timeout <= 0:
        return 0
    return math.ceil(timeout * 1e3) * 1e-3


class EpollPoller:
    """Readiness of registered descriptors, through one epoll object."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._handlers: dict[int, tuple[Any, int]] = {}  # fd -> (handler, events watched)

    @staticmethod
    def _mask(events: int) -> int:
        return (select.EPOLLIN if events & EVENT_READ else 0) | (
            select.EPOLLOUT if events & EVENT_WRITE else 0
        )

    def register(self, fileobj: Any, events: int, handler: Any) -> None:
        """Watch ``fileobj`` for ``events`` (EVENT_READ | EVENT_WRITE) on behalf of ``handler``."""
        fd = _fd(fileobj)
        self._epoll.register(fd, self._mask(events))
        self._handlers[fd] = (handler, events)

    def modify(self, fileobj: Any, events: int, handler: Any) -> None:
        """Change what a registered descriptor is watched for."""
        fd = _fd(fileobj)
        self._epoll.modify(fd, self._mask(events))
        self._handlers[fd] = (handler, events)

    def unregister(self, fileobj: Any) -> None:
        """Stop watching a descriptor."""
        fd = _fd(fileobj)
        del self._handlers[fd]
        self._epoll.unregister(fd)

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """Wait at most ``timeout`` seconds (None: until something is ready) and give each
        ready descriptor's (handler, events). An error or hang-up counts as both readable and
        writable (of what the descriptor is watched for), so the handler's next read or write
        reports it."""
        try:
            ready = self._epoll.poll(_wait_seconds(timeout), max(len(self._handlers), 1))
        except InterruptedError:
            return []
        handlers = self._handlers
        found = []
        for fd, flags in ready:
            entry = handlers.get(fd)
            if entry is not None:
                events = 0
                if flags & ~select.EPOLLOUT:
                    events = EVENT_READ
                if flags & ~select.EPOLLIN:
                    events |= EVENT_WRITE
                found.append((entry[0], events & entry[1]))
        return found

    def registrations(self) -> list[tuple[int, int, Any]]:
        """Every watched descriptor as (fd, events, handler): for handing them to another
        poller (the asyncio driver takes them over while it runs, then gives them back)."""
        return [(fd, events, handler) for fd, (handler, events) in self._handlers.items()]

    def close(self) -> None:
        """Release the epoll descriptor."""
        self._handlers.clear()
        self._epoll.close()


class SelectorsPoller:
    """The same on platforms without epoll, over ``selectors.DefaultSelector``."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()

    def register(self, fileobj: Any, events: int, handler: Any) -> None:
        """Watch ``fileobj`` for ``events`` on behalf of ``handler``."""
        self._selector.register(fileobj, events, handler)

    def modify(self, fileobj: Any, events: int, handler: Any) -> None:
        """Change what a registered descriptor is watched for."""
        self._selector.modify(fileobj, events, handler)

    def unregister(self, fileobj: Any) -> None:
        """Stop watching a descriptor."""
        self._selector.unregister(fileobj)

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """Wait at most ``timeout`` seconds and give each ready descriptor's (handler, events)."""
        return [(key.data, events) for key, events in self._selector.select(timeout)]

    def registrations(self) -> list[tuple[int, int, Any]]:
        """Every watched descriptor as (fd, events, handler)."""
        return [(key.fd, key.events, key.data) for key in self._selector.get_map().values()]

    def close(self) -> None:
        """Release the selector."""
        self._selector.close()


Poller = EpollPoller if hasattr(select, "epoll") else SelectorsPoller
