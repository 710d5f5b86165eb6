"""Local transactions (AMQP 1.0 part 4): declare, transactional send and accept, commit, abort.

``Transaction`` (public in ``reactor``) and ``TransactionHandler`` (public in ``handlers``) live
here; ``TransactionalClientHandler`` is in ``handlers`` beside the MessagingHandler it extends
(this module must not import ``handlers``, which imports it).

How a transaction goes:
1. ``Container.declare_transaction(connection, handler)`` opens, once per connection, a sender
   to a coordinator target (capability ``amqp:local-transactions``) whose events go to a
   ``_Coordinator``, and sends a ``declare`` on it.
2. The coordinator settles the declare with a ``declared`` outcome carrying the transaction id:
   the handler's ``on_transaction_declared(event)`` runs, ``event.transaction`` is the
   :class:`Transaction` (a rejected declare: ``on_transaction_declare_failed``).
3. ``transaction.send(sender, message)`` sends with ``transactional-state(txn-id)``;
   ``transaction.accept(delivery)`` sets ``transactional-state(txn-id, accepted)`` on a received
   delivery and, unless ``settle_before_discharge``, keeps it unsettled until the discharge.
4. ``commit()`` / ``abort()`` send a ``discharge(txn-id, fail)``. A commit the coordinator
   accepts: ``on_transaction_committed``, and the deliveries kept in step 3 are settled. An
   abort: ``on_transaction_aborted``, and those deliveries are released (as python-qpid-proton
   does: their messages are the coordinator's again). A rejected commit (e.g.
   ``amqp:transaction:unknown-id``): ``on_transaction_commit_failed``, the deliveries released.
   A rejected abort still reports ``on_transaction_aborted`` (nothing of it was applied;
   python-qpid-proton calls nothing, which leaves a program waiting).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._core._codec import Described, symbol, ulong
from .._core._delivery import ACCEPTED, REJECTED, RELEASED, Delivery
from .._core._endpoints import Connection, Sender, Terminus
from .._core._events import Event, call, dispatch
from .._core._link_options import SenderOption
from .._core._message import Message

if TYPE_CHECKING:
    from ._host import Host

DECLARE = symbol("amqp:declare:list")
DISCHARGE = symbol("amqp:discharge:list")
DECLARED = 0x33
TRANSACTIONAL_STATE = 0x34
LOCAL_TRANSACTIONS = symbol("amqp:local-transactions")


class TransactionHandler:
    """What a handler of transaction events implements (every method does nothing here)."""

    def on_transaction_declared(self, event: Event) -> None:
        """The transaction is declared: ``event.transaction`` can send and accept."""

    def on_transaction_committed(self, event: Event) -> None:
        """The coordinator committed the transaction."""

    def on_transaction_aborted(self, event: Event) -> None:
        """The coordinator rolled the transaction back."""

    def on_transaction_declare_failed(self, event: Event) -> None:
        """The coordinator refused to declare the transaction."""

    def on_transaction_commit_failed(self, event: Event) -> None:
        """The coordinator refused the commit: the transaction's work is not applied."""


class _CoordinatorTarget(SenderOption):
    """Makes the control link's target a coordinator for local transactions."""

    def apply(self, sender: Any) -> None:
        """Set the target type and capability before the link opens."""
        sender.target.type = Terminus.COORDINATOR
        sender.target.capabilities.put_object(LOCAL_TRANSACTIONS)


class _Coordinator:
    """The scoped handler of a connection's control link: routes the coordinator's outcomes
    to the transaction that sent each control message, and other link events (the link
    opening, closing or failing) to the handler of the latest transaction."""

    def __init__(self, container: Host) -> None:
        self.container = container
        self.handler: Any = None
        self.controls: dict[Delivery, Transaction] = {}

    def on_delivery(self, event: Event) -> None:
        """The coordinator answered a declare or discharge: hand the outcome over."""
        delivery = event.delivery
        if not delivery.remote_state and not delivery.settled:
            return
        transaction = self.controls.pop(delivery, None)
        if transaction is not None:
            event.transaction = transaction  # type: ignore[attr-defined]
            transaction.handle_outcome(event)
        delivery.settle()

    def on_unhandled(self, method: str, event: Event) -> None:
        """Pass other events of the control link on."""
        if self.handler is not None:
            dispatch(self.handler, event)
        else:
            for handler in self.container.handlers:
                dispatch(handler, event)


