"""The Reactor: the base of Container that owns its root ``handler`` and its ``global_handler``.

Where an event goes, as in python-qpid-proton:
1. To the handler scoped to its link, session or connection if one is set, else to the
   container's ``handler``: a root Handler whose children are the handlers the container was
   made with (``container.handler.add(h)`` adds one).
2. Then to the ``global_handler``, which sees every event, the container's own included
   (``on_reactor_init``, timers, ``on_reactor_final``). By default it is a Handler with no
   children; ``Container(global_handler=h)`` makes ``h`` its base, seen before any children.

Both are dispatched by table (see ``_events``). ``_targets`` and ``_global_targets`` are the
lists the container walks for each: while the root and the global handler are the plain ones
made here, these are their own child lists, so a child added at any time is seen, and a
global handler with no children costs the event loop one test of an empty list.
"""

from __future__ import annotations

from typing import Any

from .._core._events import Event, Handler, dispatch


class GlobalHandler(Handler):
    """The default ``global_handler``: its ``base`` (``Container(global_handler=...)``), then
    its children, see every event after the regular handlers."""

    def __init__(self, base: Any = None) -> None:
        self.base = base
        self.handlers: list[Any] = []
        # What the container dispatches to: the children list itself while there is no base.
        self._targets: list[Any] = self.handlers if base is None else [base]

    def add(self, handler: Any, on_error: Any = None) -> None:
        """Add a child handler; it sees every event after the base and earlier children."""
        self.handlers.append(handler)
        if self._targets is not self.handlers:
            self._targets.append(handler)


class Reactor:
    """Owns the root ``handler`` and the ``global_handler`` (python-qpid-proton's Reactor,
    whose event loop is Container's here)."""

    def __init__(self, *handlers: Any, **kwargs: Any) -> None:
        root = Handler()
        for handler in handlers:
            root.add(handler)
        self.handler = root
        self.global_handler = GlobalHandler(kwargs.get("global_handler"))

    @property
    def handler(self) -> Any:
        """The root handler: gets every event no link, session or connection handler takes;
        the container's handlers are its children (``handler.add(h)`` adds one)."""
        return self._handler

    @handler.setter
    def handler(self, handler: Any) -> None:
        self._handler = handler
        if type(handler) is Handler:
            self._targets: Any = handler.handlers
        else:
            self._targets = (handler,) if handler is not None else ()

    @property
    def global_handler(self) -> Any:
        """The handler that sees every event after the regular ones (see the module
        docstring); ``global_handler.add(h)`` adds one."""
        return self._global_handler

    @global_handler.setter
    def global_handler(self, handler: Any) -> None:
        self._global_handler = handler
        if isinstance(handler, GlobalHandler):
            self._global_targets: list[Any] = handler._targets
        else:
            self._global_targets = [handler] if handler is not None else []

    @property
    def handlers(self) -> Any:
        """The handlers the root handler stands for, in order (its children, or itself when
        it is not a plain Handler)."""
        return self._targets

    def _dispatch(self, event: Event, handler: Any = None) -> None:
        """Deliver an event the container made: to ``handler`` (None: the root handler), then
        to the global handler."""
        if handler is not None:
            dispatch(handler, event)
        else:
            for each in self._targets:
                dispatch(each, event)
        for each in self._global_targets:
            dispatch(each, event)


__all__ = ["GlobalHandler", "Reactor"]
