"""Scenario clients for broker tests, written once and run with amq_python or python-qpid-proton.

Both libraries have the same API, so ``Api("amq_python")`` and ``Api("proton")`` give the same
names, and ``Api.client(...)`` makes a ``Client`` handler class for that library. A ``Client``
opens one connection and does any of: send messages to a target (or through an anonymous relay),
receive ``count`` messages from a source (``credit`` at a time, never more than
``count`` in all) (or a dynamic queue it then sends to), deciding each
message's outcome. ``run(api, stages)`` runs clients in one container, a stage starting once
every link of the previous one is attached, with a watchdog.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

# decide(body, delivery_count, index) -> "accept" | "release" | "modify" | "reject" | "hold"
Decide = Callable[[Any, int, int], str]
ACTIONS = ("accept", "release", "modify", "reject", "hold")
LIBRARIES = ("amq_python", "proton")


class Api:
    """The public modules of one library: ``api.Message``, ``api.reactor.Copy``, ..."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.core = importlib.import_module(name)
        self.reactor = importlib.import_module(f"{name}.reactor")
        self.handlers = importlib.import_module(f"{name}.handlers")
        self.Message = self.core.Message
        self.Delivery = self.core.Delivery

    def __repr__(self) -> str:
        return self.name

    @property
    def Client(self) -> type:  # noqa: N802 (a class, made per library)
        return _client_class(self.name)

    def topic_capability(self) -> Any:
        """A receiver option asking for the ``topic`` capability on the source."""
        return _topic_option(self.name)()


@cache
def _topic_option(name: str) -> type:
    reactor = importlib.import_module(f"{name}.reactor")

    class TopicCapability(reactor.ReceiverOption):  # type: ignore[misc, name-defined]
        def apply(self, receiver: Any) -> None:
            receiver.source.capabilities.put_symbol("topic")

    return TopicCapability


@cache
def _client_class(name: str) -> type:
    api = Api(name)
    base = api.handlers.MessagingHandler

    class Client(base):  # type: ignore[misc, valid-type]
        """One connection that sends and/or receives; see the module docstring."""

        def __init__(
            self,
            url: str,
            name: str,
            target: str | None = None,
            messages: Sequence[Any] = (),
            source: str | None = None,
            count: int = 0,
            decide: Decide | None = None,
            credit: int = 10,
            options: Any = None,
            dynamic: bool = False,
            connect_options: dict[str, Any] | None = None,
        ) -> None:
            super().__init__(prefetch=0, auto_accept=False)
            self.credit = credit
            self.url = url
            self.name = name
            self.target = target
            self.messages = list(messages)
            self.source = source
            self.count = count
            self.decide = decide or (lambda body, delivery_count, index: "accept")
            self.options = options
            self.dynamic = dynamic
            self.connect_options = connect_options or {}
            self.outcomes: list[str] = []
            self.rejections: list[Any] = []  # the condition of each rejection
            self.received: list[tuple[Any, int]] = []
            self.received_messages: list[Any] = []
            self.errors: list[str] = []
            self.reply_address: str | None = None
            self.connection: Any = None
            self.sender: Any = None
            self.receiver: Any = None
            self.on_ready: Callable[[Client], None] = lambda client: None
            self.on_done: Callable[[Client], None] = lambda client: None
            self._sent = 0
            self._granted = 0
            self._pending_links = 0
            self._finished = False

        def start(self, container: Any) -> None:
            self.connection = container.connect(
                self.url, handler=self, reconnect=False, **self.connect_options
            )
            if self.source is not None or self.dynamic:
                self._pending_links += 1
                self.receiver = container.create_receiver(
                    self.connection, self.source, name=f"{self.name}-receiver",
                    dynamic=self.dynamic, options=self.options,
                )
                self._granted = min(self.credit, self.count)
                self.receiver.flow(self._granted)
            if self.messages and not self.dynamic:
                self._pending_links += 1
                self.sender = container.create_sender(
                    self.connection, self.target, name=f"{self.name}-sender"
                )
            if self._pending_links == 0:
                self.on_ready(self)

        def on_link_opened(self, event: Any) -> None:
            if self.dynamic and event.link.name == f"{self.name}-receiver":  # proton: no `is`
                self.reply_address = event.receiver.remote_source.address
                if self.messages:
                    self.sender = event.container.create_sender(
                        self.connection, None, name=f"{self.name}-relay"
                    )
                    for message in self.messages:
                        message.address = self.reply_address
                    return
            self._pending_links -= 1
            if self._pending_links == 0:
                self.on_ready(self)
            self._check_done()

        def on_sendable(self, event: Any) -> None:
            while self._sent < len(self.messages) and event.sender.credit > 0:
                event.sender.send(self.messages[self._sent])
                self._sent += 1

        def _outcome(self, name: str) -> None:
            self.outcomes.append(name)
            self._check_done()

        def on_accepted(self, event: Any) -> None:
            self._outcome("accepted")

        def on_rejected(self, event: Any) -> None:
            self.rejections.append(event.delivery.remote.condition)
            self._outcome("rejected")

        def on_released(self, event: Any) -> None:
            self._outcome("released")

        def on_message(self, event: Any) -> None:
            if len(self.received) >= self.count:
                return  # beyond what we asked for: left unsettled, the broker takes it back
            message = event.message
            index = len(self.received)
            delivery_count = message.delivery_count or 0
            self.received.append((message.body, delivery_count))
            self.received_messages.append(message)
            action = self.decide(message.body, delivery_count, index)
            assert action in ACTIONS, action
            delivery = event.delivery
            if action == "accept":
                self.accept(delivery)
            elif action == "reject":
                self.reject(delivery)
            elif action == "release":
                self.release(delivery, delivered=False)
            elif action == "modify":
                delivery.local.failed = True
                delivery.update(api.Delivery.MODIFIED)
                delivery.settle()
            if action != "hold" and self._granted < self.count:
                self._granted += 1
                event.receiver.flow(1)
            self._check_done()

        def on_transport_error(self, event: Any) -> None:
            self.errors.append(f"transport: {event.transport.condition}")
            self.connection = None  # gone: nothing left to close
            self._finish()

        def on_connection_error(self, event: Any) -> None:
            self.errors.append(f"connection: {event.connection.remote_condition}")

        def on_link_error(self, event: Any) -> None:
            self.errors.append(f"link: {event.link.remote_condition}")
            self._finish()

        def _check_done(self) -> None:
            if len(self.outcomes) >= len(self.messages) and len(self.received) >= self.count \
                    and self._pending_links <= 0:
                self._finish()

        def _finish(self) -> None:
            if not self._finished:
                self._finished = True
                self.on_done(self)

    return Client