def declare(
    container: Host,
    context: Connection,
    handler: Any,
    settle_before_discharge: bool,
) -> Transaction:
    """``Container.declare_transaction``: the connection's control link (made on first use)
    and a new Transaction declared on it."""
    coordinator: _Coordinator | None = getattr(context, "_txn_coordinator", None)
    if coordinator is None:
        coordinator = _Coordinator(container)
        context._txn_coordinator = coordinator  # type: ignore[attr-defined]
        context._txn_ctrl = container.create_sender(  # type: ignore[attr-defined]
            context, None, name="txn-ctrl", handler=coordinator, options=_CoordinatorTarget()
        )
    coordinator.handler = handler
    return Transaction(context._txn_ctrl, handler, settle_before_discharge)  # type: ignore


class Transaction:
    """One local transaction on a connection (from ``Container.declare_transaction``).

    ``send`` and ``accept`` do work under it; ``commit`` or ``abort`` ends it. ``handler``
    receives its events (``on_transaction_declared``, ...; see :class:`TransactionHandler`),
    or the container's handlers when it is None.
    """

    def __init__(
        self,
        txn_ctrl: Sender,
        handler: TransactionHandler,
        settle_before_discharge: bool = False,
    ) -> None:
        self.txn_ctrl = txn_ctrl
        self.handler = handler
        self.settle_before_discharge = settle_before_discharge
        self.id: bytes | None = None
        self.failed = False
        self._declare: Delivery | None = None
        self._discharge: Delivery | None = None
        self._pending: list[Delivery] = []
        self.declare()

    def commit(self) -> None:
        """End the transaction, applying its work."""
        self.discharge(False)

    def abort(self) -> None:
        """End the transaction, undoing its work (sent messages are dropped, accepted ones
        become available again)."""
        self.discharge(True)

    def declare(self) -> None:
        """Ask the coordinator for a transaction id (done on construction)."""
        if self._declare is not None:
            raise RuntimeError("this transaction is already declared")
        self._declare = self._send_ctrl(DECLARE, [None])

    def discharge(self, failed: bool) -> None:
        """End the transaction: ``failed`` True rolls back, False commits."""
        if self.id is None:
            raise RuntimeError("the transaction is not declared yet (wait for "
                               "on_transaction_declared)")
        self.failed = failed
        self._discharge = self._send_ctrl(DISCHARGE, [self.id, failed])

    def _send_ctrl(self, descriptor: Any, value: Any) -> Delivery:
        delivery: Delivery = self.txn_ctrl.send(Message(body=Described(descriptor, value)))
        coordinator: _Coordinator = self.txn_ctrl.connection._txn_coordinator  # type: ignore
        coordinator.controls[delivery] = self
        return delivery

    def send(self, sender: Sender, msg: Message, tag: str | None = None) -> Delivery:
        """Send ``msg`` on ``sender`` as part of this transaction."""
        delivery: Delivery = sender.send(msg, tag=tag)
        delivery.local.data = [self.id]
        delivery.update(TRANSACTIONAL_STATE)
        return delivery

    def accept(self, delivery: Delivery) -> None:
        """Accept a received message as part of this transaction."""
        self.update(delivery, ACCEPTED)
        if self.settle_before_discharge:
            delivery.settle()
        else:
            self._pending.append(delivery)

    def update(self, delivery: Delivery, state: ulong | int | None = None) -> None:
        """Set ``delivery``'s state to ``state`` (an outcome code) within this transaction."""
        if state:
            delivery.local.data = [self.id, Described(ulong(state), [])]
            delivery.update(TRANSACTIONAL_STATE)

    def _settle_pending(self, release: bool) -> None:
        for delivery in self._pending:
            if release and not delivery.locally_settled:
                delivery.update(RELEASED)
            delivery.settle()
        self._pending = []

    def handle_outcome(self, event: Event) -> None:
        """The coordinator's answer to our declare or discharge (``event.delivery``)."""
        delivery: Delivery = event.delivery
        if delivery is self._declare:
            if delivery.remote_state == DECLARED:
                self.id = bytes(delivery.remote.data[0])
                self._notify("on_transaction_declared", event)
            else:
                self._notify("on_transaction_declare_failed", event)
        elif delivery is self._discharge:
            if self.failed:
                self._settle_pending(release=True)
                self._notify("on_transaction_aborted", event)
            elif delivery.remote_state == REJECTED:
                self._settle_pending(release=True)
                self._notify("on_transaction_commit_failed", event)
            else:
                self._settle_pending(release=False)
                self._notify("on_transaction_committed", event)

    def _notify(self, method: str, event: Event) -> None:
        if self.handler is not None:
            call(self.handler, method, event)
        else:
            coordinator: _Coordinator = self.txn_ctrl.connection._txn_coordinator
            for handler in coordinator.container.handlers:
                call(handler, method, event)
