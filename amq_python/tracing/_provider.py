"""``init_tracer``'s default TracerProvider, for applications that did not set one.

The application's global provider is always used when it has set one. Otherwise, when the
OpenTelemetry SDK is installed, we set an SDK provider with the service name and the span
exporters named by ``OTEL_TRACES_EXPORTER`` (default ``otlp``; ``console``, ``none``, or any
installed exporter's entry point name); each exporter reads its own ``OTEL_EXPORTER_*``
settings. Without the SDK, spans stay no-ops until the application sets a provider.
"""

from __future__ import annotations

import os
import warnings
from importlib import metadata
from typing import Any

from opentelemetry import trace

EXPORTER_GROUP = "opentelemetry_traces_exporter"


def has_provider() -> bool:
    """True when the application has set a global TracerProvider."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def install_default(service_name: str) -> bool:
    """Set an SDK TracerProvider for ``service_name`` when none is set and the SDK is
    installed; True when one was set. ``OTEL_SERVICE_NAME``, when set, names the service."""
    if has_provider():
        return False
    try:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        return False
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    for exporter in _exporters():
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return has_provider()


def _exporters() -> list[Any]:
    """The span exporters ``OTEL_TRACES_EXPORTER`` names (a missing one is a warning)."""
    names = [n.strip() for n in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")]
    exporters = []
    for name in names:
        if not name or name == "none":
            continue
        found = _entry_point(name)
        if found is None:
            warnings.warn(
                f"OTEL_TRACES_EXPORTER names {name!r}, which is not installed: spans are not "
                "exported there (install its package, or set OTEL_TRACES_EXPORTER)",
                RuntimeWarning,
                stacklevel=4,  # init_tracer's caller
            )
            continue
        exporters.append(found.load()())
    return exporters


def _entry_point(name: str) -> Any:
    points: Any = metadata.entry_points()
    if hasattr(points, "select"):
        found = points.select(group=EXPORTER_GROUP, name=name)
    else:  # Python 3.9: a dict of lists by group
        found = [p for p in points.get(EXPORTER_GROUP, ()) if p.name == name]
    return next(iter(found), None)
