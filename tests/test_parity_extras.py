"""The smaller members of python-qpid-proton's API: ``PN_VERSION_*``,
``SymbolList.to_array``, ``Event.wrap``, ``ApplicationEvent.TYPES``, ``EndpointStateHandler``'s
default callbacks, and the Container's ``connection``/``connection_to_host``/
``set_connection_host``, timer, ``quiesced``, ``timeout`` and ``yield_`` members. Where
python-qpid-proton can run the same code, the test runs it on both libraries and expects the
same result.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import time
from typing import Any

import proton
import pytest

import amq_python
from amq_python import Array, Collector, Connection, Data, Event, SymbolList, symbol
from amq_python.handlers import EndpointStateHandler
from amq_python.reactor import ApplicationEvent, Container, EventInjector
from proton_ext import ffi, lib
from tests.helpers import Peer, run


def test_pn_version_is_the_engine_we_run_on() -> None:
    """PN_VERSION_* are the C engine's version from its <proton/version.h>: the system's
    library, as pkg-config reports it (it may be older than the API we keep)."""
    engine = (amq_python.PN_VERSION_MAJOR, amq_python.PN_VERSION_MINOR, amq_python.PN_VERSION_POINT)
    assert all(isinstance(part, int) for part in engine)
    reported = subprocess.run(
        ["pkg-config", "--modversion", "libqpid-proton"], capture_output=True, text=True
    ).stdout
    assert engine == tuple(int(x) for x in re.findall(r"\d+", reported)[:3])


def test_symbol_list_to_array_encodes_as_proton_does() -> None:
    """A SymbolList becomes an undescribed array of symbol, byte for byte as in proton."""
    array = SymbolList(["a", "bc"]).to_array()
    assert array == Array(array.descriptor, Data.SYMBOL, symbol("a"), symbol("bc"))
    ours = Data()
    ours.put_object(array)
    theirs = proton.Data()
    theirs.put_object(proton.SymbolList(["a", "bc"]).to_array())
    assert ours.encode() == bytes(theirs.encode())


def test_event_wrap_reads_a_c_event() -> None:
    """Event.wrap turns a pn_event_t into an Event with its context wrapped (Collector.peek
    uses it); NULL gives None."""
    assert Event.wrap(ffi.NULL) is None
    collector = Collector()
    connection = Connection()
    connection.collect(collector)
    connection.open()
    seen = []
    while (event := Event.wrap(lib.pn_collector_peek(collector._impl))) is not None:
        seen.append(event.type)
        assert event.connection is connection
        peeked = collector.peek()
        assert peeked is not None and peeked.type is event.type
        collector.pop()
    assert seen == [Event.CONNECTION_INIT, Event.CONNECTION_LOCAL_OPEN]
    assert collector.peek() is None
    connection.free()
    collector.release()


def test_application_event_types_registry() -> None:
    """Every ApplicationEvent of one name shares one EventType, kept in ApplicationEvent.TYPES,
    and it reaches ``on_<name>`` through an EventInjector."""
    first, second = ApplicationEvent("parity_job"), ApplicationEvent("parity_job")
    assert first.type is second.type is ApplicationEvent.TYPES["parity_job"]
    assert first.type.method == "on_parity_job"

    class Handler:
        def __init__(self) -> None:
            self.got: list[Any] = []

        def on_parity_job(self, event: Any) -> None:
            self.got.append(event.subject)
            injector.close()

    handler = Handler()
    container = Container(handler)
    injector = EventInjector()
    container.selectable(injector)
    injector.trigger(ApplicationEvent("parity_job", subject=42))
    run(container)
    assert handler.got == [42]


def _endpoint_lifecycle(module: str, url: str) -> list[str]:
    """Open and close a connection, session and link on ``module``, driven only by a subclass
    of EndpointStateHandler (no MessagingHandler, no delegate): the calls it got. (Connected
    with connect(): python-qpid-proton 0.40's connection_to_host fails, calling a
    Connection.set_address it lacks.)"""
    handlers = importlib.import_module(module + ".handlers")
    reactor = importlib.import_module(module + ".reactor")

    class Lifecycle(handlers.EndpointStateHandler):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[str] = []

        def on_connection_opened(self, event: Any) -> None:
            self.calls.append("connection_opened")
            self.session = event.connection.session()
            self.session.open()

        def on_session_opened(self, event: Any) -> None:
            self.calls.append("session_opened")
            link = event.session.sender("parity")
            link.target.address = "queue"
            link.open()

        def on_link_opened(self, event: Any) -> None:
            self.calls.append("link_opened")
            event.link.close()

        def on_link_closed(self, event: Any) -> None:
            self.calls.append("link_closed")
            self.session.close()

        def on_session_closed(self, event: Any) -> None:
            self.calls.append("session_closed")
            event.connection.close()

        def on_connection_closed(self, event: Any) -> None:
            self.calls.append("connection_closed")

    handler = Lifecycle()
    container = reactor.Container()
    container.connect(url, handler=handler, reconnect=False)
    if module == "amq_python":
        run(container)
    else:
        container.run()
    return handler.calls


@pytest.mark.parametrize("module", ["amq_python", "proton"])
def test_endpoint_state_handler_subclass_used_directly(module: str) -> None:
    """A subclass of EndpointStateHandler used as a connection's handler gets its own
    on_*_opened/closed overrides called, on both libraries."""
    with Peer() as peer:
        calls = _endpoint_lifecycle(module, peer.url)
        assert peer.records("closed") == [1]
    assert calls == [
        "connection_opened",
        "session_opened",
        "link_opened",
        "link_closed",
        "session_closed",
        "connection_closed",
    ]


def test_endpoint_state_handler_defaults_go_to_the_delegate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The default callbacks hand the event to the delegate (its method, else on_unhandled);
    an error with no delegate is reported by print_error rather than dropped."""

    class Delegate:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def on_link_closing(self, event: Any) -> None:
            self.calls.append("on_link_closing")

        def on_unhandled(self, method: str, event: Any) -> None:
            self.calls.append("unhandled " + method)

    connection = Connection()
    connection.open()
    event = Event(Event.CONNECTION_REMOTE_CLOSE, connection)
    delegate = Delegate()
    handler = EndpointStateHandler(delegate=delegate)
    handler.on_link_closing(event)
    handler.on_session_opened(event)
    handler.on_connection_error(event)
    assert delegate.calls == [
        "on_link_closing",
        "unhandled on_session_opened",
        "unhandled on_connection_error",
    ]
    EndpointStateHandler().on_connection_error(event)
    assert "connection closed by peer" in capsys.readouterr().err
    connection.free()


