"""amq_python.tracing with ``amq_python.aio``, as tests/test_tracing.py checks it with the handler
API and with the same helpers: aio producer and consumer processes (tests/tracing_client.py's
``aio-*`` roles) through our embedded broker, mixed with handler API processes and with
python-qpid-proton's ``proton.tracing``; and one aio program's spans in detail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.broker_process import BrokerProcess
from tests.test_readme import fenced_blocks
from tests.test_tracing import (  # noqa: F401 (broker is a fixture)
    ROOT,
    broker,
    check_from_proton,
    check_one_trace,
    check_reconnects,
    check_rejected,
    check_to_proton,
    console_objects,
    in_subprocess,
    kind,
    run,
)


@pytest.mark.parametrize(
    ("producer", "consumer"),
    [("aio-produce", "aio-consume"), ("ours-produce", "aio-consume"),
     ("aio-produce", "ours-consume")],
    ids=["aio-to-aio", "handler-to-aio", "aio-to-handler"],
)
def test_producer_broker_consumer_is_one_trace(
    tmp_path: Path, broker: BrokerProcess, producer: str, consumer: str  # noqa: F811
) -> None:
    """Processes of either API through the broker: each consumer span is the child of its
    message's producer span, with the same attributes and metrics as the handler API's."""
    address = f"tr-{producer}-{consumer}"
    produced = run(tmp_path, producer, broker.url, address, "2")
    consumed = run(tmp_path, consumer, broker.url, address, "2")
    check_one_trace(produced, consumed, address, broker.port)


def shape(recorded: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on the API: span names, kinds, statuses and attribute names; the
    metrics' names and attribute names."""
    return {
        "spans": sorted((s["name"], s["kind"], s["status"], sorted(s["attributes"]))
                        for s in recorded["spans"]),
        "metrics": {name: sorted(sorted(p["attributes"]) for p in points)
                    for name, points in recorded["metrics"].items()},
    }


def test_aio_records_what_the_handler_api_records(
    tmp_path: Path, broker: BrokerProcess  # noqa: F811
) -> None:
    """The same two messages, sent and received with each API (one API after the other, on
    the same address): the same spans and metrics."""
    shapes = {}
    for api in ("ours", "aio"):
        produced = run(tmp_path, f"{api}-produce", broker.url, "tr-shape", "2")
        consumed = run(tmp_path, f"{api}-consume", broker.url, "tr-shape", "2")
        shapes[api] = (shape(produced), shape(consumed))
    assert shapes["aio"] == shapes["ours"]
    produced_shape = shapes["aio"][0]
    assert {"messaging.client.sent.messages", "amqp.client.accepted.messages",
            "amqp.client.outcome.duration", "amqp.client.unsettled.deliveries",
            "amqp.client.connection.attempts"} <= set(produced_shape["metrics"])


def test_aio_rejected_send_is_an_error_span_with_the_condition(
    tmp_path: Path, broker: BrokerProcess  # noqa: F811
) -> None:
    """aio.Sender.send() of a message the broker rejects (no address): the span has error
    status with the condition (send() raised MessageRejected), the counter counts it."""
    check_rejected(run(tmp_path, "aio-produce", broker.url, "-"))


def test_aio_reconnect_attempts_show_in_the_metrics(tmp_path: Path) -> None:
    check_reconnects(tmp_path, "aio-reconnect")


def test_proton_tracing_producer_continues_in_an_aio_consumer(
    tmp_path: Path, broker: BrokerProcess  # noqa: F811
) -> None:
    check_from_proton(tmp_path, broker, "aio-consume")


@pytest.mark.parametrize("write_jaeger", [True, False], ids=["write-both", "w3c-only"])
def test_aio_producer_continues_in_a_proton_tracing_consumer(
    tmp_path: Path, broker: BrokerProcess, write_jaeger: bool  # noqa: F811
) -> None:
    check_to_proton(tmp_path, broker, "aio-produce", write_jaeger)


IN_MEMORY_SDK = """
    import asyncio, json
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
    from amq_python import Message, aio
    from amq_python.handlers import MessagingHandler
    from amq_python.reactor import Container
"""
"""A program's start: the SDK with in-memory span and metric exporters, and amq_python."""

