"""The selectable API: ``container.selectable(handler, delegate)``, ``container.update``, the
SELECTABLE_* events, EventInjector watched through a Selectable, IOHandler and PythonIO.

Where python-qpid-proton can run the same program, each test runs it on both libraries and
expects the same events. (python-qpid-proton's IOHandler reads ``_transport`` from every
selectable's delegate, so the delegates here carry ``_transport = None``, as its own
EventInjector does; and a deadline crashes it, so deadlines are tested on ours only.)
"""

from __future__ import annotations

import importlib
import socket
import threading
import time
from typing import Any

import pytest

from amq_python import Message
from amq_python._reactor._selectable import Selectable
from amq_python.handlers import IOHandler, MessagingHandler, PythonIO
from amq_python.reactor import Container, EventInjector
from tests.peers.ports import free_port

MODULES = ["proton", "amq_python"]


class SocketDelegate:
    """A socket as a selectable's delegate, recording whether it was closed."""

    _transport = None  # what python-qpid-proton's IOHandler looks for

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self, n: int) -> bytes:
        return self.sock.recv(n)

    def send(self, data: bytes) -> int:
        return self.sock.send(data)

    def close(self) -> None:
        self.closed = True
        self.sock.close()


def _socket_scenario(module: str) -> tuple[list[Any], SocketDelegate, bytes]:
    """A selectable over one end of a socket pair: read what the peer sent, write once (then
    stop writing, through ``container.update``), read EOF, terminate. The events its handler
    got, the delegate, and what the peer received."""
    reactor = importlib.import_module(module + ".reactor")
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    delegate = SocketDelegate(ours)
    received: list[bytes] = []
    log: list[Any] = []

    class Watcher:
        def on_selectable_init(self, event: Any) -> None:
            selectable = event.context
            log.append(("init", type(selectable).__name__, event.handler is self))
            selectable.reading = selectable.writing = True
            selectable.update()

        def on_selectable_updated(self, event: Any) -> None:
            log.append(("updated", event.context.reading, event.context.writing))

        def on_selectable_readable(self, event: Any) -> None:
            data = event.context.recv(100)
            log.append(("readable", data))
            if not data:
                event.context.terminate()
                event.context.update()

        def on_selectable_writable(self, event: Any) -> None:
            log.append(("writable", event.context.send(b"yo")))
            event.context.writing = False
            container.update(event.context)

        def on_selectable_final(self, event: Any) -> None:
            log.append(("final", event.context.is_terminal, delegate.closed))

    class Main:
        def on_reactor_init(self, event: Any) -> None:
            selectable = event.container.selectable(handler=Watcher(), delegate=delegate)
            log.append(("made", selectable.fileno() == ours.fileno()))
            theirs.send(b"hi")

    def peer() -> None:
        theirs.settimeout(10)
        received.append(theirs.recv(10))
        theirs.close()

    thread = threading.Thread(target=peer)
    thread.start()
    container = reactor.Container(Main())
    container.run()
    thread.join()
    return log, delegate, received[0]


def test_socket_selectable_events_match_proton() -> None:
    """Init, updated, readable, writable, updated, readable (EOF), final: the same events in
    the same order on both libraries; the delegate is closed after its FINAL."""
    log, delegate, received = _socket_scenario("amq_python")
    assert log == [
        ("made", True),
        ("init", "Selectable", True),
        ("updated", True, True),
        ("readable", b"hi"),
        ("writable", 2),
        ("updated", True, False),
        ("readable", b""),
        ("final", True, False),
    ]
    assert received == b"yo" and delegate.closed
    their_log, their_delegate, their_received = _socket_scenario("proton")
    assert their_log == log
    assert their_received == b"yo" and their_delegate.closed


