"""Tracing while it is on: the spans and metrics of each hook point (see ``_hooks``).

Imported by ``enable()`` only, so it may need OpenTelemetry's API. A sent or received delivery
carries its span in a ``_Flight`` (``delivery._amq_flight``) until its outcome or settlement
ends it. Spans and attributes follow OpenTelemetry's messaging semantic conventions.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import Observation
from opentelemetry.trace import SpanKind, Status, StatusCode

from .._core._delivery import ACCEPTED, MODIFIED, REJECTED, RELEASED, Delivery, DispositionType
from .._core._exceptions import ProtonException
from .._core._message import Message
from .._reactor._connector import host_port
from .._version import __version__
from . import _propagation

_SYSTEM = "amqp"
OUTCOME = "amqp.delivery.outcome"
"""The span attribute naming a delivery's outcome: accepted, rejected, released, modified, or
``settled`` (settled with no outcome), or ``lost`` (its connection was lost first)."""


class _Flight:
    """A delivery's span while it waits for its outcome (sent) or settlement (received)."""

    __slots__ = ("span", "start", "attributes", "consumer", "ended")

    def __init__(self, span: Any, attributes: dict[str, Any], consumer: bool) -> None:
        self.span = span
        self.start = time.perf_counter()
        self.attributes = attributes  # the metrics': destination and link
        self.consumer = consumer
        self.ended = False


class _Current:
    """A context manager (sync or async) around another, with a span current inside it. A
    block that raises sets the span's error status (as a failing ``on_message`` does), unless
    the span already ended (the block settled the delivery before it raised)."""

    def __init__(self, manager: Any, span: Any) -> None:
        self._manager = manager
        self._span = span
        self._token: Any = None

    def _attach(self) -> None:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))

    def _failed(self, exc: BaseException | None) -> None:
        span = self._span
        if exc is not None and span.is_recording():
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))

    def __enter__(self) -> Any:
        self._attach()
        return self._manager.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        self._failed(exc[1])
        try:
            return self._manager.__exit__(*exc)
        finally:
            otel_context.detach(self._token)

    async def __aenter__(self) -> Any:
        self._attach()
        return await self._manager.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        self._failed(exc[1])
        try:
            return await self._manager.__aexit__(*exc)
        finally:
            otel_context.detach(self._token)


class _Counts:
    """Counts per attribute set, kept as plain integers and reported through an asynchronous
    (observable) instrument when the metrics are collected: an ``add`` costs a dict update,
    not a synchronous instrument's measurement."""

    def __init__(self) -> None:
        self.values: dict[tuple[Any, ...], int] = {}
        self.attributes: dict[tuple[Any, ...], dict[str, Any]] = {}

    def add(self, amount: int, attributes: dict[str, Any]) -> None:
        """Add ``amount`` to the count of ``attributes``."""
        key = tuple(attributes.items())
        values = self.values
        if key in values:
            values[key] += amount
        else:
            values[key] = amount
            self.attributes[key] = attributes

    def observe(self, options: Any) -> list[Observation]:
        """The callback of the instrument: every count so far."""
        return [Observation(v, self.attributes[k]) for k, v in list(self.values.items())]


def _outcome_name(state: int) -> str:
    """accepted, rejected, ... for a delivery state; ``settled`` for none."""
    if not state:
        return "settled"
    found = DispositionType.get(state)
    return found.name.lower() if isinstance(found, DispositionType) else str(state)


