"""The trace context in a message: the ``x-opt-qpid-tracestate`` annotation, a map of headers.

We write W3C ``traceparent``/``tracestate`` there, and on request also the Jaeger
``uber-trace-id`` that python-qpid-proton's ``proton.tracing`` reads. We read either: W3C when
present and valid, else ``uber-trace-id`` (``trace:span:parent:flags``, hexadecimal, as
``proton.tracing`` writes it), so a trace begun by a proton.tracing producer continues here.
"""

from __future__ import annotations

from urllib.parse import unquote

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .._core._codec import symbol
from .._core._message import Message

TRACE_KEY = symbol("x-opt-qpid-tracestate")
UBER_TRACE_ID = "uber-trace-id"

_w3c = TraceContextTextMapPropagator()


def inject(message: Message, context: Context, write_jaeger: bool) -> None:
    """Write the span of ``context`` into the message's ``x-opt-qpid-tracestate`` annotation
    (replacing one already there)."""
    carrier: dict[str, str] = {}
    _w3c.inject(carrier, context=context)
    if write_jaeger:
        span_context = trace.get_current_span(context).get_span_context()
        if span_context.is_valid:
            carrier[UBER_TRACE_ID] = format_uber_trace_id(span_context)
    annotations = message.annotations
    if annotations is None:
        message.annotations = {TRACE_KEY: carrier}
    else:
        annotations[TRACE_KEY] = carrier


def extract(message: Message) -> Context | None:
    """The sender's context from the message's annotation, or None when it has none."""
    annotations = message.annotations
    if not annotations:
        return None
    headers = annotations.get(TRACE_KEY)
    if not isinstance(headers, dict):
        return None
    carrier = {str(k).lower(): v for k, v in headers.items() if isinstance(v, str)}
    if "traceparent" in carrier:
        context = _w3c.extract(carrier)
        if trace.get_current_span(context).get_span_context().is_valid:
            return context
    uber = carrier.get(UBER_TRACE_ID)
    if uber is not None:
        span_context = parse_uber_trace_id(uber)
        if span_context is not None:
            return trace.set_span_in_context(NonRecordingSpan(span_context))
    return None


def format_uber_trace_id(span_context: SpanContext) -> str:
    """Jaeger's ``trace:span:parent:flags`` for a span (parent 0: Jaeger no longer uses it)."""
    flags = 1 if span_context.trace_flags.sampled else 0
    return f"{span_context.trace_id:032x}:{span_context.span_id:016x}:0:{flags:x}"


def parse_uber_trace_id(value: str) -> SpanContext | None:
    """The remote span context of a Jaeger ``uber-trace-id``, None when it is malformed."""
    parts = unquote(value).split(":")
    if len(parts) != 4:
        return None
    try:
        trace_id, span_id, _parent, flags = (int(part, 16) for part in parts)
    except ValueError:
        return None
    if not (0 < trace_id < 1 << 128 and 0 < span_id < 1 << 64):
        return None
    sampled = TraceFlags.SAMPLED if flags & 1 else TraceFlags.DEFAULT
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(sampled))


__all__ = ["TRACE_KEY", "extract", "format_uber_trace_id", "inject", "parse_uber_trace_id"]
