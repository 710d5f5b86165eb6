"""Hello world, traced: the send and the receive of one message as OpenTelemetry spans of one
trace, and the client's metrics, printed on the console; with the handler API (Container) or,
with ``--api aio``, with ``amq_python.aio``: tracing is the same for both.

``init_tracer`` sets the OpenTelemetry SDK's TracerProvider (none is set yet), with the span
exporter ``OTEL_TRACES_EXPORTER`` names: ``console`` here unless the environment says otherwise
(``otlp`` sends them to a collector, with the ``opentelemetry-exporter-otlp`` package). The
metrics go to the MeterProvider set below. Needs ``opentelemetry-sdk``. Run against a broker:
``python -m amq_python.broker --port 5672 &`` then ``python examples/tracing_console.py``
(or ``python examples/tracing_console.py --api aio``).
"""

from __future__ import annotations

import argparse
import asyncio
import os

from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

import amq_python.tracing
from amq_python import Message, aio
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container


class HelloWorld(MessagingHandler):
    """Sends one message to ``address`` and prints it when it comes back."""

    def __init__(self, url: str, address: str) -> None:
        super().__init__()
        self.url = url
        self.address = address
        self.sent = False

    def on_start(self, event):
        conn = event.container.connect(self.url, reconnect=False)
        event.container.create_receiver(conn, self.address)
        event.container.create_sender(conn, self.address)

    def on_sendable(self, event):
        if not self.sent:
            event.sender.send(Message(body="Hello World!", id="hello-1"))
            self.sent = True

    def on_message(self, event):
        print(event.message.body)  # inside the CONSUMER span, child of the PRODUCER span

    def on_accepted(self, event):
        event.connection.close()


async def hello_aio(url: str, address: str) -> None:
    """The same with asyncio: the PRODUCER span lasts from ``send()`` to the outcome, the
    CONSUMER span from the message's arrival to its settlement, current inside the block."""
    async with await aio.connect(url, reconnect=False) as conn:
        receiver = await conn.open_receiver(address, credit=1)
        sender = await conn.open_sender(address)
        await sender.send(Message(body="Hello World!", id="hello-1"), timeout=5)
        delivery = await receiver.receive(timeout=5)
        async with delivery.settle_on_exit():  # accepted at the end of the block
            print(delivery.message.body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://127.0.0.1:5672")
    parser.add_argument("--address", default="examples")
    parser.add_argument("--api", choices=("handler", "aio"), default="handler")
    args = parser.parse_args()
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "console")
    reader = PeriodicExportingMetricReader(ConsoleMetricExporter())
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    amq_python.tracing.init_tracer("tracing-console-example")
    if args.api == "aio":
        asyncio.run(hello_aio(args.url, args.address))
    else:
        Container(HelloWorld(args.url, args.address)).run()
    # The SDK's providers flush what they hold when the program exits.


if __name__ == "__main__":
    main()
