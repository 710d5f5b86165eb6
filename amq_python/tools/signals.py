"""SIGINT and SIGTERM as one application event on a container's thread, for the tools and broker.

The first signal queues the event through an EventInjector (so the loop wakes at once and the
program stops in its own time); what later signals do is the program's choice (``again``): the
broker ignores them, the tools stop at once. The handler only queues: it runs on the main thread
between two bytecodes, so it must not log or start threads (either may need a lock the
interrupted code holds); the injector's lock is reentrant for this reason.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

from amq_python.reactor import ApplicationEvent, Container, EventInjector

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalEvents:
    """Turns the first SIGINT/SIGTERM into the event ``name`` (``subject`` is the signal number);
    every later one, and any after ``close()``, calls ``again(signum)`` (None: ignored)."""

    def __init__(self, container: Container, name: str,
                 again: Callable[[int], None] | None = None) -> None:
        self.name = name
        self.again = again
        self.received: int | None = None
        self._closed = False
        self._injector = EventInjector()
        container.selectable(self._injector)
        for signum in SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None and not self._closed:
            self.received = signum
            self._injector.trigger(ApplicationEvent(self.name, subject=signum))
        elif self.again is not None:
            self.again(signum)

    def close(self) -> None:
        """No more events (the injector no longer keeps the container running); later signals
        go to ``again``. The flag is set first, so a signal arriving meanwhile never triggers."""
        self._closed = True
        self._injector.close()