PROGRAM = IN_MEMORY_SDK + """
    amq_python.tracing.init_tracer("aio-one-process")
    seen = {}

    def current():
        return trace.get_current_span().get_span_context().span_id

    async def main():
        async with await aio.connect("URL") as conn:
            sender = await conn.open_sender("tr-aio-in")
            forward = await conn.open_sender("tr-aio-out")
            for n in range(4):
                await sender.send(Message(body=n, id=f"m{n}"), timeout=10)
            await (await sender.submit(Message(body=4, id="m4"), timeout=10))
            receiver = await conn.open_receiver("tr-aio-in", credit=5)
            item = await receiver.receive(timeout=10)  # m0: forwarded inside the block
            async with item.settle_on_exit():
                seen["inside"] = current()
                await forward.send(Message(body="f", id="f0"), timeout=10)
            seen["after"] = current()
            item = await receiver.receive(timeout=10)  # m1: rejected inside the block
            async with item.settle_on_exit():
                item.reject()
            item = await receiver.receive(timeout=10)  # m2: accepted with no block
            item.accept()
            item = await receiver.receive(timeout=10)  # m3: the block fails
            try:
                async with item.settle_on_exit():
                    raise RuntimeError("block failed")
            except RuntimeError:
                pass
            item = await receiver.receive(timeout=10)  # m4: sent with submit()
            async with item.settle_on_exit():
                pass
            await receiver.close()

    asyncio.run(main())
    found = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = sum(getattr(p, "value", None) or getattr(p, "count", 0)
                                         for p in metric.data.data_points)
    print(json.dumps({**seen, "metrics": found, "spans": [
        {"id": s.attributes.get("messaging.message.id"), "kind": s.kind.name,
         "span": s.context.span_id, "trace": s.context.trace_id,
         "parent": s.parent.span_id if s.parent else None, "status": s.status.status_code.name,
         "description": s.status.description,
         "events": [e.name for e in s.events],
         "outcome": s.attributes.get("amqp.delivery.outcome")}
        for s in exporter.get_finished_spans()]}))
"""


def test_aio_consumer_span_is_current_in_settle_on_exit_and_records_the_settlement(
    broker: BrokerProcess,  # noqa: F811
) -> None:
    """One aio program: the CONSUMER span is current inside ``settle_on_exit()`` (a message
    sent there is its child) and not after; each settlement is recorded (accept, reject in
    the block, accept() with no block); a failing block is an error, its message released;
    ``submit()`` is traced as ``send()`` is; nothing is left unsettled."""
    done = in_subprocess(PROGRAM.replace("URL", broker.url))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    spans = found["spans"]
    produced = {s["id"]: s for s in kind(spans, "PRODUCER")}
    consumed: dict[str, list[dict[str, Any]]] = {}
    for span in kind(spans, "CONSUMER"):
        consumed.setdefault(span["id"], []).append(span)
    assert set(produced) == {"m0", "m1", "m2", "m3", "m4", "f0"}
    assert all(s["outcome"] == "accepted" and s["status"] == "UNSET" for s in produced.values())
    for n in range(5):
        first = consumed[f"m{n}"][0]
        assert first["parent"] == produced[f"m{n}"]["span"]
        assert first["trace"] == produced[f"m{n}"]["trace"]
    (m0,) = consumed["m0"]
    assert found["inside"] == m0["span"] and found["after"] == 0
    assert produced["f0"]["parent"] == m0["span"]
    assert produced["f0"]["trace"] == m0["trace"]
    assert m0["outcome"] == "accepted"
    assert [(s["outcome"], s["status"]) for s in consumed["m1"]] == [("rejected", "UNSET")]
    assert [(s["outcome"], s["status"]) for s in consumed["m2"]] == [("accepted", "UNSET")]
    failed = consumed["m3"][0]  # the broker may send m3 again: a second span, released
    assert (failed["outcome"], failed["status"]) == ("released", "ERROR")
    assert failed["description"] == "RuntimeError: block failed"
    assert failed["events"] == ["exception"]
    assert [(s["outcome"], s["status"]) for s in consumed["m4"]] == [("accepted", "UNSET")]
    totals = found["metrics"]
    assert totals["messaging.client.sent.messages"] == 6
    assert totals["amqp.client.accepted.messages"] == 6
    assert totals["amqp.client.unsettled.deliveries"] == 0
    assert totals["messaging.client.consumed.messages"] == len(kind(spans, "CONSUMER")) >= 5


