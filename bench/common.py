"""Helpers shared by the scenario processes: the API under test, arguments and reporting.

Every scenario is written once against the python-qpid-proton API. ``load_api`` imports either
``proton`` or ``amq_python`` (same public names) at run time, so the very same handler code runs
on both. A scenario process talks to the driver (``bench/run.py``) through its stdout only:

1. a listening process prints ``READY`` once its port is bound (``signal_ready``);
2. a measuring process prints one JSON object with its numbers as its last line (``emit``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
from dataclasses import dataclass
from typing import Any

IMPLS = ("proton", "amq_python", "amq_python+tracing")
TRACED = "amq_python+tracing"  # amq_python with amq_python.tracing on (see enable_tracing)
READY = "READY"

# Connections a client opens at a time: python-qpid-proton listens with a backlog of 10, and a
# storm of connects overflows it and stalls the TCP handshakes for seconds or minutes.
MAX_CONNECTING = 8


@dataclass(frozen=True)
class Api:
    """The classes a scenario needs, taken from one implementation."""

    Message: Any
    Container: Any
    MessagingHandler: Any


def load_api(impl: str) -> Api:
    """Import ``impl`` (``proton`` or ``amq_python``) and its reactor and handlers modules."""
    if impl not in IMPLS:
        raise ValueError(f"unknown implementation {impl!r}; expected one of {IMPLS}")
    if impl == TRACED:
        impl = "amq_python"
        enable_tracing()
    root = importlib.import_module(impl)
    reactor = importlib.import_module(f"{impl}.reactor")
    handlers = importlib.import_module(f"{impl}.handlers")
    return Api(
        Message=root.Message,
        Container=reactor.Container,
        MessagingHandler=handlers.MessagingHandler,
    )


def enable_tracing() -> None:
    """amq_python.tracing on, as a traced service runs: the OpenTelemetry SDK recording every
    span (batched to an exporter that drops them) and aggregating the metrics."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    import amq_python.tracing

    amq_python.tracing.init_tracer("bench")


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every scenario role takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--impl", choices=IMPLS, default="proton", help="library under test")
    p.add_argument("--port", type=int, required=True, help="listener port on 127.0.0.1")
    return p


def url(port: int) -> str:
    """The loopback address of a listener on ``port``."""
    return f"127.0.0.1:{port}"


def raise_fd_limit() -> None:
    """Lift the soft open-files limit to the hard limit (1,000 connections need it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_kib() -> int:
    """Resident memory of this process in KiB, from VmRSS in /proc/self/status."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("VmRSS not found in /proc/self/status")


def signal_ready() -> None:
    """Tell the driver that this listener accepts connections."""
    print(READY, flush=True)


def emit(result: dict[str, float]) -> None:
    """Hand the measured numbers to the driver as one JSON line."""
    print(json.dumps(result), flush=True)


def rate(count: int, seconds: float, cpu_seconds: float) -> dict[str, float]:
    """A throughput result: messages per second, the seconds taken, and this process's CPU
    microseconds per message."""
    return {"msgs_per_s": count / seconds, "seconds": seconds,
            "cpu_us_per_msg": cpu_seconds / count * 1e6}


class PeerError(RuntimeError):
    """The peer or the transport failed, so the measurement is void."""


class FatalErrors:
    """Handler mixin for measuring processes: any error or refused message ends the run.

    Put it before ``MessagingHandler`` in the bases; the exception propagates out of
    ``Container.run()`` and the process exits non-zero, which the driver reports.
    """

    def on_transport_error(self, event: Any) -> None:
        raise PeerError(f"transport error: {event.transport.condition}")

    def on_connection_error(self, event: Any) -> None:
        raise PeerError(f"connection error: {event.connection.remote_condition}")

    def on_link_error(self, event: Any) -> None:
        raise PeerError(f"link error: {event.link.remote_condition}")

    def on_rejected(self, event: Any) -> None:
        raise PeerError("message rejected by the peer")

    def on_released(self, event: Any) -> None:
        raise PeerError("message released by the peer")
