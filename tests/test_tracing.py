"""amq_python.tracing with real parts: our embedded broker in its own process, producer and
consumer processes (tests/tracing_client.py) that trace through the OpenTelemetry SDK's
in-memory exporter and metric reader, and python-qpid-proton's own ``proton.tracing`` (with a
Jaeger tracer) for interop. Each process writes what it recorded to a JSON file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.broker_process import ROOT, BrokerProcess, running_broker

pytest.importorskip("opentelemetry.sdk")

CLIENT = str(ROOT / "tests" / "tracing_client.py")


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    with running_broker() as b:
        yield b


def run(tmp_path: Path, role: str, url: str, address: str, *extra: str) -> dict[str, Any]:
    """Run one client process to its end; what it recorded."""
    out = tmp_path / f"{role}-{address.strip('-/') or 'anon'}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, CLIENT, role, url, address, str(out), *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, f"{role} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(out.read_text())


def kind(spans: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [s for s in spans if s["kind"] == name]


def total(metrics: dict[str, Any], name: str) -> float:
    return sum(p["value"] if p["value"] is not None else p["count"] for p in metrics[name])


def check_one_trace(produced: dict[str, Any], consumed: dict[str, Any], address: str,
                    port: int) -> None:
    """What two of our processes recorded (either API) for 2 messages sent to ``address``
    through the broker on ``port``: each consumer span's parent is the producer span of its
    message, in the same trace, with the messaging attributes; outcome and settlement
    recorded; metrics counted."""
    senders = kind(produced["spans"], "PRODUCER")
    receivers = kind(consumed["spans"], "CONSUMER")
    assert len(senders) == 2 and len(receivers) == 2
    by_id = {s["attributes"]["messaging.message.id"]: s for s in senders}
    for received in receivers:
        sent = by_id[received["attributes"]["messaging.message.id"]]
        assert received["trace_id"] == sent["trace_id"]
        assert received["parent_id"] == sent["span_id"]
        assert received["name"] == f"process {address}"
        assert received["attributes"]["amqp.delivery.outcome"] == "accepted"
    for span in senders + receivers:
        attributes = span["attributes"]
        assert attributes["messaging.system"] == "amqp"
        assert attributes["messaging.destination.name"] == address
        assert attributes["messaging.message.conversation_id"] == "conv-1"
        assert attributes["messaging.message.body.size"] == 3
        assert attributes["server.address"] == "127.0.0.1"
        assert attributes["server.port"] == port
        assert attributes["network.peer.address"] == "127.0.0.1"
        assert attributes["network.peer.port"] == port
    for sent in senders:
        assert sent["name"] == f"send {address}"
        assert sent["status"] == "UNSET"
        assert sent["attributes"]["amqp.delivery.outcome"] == "accepted"
    metrics = produced["metrics"]
    assert total(metrics, "messaging.client.sent.messages") == 2
    assert total(metrics, "amqp.client.accepted.messages") == 2
    assert total(metrics, "amqp.client.outcome.duration") == 2  # histogram: 2 recorded
    assert total(metrics, "amqp.client.unsettled.deliveries") == 0
    assert total(metrics, "amqp.client.connection.attempts") == 1
    assert "amqp.client.rejected.messages" not in metrics
    assert total(consumed["metrics"], "messaging.client.consumed.messages") == 2


def test_producer_broker_consumer_is_one_trace(tmp_path: Path, broker: BrokerProcess) -> None:
    """Handler API producer and consumer processes: one trace per message."""
    produced = run(tmp_path, "ours-produce", broker.url, "tr-one", "2")
    consumed = run(tmp_path, "ours-consume", broker.url, "tr-one", "2")
    check_one_trace(produced, consumed, "tr-one", broker.port)


def check_rejected(produced: dict[str, Any]) -> None:
    """What a producer (either API) recorded for one message the broker rejected."""
    (sent,) = kind(produced["spans"], "PRODUCER")
    assert sent["status"] == "ERROR"
    assert sent["description"].startswith("amqp:precondition-failed: ")
    assert sent["attributes"]["error.type"] == "amqp:precondition-failed"
    assert sent["attributes"]["amqp.delivery.outcome"] == "rejected"
    assert total(produced["metrics"], "amqp.client.rejected.messages") == 1
    assert "amqp.client.accepted.messages" not in produced["metrics"]


def test_rejected_message_is_an_error_span_with_the_condition(
    tmp_path: Path, broker: BrokerProcess
) -> None:
    """The broker rejects a message with no address (amqp:precondition-failed): the producer
    span has error status with that condition, and the rejected counter counts it."""
    check_rejected(run(tmp_path, "ours-produce", broker.url, "-"))


def check_reconnects(tmp_path: Path, role: str) -> None:
    """Nothing listens: one first attempt and three reconnects before ``role`` gives up."""
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
        recorded = run(tmp_path, role, f"amqp://127.0.0.1:{port}", "x", "3")
    metrics = recorded["metrics"]
    assert total(metrics, "amqp.client.connection.attempts") == 4
    assert total(metrics, "amqp.client.reconnects") == 3
    (point,) = metrics["amqp.client.reconnects"]
    assert point["attributes"] == {"server.address": "127.0.0.1", "server.port": port}


def test_reconnect_attempts_show_in_the_metrics(tmp_path: Path) -> None:
    check_reconnects(tmp_path, "ours-reconnect")


def check_from_proton(tmp_path: Path, broker: BrokerProcess, consumer: str) -> None:
    """python-qpid-proton's proton.tracing writes Jaeger's uber-trace-id: the span of our
    ``consumer`` role joins that trace as a child of proton's send span."""
    pytest.importorskip("jaeger_client")
    address = f"tr-from-proton-{consumer}"
    produced = run(tmp_path, "proton-produce", broker.url, address)
    consumed = run(tmp_path, consumer, broker.url, address)
    (sent,) = produced["spans"]
    (received,) = kind(consumed["spans"], "CONSUMER")
    assert int(received["trace_id"], 16) == int(sent["trace_id"], 16)
    assert received["parent_id"] == sent["span_id"]


