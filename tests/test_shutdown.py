"""Signals and shutdown: stop() closes gracefully; Ctrl-C leaves no socket or thread behind.

- ``Container.stop()`` from a handler, or from another thread through an ``EventInjector``,
  closes every connection with a Close the peer answers (the peer, ``tests/peer_script.py``,
  counts connections closed by both ends) and ``run()`` returns.
- A KeyboardInterrupt during ``run()`` (a real SIGINT, delivered while the loop waits in the
  selector) propagates, and the container's sockets are closed at once.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from typing import Any

import pytest

from amq_python.handlers import MessagingHandler
from amq_python.reactor import ApplicationEvent, Container, EventInjector
from tests.helpers import Peer, run


def open_sockets() -> int:
    """How many sockets this process has open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


class TwoConnections(MessagingHandler):
    """Opens two connections (and a receiver on each); once both are open, ``ready()``."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.opened = 0
        self.final = False

    def on_start(self, event: Any) -> None:
        """Two connections to the peer."""
        for i in range(2):
            conn = event.container.connect(self.url, reconnect=True)
            event.container.create_receiver(conn, f"shutdown-{i}")

    def on_connection_opened(self, event: Any) -> None:
        """Count; both open: ready."""
        self.opened += 1
        if self.opened == 2:
            self.ready(event)

    def ready(self, event: Any) -> None:
        """Both connections are open."""

    def on_reactor_final(self, event: Any) -> None:
        """run() is finishing normally."""
        self.final = True


class StopFromHandler(TwoConnections):
    """Calls stop() from the handler once both connections are open."""

    def ready(self, event: Any) -> None:
        """Stop the container from inside the loop."""
        event.container.stop()


def test_stop_from_handler_closes_gracefully() -> None:
    """stop() in a handler: both connections get a Close the peer answers; run() returns."""
    with Peer(connections=2) as peer:
        handler = StopFromHandler(peer.url)
        run(Container(handler), 10)
        assert peer.records("closed") == [1, 2]
    assert handler.final


class StopFromThread(TwoConnections):
    """Once both connections are open, another thread asks for a stop through the injector."""

    def __init__(self, url: str, injector: EventInjector) -> None:
        super().__init__(url)
        self.injector = injector

    def on_start(self, event: Any) -> None:
        """Register the injector, then connect."""
        event.container.selectable(self.injector)
        super().on_start(event)

    def ready(self, event: Any) -> None:
        """Start the thread that will ask for the stop."""
        threading.Thread(target=self.injector.trigger, args=(ApplicationEvent("stop_now"),),
                         daemon=True).start()

    def on_stop_now(self, event: Any) -> None:
        """The other thread's event, on the container's thread: stop and let go of the
        injector."""
        event.container.stop()


def test_stop_from_another_thread_through_injector() -> None:
    """stop() requested from another thread (EventInjector): graceful close, run() returns,
    no socket left (the injector's wake-up pair included)."""
    gc.collect()
    sockets = open_sockets()
    with Peer(connections=2) as peer:
        handler = StopFromThread(peer.url, EventInjector())
        run(Container(handler), 10)
        assert peer.records("closed") == [1, 2]
    assert handler.final
    gc.collect()
    assert open_sockets() == sockets


class Idle(TwoConnections):
    """Connects and then waits (a timer far away keeps the loop in the selector)."""

    def __init__(self, url: str, injector: EventInjector) -> None:
        super().__init__(url)
        self.injector = injector

    def on_start(self, event: Any) -> None:
        """Listen too, watch an injector, connect; then send ourselves SIGINT."""
        event.container.listen("amqp://127.0.0.1:0")
        event.container.selectable(self.injector)
        super().on_start(event)
        event.container.schedule(60, None)

    def ready(self, event: Any) -> None:
        """Both open: Ctrl-C, from a thread, while the loop waits in the selector."""
        threading.Timer(0.1, os.kill, args=(os.getpid(), signal.SIGINT)).start()


def test_keyboard_interrupt_leaves_no_socket_or_thread() -> None:
    """SIGINT during run(): KeyboardInterrupt reaches the caller; the connections, the
    listener and the injector's sockets are closed before it does; no thread is left."""
    gc.collect()
    sockets = open_sockets()
    threads = threading.active_count()
    injector = EventInjector()
    with Peer(connections=2) as peer:
        container = Container(Idle(peer.url, injector))
        with pytest.raises(KeyboardInterrupt):
            run(container, 10)
        # Checked while the container is still referenced: nothing waits for the GC.
        assert open_sockets() == sockets
        with pytest.raises(RuntimeError):
            injector.trigger(ApplicationEvent("late"))
        deadline = time.monotonic() + 5
        while threading.active_count() > threads and time.monotonic() < deadline:
            time.sleep(0.01)  # the Timer thread that sent SIGINT ends right after
        assert threading.active_count() == threads
        # The peer saw the sockets close (without a Close: the loop was interrupted).
        peer.proc.kill()


class StopWithHungPeer:
    """Opens a connection, SIGSTOPs the peer (its socket stays open, nothing answers) and
    calls ``stop()``; the same code on python-qpid-proton and on amq_python."""

    @staticmethod
    def run(api: str) -> list[str]:
        import importlib

        from tests.peers.listener_process import listeners, watchdog

        handlers = importlib.import_module(f"{api}.handlers")
        reactor = importlib.import_module(f"{api}.reactor")
        seen: list[str] = []

        class Stopper(handlers.MessagingHandler):  # type: ignore[misc, name-defined]
            def __init__(self, peer: Any) -> None:
                super().__init__()
                self.peer = peer

            def on_start(self, event: Any) -> None:
                event.container.connect(self.peer.url, reconnect=False)

            def on_connection_opened(self, event: Any) -> None:
                seen.append("opened")
                self.peer.proc.send_signal(signal.SIGSTOP)
                event.container.schedule(0.1, self)

            def on_timer_task(self, event: Any) -> None:
                event.container.stop()

        with listeners(1) as (peer,), watchdog(20):
            reactor.Container(Stopper(peer)).run()
            seen.append("run returned")
        return seen


@pytest.mark.parametrize("api", ["proton", "amq_python"])
def test_stop_returns_although_the_peer_does_not_answer(api: str) -> None:
    """A peer that hangs (SIGSTOP) never answers the Close: ``run()`` still returns (ours
    after ``STOP_GRACE``; proton's at once). It waited for ever. Ours also closes the
    socket (proton's stays open)."""
    sockets = open_sockets()
    assert StopWithHungPeer.run(api) == ["opened", "run returned"]
    gc.collect()
    if api == "amq_python":
        assert open_sockets() <= sockets
