"""A bounded filter of message ids already seen, for consumers that want effectively-once
processing on top of at-least-once delivery (a resent or redelivered message comes again)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ._message import Message


class DuplicateFilter:
    """Remembers the ids of the last ``capacity`` messages it was shown; ``seen(message)`` is
    True for a message whose id it remembers. A message without an id is never a duplicate.
    The oldest ids are forgotten first, so a duplicate arriving more than ``capacity``
    messages later passes: size it to what can be in flight across a reconnect."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._ids: OrderedDict[Any, None] = OrderedDict()

    def seen(self, message: Message | Any) -> bool:
        """Whether this message (or message id) was seen before; remembers it if not."""
        ident = message.id if isinstance(message, Message) else message
        if ident is None:
            return False
        ids = self._ids
        if ident in ids:
            return True
        ids[ident] = None
        if len(ids) > self.capacity:
            ids.popitem(last=False)
        return False

    def __contains__(self, ident: Any) -> bool:
        return ident in self._ids

    def __len__(self) -> int:
        return len(self._ids)