def _injector_scenario(module: str) -> tuple[list[Any], Any]:
    """An EventInjector watched through a Selectable whose handler is the injector (its
    on_selectable_init and on_selectable_readable do the work), fed from another thread."""
    reactor = importlib.import_module(module + ".reactor")
    private = {"proton": "proton._selectable", "amq_python": "amq_python._reactor._selectable"}
    selectable_class = importlib.import_module(private[module]).Selectable
    got: list[Any] = []

    class Main:
        def on_reactor_init(self, event: Any) -> None:
            selectable = selectable_class(injector, event.container)
            selectable.handler = injector
            threading.Thread(target=feed).start()

        def on_job(self, event: Any) -> None:
            got.append(("job", event.subject))

    def feed() -> None:
        for n in range(3):
            injector.trigger(reactor.ApplicationEvent("job", subject=n))
            time.sleep(0.01)
        injector.close()

    injector = reactor.EventInjector()
    reactor.Container(Main()).run()
    return got, injector


def test_injector_through_selectable_matches_proton() -> None:
    """Triggered events arrive in order and the run ends once the injector is closed, on
    both libraries; ours also closes the injector's wake-up sockets at the selectable's end."""
    got, injector = _injector_scenario("amq_python")
    assert got == [("job", 0), ("job", 1), ("job", 2)]
    assert injector._wake_r.fileno() == -1 and injector._wake_w.fileno() == -1
    assert _injector_scenario("proton")[0] == got


def _stop_scenario(module: str) -> tuple[list[str], bool]:
    """A selectable waiting to read what never comes; a timer stops the container."""
    reactor = importlib.import_module(module + ".reactor")
    ours, theirs = socket.socketpair()
    delegate = SocketDelegate(ours)
    log: list[str] = []

    class Watcher:
        def on_selectable_init(self, event: Any) -> None:
            log.append("init")
            event.context.reading = True
            event.context.update()

        def on_unhandled(self, method: str, *args: Any) -> None:
            log.append(method)

    class Main:
        def on_reactor_init(self, event: Any) -> None:
            event.container.selectable(handler=Watcher(), delegate=delegate)
            event.container.schedule(0.1, self)

        def on_timer_task(self, event: Any) -> None:
            event.container.stop()

    reactor.Container(Main()).run()
    closed = delegate.closed
    ours.close()
    theirs.close()
    return log, closed


def test_stop_ends_a_run_with_a_watched_selectable() -> None:
    """``container.stop()`` ends ``run()`` although a selectable is still watched; the
    selectable gets no FINAL and its delegate stays open, on both libraries."""
    ours = _stop_scenario("amq_python")
    assert ours == (["init", "on_selectable_updated"], False)
    assert _stop_scenario("proton") == ours


def test_deadline_fires_expired() -> None:
    """A selectable with a deadline and no descriptor gets SELECTABLE_EXPIRED when the
    deadline passes, and again for a new one; the run lasts until it ends."""
    fired: list[float] = []
    container = Container()

    class Timed:
        def on_selectable_init(self, event: Any) -> None:
            self.start = container.now
            assert event.context.deadline is None
            event.context.deadline = container.now + 0.05
            event.context.update()

        def on_selectable_expired(self, event: Any) -> None:
            fired.append(container.now - self.start)
            selectable = event.context
            if len(fired) == 1:
                selectable.deadline = container.now + 0.05
            else:
                selectable.terminate()
            selectable.update()

    container.selectable(handler=Timed())
    started = time.monotonic()
    container.run()
    assert len(fired) == 2
    assert 0.05 <= fired[0] < 1.0 and fired[1] >= fired[0] + 0.05
    assert time.monotonic() - started < 2.0


def test_released_delegate_stays_open() -> None:
    """After ``release()`` the selectable's FINAL leaves the delegate open."""
    ours, theirs = socket.socketpair()
    delegate = SocketDelegate(ours)

    class Once:
        def on_selectable_init(self, event: Any) -> None:
            event.context.release()
            event.context.terminate()
            event.context.update()

    container = Container()
    container.selectable(handler=Once(), delegate=delegate)
    container.run()
    assert not delegate.closed
    ours.close()
    theirs.close()


