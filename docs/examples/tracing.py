"""Tracing: a PRODUCER span for the send and a CONSUMER span for the receive, printed."""

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import amq_python.tracing
from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
amq_python.tracing.init_tracer("docs-example")


class HelloWorld(MessagingHandler):
    def on_start(self, event):
        conn = event.container.connect("amqp://127.0.0.1:5672")
        event.container.create_receiver(conn, "traced")
        event.container.create_sender(conn, "traced")

    def on_sendable(self, event):
        event.sender.send(Message(body="traced"))
        event.sender.close()

    def on_message(self, event):
        event.connection.close()


Container(HelloWorld()).run()
spans = exporter.get_finished_spans()
print(sorted(span.kind.name for span in spans))
print("one trace:", len({span.context.trace_id for span in spans}) == 1)
