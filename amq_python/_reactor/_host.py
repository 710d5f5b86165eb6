"""What the selector driver's pieces know of their Container: the ``Host`` protocol, and the
timer ``Task`` it schedules.

Connectors, channels, acceptors, selectables, injectors, pushed events, transactions and the
asyncio driver each hold the Container they serve, but type it as ``Host``: the members they use
and nothing more. So they sit below ``_container`` (which builds on them) and never import it,
and mypy checks that a Container is a Host wherever one is handed down.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Protocol

from .._core._endpoints import Connection, Sender
from .._core._events import Event, EventType


class Task:
    """A scheduled timer; ``cancel()`` stops it from firing."""

    __slots__ = ("container", "deadline", "handler", "_callback", "cancelled")

    def __init__(
        self,
        container: Host,
        deadline: float,
        handler: Any,
        callback: Callable[[], None] | None = None,
    ) -> None:
        self.container = container
        self.deadline = deadline
        self.handler = handler
        self._callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Do not fire."""
        self.cancelled = True

    def __lt__(self, other: Task) -> bool:
        return self.deadline < other.deadline


class Host(Protocol):
    """The Container as its pieces see it (``_container.Container`` is the one implementation)."""

    # Configuration a connector reads for each attempt.
    ssl: Any
    sasl_enabled: bool
    allowed_mechs: str | None
    allow_insecure_mechs: bool
    # The loop's state: sockets by transport, channels with output, listeners, injectors and
    # selectables, connections, pushed events, the poller, and the asyncio driver if any.
    _channels: dict[Any, Any]
    _dirty: set[Any]
    _acceptors: set[Any]
    _injectors: set[Any]
    _connections: set[Connection]
    _pushed: deque[Event]
    _selector: Any
    _driver: Any
    _stopping: bool
    _yield: bool

    @property
    def now(self) -> float:
        """Seconds on the container's monotonic clock."""

    @property
    def handlers(self) -> Any:
        """The handlers the root handler stands for, in order."""

    @property
    def timer_deadline(self) -> float | None:
        """When the earliest timer is due, or None."""

    def now_ms(self) -> int:
        """Milliseconds on the same clock, for the engine's timers."""

    def _schedule_internal(self, delay: float, callback: Callable[[], None]) -> Task:
        """Call ``callback`` after ``delay`` seconds (no event)."""

    def _run_timers(self) -> None:
        """Fire the timers that are due."""

    def _dispatch(self, event: Event, handler: Any = None) -> None:
        """Dispatch one event to ``handler`` (or the container's) and the global handler."""

    def _process_events(self) -> None:
        """Dispatch the engine's queued events, then write what they produced."""

    def _accept(self, sock: Any, acceptor: Any) -> None:
        """Take a connection an Acceptor accepted."""

    def _has_work(self) -> bool:
        """True while a socket, listener, injector or timer is left."""

    def _abort(self) -> None:
        """Close every socket now and cancel the timers."""

    def _raise_errors(self) -> None:
        """Raise what a handler raised, if anything."""

    def push_event(self, obj: Any, etype: EventType) -> None:
        """Queue an event about ``obj``, dispatched before the loop next waits."""

    def selectable(self, handler: Any = None, delegate: Any = None) -> Any:
        """A Selectable over ``delegate``."""

    def update(self, selectable: Any) -> None:
        """Re-register a selectable after its interest changed."""

    def create_sender(self, *args: Any, **kwargs: Any) -> Sender:
        """``Container.create_sender``."""

    def start(self) -> None:
        """Fire ``on_start``."""

    def run(self) -> None:
        """Run until there is nothing left to do."""

    def stop(self) -> None:
        """Close everything and end ``run()``."""

    def wakeup(self) -> None:
        """Make the loop look at the engine again."""
