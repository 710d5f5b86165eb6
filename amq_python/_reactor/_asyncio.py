"""The asyncio driver of a Container: the same engine, dispatch, connect and reconnect code as
``Container.run()``; only the waiting differs.

1. ``attach()`` moves every descriptor the container's poller watches to an ``AsyncioPoller``,
   which watches them with ``loop.add_reader``/``add_writer``; Channels, Acceptors, injectors and
   selectables register with it as they do with the epoll poller.
2. A ready descriptor calls ``handler.on_ready(mask)`` and then one pass: the container's own
   ``_process_events()`` (dispatch, then write), pushed events, and re-arming the one
   ``loop.call_later`` that stands for the container's earliest timer (aioquic's shape).
3. Code outside a pass that changes the engine (the ``aio`` API, ``container.wakeup()``) calls
   ``kick()``: one pass soon, coalesced, so many changes in one loop turn cost one pass. Inside
   a pass (a handler sends, settles or grants credit) a kick is not needed: the pass goes on
   until the engine has no event left and writes what it produced, so none is scheduled.
4. ``detach()`` hands the descriptors back, so ``run()`` could go on afterwards.

An exception from a handler goes to ``on_error`` (``run_async`` raises it, as ``run()`` does); it
never reaches the loop's exception handler unseen.
"""

from __future__ import annotations

import asyncio
import math
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._core._events import Event
from ._poller import EVENT_READ, EVENT_WRITE
from ._pushed import dispatch_pushed

if TYPE_CHECKING:
    from ._host import Host


def _fd(fileobj: Any) -> int:
    return fileobj if isinstance(fileobj, int) else int(fileobj.fileno())


