"""OpenTelemetry tracing and metrics of messages, with ``proton.tracing``'s API.

Off until ``init_tracer(service_name)`` or ``enable()``; while off, no messaging path does any
tracing work (the hook points are plain methods until enabled, see ``_hooks``). When on:

- a PRODUCER span per sent message, from ``send()`` to its outcome (rejected: error status
  with the peer's condition), and a CONSUMER span per received message around the handler's
  ``on_message``, ended at its settlement, with the outcome in ``amqp.delivery.outcome``;
- the same for ``amq_python.aio``: ``Sender.send()``/``submit()`` to the outcome, and from a
  message's arrival to its settlement, the span current inside ``Delivery.settle_on_exit()``;
- the sender's context travels in the ``x-opt-qpid-tracestate`` message annotation as W3C
  ``traceparent``/``tracestate``; Jaeger's ``uber-trace-id`` (what proton.tracing writes) is
  read too, and written as well with ``enable(write_jaeger=True)``;
- counters, a latency histogram and an unsettled gauge through the OpenTelemetry metrics API.

Needs the ``opentelemetry-api`` package (``pip install 'amq_python[tracing]'``); the SDK and
exporters are the application's choice.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .. import aio, handlers
from .._core import _delivery, _endpoints
from .._reactor import _connector
from . import _hooks

_state: dict[str, Any] = {"telemetry": None, "applied": [], "tracer": None}


def _register_builtin() -> None:
    register = _hooks.register
    register(_endpoints.Sender, "send", "send")
    register(_delivery.Delivery, "settle", "settle")
    register(_delivery.Delivery, "_lost", "lost")
    for name in ("on_accepted", "on_rejected", "on_released", "on_settled"):
        register(handlers.OutgoingMessageHandler, name, "outcome")
    register(handlers.IncomingMessageHandler, "on_message", "process")
    register(_connector.Connector, "attempt", "attempt")
    # aio sends through the engine Sender and settles engine deliveries (the points above);
    # its received messages are its own objects.
    register(aio.Delivery, "__init__", "receive")
    register(aio.Delivery, "settle_on_exit", "activate")


_register_builtin()


def _require_api() -> None:
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        raise ImportError(
            "amq_python.tracing needs the opentelemetry-api package, which is not installed: "
            "pip install 'amq_python[tracing]' (or opentelemetry-api)"
        ) from None


def enabled() -> bool:
    """True while tracing is on."""
    return _state["telemetry"] is not None


def enable(write_jaeger: bool = False) -> None:
    """Turn tracing on, with the application's OpenTelemetry providers as they are (spans are
    no-ops until it sets a TracerProvider). ``write_jaeger``: also write Jaeger's
    ``uber-trace-id``, so python-qpid-proton's ``proton.tracing`` consumers continue our
    traces. Calling it again only changes ``write_jaeger``."""
    _require_api()
    from ._runtime import Telemetry

    telemetry = _state["telemetry"]
    if telemetry is not None:
        telemetry.write_jaeger = write_jaeger
        return
    telemetry = _state["telemetry"] = Telemetry(write_jaeger)

    def apply(cls: type, name: str, kind: str) -> None:
        own = name in cls.__dict__
        original = getattr(cls, name)
        setattr(cls, name, telemetry.factories[kind](original))
        _state["applied"].append((cls, name, own, original))

    for cls, name, kind in _hooks.POINTS:
        apply(cls, name, kind)
    _hooks.set_applier(apply)


def disable() -> None:
    """Turn tracing off: every hook point is a plain method again. Spans still open (messages
    awaiting an outcome or settlement) are not ended."""
    _hooks.set_applier(None)
    applied = _state["applied"]
    while applied:
        cls, name, own, original = applied.pop()
        if own:
            setattr(cls, name, original)
        else:
            delattr(cls, name)
    _state["telemetry"] = None
    _state["tracer"] = None


def init_tracer(service_name: str) -> Any:
    """Turn tracing on for ``service_name`` and return the OpenTelemetry tracer. Uses the
    application's global TracerProvider when set, else sets the SDK's (when installed), with
    exporters from ``OTEL_TRACES_EXPORTER``. Later calls return the same tracer."""
    _require_api()
    tracer = _state["tracer"]
    if tracer is not None:
        return tracer
    from . import _provider

    _provider.install_default(service_name)
    enable(_state["telemetry"].write_jaeger if enabled() else False)
    tracer = _state["tracer"] = _state["telemetry"].tracer
    return tracer


def get_tracer() -> Any:
    """The tracer ``init_tracer`` made, calling it first (named for the program) if needed."""
    tracer = _state["tracer"]
    if tracer is not None:
        return tracer
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return init_tracer(program or "interactive-session")


__all__ = ["disable", "enable", "enabled", "get_tracer", "init_tracer"]
