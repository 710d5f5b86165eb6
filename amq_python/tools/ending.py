"""How a tool's run ends: the idle timeout, the broker closing, SIGINT/SIGTERM, and a bounded
wait for the broker to answer our close. Shared by amq-send and amq-receive."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

from amq_python import Endpoint, Event
from amq_python.reactor import Container, Task

from .common import ERROR, INTERRUPTED, OK
from .signals import SIGNALS, SignalEvents

CLOSE_GRACE = 2.0


def remote_error(endpoint: Endpoint | None) -> str:
    """The error condition the peer closed ``endpoint`` with, as text."""
    condition = endpoint.remote_condition if endpoint is not None else None
    if condition is None:
        return "no condition given"
    return f"{condition.name}: {condition.description}"


class IdleTimer:
    """``--timeout``: calls ``on_idle()`` once no ``progress()`` was made for ``seconds``.
    One timer at a time, re-armed when it fires early (no timer per message)."""

    def __init__(self, container: Container, seconds: float, on_idle: Callable[[], None]) -> None:
        self.container = container
        self.seconds = seconds
        self.on_idle = on_idle
        self.last = time.monotonic()
        self.task: Task | None = container.schedule(seconds, self)

    def progress(self) -> None:
        """Something happened: the idle time starts again."""
        self.last = time.monotonic()

    def on_timer_task(self, event: Event) -> None:
        """Fire, or wait for the rest of the idle time since the last progress."""
        left = self.last + self.seconds - time.monotonic()
        if left > 0:
            self.task = self.container.schedule(left, self)
        else:
            self.task = None
            self.on_idle()

    def cancel(self) -> None:
        """No more firing (the run is over)."""
        if self.task is not None:
            self.task.cancel()
            self.task = None


def idle_text(seconds: float) -> str:
    """How the help and the messages say it: ``idle for 1.5 s``."""
    return f"idle for {seconds:g} s"


class CloseTimeout(Exception):
    """The broker did not answer our close within ``CLOSE_GRACE`` seconds: ``run()`` ends."""


class _Grace:
    """The timer's handler: the wait for the broker's close is over."""

    def on_timer_task(self, event: Event) -> None:
        """Give up on the close (the run's outcome is already recorded)."""
        raise CloseTimeout(f"no answer to our close within {CLOSE_GRACE:g} s")


class ToolHandler:
    """Handler mixin for the tools: how a run ends.

    A failed connection, or the broker closing the connection or the link (with an error or
    without), records why and ends the run with ERROR; SIGINT/SIGTERM (the ``interrupt`` event
    from ``run``) end it with INTERRUPTED. ``_end`` keeps the first status, closes the
    connection and lets the container finish, waiting at most ``CLOSE_GRACE`` seconds for the
    broker's answer (a silent peer never keeps a tool running). The class names its link in
    ``link`` and sets ``container`` in ``on_start``."""

    link = "link"

    def __init__(self) -> None:
        self.status = OK
        self.error: str | None = None
        self.connection: Any = None
        self.idle: IdleTimer | None = None
        self.signals: SignalEvents | None = None
        self.container: Container | None = None
        self.grace: Task | None = None

    def _ending(self) -> None:
        """What the tool does at the end (e.g. finish its progress bar)."""

    def _end(self, status: int) -> None:
        if self.status == OK:
            self.status = status
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        self._ending()
        if self.connection is not None:
            self.connection.close()
            self.connection = None
            if self.container is not None:
                self.grace = self.container.schedule(CLOSE_GRACE, _Grace())
        if self.signals is not None:
            self.signals.close()
            self.signals = None

    def abandon(self) -> None:
        """A second signal stopped the run at once: INTERRUPTED, whatever happened before."""
        self.status = INTERRUPTED
        self._ending()

    def on_interrupt(self, event: Event) -> None:
        """SIGINT or SIGTERM: close and end with INTERRUPTED."""
        self._end(INTERRUPTED)

    def on_connection_closed(self, event: Event) -> None:
        """The broker answered our close: no need to wait any more."""
        if self.grace is not None:
            self.grace.cancel()
            self.grace = None

    def on_transport_error(self, event: Event) -> None:
        """The connection failed (the text is the transport's: what the server said)."""
        self.connection = None  # nothing to close
        self.on_connection_closed(event)
        condition = event.transport.condition if event.transport is not None else None
        if self.error is None:
            self.error = condition.description if condition is not None else "connection failed"
        self._end(ERROR)

    def on_connection_error(self, event: Event) -> None:
        """The broker closed the connection with an error."""
        self._closed_by_broker("connection", event.connection)

    def on_connection_closing(self, event: Event) -> None:
        """The broker closed the connection first, without an error."""
        self._closed_by_broker("connection", event.connection)

    def on_link_error(self, event: Event) -> None:
        """The broker refused or closed our link with an error."""
        self._closed_by_broker(self.link, event.link)

    def on_link_closing(self, event: Event) -> None:
        """The broker closed our link first, without an error."""
        self._closed_by_broker(self.link, event.link)

    def _closed_by_broker(self, what: str, endpoint: Endpoint | None) -> None:
        if self.error is None and self.status == OK:
            self.error = f"the broker closed the {what}: {remote_error(endpoint)}"
        self._end(ERROR)


def _stop_now(signum: int) -> None:
    raise KeyboardInterrupt


def run(container: Container, handler: ToolHandler) -> bool:
    """Run ``container`` with SIGINT/SIGTERM delivered to ``handler.on_interrupt``; a second
    signal stops at once. False when it did (the sockets were dropped, not closed)."""
    handler.signals = SignalEvents(container, "interrupt", again=_stop_now)
    try:
        try:
            container.run()
        finally:  # signals ignored from here on, also while Python exits
            for signum in SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
    except KeyboardInterrupt:
        return False
    except CloseTimeout:
        pass
    return True