class _Runner:
    """The container's global handler: starts the stages and keeps the watchdog."""

    def __init__(self, stages: list[list[Any]], timeout: float) -> None:
        self.stages = stages
        self.timeout = timeout
        self.container: Any = None
        self.watchdog: Any = None
        self._next = 0
        self._waiting: set[int] = set()
        self._running: set[int] = set()

    def on_reactor_init(self, event: Any) -> None:
        self.container = event.container
        self.watchdog = event.container.schedule(self.timeout, self)
        self._start_stage()

    def _start_stage(self) -> None:
        stage = self.stages[self._next]
        self._next += 1
        self._waiting = {id(client) for client in stage}
        for client in stage:
            self._running.add(id(client))
            client.on_ready = self._ready
            client.on_done = self._done
        for client in stage:
            client.start(self.container)

    def _ready(self, client: Any) -> None:
        self._waiting.discard(id(client))
        if not self._waiting and self._next < len(self.stages):
            self._start_stage()

    def _done(self, client: Any) -> None:
        """Connections close together once every client is done: none takes back messages
        another one left unsettled."""
        self._running.discard(id(client))
        if not self._running and self._next >= len(self.stages):
            self.watchdog.cancel()
            for stage in self.stages:
                for each in stage:
                    if each.connection is not None:
                        each.connection.close()

    def on_timer_task(self, event: Any) -> None:
        state = [
            f"{client.name}: outcomes={client.outcomes} received={client.received}"
            for stage in self.stages for client in stage
        ]
        raise TimeoutError(f"scenario still running after {self.timeout} s: {state}")


def run(api: Api, *stages: Sequence[Any], timeout: float = 10.0) -> None:
    """Run the clients of each stage, a stage once the previous one's links are attached."""
    api.reactor.Container(_Runner([list(stage) for stage in stages], timeout)).run()
    for stage in stages:
        for client in stage:
            assert not client.errors, client.errors