def test_proton_tracing_producer_continues_in_our_consumer(
    tmp_path: Path, broker: BrokerProcess
) -> None:
    check_from_proton(tmp_path, broker, "ours-consume")


def check_to_proton(
    tmp_path: Path, broker: BrokerProcess, producer: str, write_jaeger: bool
) -> None:
    """With enable(write_jaeger=True) a proton.tracing consumer continues the trace of our
    ``producer`` role; without it (W3C only) proton.tracing cannot read the context and starts
    a trace of its own."""
    pytest.importorskip("jaeger_client")
    address = f"tr-to-proton-{producer}-{write_jaeger}"
    produced = run(tmp_path, producer, broker.url, address,
                   *(["1", "--jaeger"] if write_jaeger else []))
    consumed = run(tmp_path, "proton-consume", broker.url, address)
    (sent,) = kind(produced["spans"], "PRODUCER")
    (seen,) = consumed["consumed"]
    assert "traceparent" in seen["annotation"]
    assert ("uber-trace-id" in seen["annotation"]) == write_jaeger
    if write_jaeger:
        assert seen["trace_id"] == sent["trace_id"]
        assert seen["parent_id"] == sent["span_id"]
    else:
        assert seen["trace_id"] != sent["trace_id"]


@pytest.mark.parametrize("write_jaeger", [True, False], ids=["write-both", "w3c-only"])
def test_our_producer_continues_in_a_proton_tracing_consumer(
    tmp_path: Path, broker: BrokerProcess, write_jaeger: bool
) -> None:
    check_to_proton(tmp_path, broker, "ours-produce", write_jaeger)


