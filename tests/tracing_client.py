"""The processes of tests/test_tracing.py: a traced producer or consumer, on amq_python (the
OpenTelemetry SDK's in-memory exporter and metric reader) or on python-qpid-proton with its own
``proton.tracing`` (a Jaeger tracer with an in-memory reporter). Each writes what it recorded,
as JSON, to the file it is given.

    python tests/tracing_client.py ROLE URL ADDRESS OUT [COUNT] [--jaeger]

Roles: ours-produce, ours-consume, ours-reconnect (URL: a port nothing listens on) with the
handler API (Container); aio-produce, aio-consume, aio-reconnect, the same with
``amq_python.aio``; proton-produce, proton-consume. ADDRESS ``-`` sends on an anonymous link
with no address (the broker rejects it). Our producers send the same messages with either API.
"""

from __future__ import annotations

import json
import sys
from typing import Any

ROLE, URL, ADDRESS, OUT = sys.argv[1:5]
COUNT = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5].isdigit() else 1
JAEGER = "--jaeger" in sys.argv


def write(data: dict[str, Any]) -> None:
    with open(OUT, "w") as f:
        json.dump(data, f)


def otel_setup() -> tuple[Any, Any]:
    """The application's providers, set before tracing starts (as an application would)."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    import amq_python.tracing

    amq_python.tracing.init_tracer(ROLE)
    if JAEGER:
        amq_python.tracing.enable(write_jaeger=True)
    return exporter, reader


def otel_dump(exporter: Any, reader: Any) -> dict[str, Any]:
    spans = [
        {
            "name": s.name,
            "kind": s.kind.name,
            "trace_id": f"{s.context.trace_id:032x}",
            "span_id": f"{s.context.span_id:016x}",
            "parent_id": f"{s.parent.span_id:016x}" if s.parent is not None else None,
            "status": s.status.status_code.name,
            "description": s.status.description,
            "attributes": dict(s.attributes),
        }
        for s in exporter.get_finished_spans()
    ]
    found: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = [
                    {"attributes": dict(p.attributes),
                     "value": getattr(p, "value", None), "count": getattr(p, "count", None)}
                    for p in metric.data.data_points
                ]
    return {"spans": spans, "metrics": found}


def message(n: int) -> Any:
    """Our producers' message number ``n``."""
    from amq_python import Message

    return Message(body=f"m-{n}", id=f"id-{n}", correlation_id="conv-1")


def ours() -> None:
    exporter, reader = otel_setup()
    from amq_python.handlers import MessagingHandler
    from amq_python.reactor import Backoff, Container

    class Produce(MessagingHandler):
        def __init__(self) -> None:
            super().__init__()
            self.sent = self.settled = 0

        def on_start(self, event: Any) -> None:
            conn = event.container.connect(URL)
            event.container.create_sender(conn, None if ADDRESS == "-" else ADDRESS)

        def on_sendable(self, event: Any) -> None:
            while event.sender.credit and self.sent < COUNT:
                event.sender.send(message(self.sent))
                self.sent += 1

        def on_settled(self, event: Any) -> None:
            self.settled += 1
            if self.settled == COUNT:
                event.connection.close()

    class Consume(MessagingHandler):
        def __init__(self) -> None:
            super().__init__()
            self.received = 0

        def on_start(self, event: Any) -> None:
            event.container.create_receiver(event.container.connect(URL), ADDRESS)

        def on_message(self, event: Any) -> None:
            self.received += 1
            if self.received == COUNT:
                event.connection.close()

    class Reconnect(MessagingHandler):
        def on_start(self, event: Any) -> None:
            event.container.connect(URL, reconnect=Backoff(initial=0.01, max_tries=COUNT))

        def on_transport_error(self, event: Any) -> None:
            condition = event.transport.condition
            if condition is not None and "gave up" in (condition.description or ""):
                event.container.stop()

    handler = {"ours-produce": Produce, "ours-consume": Consume,
               "ours-reconnect": Reconnect}[ROLE]()
    Container(handler).run()
    write(otel_dump(exporter, reader))


async def aio_run() -> None:
    """The aio twin of ``ours``: send COUNT messages (each awaited to its outcome; a rejected
    one is printed), receive COUNT in ``settle_on_exit``, or give up reconnecting."""
    from amq_python import aio
    from amq_python.reactor import Backoff

    if ROLE == "aio-reconnect":
        try:
            await aio.connect(URL, reconnect=Backoff(initial=0.01, max_tries=COUNT))
        except Exception as exc:  # noqa: BLE001 - expected: it gives up
            print("gave up:", exc)
        return
    async with await aio.connect(URL) as conn:
        if ROLE == "aio-produce":
            sender = await conn.open_sender(None if ADDRESS == "-" else ADDRESS)
            for n in range(COUNT):
                try:
                    await sender.send(message(n), timeout=30)
                except aio.MessageRejected as exc:
                    print("rejected:", exc)
            return
        receiver = await conn.open_receiver(ADDRESS, credit=COUNT)
        for _ in range(COUNT):
            delivery = await receiver.receive(timeout=30)
            async with delivery.settle_on_exit():
                pass


def ours_aio() -> None:
    import asyncio

    exporter, reader = otel_setup()
    asyncio.run(aio_run())
    write(otel_dump(exporter, reader))


def proton_side() -> None:
    import jaeger_client
    from jaeger_client.reporter import InMemoryReporter
    from proton import Message
    from proton import _tracing as proton_tracing
    from proton.handlers import MessagingHandler
    from proton.reactor import Container

    reporter = InMemoryReporter()
    tracer = jaeger_client.Tracer(ROLE, reporter, jaeger_client.ConstSampler(True))
    proton_tracing._tracer = tracer  # what init_tracer would set, without its UDP reporter
    consumed: list[dict[str, Any]] = []

    class Produce(MessagingHandler):
        def __init__(self) -> None:
            super().__init__()
            self.sent = self.settled = 0

        def on_start(self, event: Any) -> None:
            event.container.create_sender(event.container.connect(URL), ADDRESS)

        def on_sendable(self, event: Any) -> None:
            while event.sender.credit and self.sent < COUNT:
                event.sender.send(Message(body=f"p-{self.sent}", id=f"pid-{self.sent}"))
                self.sent += 1

        def on_settled(self, event: Any) -> None:
            self.settled += 1
            if self.settled == COUNT:
                event.connection.close()

    class Consume(MessagingHandler):
        def on_start(self, event: Any) -> None:
            event.container.create_receiver(event.container.connect(URL), ADDRESS)

        def on_message(self, event: Any) -> None:
            span = tracer.active_span
            consumed.append({
                "trace_id": f"{span.context.trace_id:032x}",
                "parent_id": f"{span.context.parent_id or 0:016x}",
                "annotation": {str(k): v for k, v in
                               event.message.annotations["x-opt-qpid-tracestate"].items()},
            })
            if len(consumed) == COUNT:
                event.connection.close()

    Container(Produce() if ROLE == "proton-produce" else Consume()).run()
    spans = [
        {"name": s.operation_name, "trace_id": f"{s.context.trace_id:032x}",
         "span_id": f"{s.context.span_id:016x}"}
        for s in reporter.get_spans()
    ]
    write({"spans": spans, "consumed": consumed})


if __name__ == "__main__":
    {"proton": proton_side, "aio": ours_aio, "ours": ours}[ROLE.split("-")[0]]()
