"""EventType and Event attributes as python-qpid-proton has them.

Each scenario runs on python-qpid-proton and on amq_python, and the two must agree:
extended event types numbered from 10000, engine types named by the engine, ``method=``
choosing the handler method, an ApplicationEvent being its own context, and an engine
event answering None for an attribute neither it nor its context has.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

MODULES = ["proton", "amq_python"]


class Thing:
    """Any Python object an event can be about."""

    def __init__(self, label: str) -> None:
        self.label = label


def _extended_types(module: str) -> list[Any]:
    """Two types made with one name, and a type made with only a number no engine event
    has: how they are numbered, named, registered and shown."""
    event_type = importlib.import_module(module).EventType
    first = event_type("parity_extended")
    second = event_type("parity_extended")
    custom = event_type("parity_custom_method", method="on_custom")
    numbered = event_type(number=9990)
    found: list[Any] = [
        first.number >= 10000,
        second.number - first.number,
        custom.number - second.number,
        first is second,
        event_type.TYPES[first.number] is first,
        event_type.TYPES[second.number] is second,
        (first.name, first.method, str(first)),
        repr(first) == f"EventType(name=parity_extended, number={first.number})",
        (custom.name, custom.method),
        (numbered.name, numbered.number, numbered.method, repr(numbered)),
        event_type.TYPES[9990] is numbered,
    ]
    try:
        event_type()
    except TypeError as e:
        found.append(str(e))
    return found


def test_extended_event_types_match_proton() -> None:
    """A name-only EventType is a new extended type each time, numbered on from 10000;
    ``method`` defaults to ``on_<name>``; a number-only one takes the engine's name."""
    ours = _extended_types("amq_python")
    assert ours == [
        True,
        1,
        1,
        False,
        True,
        True,
        ("parity_extended", "on_parity_extended", "parity_extended"),
        True,
        ("parity_custom_method", "on_custom"),
        ("PN_UNKNOWN", 9990, "on_PN_UNKNOWN", "EventType(name=PN_UNKNOWN, number=9990)"),
        True,
        "extended events require a name",
    ]
    assert _extended_types("proton") == ours


def _event_class_types(module: str) -> dict[str, tuple[Any, ...]]:
    """Every EventType on Event: its name, number, method, str and repr."""
    event = importlib.import_module(module).Event
    return {
        attr: (value.name, value.number, value.method, str(value), repr(value))
        for attr, value in vars(event).items()
        if attr.isupper() and isinstance(value, importlib.import_module(module).EventType)
    }


def test_event_class_types_match_proton() -> None:
    """Event.CONNECTION_INIT and the rest: engine types named ``PN_*`` with their C numbers,
    Python ones (reactor, selectable) numbered 10000 to 10009 in proton's order. Ours has
    one more, TRANSPORT_AUTHENTICATED, which the engine sends and proton cannot wrap."""
    ours = _event_class_types("amq_python")
    theirs = _event_class_types("proton")
    assert ours["CONNECTION_INIT"] == (
        "PN_CONNECTION_INIT",
        5,
        "on_connection_init",
        "PN_CONNECTION_INIT",
        "EventType(name=PN_CONNECTION_INIT, number=5)",
    )
    assert ours["REACTOR_INIT"][:3] == ("reactor_init", 10000, "on_reactor_init")
    assert ours.pop("TRANSPORT_AUTHENTICATED")[:3] == (
        "PN_TRANSPORT_AUTHENTICATED",
        30,
        "on_transport_authenticated",
    )
    assert ours == theirs


@pytest.mark.parametrize("module", MODULES)
def test_types_registry_keeps_engine_types(module: str) -> None:
    """``EventType.TYPES`` maps each engine event's number to Event's type for it."""
    proton_module = importlib.import_module(module)
    types = proton_module.EventType.TYPES
    assert types[5] is proton_module.Event.CONNECTION_INIT
    assert types[26] is proton_module.Event.LINK_FLOW
    assert types[proton_module.Event.SELECTABLE_FINAL.number] is (
        proton_module.Event.SELECTABLE_FINAL
    )


def _custom_method_scenario(module: str) -> list[Any]:
    """Events pushed with a type made with ``method=``, an ApplicationEvent of such a type,
    and an ApplicationEvent of a name whose user-made type has another method: which
    handler methods they reach."""
    proton_module = importlib.import_module(module)
    reactor = importlib.import_module(module + ".reactor")
    custom = proton_module.EventType("parity_pushed", method="on_custom")
    proton_module.EventType("parity_named", method="on_not_for_application_events")
    log: list[Any] = []

    class Main:
        def on_reactor_init(self, event: Any) -> None:
            container = event.container
            container.push_event(Thing("pushed"), custom)
            application = reactor.ApplicationEvent(custom, subject="typed")
            container.push_event(application, application.type)
            named = reactor.ApplicationEvent("parity_named", subject="named")
            container.push_event(named, named.type)

        def on_custom(self, event: Any) -> None:
            about = event.label if isinstance(event.context, Thing) else event.subject
            log.append(("on_custom", event.type is custom, str(event.type), about))

        def on_parity_pushed(self, event: Any) -> None:
            log.append("on_parity_pushed")

        def on_parity_named(self, event: Any) -> None:
            log.append(("on_parity_named", event.subject, event.type.method))

        def on_not_for_application_events(self, event: Any) -> None:
            log.append("on_not_for_application_events")

    reactor.Container(Main()).run()
    return log


