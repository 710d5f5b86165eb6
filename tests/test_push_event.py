"""Events about Python objects and the Container's error hooks: ``Container.push_event``,
``Collector.put``, ``Container.on_error`` / ``errors``, ``mark`` and ``stop_events``.

Each scenario runs on python-qpid-proton and on amq_python, and the two must agree.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import pytest

from amq_python import Collector, Connection, Event, EventType
from amq_python._core._wrapper import live
from amq_python.reactor import Container

MODULES = ["proton", "amq_python"]


class Thing:
    """Any Python object an event can be about."""

    def __init__(self, label: str, handler: Any = None) -> None:
        self.label = label
        if handler is not None:
            self.handler = handler


def _push_scenario(module: str) -> list[Any]:
    """Events pushed from on_reactor_init and from a handler: who got each, in what order."""
    proton_module = importlib.import_module(module)
    reactor = importlib.import_module(module + ".reactor")
    first = proton_module.EventType("first_kind")
    second = proton_module.EventType("second_kind")
    log: list[Any] = []

    class Other:
        def on_first_kind(self, event: Any) -> None:
            log.append(("other", event.type.name, event.context.label, event.label))

    class OnConnection:
        def on_second_kind(self, event: Any) -> None:
            log.append(("connection handler", event.connection is connection, event.clazz))

    class Main:
        def on_reactor_init(self, event: Any) -> None:
            container = event.container
            container.push_event(Thing("a", Other()), first)
            container.push_event(Thing("b"), first)
            container.push_event(reactor.ApplicationEvent("job", subject=7), first)
            container.push_event(connection, second)
            log.append("pushed")

        def on_first_kind(self, event: Any) -> None:
            log.append(("main", event.type.name, event.context.label, event.thing.label))
            if event.context.label == "b":
                container.push_event(Thing("c"), second)

        def on_second_kind(self, event: Any) -> None:
            log.append(("main", event.type.name, event.context.label, event.missing))

        def on_job(self, event: Any) -> None:
            log.append(("main", "job", event.subject))

    container = reactor.Container(Main())
    connection = container.connection(OnConnection())
    container.run()
    return log


def test_push_event_matches_proton() -> None:
    """Pushed events are dispatched after the handler that pushed them returns, in the order
    pushed (those pushed meanwhile after), to the object's handler, the connection's handler
    or the container's; an ApplicationEvent is dispatched as itself; an event reads any
    attribute it lacks from its context."""
    ours = _push_scenario("amq_python")
    assert ours == [
        "pushed",
        ("other", "first_kind", "a", "a"),
        ("main", "first_kind", "b", "b"),
        ("main", "job", 7),
        ("connection handler", True, "pn_pyref"),
        ("main", "second_kind", "c", None),
    ]
    assert _push_scenario("proton") == ours


def _collector_scenario(module: str) -> list[Any]:
    """A Collector of one's own: Python events put while it is empty and while the engine's
    wait, a connection collected to it, then release."""
    proton_module = importlib.import_module(module)
    reactor = importlib.import_module(module + ".reactor")
    kind = proton_module.EventType("put_kind")
    collector = proton_module.Collector()
    seen: list[Any] = []

    def drain() -> None:
        while (event := collector.peek()) is not None:
            about = getattr(event.context, "label", None) or getattr(event, "subject", None)
            if isinstance(event.context, proton_module.Connection):
                about = "connection"
            seen.append((event.type.method, about, collector.more()))
            collector.pop()

    application = reactor.ApplicationEvent("app_kind", subject="application")
    collector.put(Thing("first"), kind)
    collector.put(application, application.type)
    assert collector.more()
    connection = proton_module.Connection()
    connection.collect(collector)
    connection.open()
    collector.put(Thing("after engine"), kind)
    drain()
    collector.put(Thing("alone"), kind)
    peeked = collector.peek()
    seen.append(("peek alone", peeked.context.label, peeked.connection, peeked.handler))
    collector.release()
    collector.put(Thing("released"), kind)
    seen.append(("after release", collector.peek(), collector.more()))
    return seen


def test_collector_put_matches_proton() -> None:
    """Collector.put queues Python events beside the engine's: one put while nothing waits
    comes first, one put while engine events wait comes after them; an ApplicationEvent is
    its own event; release drops everything and later puts are ignored."""
    ours = _collector_scenario("amq_python")
    assert ours == [
        ("on_put_kind", "first", True),
        ("on_app_kind", "application", True),
        ("on_connection_init", "connection", True),
        ("on_connection_local_open", "connection", True),
        ("on_put_kind", "after engine", False),
        ("peek alone", "alone", None, None),
        ("after release", None, False),
    ]
    assert _collector_scenario("proton") == ours


def test_collector_put_ahead_of_later_engine_events() -> None:
    """A Python event put while nothing waits precedes engine events queued after it."""
    collector = Collector()
    collector.put(Thing("early"), EventType.get("put_kind"))
    connection = Connection()
    connection.collect(collector)
    order = []
    while (event := collector.peek()) is not None:
        order.append(event.type)
        collector.pop()
    assert order == [EventType.get("put_kind"), Event.CONNECTION_INIT]


def _error_scenario(module: str, stop: bool) -> tuple[list[str], BaseException | None]:
    """Handlers record errors with on_error (two of them); the run goes on, and ends (or
    ``stop()`` is called) with the last one raised."""
    reactor = importlib.import_module(module + ".reactor")
    log: list[str] = []

    class Main:
        def on_reactor_init(self, event: Any) -> None:
            for text in ("first", "second"):
                try:
                    raise ValueError(text)
                except ValueError:
                    event.container.on_error(sys.exc_info())
            log.append(f"errors {len(event.container.errors)}")
            event.container.schedule(0, self)

        def on_timer_task(self, event: Any) -> None:
            log.append("timer")
            if stop:
                event.container.stop()
                log.append("stop returned")

        def on_reactor_final(self, event: Any) -> None:
            log.append("final")

    container = reactor.Container(Main())
    raised = None
    try:
        container.run()
    except ValueError as e:
        raised = e
    return log, raised


@pytest.mark.parametrize("stop", [False, True])
def test_on_error_matches_proton(stop: bool, capfd: pytest.CaptureFixture[str]) -> None:
    """on_error records errors and the run goes on; when the loop ends run() raises the last
    one, before REACTOR_FINAL (the earlier ones are printed), or stop() raises it at once."""
    log, raised = _error_scenario("amq_python", stop)
    assert log == ["errors 2", "timer"]
    assert isinstance(raised, ValueError) and str(raised) == "second"
    assert raised.__traceback__ is not None
    assert "ValueError: first" in capfd.readouterr().err
    their_log, their_raised = _error_scenario("proton", stop)
    assert their_log == log and str(their_raised) == str(raised)


@pytest.mark.parametrize("module", MODULES)
def test_mark_returns_now(module: str) -> None:
    """mark() returns the container's current time, on the ``now`` clock."""
    container = importlib.import_module(module + ".reactor").Container()
    before = container.now
    marked = container.mark()
    assert isinstance(marked, float) and before <= marked <= container.now


@pytest.mark.parametrize("module", MODULES)
def test_stop_events_drops_pushed_and_later_events(module: str) -> None:
    """After stop_events(), pushed events are never dispatched."""
    proton_module = importlib.import_module(module)
    reactor = importlib.import_module(module + ".reactor")
    kind = proton_module.EventType("dropped_kind")
    got: list[Any] = []

    class Main:
        def on_dropped_kind(self, event: Any) -> None:
            got.append(event.context.label)

    container = reactor.Container(Main())
    container.push_event(Thing("queued"), kind)
    container.stop_events()
    container.push_event(Thing("later"), kind)
    while container.process():
        pass
    assert got == []


def test_stop_events_still_finalizes_connections() -> None:
    """stop_events() drops the queued engine events unseen but still finalizes a freed
    connection, so no wrapper is left behind for a freed C object."""
    container = Container()
    connection = container.connection()
    connection.free()
    assert connection._impl in live
    container.stop_events()
    assert connection._impl is None
