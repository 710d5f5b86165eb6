"""Events about any Python object: what ``Container.push_event`` and ``Collector.put`` queue.

The engine's collector holds only the engine's events, so these wait in a Python queue:
1. ``python_event(obj, etype)`` (in ``_core._events``, which the Collector shares) makes the
   event. An Event (an ApplicationEvent, say) is its own event, as in python-qpid-proton; any
   other object becomes the context of a PythonEvent, whose link, session and connection come
   from the object's own type.
2. The container keeps pushed events in ``Container._pushed``. Each turn of its loop, before
   it waits on the selector, ``dispatch_pushed`` dispatches them oldest first (with those
   their handlers push), each to its handler (``event.handler``: the link's, session's or
   connection's, else the object's ``handler`` attribute) or else the container's handlers,
   then to the container's IOHandler, which watches selectables; the engine events each one
   causes are dispatched right after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._core._events import dispatch
from ._selectable import IOHandler

if TYPE_CHECKING:
    from ._host import Host

IO_HANDLER = IOHandler()


def dispatch_pushed(container: Host) -> None:
    """Dispatch the container's pushed events, oldest first, each followed by the engine
    events it caused (see the module docstring)."""
    queue = container._pushed
    while queue:
        event = queue.popleft()
        container._dispatch(event, event.handler)
        dispatch(IO_HANDLER, event)
        container._process_events()


__all__ = ["IO_HANDLER", "dispatch_pushed"]
