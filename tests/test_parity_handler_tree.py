"""The handler tree, as in python-qpid-proton: ``Container`` is a ``Reactor`` that owns a root
``handler`` and a ``global_handler``; the global handler sees every event after the regular
ones; an endpoint's plain-object handler is wrapped in a Handler. Each snippet runs on both
libraries (in this process: nothing here mixes their objects) and must give the same result.

python-qpid-proton also dispatches the events of its internal timer selectable
(``on_selectable_*``, ``on_reactor_quiesced``) to every handler; amq_python has no such object,
so logs leave those out.
"""

from __future__ import annotations

import importlib
import socket
from types import ModuleType
from typing import Any

import pytest

LIBRARIES = ("proton", "amq_python")
INTERNAL = ("selectable", "reactor_quiesced")


class Api:
    """One library's modules: ``core`` (proton / amq_python), ``reactor``, ``handlers``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.core: ModuleType = importlib.import_module(name)
        self.reactor: ModuleType = importlib.import_module(name + ".reactor")
        self.handlers: ModuleType = importlib.import_module(name + ".handlers")
        # python-qpid-proton keeps Reactor in its private module; amq_python also exports it.
        self.Reactor = importlib.import_module(
            "proton._reactor" if name == "proton" else "amq_python.reactor"
        ).Reactor


@pytest.fixture(params=LIBRARIES)
def api(request: pytest.FixtureRequest) -> Api:
    """The library under test: python-qpid-proton, then amq_python."""
    return Api(request.param)


def both(scenario: Any) -> None:
    """Run ``scenario(api)`` on both libraries and expect the same result."""
    proton, ours = (scenario(Api(name)) for name in LIBRARIES)
    assert ours == proton


class Recorder:
    """A plain handler (not a Handler) that logs every event method it gets, tagged."""

    def __init__(self, log: list[str], tag: str) -> None:
        self.log = log
        self.tag = tag

    def on_unhandled(self, method: str, event: Any) -> None:
        if not any(word in method for word in INTERNAL):
            self.log.append(f"{self.tag} {method}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_connection(api: Api, log: list[str], tag: str = "R") -> Any:
    """A MessagingHandler that listens, connects to itself, closes the client connection
    once it is open, and then the listener: every connection event of both ends in one run."""
    port = free_port()

    class App(api.handlers.MessagingHandler):  # type: ignore[misc, name-defined]
        def on_start(self, event: Any) -> None:
            log.append(f"{tag} on_start")
            self.acceptor = event.container.listen(f"127.0.0.1:{port}")
            event.container.connect(f"127.0.0.1:{port}").client_side = True

        def on_connection_opened(self, event: Any) -> None:
            log.append(f"{tag} on_connection_opened")
            if getattr(event.connection, "client_side", False):
                event.connection.close()

        def on_connection_closed(self, event: Any) -> None:
            log.append(f"{tag} on_connection_closed")
            self.acceptor.close()

    return App()


def test_container_is_a_reactor(api: Api) -> None:
    """Container derives from Reactor, whose ``global_handler`` property ``super()`` reaches
    (how cli-proton-python adds its error handler)."""
    assert issubclass(api.reactor.Container, api.Reactor)
    container = api.reactor.Container()
    found = super(api.reactor.Container, container).global_handler
    assert found is container.global_handler
    assert isinstance(found, api.reactor.Handler)
    assert found.handlers == []


def root_handler(api: Api) -> tuple[Any, ...]:
    """What ``Container().handler`` is, with and without handlers given."""
    first, second = Recorder([], "a"), Recorder([], "b")
    empty = api.reactor.Container()
    given = api.reactor.Container(first, second)
    return (
        type(empty.handler).__name__,
        empty.handler.handlers,
        type(given.handler).__name__,
        [h.tag for h in given.handler.handlers],
        isinstance(given.handler, api.reactor.Handler),
    )


def test_root_handler_holds_the_container_handlers() -> None:
    """``Container(a, b).handler`` is a Handler with children a and b; never None."""
    both(root_handler)


def container_events(api: Api, how: str) -> list[str]:
    """A container with one timer: what a regular and a global handler see, in order."""
    log: list[str] = []
    regular, extra = Recorder(log, "R"), Recorder(log, "G")

    class Timer:
        def on_timer_task(self, event: Any) -> None:
            log.append("T on_timer_task")

    if how == "keyword":
        container = api.reactor.Container(regular, global_handler=extra)
    else:
        container = api.reactor.Container(regular)
        if how == "super":
            super(api.reactor.Container, container).global_handler.add(extra)
        elif how == "add":
            container.global_handler.add(extra)
        else:
            container.handler.add(extra)
    if how != "keyword":  # proton's keyword global handler replaces its IO: no timers then
        container.schedule(0, Timer())
        container.schedule(0, None)
    container.run()
    return log


@pytest.mark.parametrize("how", ["super", "add", "keyword", "root"])
def test_global_handler_sees_container_events_after_the_regular_ones(how: str) -> None:
    """reactor_init, timer tasks and reactor_final go to the regular handlers, then to the
    global one, however it was given (``root``: a second child of the root handler)."""
    both(lambda api: container_events(api, how))


def test_global_handler_sees_the_same_events_as_the_regular_handler(api: Api) -> None:
    """Every event of a connection to itself reaches the global handler right after the
    regular one (each logged event is a pair: R then G, same method)."""
    log: list[str] = []
    container = api.reactor.Container(Recorder(log, "R"))
    container.global_handler.add(Recorder(log, "G"))
    container.global_handler.add(self_connection(api, log, "A"))
    container.run()
    events = [entry for entry in log if entry[0] in "RG"]
    assert len(events) > 20
    assert events[0::2] == [entry.replace("G ", "R ") for entry in events[1::2]]
    assert all(entry.startswith("R ") for entry in events[0::2])
    assert "A on_connection_closed" in log


def connection_events_through_global(api: Api) -> list[str]:
    """A MessagingHandler's callbacks, with a global handler added: the messaging callbacks
    and the global handler's connection and container events, in order."""
    log: list[str] = []
    container = api.reactor.Container(self_connection(api, log))
    super(api.reactor.Container, container).global_handler.add(Recorder(log, "G"))
    container.run()
    kept = ("on_start", "on_connection_opened", "on_connection_closed", "open", "close", "reactor")
    return [entry for entry in log if any(word in entry for word in kept)]