def test_readme_tracing_program_traces_both_apis(
    tmp_path: Path, broker: BrokerProcess  # noqa: F811
) -> None:
    """The README's tracing program (a Container sends, aio receives) against our broker: the
    console exporter prints both spans, the aio CONSUMER span the child of the handler API's
    PRODUCER span, and the message between them."""
    (program,) = [b for b in fenced_blocks("python") if "amq_python.tracing" in b]
    assert program.count("127.0.0.1:5672") == 2
    assert program.count("/traced") == 1 and program.count('"traced"') == 1
    program = program.replace("127.0.0.1:5672", f"127.0.0.1:{broker.port}")
    program = program.replace("/traced", "/tr-readme").replace('"traced"', '"tr-readme"')
    path = tmp_path / "readme_tracing.py"
    path.write_text(program, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**env, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert "\nHello tracing!\n" in done.stdout  # after the PRODUCER span, before the other
    spans = {o["kind"]: o for o in console_objects(done.stdout.replace("Hello tracing!", ""))}
    sent, received = spans["SpanKind.PRODUCER"], spans["SpanKind.CONSUMER"]
    assert (sent["name"], received["name"]) == ("send tr-readme", "process tr-readme")
    assert received["context"]["trace_id"] == sent["context"]["trace_id"]
    assert received["parent_id"] == sent["context"]["span_id"]
    assert received["attributes"]["amqp.delivery.outcome"] == "accepted"



OUTCOMES = IN_MEMORY_SDK + """
    amq_python.tracing.init_tracer("outcomes")
    HOW = ["accept", "reject", "release", "modify"]

    class Peer(MessagingHandler):
        # Listens and settles each message as its body says; its own sender (the handler API)
        # sends the four messages to itself.
        def __init__(self, port, done):
            super().__init__(auto_accept=False)
            self.port, self.done, self.sent, self.outcomes = port, done, 0, 0
        def on_start(self, event):
            acceptor = event.container.listen("127.0.0.1:0")
            self.port.set_result(acceptor.port)
            conn = event.container.connect(f"amqp://127.0.0.1:{acceptor.port}")
            self.sender = event.container.create_sender(conn, "handler")
        def on_sendable(self, event):
            while event.sender is self.sender and event.sender.credit and self.sent < 4:
                how = HOW[self.sent]
                event.sender.send(Message(body=how, id=f"handler-{how}"))
                self.sent += 1
        def on_message(self, event):
            how = event.message.body
            if how == "accept":
                self.accept(event.delivery)
            elif how == "reject":
                self.reject(event.delivery)
            else:
                self.release(event.delivery, delivered=how == "modify")
        def outcome(self):
            self.outcomes += 1
            if self.outcomes == 4:
                self.done.set_result(None)
        def on_accepted(self, event):
            self.outcome()
        def on_rejected(self, event):
            self.outcome()
        def on_released(self, event):
            self.outcome()

    async def main():
        loop = asyncio.get_running_loop()
        port, handler_done = loop.create_future(), loop.create_future()
        container = Container(Peer(port, handler_done))
        running = asyncio.ensure_future(container.run_async())
        raised = []
        async with await aio.connect(f"amqp://127.0.0.1:{await port}") as conn:
            sender = await conn.open_sender("aio")
            for how in HOW:
                try:
                    await sender.send(Message(body=how, id=f"aio-{how}"), timeout=10)
                    raised.append(None)
                except aio.MessageNotAccepted as exc:
                    raised.append(type(exc).__name__)
        await asyncio.wait_for(handler_done, 10)
        container.stop()
        await asyncio.wait_for(running, 10)
        return raised

    raised = asyncio.run(main())
    released = []
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "amqp.client.released.messages":
                    released += [(p.attributes["messaging.destination.name"],
                                  p.attributes["amqp.delivery.outcome"], p.value)
                                 for p in metric.data.data_points]
    print(json.dumps({"raised": raised, "released": sorted(released), "spans": {
        s.attributes["messaging.message.id"]: [s.attributes.get("amqp.delivery.outcome"),
                                               s.status.status_code.name,
                                               s.attributes.get("error.type")]
        for s in exporter.get_finished_spans() if s.kind.name == "PRODUCER"}}))
"""


def test_every_outcome_is_recorded_with_either_api() -> None:
    """A peer (our listener, on the asyncio loop with ``run_async()``) accepts, rejects,
    releases and modifies one message each from an aio sender and from a handler API sender:
    each PRODUCER span records its outcome (rejected: error status), aio's ``send()`` raises
    the matching exception, and the released counter counts released and modified apart."""
    done = in_subprocess(OUTCOMES)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["raised"] == [None, "MessageRejected", "MessageReleased", "MessageModified"]
    expected = {"accept": ["accepted", "UNSET", None], "reject": ["rejected", "ERROR", "rejected"],
                "release": ["released", "UNSET", None], "modify": ["modified", "UNSET", None]}
    assert found["spans"] == {f"{api}-{how}": span for api in ("aio", "handler")
                              for how, span in expected.items()}
    assert found["released"] == [["aio", "modified", 1], ["aio", "released", 1],
                                 ["handler", "modified", 1], ["handler", "released", 1]]


def test_aio_methods_are_plain_while_tracing_is_off() -> None:
    """aio's received-message methods are wrapped only between enable() and disable()."""
    import amq_python.tracing as tracing
    from amq_python import aio

    names = ("__init__", "settle_on_exit")
    before = [aio.Delivery.__dict__[name] for name in names]
    assert not tracing.enabled()
    tracing.enable()
    try:
        assert all(aio.Delivery.__dict__[n] is not b for n, b in zip(names, before))
    finally:
        tracing.disable()
    assert [aio.Delivery.__dict__[name] for name in names] == before


LOST = IN_MEMORY_SDK + """
    from tests.peers.listener_process import listeners
    amq_python.tracing.init_tracer("lost")

    class Sends(MessagingHandler):
        # Sends one message to a peer that holds it (no consumer), kills the peer, and stops
        # once the connection is lost.
        def __init__(self, peer):
            super().__init__()
            self.peer = peer
        def on_start(self, event):
            self.sender = event.container.create_sender(self.peer.url + "/held")
        def on_sendable(self, event):
            if not self.sender.unsettled:
                self.sender.send(Message(body="x", id="handler-lost"))
                event.container.schedule(0.3, self)
        def on_timer_task(self, event):
            self.peer.kill()
        def on_disconnected(self, event):
            event.container.stop()

    async def aio_send(peer):
        async with await aio.connect(peer.url) as conn:
            sender = await conn.open_sender("held", resend_unsettled=False)
            sending = asyncio.ensure_future(sender.send(Message(body="x", id="aio-lost")))
            await asyncio.sleep(0.3)
            peer.kill()
            try:
                await asyncio.wait_for(sending, 10)
            except aio.ConnectionLost as exc:
                return type(exc).__name__

    with listeners(2) as (first, second):
        Container(Sends(first)).run()
        raised = asyncio.run(aio_send(second))
    unsettled = []
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "amqp.client.unsettled.deliveries":
                    unsettled += [p.value for p in metric.data.data_points]
    print(json.dumps({"raised": raised, "unsettled": unsettled, "spans": {
        s.attributes["messaging.message.id"]: [s.attributes.get("amqp.delivery.outcome"),
                                               s.status.status_code.name,
                                               s.attributes.get("error.type")]
        for s in exporter.get_finished_spans() if s.kind.name == "PRODUCER"}}))
"""


def test_a_send_lost_with_its_connection_ends_its_span_as_an_error() -> None:
    """A message whose connection is lost before its outcome, on a sender that does not
    resend, ends its PRODUCER span as an error (outcome ``lost``) and leaves the unsettled
    count, with either API: it was a span left open for good."""
    done = in_subprocess(LOST)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["raised"] == "ConnectionLost"
    lost = ["lost", "ERROR", "connection_lost"]
    assert found["spans"] == {"handler-lost": lost, "aio-lost": lost}
    assert found["unsettled"] and not any(found["unsettled"])
