"""``Container.run_async()``: MessagingHandler code on a running asyncio loop (default loop and
uvloop), against the embedded broker, while other tasks of the same loop keep running.

``LOOPS`` and ``run_on`` are shared with the other tests of ``amq_python.aio``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest

from amq_python.handlers import MessagingHandler
from amq_python.reactor import ApplicationEvent, Container, EventInjector
from tests.broker_process import BrokerProcess, running_broker

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
T = TypeVar("T")

try:
    import uvloop
except ImportError:  # pragma: no cover - listed in requirements-test.txt
    uvloop = None

LOOPS = ["asyncio", "uvloop"]


def run_on(loop: str, main: Callable[[], Coroutine[Any, Any, T]], debug: bool = True) -> T:
    """Run ``main()`` to completion on a new loop of kind ``loop`` (asyncio's default or
    uvloop), in debug mode (so a callback that blocks the loop is reported) unless ``debug`` is
    False (debug mode records a traceback per future: too slow for 100,000 messages)."""
    if loop == "uvloop":
        if uvloop is None:
            pytest.skip("uvloop is not installed")
        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    if sys.version_info < (3, 11):
        return run_without_runner(factory, main, debug)
    with asyncio.Runner(loop_factory=factory, debug=debug) as runner:
        return runner.run(main())


def run_without_runner(
    factory: Callable[[], asyncio.AbstractEventLoop],
    main: Callable[[], Coroutine[Any, Any, T]],
    debug: bool = True,
) -> T:
    """What ``asyncio.Runner`` (new in 3.11) does, for 3.9 and 3.10: run ``main()`` on a new
    debug loop, then cancel what is left, finish async generators and the executor, close."""
    loop = factory()
    loop.set_debug(debug)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main())
    finally:
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        loop.close()


def load_example(name: str) -> ModuleType:
    """An example program as a module (its ``main()`` not run)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    with running_broker() as b:
        yield b


class Ticker:
    """A task that counts loop turns: proof that the loop was not blocked meanwhile."""

    def __init__(self) -> None:
        self.turns = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.turns += 1

    def stop(self) -> None:
        self.task.cancel()


@pytest.mark.parametrize("loop", LOOPS)
def test_hello_world_runs_on_the_loop(broker: BrokerProcess, loop: str, capsys: Any) -> None:
    hello = load_example("hello_world")

    class Recording(hello.HelloWorld):  # type: ignore[name-defined,misc]
        def on_message(self, event: Any) -> None:
            self.turns_then = ticker.turns
            super().on_message(event)

    async def main() -> int:
        nonlocal ticker
        ticker = Ticker()
        handler = Recording(broker.url, f"aio-hello-{loop}")
        await Container(handler).run_async()
        ticker.stop()
        return int(handler.turns_then)

    ticker: Any = None
    turns = run_on(loop, main)
    assert capsys.readouterr().out == "Hello World!\n"
    assert turns > 0  # the other task ran while the container waited for the broker


@pytest.mark.parametrize("loop", LOOPS)
def test_request_response_two_containers_one_loop(
    broker: BrokerProcess, loop: str, capsys: Any
) -> None:
    server = load_example("server")
    client = load_example("client")
    address = f"aio-requests-{loop}"
    requests = ["one", "two", "three"]

    async def main() -> None:
        ticker = Ticker()
        serving = asyncio.create_task(Container(server.Server(broker.url, address, 3)).run_async())
        await Container(client.Client(broker.url, address, requests)).run_async()
        await asyncio.wait_for(serving, 10)
        ticker.stop()
        assert ticker.turns > 0

    run_on(loop, main)
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if "=>" in line] == [
        "one => ONE",
        "two => TWO",
        "three => THREE",
    ]


class Raising(MessagingHandler):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def on_start(self, event: Any) -> None:
        event.container.connect(self.url)

    def on_connection_opened(self, event: Any) -> None:
        raise ValueError("from a handler")


@pytest.mark.parametrize("loop", LOOPS)
def test_handler_exception_propagates_and_run_can_go_on(broker: BrokerProcess, loop: str) -> None:
    container = Container(Raising(broker.url))

    async def main() -> None:
        with pytest.raises(ValueError, match="from a handler"):
            await container.run_async()

    run_on(loop, main)
    # As after run(): the sockets are left as they were and the selector loop can go on.
    assert container._channels
    container.stop()
    while container.process():
        pass
    assert not container._channels


class Timers(MessagingHandler):
    """Timers scheduled from on_start and from another task; a listener the container made
    before the loop started; an injector triggered from another thread."""

    def __init__(self) -> None:
        super().__init__()
        self.fired: list[str] = []

    def on_timer_task(self, event: Any) -> None:
        self.fired.append("timer")

    def on_ping(self, event: Any) -> None:
        self.fired.append("ping")
        event.container.stop()


@pytest.mark.parametrize("loop", LOOPS)
def test_timers_listener_and_injector(loop: str) -> None:
    handler = Timers()
    container = Container(handler)
    acceptor = container.listen("amqp://127.0.0.1:0")  # registered with epoll, moved over
    injector = EventInjector()
    container.selectable(injector)

    async def main() -> None:
        running = asyncio.create_task(container.run_async())
        await asyncio.sleep(0)
        container.schedule(0.01, None)  # from a coroutine: the loop timer is re-armed
        while not handler.fired:
            await asyncio.sleep(0.005)
        with socket.create_connection(("127.0.0.1", acceptor.port)) as sock:
            sock.setblocking(False)
            sock.sendall(b"AMQP\x03\x01\x00\x00")
            header = await asyncio.get_running_loop().sock_recv(sock, 8)
            assert header == b"AMQP\x03\x01\x00\x00"  # the listener answered on this loop
        await asyncio.get_running_loop().run_in_executor(
            None, injector.trigger, ApplicationEvent("ping")
        )
        await asyncio.wait_for(running, 10)

    run_on(loop, main)
    assert handler.fired == ["timer", "ping"]