def test_global_handler_with_connections() -> None:
    """The regular callbacks and the global handler's connection events interleave alike."""
    both(connection_events_through_global)


def test_keyword_global_handler_sees_connection_events() -> None:
    """``Container(global_handler=h)``: h sees every event of the run, after the regular
    handler. (python-qpid-proton's keyword replaces its IO handler, so it cannot run this.)"""
    api = Api("amq_python")
    log: list[str] = []
    container = api.reactor.Container(
        self_connection(api, log), global_handler=Recorder(log, "G")
    )
    container.run()
    assert log[:2] == ["R on_start", "G on_reactor_init"]
    assert log[-1] == "G on_reactor_final"
    assert log.count("R on_connection_closed") == 2
    assert "G on_connection_remote_close" in log


def event_handlers(api: Api) -> list[Any]:
    """``event.handler`` in the container's own events and in a timer's."""
    seen: list[Any] = []
    container: Any = None

    class App:
        def on_reactor_init(self, event: Any) -> None:
            seen.append(event.handler is container.handler)
            event.container.schedule(0, self)

        def on_timer_task(self, event: Any) -> None:
            seen.append(event.handler is self)

        def on_reactor_final(self, event: Any) -> None:
            seen.append(event.handler is container.handler)

    container = api.reactor.Container(App())
    container.run()
    return seen