class AsyncioPoller:
    """The container poller's register/modify/unregister, on an asyncio loop's readers and
    writers; readiness calls ``on_ready(handler, mask)``."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, on_ready: Callable[[Any, int], None]
    ) -> None:
        self._loop = loop
        self._on_ready = on_ready
        self._watched: dict[int, tuple[Any, int]] = {}  # fd -> (handler, events)

    def _watch(self, fd: int, handler: Any, events: int) -> None:
        if events & EVENT_READ:
            self._loop.add_reader(fd, self._on_ready, handler, EVENT_READ)
        if events & EVENT_WRITE:
            self._loop.add_writer(fd, self._on_ready, handler, EVENT_WRITE)

    def _unwatch(self, fd: int, events: int) -> None:
        if events & EVENT_READ:
            self._loop.remove_reader(fd)
        if events & EVENT_WRITE:
            self._loop.remove_writer(fd)

    def register(self, fileobj: Any, events: int, handler: Any) -> None:
        """Watch ``fileobj`` for ``events`` (EVENT_READ | EVENT_WRITE) for ``handler``."""
        fd = _fd(fileobj)
        if fd in self._watched:
            raise KeyError(f"descriptor {fd} is already registered")
        self._watched[fd] = (handler, events)
        self._watch(fd, handler, events)

    def modify(self, fileobj: Any, events: int, handler: Any) -> None:
        """Change what a registered descriptor is watched for."""
        fd = _fd(fileobj)
        old_handler, old_events = self._watched[fd]
        if old_handler is not handler:
            self._unwatch(fd, old_events)
            self._watch(fd, handler, events)
        else:
            self._unwatch(fd, old_events & ~events)
            self._watch(fd, handler, events & ~old_events)
        self._watched[fd] = (handler, events)

    def unregister(self, fileobj: Any) -> None:
        """Stop watching a descriptor."""
        fd = _fd(fileobj)
        _handler, events = self._watched.pop(fd)
        self._unwatch(fd, events)

    def registrations(self) -> list[tuple[int, int, Any]]:
        """Every watched descriptor as (fd, events, handler)."""
        return [(fd, events, handler) for fd, (handler, events) in self._watched.items()]

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """Not here: the asyncio loop does the waiting while this poller is in use."""
        raise RuntimeError(
            "this container is driven by asyncio (run_async or amq_python.aio): "
            "process(), do_work() and run() cannot wait on it meanwhile"
        )

    def close(self) -> None:
        """Stop watching everything."""
        for fd, (_handler, events) in list(self._watched.items()):
            self._unwatch(fd, events)
        self._watched.clear()


class AsyncioDriver:
    """Drives one Container from an asyncio loop (see the module docstring)."""

    def __init__(
        self,
        container: Host,
        loop: asyncio.AbstractEventLoop,
        on_error: Callable[[BaseException], None],
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.container = container
        self.loop = loop
        self.on_error = on_error
        self.on_idle = on_idle  # called after a pass that left the container nothing to do
        self.poller = AsyncioPoller(loop, self._ready)
        self._saved: Any = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None  # the container deadline the timer stands for
        self._kicked: asyncio.Handle | None = None  # the pass a kick scheduled
        self._kicked_after_wake = False  # that pass runs right after a coroutine a pass woke
        self._in_pass = False  # handling readiness or a timer, or dispatching engine events
        self._resolving: set[asyncio.Task[None]] = set()  # name look-ups under way

    def attach(self) -> None:
        """Take the container's descriptors over from its poller."""
        container = self.container
        if container._driver is not None:
            raise RuntimeError("this container is already driven by an asyncio loop")
        saved = container._selector
        for fd, events, handler in saved.registrations():
            saved.unregister(fd)
            self.poller.register(fd, events, handler)
        self._saved = saved
        container._selector = self.poller
        container._driver = self

    def detach(self) -> None:
        """Give the descriptors back to the container's own poller; cancel the loop timer."""
        container = self.container
        if container._driver is not self:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = None
        saved = self._saved
        for fd, events, handler in self.poller.registrations():
            self.poller.unregister(fd)
            saved.register(fd, events, handler)
        container._selector = saved
        container._driver = None

    def resolve(self, host: str, port: int, channel: Any) -> None:
        """Resolve ``host`` with the loop's ``getaddrinfo`` (off the loop: asyncio's resolver),
        then hand the answer to ``channel.resolved`` within a pass."""
        task = self.loop.create_task(self._resolve(host, port, channel))
        self._resolving.add(task)
        task.add_done_callback(self._resolving.discard)

    async def _resolve(self, host: str, port: int, channel: Any) -> None:
        error: BaseException | None = None
        infos: list[Any] = []
        try:
            infos = await self.loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as e:
            error = e
        if self.container._driver is self:
            self._guarded(lambda: channel.resolved(host, port, infos, error))

    def kick(self) -> None:
        """Run one pass soon (once, however often this is called before it runs); nothing
        when called from within a pass, which processes the change itself."""
        if self._kicked is None and not self._in_pass:
            self._kicked = self.loop.call_soon(self._kick)

    def kick_after_wake(self) -> None:
        """From a pass that woke a coroutine which will change the engine (a sender given
        credit): a pass right after that coroutine's step, in the same loop turn (the wake was
        scheduled first). The coroutine's ``flush()`` then leaves the writing to it, so the
        loop neither runs a pass of its own for that nor turns once more for a cancelled kick."""
        if self._kicked is None:
            self._kicked = self.loop.call_soon(self._kick)
        self._kicked_after_wake = True

    def flush(self, always: bool = False) -> None:
        """Run the pass a kick scheduled now, instead of on the loop's next turn: for a
        coroutine about to wait for the peer, so that what it changed goes out first.
        ``always``: run one even if nothing was kicked (a change that must go out now).
        Nothing when the kicked pass comes right after this coroutine's step anyway
        (``kick_after_wake``)."""
        kicked = self._kicked
        if kicked is not None and self._kicked_after_wake:
            return
        if (kicked is not None or always) and not self._in_pass:
            if kicked is not None:
                kicked.cancel()
            self._kick()

    def _kick(self) -> None:
        self._kicked = None
        self._kicked_after_wake = False
        if self.container._driver is self:
            self._guarded(None)

    def _ready(self, handler: Any, mask: int) -> None:
        self._guarded(handler.on_ready, mask)

    def _timer_fired(self) -> None:
        self._timer = None
        self._timer_at = None
        self._guarded(self.container._run_timers)

    def _guarded(self, first: Callable[..., None] | None, *args: Any) -> None:
        """``first(*args)`` then a pass; an exception goes to ``on_error`` (KeyboardInterrupt and
        SystemExit close every socket first, as in ``run()``, and go on to the loop)."""
        try:
            if first is not None:
                self._in_pass = True
                try:
                    first(*args)
                finally:
                    self._in_pass = False
            self.run_pass()
        except (KeyboardInterrupt, SystemExit):
            self.container._abort()
            raise
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting code, not lost
            self.on_error(e)

    def run_pass(self) -> None:
        """Dispatch and write what is queued, then re-arm the timer for the next deadline."""
        container = self.container
        self._in_pass = True
        try:
            container._process_events()
        finally:
            self._in_pass = False
        if container._pushed:
            dispatch_pushed(container)
        container._yield = False  # nothing to hand control back to: the loop has it
        deadline = container.timer_deadline
        if deadline != self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._timer_at = deadline
            if deadline is not None:
                # Rounded up to the millisecond (uvloop's resolution): never woken just before.
                delay = math.ceil(max(0.0, deadline - time.monotonic()) * 1e3) * 1e-3
                self._timer = self.loop.call_later(delay, self._timer_fired)
        if self.on_idle is not None and not container._has_work():
            self.on_idle()


async def run_container(container: Host) -> None:
    """``container.run()`` on the running loop (``Container.run_async``)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def failed(error: BaseException) -> None:
        if not done.done():
            done.set_exception(error)

    def idle() -> None:
        if not done.done():
            done.set_result(None)

    driver = AsyncioDriver(container, loop, failed, idle)
    driver.attach()
    try:
        container.start()
        driver.run_pass()
        await done
    except asyncio.CancelledError:
        container._abort()
        raise
    finally:
        driver.detach()
    container._raise_errors()
    container._dispatch(Event(Event.REACTOR_FINAL, container, container))
