"""Where tracing attaches: the methods it wraps while it is on, so that off costs nothing.

Nothing on the per-message path tests whether tracing is on. ``enable()`` replaces each
registered method on its class by a traced wrapper, and ``disable()`` puts the original back.
``amq_python.tracing`` registers the handler API's methods and ``amq_python.aio``'s (which sits
below tracing and does not import it); this module imports neither OpenTelemetry nor the rest
of tracing.

The kinds, and the signature of the method each wraps:

- ``send``: ``Sender.send(self, message, ...) -> Delivery``: a PRODUCER span and its context
  written into the message;
- ``settle``: ``Delivery.settle(self)``: ends the delivery's span (with its outcome, or the
  settlement of a received message), the unsettled count goes down;
- ``outcome``: ``method(self, event)``, ``event.delivery`` a sent delivery whose outcome just
  arrived: the PRODUCER span records it and ends;
- ``process``: ``method(self, event)``, ``event.delivery`` and ``event.message`` a received
  message: a CONSUMER span, current while the method runs, ended when the delivery is settled;
- ``receive``: ``method(self, ...)`` given a received message's engine Delivery and its
  Message among its arguments (``aio``'s ``Delivery.__init__``, say): the same CONSUMER span,
  not current (the application's task settles it later);
- ``activate``: ``method(self, ...)`` returning a context manager (sync or async), ``self.delivery``
  that engine Delivery (``aio``'s ``settle_on_exit``): its CONSUMER span is current inside;
- ``lost``: ``Delivery._lost(self)``: a sent delivery dropped with its connection, with no
  outcome to come: its PRODUCER span ends as an error, the unsettled count goes down;
- ``attempt``: ``method(self)`` of an object with ``tries`` (0 on a first attempt) and a
  ``connection``: one connection attempt, a reconnect when ``tries`` is not 0.
"""

from __future__ import annotations

from typing import Callable

KINDS = frozenset(
    {"send", "settle", "outcome", "lost", "process", "receive", "activate", "attempt"}
)

POINTS: list[tuple[type, str, str]] = []
"""Every registered (class, method name, kind), in registration order."""

_apply: Callable[[type, str, str], None] | None = None  # set while tracing is on


def register(cls: type, name: str, kind: str) -> None:
    """Have tracing wrap ``cls.name`` as a ``kind`` hook point (at once if it is on)."""
    if kind not in KINDS:
        raise ValueError(f"unknown tracing hook kind {kind!r}; the kinds are {sorted(KINDS)}")
    if not callable(getattr(cls, name, None)):
        raise TypeError(f"{cls.__name__}.{name} is not a method")
    POINTS.append((cls, name, kind))
    if _apply is not None:
        _apply(cls, name, kind)


def set_applier(apply: Callable[[type, str, str], None] | None) -> None:
    """Tracing's switch: the function that wraps one point (None: tracing is off)."""
    global _apply
    _apply = apply
