"""The exceptions of ``amq_python.aio``: a message the peer did not accept, a connection lost
under a send, a delivery settled after a reconnect. All derive from ``ProtonException``."""

from __future__ import annotations

from typing import Any

from .._core._condition import Condition
from .._core._exceptions import ConnectionException, ProtonException


class MessageNotAccepted(ProtonException):
    """The peer settled a sent message with an outcome other than ACCEPTED."""

    def __init__(self, delivery: Any, condition: Condition | None = None) -> None:
        self.delivery = delivery
        self.condition = condition
        what = type(self).__name__.removeprefix("Message").lower()
        detail = f": {condition.name}: {condition.description}" if condition is not None else ""
        super().__init__(f"the peer {what} the message{detail}")


class MessageRejected(MessageNotAccepted):
    """The peer rejected the message (invalid; it will not be delivered); ``condition`` says
    why, when the peer said."""


class MessageReleased(MessageNotAccepted):
    """The peer released the message unprocessed: it may be sent again."""


class MessageModified(MessageNotAccepted):
    """The peer gave the message back modified: ``delivery_failed``, ``undeliverable_here``
    and ``annotations`` are the peer's."""

    def __init__(
        self,
        delivery: Any,
        delivery_failed: bool = False,
        undeliverable_here: bool = False,
        annotations: Any = None,
    ) -> None:
        super().__init__(delivery)
        self.delivery_failed = delivery_failed
        self.undeliverable_here = undeliverable_here
        self.annotations = annotations


class ConnectionLost(ConnectionException):
    """The connection dropped while a sent message waited for its outcome: the peer may or may
    not have it. ``condition`` is the transport's error, when there was one."""

    def __init__(self, condition: Condition | None = None) -> None:
        self.condition = condition
        detail = f": {condition.name}: {condition.description}" if condition is not None else ""
        super().__init__(f"the connection was lost before the outcome arrived{detail}")


class StaleDelivery(ProtonException):
    """The delivery arrived on a connection that has since been lost: it cannot be settled
    (the peer has forgotten it and will deliver the message again)."""


__all__ = [
    "ConnectionLost",
    "MessageModified",
    "MessageNotAccepted",
    "MessageRejected",
    "MessageReleased",
    "StaleDelivery",
]
