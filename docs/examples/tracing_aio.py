"""Tracing with asyncio: the same spans as with the handler API, the CONSUMER span current in
the settle block (a message sent there joins the trace)."""

import asyncio

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import amq_python.tracing
from amq_python import Message, aio

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
amq_python.tracing.init_tracer("docs-example-aio")


async def main():
    async with await aio.connect("amqp://127.0.0.1:5672") as conn:
        sender = await conn.open_sender("traced-aio")
        await sender.send(Message(body="traced"), timeout=5)
        receiver = await conn.open_receiver("traced-aio", credit=1)
        delivery = await receiver.receive(timeout=5)
        async with delivery.settle_on_exit():
            reply = await conn.open_sender("traced-aio-replies")
            await reply.send(Message(body="seen"), timeout=5)


asyncio.run(main())
spans = exporter.get_finished_spans()
print(sorted(span.kind.name for span in spans))
print("one trace:", len({span.context.trace_id for span in spans}) == 1)