class Telemetry:
    """The tracer, the instruments and the wrappers of each hook kind."""

    def __init__(self, write_jaeger: bool) -> None:
        self.write_jaeger = write_jaeger
        self.tracer = trace.get_tracer("amq_python", __version__)
        meter = metrics.get_meter("amq_python", __version__)

        def count(name: str, unit: str, description: str) -> _Counts:
            counts = _Counts()
            meter.create_observable_counter(name, [counts.observe], unit, description)
            return counts

        self.sent = count("messaging.client.sent.messages", "{message}", "Messages sent")
        self.received = count(
            "messaging.client.consumed.messages", "{message}", "Messages received"
        )
        self.accepted = count(
            "amqp.client.accepted.messages", "{message}", "Sent messages the peer accepted"
        )
        self.rejected = count(
            "amqp.client.rejected.messages", "{message}", "Sent messages the peer rejected"
        )
        self.released = count(
            "amqp.client.released.messages",
            "{message}",
            "Sent messages the peer released or modified (amqp.delivery.outcome says which)",
        )
        self.attempts = count(
            "amqp.client.connection.attempts", "{attempt}", "Connection attempts"
        )
        self.reconnects = count(
            "amqp.client.reconnects", "{attempt}", "Connection attempts after a lost connection"
        )
        self.unsettled = _Counts()
        meter.create_observable_up_down_counter(
            "amqp.client.unsettled.deliveries", [self.unsettled.observe], "{delivery}",
            "Sent deliveries not yet settled",
        )
        self.latency = meter.create_histogram(
            "amqp.client.outcome.duration", "s", "From send() to the message's outcome"
        )
        self.factories: dict[str, Callable[[Any], Any]] = {
            "send": self._wrap_send,
            "settle": self._wrap_settle,
            "outcome": self._wrap_outcome,
            "lost": self._wrap_lost,
            "process": self._wrap_process,
            "receive": self._wrap_receive,
            "activate": self._wrap_activate,
            "attempt": self._wrap_attempt,
        }

    # ----- the wrappers -----

    def _wrap_send(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def send(sender: Any, obj: Any, *args: Any, **kwargs: Any) -> Any:
            if not isinstance(obj, Message):
                return original(sender, obj, *args, **kwargs)
            return self.send(original, sender, obj, args, kwargs)

        return send

    def _wrap_settle(self, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def settle(delivery: Any) -> Any:
            flight = delivery.__dict__.pop("_amq_flight", None)
            if flight is not None:
                self.settling(delivery, flight)
            return original(delivery)

        return settle

    def _wrap_outcome(self, original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def outcome(handler: Any, event: Any) -> Any:
            delivery = event.delivery
            if delivery is not None:
                flight = delivery.__dict__.get("_amq_flight")
                if flight is not None and not flight.ended and not flight.consumer:
                    self.end_producer(delivery, flight)
            return original(handler, event)

        return outcome

    def _wrap_lost(self, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def lost(delivery: Any) -> Any:
            result = original(delivery)
            flight = delivery.__dict__.pop("_amq_flight", None)
            if flight is not None and not flight.consumer:
                self.end_lost(flight)
            return result

        return lost

    def _wrap_process(self, original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def process(handler: Any, event: Any) -> Any:
            delivery = event.delivery
            message = event.message
            if delivery is None or message is None:
                return original(handler, event)
            span = self.start_consumer(delivery, message)
            token = otel_context.attach(trace.set_span_in_context(span))
            try:
                return original(handler, event)
            except BaseException as exc:
                # The handler failed (run() ends with this error): end the span here, as the
                # delivery may never be settled.
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                if delivery.__dict__.pop("_amq_flight", None) is not None:
                    span.end()
                raise
            finally:
                otel_context.detach(token)

        return process

    def _wrap_receive(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def receive(owner: Any, *args: Any, **kwargs: Any) -> Any:
            values = (*args, *kwargs.values())
            delivery = next((v for v in values if isinstance(v, Delivery)), None)
            message = next((v for v in values if isinstance(v, Message)), None)
            if delivery is not None and message is not None:
                self.start_consumer(delivery, message)
            return original(owner, *args, **kwargs)

        return receive

    def _wrap_activate(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def activate(owner: Any, *args: Any, **kwargs: Any) -> Any:
            manager = original(owner, *args, **kwargs)
            flight = owner.delivery.__dict__.get("_amq_flight")
            if flight is None:
                return manager
            return _Current(manager, flight.span)

        return activate

    def _wrap_attempt(self, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def attempt(connector: Any) -> Any:
            host, port = host_port(connector.urls[connector.index])
            attributes = {"server.address": host, "server.port": port}
            self.attempts.add(1, attributes)
            if connector.tries:
                self.reconnects.add(1, attributes)
            return original(connector)

        return attempt

    # ----- producer -----

    def send(
        self, original: Callable[..., Any], sender: Any, message: Message, args: Any, kwargs: Any
    ) -> Any:
        """A PRODUCER span from ``send()`` to the outcome, its context in the message."""
        address = sender.target.address or message.address
        attributes, metric = _span_attributes(sender, address, message, "send")
        span = self.tracer.start_span(
            f"send {address}" if address else "send", kind=SpanKind.PRODUCER,
            attributes=attributes,
        )
        _propagation.inject(message, trace.set_span_in_context(span), self.write_jaeger)
        try:
            delivery = original(sender, message, *args, **kwargs)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            span.end()
            raise
        self.sent.add(1, metric)
        if delivery._local_settled:
            span.set_attribute(OUTCOME, "presettled")
            span.end()
            return delivery
        self.unsettled.add(1, metric)
        delivery._amq_flight = _Flight(span, metric, False)
        return delivery

    def end_producer(self, delivery: Delivery, flight: _Flight) -> None:
        """Record a sent delivery's outcome (rejected: error status with the condition)."""
        flight.ended = True
        span = flight.span
        state = delivery.remote_state
        name = _outcome_name(state)
        span.set_attribute(OUTCOME, name)
        attributes = {**flight.attributes, OUTCOME: name}
        self.latency.record(time.perf_counter() - flight.start, attributes)
        if state == REJECTED:
            self.rejected.add(1, flight.attributes)
            condition = _condition(delivery)
            if condition is not None:
                span.set_attribute("error.type", condition.name)
                text = f"{condition.name}: {condition.description}" \
                    if condition.description else condition.name
            else:
                span.set_attribute("error.type", "rejected")
                text = "rejected"
            span.set_status(Status(StatusCode.ERROR, text))
        elif state == RELEASED or state == MODIFIED:
            self.released.add(1, attributes)
        elif state == ACCEPTED:
            self.accepted.add(1, flight.attributes)
        span.end()

    def end_lost(self, flight: _Flight) -> None:
        """A sent delivery's connection was lost before its outcome, and it is not sent again:
        the span ends as an error (no outcome will come) and it is no longer unsettled."""
        if not flight.ended:
            flight.ended = True
            span = flight.span
            span.set_attribute(OUTCOME, "lost")
            span.set_attribute("error.type", "connection_lost")
            span.set_status(Status(StatusCode.ERROR, "connection lost before the outcome"))
            span.end()
        self.unsettled.add(-1, flight.attributes)

    # ----- consumer -----

    def start_consumer(self, delivery: Any, message: Message) -> Any:
        """A CONSUMER span for a received message, child of the sender's context if it has
        one; ended when the delivery is settled."""
        link = delivery._link
        address = link.source.address or link.remote_target.address or message.address
        parent = _propagation.extract(message)
        attributes, metric = _span_attributes(link, address, message, "process")
        span = self.tracer.start_span(
            f"process {address}" if address else "process", context=parent,
            kind=SpanKind.CONSUMER, attributes=attributes,
        )
        self.received.add(1, metric)
        delivery._amq_flight = _Flight(span, metric, True)
        return span

    def settling(self, delivery: Any, flight: _Flight) -> None:
        """A traced delivery is being settled here: end its span (a received message's with
        our outcome); a sent one is no longer unsettled."""
        if flight.consumer:
            if delivery._impl is not None:
                flight.span.set_attribute(OUTCOME, _outcome_name(delivery.local_state))
            flight.span.end()
            return
        if not flight.ended:
            self.end_producer(delivery, flight)
        self.unsettled.add(-1, flight.attributes)


def _condition(delivery: Delivery) -> Any:
    try:
        return delivery.remote.condition
    except ProtonException:
        return None


def _link_attributes(link: Any, address: str | None, operation: str) -> tuple[dict, dict]:
    """The span attributes every message on ``link`` shares, and its metrics' attributes;
    kept on the link while its address and socket stay the same."""
    connection = link.connection
    channel = connection._channel
    kept = link.__dict__.get("_amq_trace_attrs")
    if kept is not None and kept[0] is channel and kept[1] == address and kept[2] == operation:
        return kept[3], kept[4]
    attributes: dict[str, Any] = {
        "messaging.system": _SYSTEM,
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
    }
    if address:
        attributes["messaging.destination.name"] = address
    container = connection.container
    if container:
        attributes["messaging.client.id"] = container
    network = _network(connection)
    attributes.update(network)
    metric = {"messaging.destination.name": address or "", "amqp.link.name": link.name}
    if "network.peer.address" in network:
        link.__dict__["_amq_trace_attrs"] = (channel, address, operation, attributes, metric)
    return attributes, metric


def _span_attributes(link: Any, address: str | None, message: Message, operation: str) -> tuple:
    """The messaging attributes of a span about ``message`` on ``link``, and the metrics'."""
    shared, metric = _link_attributes(link, address, operation)
    attributes = dict(shared)
    message_id = message.id
    if message_id is not None:
        attributes["messaging.message.id"] = str(message_id)
    correlation = message.correlation_id
    if correlation is not None:
        attributes["messaging.message.conversation_id"] = str(correlation)
    body = message.body
    if isinstance(body, (bytes, bytearray, memoryview)):
        attributes["messaging.message.body.size"] = len(body)
    elif isinstance(body, str):
        attributes["messaging.message.body.size"] = len(body.encode("utf-8", "surrogatepass"))
    return attributes, metric


def _server(connection: Any) -> dict[str, Any]:
    url = connection._url
    if url is None:
        return {}
    host, port = host_port(url)
    return {"server.address": host, "server.port": port}


def _network(connection: Any) -> dict[str, Any]:
    """server.* and network.peer.* of a connection's current socket (kept per socket)."""
    channel = connection._channel
    kept = connection.__dict__.get("_amq_trace_net")
    if kept is not None and kept[0] is channel:
        return kept[1]
    attributes = _server(connection)
    sock = channel.sock if channel is not None else None
    if sock is None:
        return attributes
    try:
        peer = sock.getpeername()
        if not attributes:
            local = sock.getsockname()
            attributes = {"server.address": local[0], "server.port": local[1]}
    except OSError:
        return attributes
    attributes["network.peer.address"] = peer[0]
    attributes["network.peer.port"] = peer[1]
    connection.__dict__["_amq_trace_net"] = (channel, attributes)
    return attributes