def test_connection_to_host_connects_once_opened() -> None:
    """connection_to_host gives a connection of the container, connected on open() and
    handled by the given handler; set_connection_host is refused once it is open."""

    class Client:
        def __init__(self) -> None:
            self.opened = False

        def on_connection_remote_open(self, event: Any) -> None:
            self.opened = True
            event.connection.close()

    with Peer() as peer:
        container = Container()
        host, port = peer.url.rsplit("/", 1)[1].rsplit(":", 1)
        client = Client()
        connection = container.connection_to_host(host, int(port), client)
        assert connection.container == container.container_id
        connection.open()
        with pytest.raises(ValueError):
            container.set_connection_host(connection, host, port)
        run(container)
        assert client.opened
        assert connection.connected_address == peer.url
        assert peer.records("closed") == [1]


def test_connection_without_a_host_stays_unconnected() -> None:
    """A connection() with no address opens locally only: run() returns, nothing connects."""
    container = Container()
    connection = container.connection()
    connection.open()
    run(container, timeout=2)
    assert connection.connected_address is None


def test_timer_deadline_and_tick() -> None:
    """timer_deadline is the next timer's due time (cancelled ones skipped); timer_tick fires
    the due ones."""

    class Timer:
        fired = 0

        def on_timer_task(self, event: Any) -> None:
            self.fired += 1

    container = Container()
    assert container.timer_deadline is None
    timer = Timer()
    later = container.schedule(30, timer)
    deadline = container.timer_deadline
    assert deadline is not None and 29 < deadline - container.now <= 30
    later.cancel()
    assert container.timer_deadline is None
    container.schedule(0, timer)
    container.timer_tick()
    assert timer.fired == 1
    assert container.timer_deadline is None


def test_quiesced_until_events_are_queued() -> None:
    """quiesced is False while engine events wait for dispatch, True once they are done."""
    container = Container()
    assert container.quiesced
    container.connection().open()
    assert not container.quiesced
    container.process()
    assert container.quiesced


def test_timeout_bounds_one_process_turn() -> None:
    """With timeout set, process() returns after at most that long even when the next timer
    is far off; None (the default) waits for the timer."""
    container = Container()
    assert container.timeout is None
    with pytest.raises(ValueError):
        container.timeout = -1
    container.timeout = 0.05
    container.schedule(30, object())
    start = time.monotonic()
    assert container.process()
    assert time.monotonic() - start < 5


def test_yield_returns_from_process_without_waiting() -> None:
    """A handler's yield_() makes process() return True without waiting for the next timer."""

    class Yielder:
        def on_reactor_init(self, event: Any) -> None:
            event.container.yield_()

    container = Container(Yielder())
    container.schedule(30, object())
    container.start()
    start = time.monotonic()
    assert container.process()
    assert time.monotonic() - start < 5


def test_acceptor_handler_gets_the_accepted_connections_events() -> None:
    """``container.acceptor(host, port, handler)``: the accepted connection's events go to that
    handler, not to the container's own handlers."""
    from amq_python.handlers import MessagingHandler

    class Server(MessagingHandler):
        def __init__(self) -> None:
            super().__init__()
            self.remote_containers: list[str | None] = []

        def on_connection_opened(self, event: Any) -> None:
            self.remote_containers.append(event.connection.remote_container)

    class Client(MessagingHandler):
        def __init__(self, server: Server) -> None:
            super().__init__()
            self.server = server
            self.opened_seen: list[str | None] = []

        def on_start(self, event: Any) -> None:
            self.acceptor = event.container.acceptor("127.0.0.1", 0, self.server)
            event.container.connect(f"amqp://127.0.0.1:{self.acceptor.port}", reconnect=False)

        def on_connection_opened(self, event: Any) -> None:
            self.opened_seen.append(event.connection.remote_container)
            event.connection.close()
            self.acceptor.close()

    server = Server()
    client = Client(server)
    container = Container(client, "acceptor-client")
    run(container, timeout=10)
    assert server.remote_containers == ["acceptor-client"]
    assert client.opened_seen == ["acceptor-client"]