def in_subprocess(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_init_tracer_without_opentelemetry_names_the_package() -> None:
    done = in_subprocess("""
        import sys
        sys.modules["opentelemetry"] = None  # as if opentelemetry-api were not installed
        import amq_python.tracing
        amq_python.tracing.init_tracer("svc")
    """)
    assert done.returncode == 1
    assert "ImportError: amq_python.tracing needs the opentelemetry-api package" in done.stderr
    assert "amq_python[tracing]" in done.stderr


def test_init_tracer_sets_a_default_provider_only_when_there_is_none() -> None:
    """No provider set: init_tracer installs the SDK's, with the service name and the
    exporter OTEL_TRACES_EXPORTER names (console: the span is printed at exit). A provider
    the application set is kept."""
    done = in_subprocess("""
        import os
        os.environ["OTEL_TRACES_EXPORTER"] = "console"
        os.environ.pop("OTEL_SERVICE_NAME", None)
        from opentelemetry import trace
        import amq_python.tracing as tracing
        tracer = tracing.init_tracer("svc-default")
        assert tracing.get_tracer() is tracer and tracing.init_tracer("other") is tracer
        provider = trace.get_tracer_provider()
        print(type(provider).__module__, provider.resource.attributes["service.name"])
        with tracer.start_as_current_span("hello-span"):
            pass
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("opentelemetry.sdk.trace svc-default\n")
    assert '"name": "hello-span"' in done.stdout
    assert '"service.name": "svc-default"' in done.stdout
    kept = in_subprocess("""
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        mine = TracerProvider()
        trace.set_tracer_provider(mine)
        import amq_python.tracing as tracing
        tracing.init_tracer("svc")
        print(trace.get_tracer_provider() is mine)
    """)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout == "True\n"


def test_init_tracer_with_the_api_only_and_with_otel_service_name() -> None:
    """Without the SDK, init_tracer sets no provider (spans are the API's no-ops until the
    application sets one) but tracing is on; with it, OTEL_SERVICE_NAME names the service."""
    api_only = in_subprocess("""
        import sys
        sys.modules["opentelemetry.sdk"] = None  # as if only opentelemetry-api were installed
        from opentelemetry import trace
        import amq_python.tracing as tracing
        tracer = tracing.init_tracer("svc")
        print(tracing.enabled(), type(trace.get_tracer_provider()).__name__,
              tracer.start_span("x").is_recording())
    """)
    assert api_only.returncode == 0, api_only.stderr
    assert api_only.stdout == "True ProxyTracerProvider False\n"
    named = in_subprocess("""
        import os
        os.environ.update(OTEL_SERVICE_NAME="from-env", OTEL_TRACES_EXPORTER="none")
        from opentelemetry import trace
        import amq_python.tracing as tracing
        tracing.init_tracer("svc")
        print(trace.get_tracer_provider().resource.attributes["service.name"])
    """)
    assert named.returncode == 0, named.stderr
    assert named.stdout == "from-env\n"


def test_off_by_default_and_disable_restores_every_method() -> None:
    """Importing tracing changes nothing; enable() wraps the hook points; disable() puts the
    very same functions back (nothing is left on the per-message path)."""
    import amq_python.tracing as tracing
    from amq_python.tracing import _hooks

    def current() -> list[Any]:
        return [cls.__dict__.get(name) for cls, name, _ in _hooks.POINTS]

    assert not tracing.enabled()
    before = current()
    assert all(before) and len(before) >= 8
    tracing.enable()
    try:
        assert tracing.enabled()
        during = current()
        assert all(a is not b for a, b in zip(before, during))
    finally:
        tracing.disable()
    assert current() == before
    assert not tracing.enabled()


def console_objects(text: str) -> list[Any]:
    """The JSON objects the SDK's console exporters printed, one after the other, in ``text``."""
    decoder, objects, at = json.JSONDecoder(), [], 0
    while text[at:].strip():
        at += len(text[at:]) - len(text[at:].lstrip())
        found, at = decoder.raw_decode(text, at)
        objects.append(found)
    return objects


@pytest.mark.parametrize("api", ["handler", "aio"])
def test_console_example_prints_one_trace(broker: BrokerProcess, api: str) -> None:
    """examples/tracing_console.py, with each API: the message, then its send and process
    spans (one trace, the consumer span the producer span's child) and the metrics, as the
    console exporters print them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "tracing_console.py"), "--url", broker.url,
         "--address", "tr-example", "--api", api],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    first, rest = done.stdout.split("\n", 1)
    assert first == "Hello World!"
    objects = console_objects(rest)
    spans = {o["name"]: o for o in objects if "context" in o}
    sent, received = spans["send tr-example"], spans["process tr-example"]
    assert received["context"]["trace_id"] == sent["context"]["trace_id"]
    assert received["parent_id"] == sent["context"]["span_id"]
    assert sent["resource"]["attributes"]["service.name"] == "tracing-console-example"
    names = {m["name"] for o in objects if "resource_metrics" in o
             for r in o["resource_metrics"] for s in r["scope_metrics"] for m in s["metrics"]}
    assert {"messaging.client.sent.messages", "amqp.client.accepted.messages",
            "messaging.client.consumed.messages", "amqp.client.outcome.duration"} <= names


def test_consumer_span_is_current_in_on_message_and_records_the_settlement() -> None:
    """In one process (our listener): a message sent from on_message is a child of the
    CONSUMER span; a Reject raised there is recorded as the settlement; a handler error ends
    its span with error status (and ends run())."""
    done = in_subprocess("""
        import json
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        import amq_python.tracing
        from amq_python import Message
        from amq_python.handlers import MessagingHandler, Reject
        from amq_python.reactor import Container
        amq_python.tracing.init_tracer("one-process")

        class Both(MessagingHandler):
            sent = 0
            def on_start(self, event):
                self.acceptor = event.container.listen("127.0.0.1:0")
                conn = event.container.connect(f"amqp://127.0.0.1:{self.acceptor.port}")
                self.sender = event.container.create_sender(conn, "in")
                self.forward = event.container.create_sender(conn, "out")
            def on_sendable(self, event):
                while event.sender is self.sender and event.sender.credit and self.sent < 2:
                    event.sender.send(Message(body=self.sent, id=f"m{self.sent}"))
                    self.sent += 1
            def on_accepted(self, event):
                if event.link is self.forward:  # f0 is settled: now the failing message
                    self.sender.send(Message(body=2, id="m2"))
            def on_message(self, event):
                if event.message.id == "m0":
                    self.forward.send(Message(body="forwarded", id="f0"))
                elif event.message.id == "m1":
                    raise Reject()
                elif event.message.id == "m2":
                    raise RuntimeError("handler failed")

        try:
            Container(Both()).run()
        except RuntimeError as exc:
            print("run() raised", exc)
        print(json.dumps([
            {"name": s.name, "id": s.attributes.get("messaging.message.id"),
             "kind": s.kind.name, "span": s.context.span_id, "trace": s.context.trace_id,
             "parent": s.parent.span_id if s.parent else None, "status": s.status.status_code.name,
             "outcome": s.attributes.get("amqp.delivery.outcome")}
            for s in exporter.get_finished_spans()]))
    """)
    assert done.returncode == 0, done.stderr
    raised, dumped = done.stdout.splitlines()
    assert raised == "run() raised handler failed"
    spans = json.loads(dumped)
    consumed = {s["id"]: s for s in spans if s["kind"] == "CONSUMER"}
    produced = {s["id"]: s for s in spans if s["kind"] == "PRODUCER"}
    forwarded = produced["f0"]
    assert forwarded["parent"] == consumed["m0"]["span"]
    assert forwarded["trace"] == produced["m0"]["trace"]
    assert consumed["m0"]["outcome"] == "accepted"
    assert consumed["m1"]["outcome"] == "rejected" and consumed["m1"]["status"] == "UNSET"
    assert produced["m1"]["outcome"] == "rejected" and produced["m1"]["status"] == "ERROR"
    assert consumed["m2"]["status"] == "ERROR"


def test_uber_trace_id_round_trip_and_malformed_values() -> None:
    """Jaeger's header as proton.tracing writes it (64-bit ids, URL-encoded or not) reads as
    a remote span context; ours reads back the same; malformed ones are ignored."""
    from opentelemetry.trace import SpanContext, TraceFlags

    from amq_python.tracing._propagation import format_uber_trace_id, parse_uber_trace_id

    found = parse_uber_trace_id("c4e2849d64fd7389:98dd51dc1160bc2b:0:1")
    assert found is not None and found.is_remote and found.trace_flags.sampled
    assert (found.trace_id, found.span_id) == (0xC4E2849D64FD7389, 0x98DD51DC1160BC2B)
    assert parse_uber_trace_id("c4e2849d64fd7389%3A98dd51dc1160bc2b%3A0%3A0") == SpanContext(
        0xC4E2849D64FD7389, 0x98DD51DC1160BC2B, is_remote=True, trace_flags=TraceFlags(0))
    ours = SpanContext(1 << 100, 7, is_remote=False, trace_flags=TraceFlags(1))
    back = parse_uber_trace_id(format_uber_trace_id(ours))
    assert back is not None and (back.trace_id, back.span_id) == (1 << 100, 7)
    for bad in ("", "1:2:3", "0:1:0:1", "1:0:0:1", "x:1:0:1", f"{1 << 128:x}:1:0:1"):
        assert parse_uber_trace_id(bad) is None, bad


def test_proton_tracing_program_runs_unmodified_under_compat(
    tmp_path: Path, broker: BrokerProcess
) -> None:
    """A python-qpid-proton program that calls proton.tracing.init_tracer runs on us through
    ``python -m amq_python.compat``, its send traced (console exporter)."""
    program = tmp_path / "traced_sender.py"
    program.write_text(textwrap.dedent(f"""
        from proton import Message
        from proton.handlers import MessagingHandler
        from proton.reactor import Container
        from proton.tracing import init_tracer

        init_tracer("compat-sender")

        class Send(MessagingHandler):
            def on_start(self, event):
                event.container.create_sender(event.container.connect("{broker.url}"), "tr-c")
            def on_sendable(self, event):
                event.sender.send(Message(body="x"))
                event.sender.close()
            def on_accepted(self, event):
                event.connection.close()

        Container(Send()).run()
    """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-m", "amq_python.compat", str(program)], cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT), "OTEL_TRACES_EXPORTER": "console"},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert '"name": "send tr-c"' in done.stdout
    assert '"amqp.delivery.outcome": "accepted"' in done.stdout
    assert '"service.name": "compat-sender"' in done.stdout


def test_hook_points_registered_by_another_api() -> None:
    """How ``aio`` attaches (amq_python.tracing._hooks): a class registering its hand-out
    method as ``receive`` and its settle context as ``activate`` gets a CONSUMER span, child
    of the producer's, current inside the (async) context, ended at the settlement. Here the
    class is driven by a plain Handler that reads deliveries itself (no MessagingHandler)."""
    done = in_subprocess("""
        import asyncio, contextlib, json
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        import amq_python.tracing
        from amq_python import Message
        from amq_python.handlers import Handshaker, MessagingHandler
        from amq_python.reactor import Container
        from amq_python.tracing import _hooks

        class HandedOut:  # the shape of aio's received-message object
            def __init__(self, receiver, delivery, message):
                self.delivery, self.message = delivery, message
            @contextlib.asynccontextmanager
            async def settle_on_exit(self):
                yield self
                self.delivery.update(self.delivery.ACCEPTED)
                self.delivery.settle()

        amq_python.tracing.init_tracer("hooks")
        _hooks.register(HandedOut, "__init__", "receive")  # after enable: applied at once
        _hooks.register(HandedOut, "settle_on_exit", "activate")
        seen = {}

        async def application(handed):
            async with handed.settle_on_exit():
                seen["current"] = trace.get_current_span().get_span_context().span_id

        class Raw(Handshaker):
            def on_link_remote_open(self, event):
                super().on_link_remote_open(event)
                if event.link.is_receiver:
                    event.link.flow(1)
            def on_delivery(self, event):
                delivery = event.delivery
                if event.link.is_receiver and delivery.readable and not delivery.partial:
                    message = Message()
                    message.decode(event.link.recv(delivery.pending))
                    event.link.advance()
                    asyncio.run(application(HandedOut(event.link, delivery, message)))

        class Send(MessagingHandler):
            def on_start(self, event):
                self.acceptor = event.container.acceptor("127.0.0.1", 0, Raw())
                conn = event.container.connect(f"amqp://127.0.0.1:{self.acceptor.port}")
                event.container.create_sender(conn, "hooks")
            def on_sendable(self, event):
                if not getattr(self, "sent", False):
                    event.sender.send(Message(body="x", id="h1"))
                    self.sent = True
            def on_accepted(self, event):
                event.connection.close()
                self.acceptor.close()

        Container(Send()).run()
        print(json.dumps({"current": seen.get("current"), "spans": [
            {"kind": s.kind.name, "span": s.context.span_id, "trace": s.context.trace_id,
             "parent": s.parent.span_id if s.parent else None,
             "outcome": s.attributes.get("amqp.delivery.outcome")}
            for s in exporter.get_finished_spans()]}))
    """)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    (consumer,) = [s for s in found["spans"] if s["kind"] == "CONSUMER"]
    (producer,) = [s for s in found["spans"] if s["kind"] == "PRODUCER"]
    assert consumer["parent"] == producer["span"] and consumer["trace"] == producer["trace"]
    assert found["current"] == consumer["span"]
    assert consumer["outcome"] == "accepted" and producer["outcome"] == "accepted"


def test_the_library_does_not_import_tracing_or_opentelemetry() -> None:
    """Off means absent: the client's modules, used fully, import neither."""
    done = in_subprocess("""
        import sys
        import amq_python, amq_python.reactor, amq_python.handlers, amq_python.utils, amq_python.aio
        print(sorted(m for m in sys.modules
                     if m.startswith(("opentelemetry", "amq_python.tracing"))))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"


def test_default_exporter_not_installed_is_named() -> None:
    """OTEL_TRACES_EXPORTER unset means otlp; without its package the warning says so."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", "import amq_python.tracing as t; t.init_tracer('svc')"],
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    try:
        import opentelemetry.exporter.otlp  # noqa: F401
    except ImportError:
        assert "<string>:1: RuntimeWarning: OTEL_TRACES_EXPORTER names 'otlp', which is not " \
            "installed" in done.stderr
    else:
        assert done.stderr == ""