def test_handler_exception_propagates_from_selectable_event() -> None:
    """An exception raised by a selectable's handler ends ``run()`` and reaches its caller."""

    class Broken:
        def on_selectable_init(self, event: Any) -> None:
            raise RuntimeError("selectable handler failed")

    container = Container()
    container.selectable(handler=Broken())
    with pytest.raises(RuntimeError, match="selectable handler failed"):
        container.run()


class Exchange(MessagingHandler):
    """Listens, connects to itself and sends three messages; records the selectable events
    it gets as one of the container's handlers."""

    def __init__(self, url: str, python_io: PythonIO) -> None:
        super().__init__()
        self.url = url
        self.python_io = python_io
        self.sent = 0
        self.got: list[Any] = []
        self.selectable_events: list[tuple[str, int]] = []

    def on_start(self, event: Any) -> None:
        self.acceptor = event.container.listen(self.url)
        event.container.create_sender(event.container.connect(self.url), "queue")

    def _saw(self, name: str) -> None:
        self.selectable_events.append((name, len(self.python_io.selectables)))

    def on_selectable_init(self, event: Any) -> None:
        self._saw("init")
        event.context.reading = True
        event.context.update()

    def on_selectable_readable(self, event: Any) -> None:
        self._saw("readable")
        event.context.recv(10)
        event.context.terminate()
        event.context.update()

    def on_selectable_final(self, event: Any) -> None:
        self._saw("final")

    def on_sendable(self, event: Any) -> None:
        while event.sender.credit and self.sent < 3:
            event.sender.send(Message(body=self.sent))
            self.sent += 1

    def on_message(self, event: Any) -> None:
        self.got.append(event.message.body)
        if len(self.got) == 3:
            event.connection.close()
            self.acceptor.close()


def test_iohandler_and_pythonio_added_to_a_container_are_harmless() -> None:
    """A container whose handlers include a PythonIO and an IOHandler still exchanges messages
    (its channels alone move the bytes) and dispatches each selectable event once; PythonIO
    tracks the selectable from its INIT to its FINAL, and the delegate is closed once."""
    ours, theirs = socket.socketpair()
    delegate = SocketDelegate(ours)
    python_io = PythonIO()
    exchange = Exchange(f"amqp://127.0.0.1:{free_port()}", python_io)
    container = Container(python_io, IOHandler(), exchange)
    selectable = container.selectable(delegate=delegate)
    assert isinstance(selectable, Selectable) and selectable.handler is None
    theirs.send(b"!")
    container.run()
    assert exchange.got == [0, 1, 2]
    assert exchange.selectable_events == [("init", 1), ("readable", 1), ("final", 0)]
    assert delegate.closed and python_io.selectables == []
    theirs.close()


def _transport_update(module: str) -> tuple[bool, bool, Any, int]:
    """IOHandler.update on a new client transport whose connection is opened."""
    proton_module = importlib.import_module(module)
    handlers = importlib.import_module(module + ".handlers")

    class Interest:
        reading = writing = False
        deadline: Any = None
        updates = 0

        def update(self) -> None:
            self.updates += 1

        def terminate(self) -> None:
            raise AssertionError("the transport is not closed")

    connection = proton_module.Connection()
    transport = proton_module.Transport()
    transport.bind(connection)
    connection.open()
    selectable = Interest()
    handlers.IOHandler.update(transport, selectable, 1.0)
    return selectable.reading, selectable.writing, selectable.deadline, selectable.updates


def test_iohandler_update_sets_interest_from_a_transport() -> None:
    """IOHandler.update reads while the transport takes input, writes while it has output
    (the AMQP header and Open here), sets the next tick, and calls update() once, as
    python-qpid-proton's does."""
    ours = _transport_update("amq_python")
    assert ours == (True, True, 0.0, 1)
    assert _transport_update("proton") == ours


def test_injector_registered_directly_is_returned() -> None:
    """``container.selectable(injector)`` still registers the injector itself."""
    container = Container()
    injector = EventInjector()
    assert container.selectable(injector) is injector
    injector.close()
    container.run()
    assert injector._wake_r.fileno() == -1