def test_custom_method_dispatch_matches_proton() -> None:
    """A type's ``method`` is the handler method called; an ApplicationEvent takes a given
    EventType as its type, and for a name makes its own type (``on_<name>``)."""
    ours = _custom_method_scenario("amq_python")
    assert ours == [
        ("on_custom", True, "parity_pushed", "pushed"),
        ("on_custom", True, "parity_pushed", "typed"),
        ("on_parity_named", "named", "on_parity_named"),
    ]
    assert _custom_method_scenario("proton") == ours


def _application_event(module: str) -> list[Any]:
    """An ApplicationEvent's context, repr and missing attributes."""
    proton_module = importlib.import_module(module)
    reactor = importlib.import_module(module + ".reactor")
    connection = proton_module.Connection()
    event = reactor.ApplicationEvent("parity_app", connection=connection, subject=7)
    found: list[Any] = [
        event.context is event,
        event.connection is connection,
        event.subject,
        repr(event) == f"parity_app({connection}, 7)",
        repr(reactor.ApplicationEvent("parity_app")),
    ]
    try:
        event.no_such_attribute  # noqa: B018
    except AttributeError:
        found.append("AttributeError")
    connection.free()
    return found


def test_application_event_matches_proton() -> None:
    """An ApplicationEvent is its own context, shows its type and the objects it is about,
    and has no fallback for an attribute it lacks."""
    ours = _application_event("amq_python")
    assert ours == [True, True, 7, True, "parity_app()", "AttributeError"]
    assert _application_event("proton") == ours


def _engine_event_attributes(module: str) -> list[Any]:
    """Attributes an engine event (CONNECTION_INIT, from a Collector) does not have itself:
    its context's class name, its context's attributes, and names neither has."""
    proton_module = importlib.import_module(module)
    collector = proton_module.Collector()
    connection = proton_module.Connection()
    connection.hostname = "parity.example"
    connection.collect(collector)
    event = collector.peek()
    found = [
        str(event.type),
        repr(event).startswith("PN_CONNECTION_INIT("),
        event.connection.hostname,
        event.hostname,
        event.subject,
        event.selectable,
        event.no_such_attribute,
    ]
    collector.pop()
    connection.free()
    collector.release()
    return found


def test_engine_event_attributes_match_proton() -> None:
    """An engine event answers an attribute it lacks from its context, or with None."""
    ours = _engine_event_attributes("amq_python")
    assert ours == [
        "PN_CONNECTION_INIT",
        True,
        "parity.example",
        "parity.example",
        None,
        None,
        None,
    ]
    assert _engine_event_attributes("proton") == ours


def _timer_event_attributes(module: str) -> list[Any]:
    """A timer task's event: its task by class name, the task's attributes, None else."""
    reactor = importlib.import_module(module + ".reactor")
    found: list[Any] = []

    class Main:
        def on_reactor_init(self, event: Any) -> None:
            self.task = event.container.schedule(0, self)

        def on_timer_task(self, event: Any) -> None:
            found.extend([str(event.type), event.task is self.task, event.subject])
            found.append(event.connection)

    reactor.Container(Main()).run()
    return found


def test_timer_event_attributes_match_proton() -> None:
    """``event.task`` is a timer task event's Task; other missing attributes are None."""
    ours = _timer_event_attributes("amq_python")
    assert ours == ["PN_TIMER_TASK", True, None, None]
    assert _timer_event_attributes("proton") == ours


def _reactor_event_contexts(module: str) -> list[Any]:
    """What ``event.context`` is for the container's start and final events."""
    reactor = importlib.import_module(f"{module}.reactor")
    handlers = importlib.import_module(f"{module}.handlers")
    seen: list[Any] = []

    class Recorder(handlers.MessagingHandler):  # type: ignore[name-defined,misc]
        def on_start(self, event: Any) -> None:
            seen.append(("start", type(event.context).__name__, event.context is event.container))

        def on_reactor_final(self, event: Any) -> None:
            seen.append(("final", type(event.context).__name__, event.context is event.container))

    reactor.Container(Recorder()).run()
    return seen


def test_reactor_events_are_about_the_container() -> None:
    """on_start's and on_reactor_final's context is the container itself, as in proton."""
    ours = _reactor_event_contexts("amq_python")
    assert ours == [("start", "Container", True), ("final", "Container", True)]
    assert ours == _reactor_event_contexts("proton")
