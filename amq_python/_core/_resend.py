"""At-least-once across reconnects: what links keep, and do when their transport is lost.

The engine resets a link's wire state when a transport is unbound; the Connector binds the next
one and the links re-attach (see ``_connector``). Around the unbind the container calls
``before_unbind`` and ``after_unbind``, which settle what the loss left:

- a sender made with ``resend_unsettled=True`` keeps each message it sent, encoded, until the
  message has an outcome (``Unsettled``); the messages without one are sent again on the
  re-attached link, in their order and before anything sent later, each by the application's
  own Delivery object (its C delivery is replaced, so its outcome events come to the same
  wrapper, once);
- every other delivery that was on the wire is ``stale``: the peer forgets it with the
  connection (a broker redelivers a message it had sent us), so settling it later has no effect
  on the new link (see ``Delivery.update``/``settle``);
- when no reconnect follows (``lost_for_good``), every sent delivery still without an outcome
  is dropped as ``lost``: none will come;
- a sender's ``credit`` is made the new peer's grant alone: the engine keeps what the old peer
  had granted and we had not used, so the sender counts it as an offset from then on.

A peer may also strand a resending sender's messages without losing the connection: a broker
fault ends the link's session with ``amqp:internal-error`` (RabbitMQ's quorum queues do so when
a replica's log fails) and its outcomes never come. ``ended_by_fault`` finds that case (and the
same for a receiver made to outlive it, as ``aio`` receivers are); the driver then handles the
connection as lost, so that reconnect and failover re-attach the link elsewhere and resend. (A
link the peer detached cannot be attached again: the engine matches the peer's next attach of
its name to a new link. A detach stays an error, as in python-qpid-proton.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from proton_ext import ffi, lib

from ._condition import Condition
from ._endpoints import Connection, Link, Sender, Session, Terminus
from ._exceptions import LinkException

if TYPE_CHECKING:
    from ._delivery import Delivery

DEFAULT_MAX_UNSETTLED = 1000
"""How many messages a resending sender holds without an outcome, unless told otherwise."""

RETRYABLE = frozenset({"amqp:internal-error"})
"""The conditions of a session end that another attempt may cure: a fault in the peer.
Refusals (not found, unauthorized, ...) are not: retrying them would only repeat them."""

_TERMINAL = frozenset({lib.PN_ACCEPTED, lib.PN_REJECTED, lib.PN_RELEASED, lib.PN_MODIFIED})


def enable(sender: Sender, max_unsettled: int = DEFAULT_MAX_UNSETTLED) -> None:
    """Make ``sender`` resend its messages without an outcome after a reconnect, holding at
    most ``max_unsettled`` of them."""
    sender._unsettled = Unsettled(sender, max_unsettled)


def _outcome_known(delivery: Delivery) -> bool:
    """The peer gave the delivery a terminal outcome or settled it (or we let go of it)."""
    impl = delivery._impl
    if impl is None:
        return True
    return lib.pn_delivery_settled(impl) or lib.pn_delivery_remote_state(impl) in _TERMINAL


class Unsettled:
    """A resending sender's messages without an outcome yet, in send order, with their encoded
    bytes; at most ``limit`` of them (beyond it the sender reports no credit)."""

    __slots__ = ("limit", "items", "sender", "_scanned")

    def __init__(self, sender: Sender, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"max_unsettled must be at least 1, got {limit}")
        self.sender = sender
        self.limit = limit
        self.items: dict[Delivery, bytes] = {}  # Sender.send adds each message it sends
        self._scanned = -1  # the container's pass in which room() last looked for outcomes

    def forget(self, delivery: Delivery) -> None:
        """Drop a settled delivery; if that makes room again, tell the application it may send
        (a LINK_FLOW event, so ``on_sendable`` follows when the sender has credit)."""
        items = self.items
        if items.pop(delivery, None) is not None and len(items) == self.limit - 1:
            container = self.sender.connection._container_obj
            if container is not None:
                from ._events import Event

                container.push_event(self.sender, Event.LINK_FLOW)

    def room(self) -> int:
        """How many more messages may be sent before the limit (dropping, first, those whose
        outcome is known but that the application has not settled).

        At the limit that takes a look at every message, so it is done once per container
        pass: outcomes only change when the peer's frames are read, and their events (hence
        a new pass) always follow. A sender that sits at the limit (window = max_unsettled)
        would else look at all of them on every credit check."""
        items = self.items
        if len(items) >= self.limit:
            container = self.sender.connection._container_obj
            passes = -2 if container is None else container._passes
            if passes != self._scanned:
                self._scanned = passes
                for delivery in [d for d in items if _outcome_known(d)]:
                    del items[delivery]
        return self.limit - len(items)

    def take_pending(self) -> list[tuple[Delivery, bytes]]:
        """Before the lost transport is unbound: the kept messages whose outcome is unknown, in
        order, to send again, each with its C delivery dropped (``Delivery._abort_quietly``);
        those with an outcome are forgotten.

        When none of them was written to the lost transport (a failed attempt, or credit never
        came), the engine still holds them all and sends them on the next link itself: nothing
        is taken. Else all are taken, so that the order holds; the engine then counts the ones
        it had not written as queued for good (its ``queued`` overcounts by them, and closing
        this sender alone waits for the connection to close)."""
        pending = [(d, b) for d, b in self.items.items() if not _outcome_known(d)]
        self.items = dict(pending)
        if not any(lib.pn_delivery_pending(d._impl) < len(b) for d, b in pending):
            return []
        for delivery, _ in pending:
            delivery._abort_quietly()
        return pending


def resend(sender: Sender, pending: list[tuple[Delivery, bytes]]) -> None:
    """After the unbind: send the messages again, in order, each under its old Delivery
    wrapper with a new C delivery."""
    impl = sender._live_impl()
    code = ffi.new("ssize_t *")
    for delivery, encoded in pending:
        tag = sender._tags()
        fresh = lib.amqx_send_message(impl, tag, len(tag), encoded, len(encoded), code)
        if fresh == ffi.NULL or code[0] < 0:
            raise LinkException(f"[{code[0]}]: cannot resend on link {sender.name!r}")
        delivery._rebind(fresh, tag)


Lost = list[tuple["Sender", list[tuple["Delivery", bytes]]]]


def before_unbind(connection: Connection) -> Lost:
    """The connection's transport is lost and another will be bound: take each resending
    sender's pending messages, drop the other senders' deliveries that were on the wire, and
    mark every delivery that cannot be settled any more ``stale``."""
    lost: Lost = []
    for link in [c for c in connection._children if isinstance(c, Link)]:
        if link._impl is None:
            continue
        if isinstance(link, Sender) and link._unsettled is not None:
            lost.append((link, link._unsettled.take_pending()))
            continue
        for delivery in list(link._deliveries.values()):
            impl = delivery._impl
            if delivery._local_settled or impl is None:
                continue
            if isinstance(link, Sender):
                if lib.pn_delivery_pending(impl):
                    continue  # never written: the engine sends it on the next transport
                delivery._lost()
            delivery.stale = True
    return lost


def lost_for_good(connection: Connection) -> None:
    """The connection's transport is lost and no other will be bound: every sent delivery
    with no outcome yet is ``lost`` (``Delivery._lost``), as no outcome can come."""
    for link in [c for c in connection._children if isinstance(c, Sender)]:
        if link._impl is None:
            continue
        for delivery in list(link._deliveries.values()):
            if not delivery._local_settled and not _outcome_known(delivery):
                delivery._lost()


def after_unbind(connection: Connection, lost: Lost) -> None:
    """The lost transport is unbound: every sender's credit counts from the next peer's grant
    (less the deliveries the engine still holds to send on it), and the resending senders send
    their pending messages again."""
    for link in [c for c in connection._children if isinstance(c, Sender)]:
        impl = link._impl
        if impl is not None:
            queued = lib.pn_link_queued(impl) - link._leaked
            link._credit_offset = lib.pn_link_credit(impl) + queued
    for sender, pending in lost:
        if sender._impl is not None:
            resend(sender, pending)


def ended_by_fault(session: Session) -> Condition | None:
    """The peer's condition when it ended ``session`` with a ``RETRYABLE`` error, unasked,
    while the session carried a resending sender that the peer had attached (its attach named
    a target: that sender's messages can get no outcome on this connection any more) or an
    attached receiver made to outlive faults (``Link._outlives_faults``). None otherwise (an
    orderly end, a refusal, no such link)."""
    if session._impl is None or session.state & lib.PN_LOCAL_CLOSED:
        return None
    condition = session.remote_condition
    if condition is None or condition.name not in RETRYABLE:
        return None
    for link in session.connection._children:
        if not isinstance(link, Link) or link._impl is None \
                or lib.pn_link_session(link._impl) != session._impl:
            continue
        if isinstance(link, Sender):
            if link._unsettled is not None and link.remote_target.type != Terminus.UNSPECIFIED:
                return condition
        elif link._outlives_faults and link.remote_source.type != Terminus.UNSPECIFIED:
            return condition
    return None