def test_event_handler_falls_back_to_the_context_handler() -> None:
    """For the container's events ``event.handler`` is its root handler; for a timer task,
    the task's handler."""
    both(event_handlers)


def endpoint_handlers(api: Api) -> list[Any]:
    """What an endpoint's ``handler`` reads back after setting it to various things."""
    connection = api.core.Connection()
    seen: list[Any] = [connection.handler]
    plain = Recorder([], "p")
    connection.handler = plain
    seen += [type(connection.handler).__name__, connection.handler.handlers == [plain]]
    other = Recorder([], "o")
    connection.handler.add(other)
    seen.append([h.tag for h in connection.handler.handlers])
    subclass = api.handlers.MessagingHandler()
    connection.handler = subclass
    seen.append(connection.handler is subclass)
    connection.handler = None
    seen.append(connection.handler)
    session = connection.session()
    session.handler = plain
    seen.append([h.tag for h in session.handler.handlers])
    return seen


def test_a_plain_endpoint_handler_is_wrapped() -> None:
    """A plain object set as an endpoint's handler becomes the child of a new Handler, so
    ``connection.handler.add(h)`` works; a Handler is kept as it is; None stays None."""
    both(endpoint_handlers)


def scoped_children(api: Api) -> list[str]:
    """A plain connection handler and a child added to its wrapper both get the events."""
    log: list[str] = []
    port = free_port()

    class Opener:
        def on_connection_remote_open(self, event: Any) -> None:
            log.append("plain remote_open")
            event.connection.close()

        def on_connection_remote_close(self, event: Any) -> None:
            log.append("plain remote_close")
            acceptor.close()

    class Child:
        def on_connection_remote_open(self, event: Any) -> None:
            log.append("child remote_open")

        def on_connection_remote_close(self, event: Any) -> None:
            log.append("child remote_close")

    class Start:
        def on_reactor_init(self, event: Any) -> None:
            nonlocal acceptor
            acceptor = event.container.listen(f"127.0.0.1:{port}")
            connection = event.container.connect(f"127.0.0.1:{port}", handler=Opener())
            connection.handler.add(Child())

    acceptor: Any = None
    api.reactor.Container(Start(), api.handlers.Handshaker()).run()
    return log


def test_a_child_added_to_a_connection_handler_gets_its_events() -> None:
    """``connect(handler=plain)`` then ``connection.handler.add(child)``: plain first, then
    child, for every event of that connection."""
    both(scoped_children)


def injected_events(api: Api) -> list[str]:
    """An ApplicationEvent from an EventInjector, seen by the regular and global handlers."""
    log: list[str] = []
    injector = api.reactor.EventInjector()

    class App:
        def on_reactor_init(self, event: Any) -> None:
            event.container.selectable(injector)
            injector.trigger(api.reactor.ApplicationEvent("hello"))

        def on_hello(self, event: Any) -> None:
            log.append("R on_hello")
            injector.close()

    container = api.reactor.Container(App())
    container.global_handler.add(Recorder(log, "G"))
    container.run()
    return [entry for entry in log if "hello" in entry or "reactor" in entry]


def test_global_handler_sees_injected_events() -> None:
    """An injected ApplicationEvent goes to the regular handler, then the global one."""
    both(injected_events)


def pushed_events(api: Api) -> list[str]:
    """An event pushed with ``push_event`` about a plain object, seen by both handlers."""
    log: list[str] = []
    custom = api.core.EventType("custom_pushed")

    class App:
        def on_reactor_init(self, event: Any) -> None:
            event.container.push_event(object(), custom)

        def on_custom_pushed(self, event: Any) -> None:
            log.append("R on_custom_pushed")

    container = api.reactor.Container(App())
    container.global_handler.add(Recorder(log, "G"))
    container.run()
    return [entry for entry in log if "custom" in entry]


def test_global_handler_sees_pushed_events() -> None:
    """A pushed event goes to the regular handler, then the global one."""
    both(pushed_events)
