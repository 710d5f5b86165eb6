"""The Handler base class, apart from the event machinery so that endpoints can use it."""

from __future__ import annotations

from typing import Any


class _ChildHandlers:
    """``handler.handlers``: a list made on first use and kept on the handler, so a subclass
    need not call ``Handler.__init__`` (python-qpid-proton's Handler has none)."""

    def __get__(self, handler: Any, owner: Any = None) -> Any:
        if handler is None:
            return self
        children: list[Any] = []
        handler.__dict__["handlers"] = children
        return children


class Handler:
    """Base of event handlers: ``on_<event>`` methods, child ``handlers``, ``on_unhandled``."""

    handlers = _ChildHandlers()

    def add(self, handler: Any, on_error: Any = None) -> None:
        """Add a child handler; it sees every event after this handler (``on_error`` is
        ignored, as in python-qpid-proton: a handler's exception propagates)."""
        self.handlers.append(handler)
        self.__dict__.pop("_amq_table", None)
        self.__dict__.pop("_amq_calls", None)

    def on_unhandled(self, method: str, *args: Any) -> None:
        """Called with the method name when this handler has no method for an event."""


__all__ = ["Handler"]
