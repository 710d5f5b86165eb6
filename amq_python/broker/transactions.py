"""The broker's transaction coordinator (AMQP 1.0 part 4, local transactions).

Theory of operation:

- A client's sender whose target is a coordinator is a control link. The first one on a
  connection makes that connection transactional: a ``TransactionScope`` becomes the scoped
  handler of every link of the connection (those attached before and after it), so the
  transactional checks below cost nothing on connections that never declare a transaction.
  The scope hands all other work to the broker's handler unchanged.
- ``declare`` on a control link: a new transaction, settled with ``declared(txn-id)``.
  ``discharge(txn-id, fail)``: ``fail`` false commits, true rolls back; settled as accepted. A
  txn-id this connection does not hold is rejected with ``amqp:transaction:unknown-id``.
- Transactional posting: a transfer whose state is ``transactional-state(txn-id)`` is held by
  the transaction (answered with ``transactional-state(txn-id, accepted)``, settled) and
  published on commit, dropped on rollback. An unknown txn-id is rejected as above.
- Transactional retirement: a consumer's disposition ``transactional-state(txn-id, outcome)``
  takes the message from that consumer into the transaction. On commit the outcome applies
  (accepted or rejected: gone; released or modified: back in the queue) and our end of the
  delivery is settled; on rollback the message goes back to its queue (one more failed
  delivery attempt), available to consumers again.
- A control link that detaches, or a connection that ends, rolls back its undischarged
  transactions.
- Transaction ids belong to the connection that declared them. A transactional transfer on a
  connection that never attached a control link is not looked at (that would cost every
  message on every connection): it is enqueued as a plain one.
"""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING, Any

from amq_python import (
    Condition,
    Connection,
    Delivery,
    Described,
    Event,
    Link,
    Message,
    Receiver,
    Terminus,
    symbol,
    ulong,
)
from amq_python.handlers import MessagingHandler

from .queues import Entry, Queue

if TYPE_CHECKING:
    from .handler import BrokerHandler

log = logging.getLogger("amq_python.broker")

DECLARE = (symbol("amqp:declare:list"), ulong(0x31))
DISCHARGE = (symbol("amqp:discharge:list"), ulong(0x32))
DECLARED = 0x33
TRANSACTIONAL_STATE = 0x34
ACCEPTED_OUTCOME = Described(ulong(0x24), [])
UNKNOWN_ID = "amqp:transaction:unknown-id"
# Outcome codes (by descriptor code or name) that consume a message when their transaction
# commits; any other outcome gives it back to its queue.
CONSUMING = {ulong(0x24), ulong(0x25), symbol("amqp:accepted:list"), symbol("amqp:rejected:list")}

_txn_ids = itertools.count(1)


class Transaction:
    """One declared transaction: the messages it posts and the messages it retires."""

    __slots__ = ("id", "controller", "posted", "retired")

    def __init__(self, controller: Link) -> None:
        self.id = b"txn-%d" % next(_txn_ids)
        self.controller = controller
        self.posted: list[tuple[str, Message]] = []
        self.retired: list[tuple[Queue, Entry, Delivery, bool]] = []  # ..., consumed on commit

    def commit(self, broker: BrokerHandler) -> None:
        """Publish what was posted; apply the retirements' outcomes."""
        for address, message in self.posted:
            broker.registry.publish(address, message)
        self._give_back([(queue, entry) for queue, entry, _, consumed in self.retired
                         if not consumed], failed=False)
        for _queue, _entry, delivery, _consumed in self.retired:
            delivery.settle()

    def rollback(self) -> None:
        """Drop what was posted; give every retired message back to its queue."""
        self._give_back([(queue, entry) for queue, entry, _, _ in self.retired], failed=True)

    @staticmethod
    def _give_back(entries: list[tuple[Queue, Entry]], failed: bool) -> None:
        """Every entry back in its place first, then each queue offers them (in order)."""
        queues: dict[Queue, list[Entry]] = {}
        for queue, entry in entries:
            queues.setdefault(queue, []).append(entry)
        for queue, taken in queues.items():
            queue.give_back(taken, failed)


def _txn_id(delivery: Delivery) -> bytes | None:
    """The txn-id of a delivery's remote transactional state (None if it has none)."""
    data = delivery.remote.data
    if not data or data[0] is None:
        return None
    return bytes(data[0])


class TransactionScope(MessagingHandler):
    """The handler of every link of one transactional connection: its control links, and its
    producers' and consumers' transactional work; everything else goes to the broker."""

    def __init__(self, broker: BrokerHandler, connection: Connection) -> None:
        super().__init__(prefetch=broker.prefetch, auto_accept=False)
        self.broker = broker
        self.connection = connection
        self.controllers: set[Link] = set()
        self.transactions: dict[bytes, Transaction] = {}

    def add_controller(self, link: Receiver) -> None:
        """Answer a control link's attach as the coordinator."""
        link.target.type = Terminus.COORDINATOR
        self.controllers.add(link)
        log.info("transaction controller %s attached", link.name)

    def adopt(self, link: Link) -> None:
        """Handle ``link``'s events from now on."""
        link.handler = self

    def end(self) -> None:
        """The connection is over: roll back whatever it left undischarged."""
        for transaction in list(self.transactions.values()):
            self._rollback(transaction, "its connection ended")
        self.transactions.clear()

    # ----- control links -----

    def _control(self, delivery: Delivery, body: Any, link: Link) -> None:
        if isinstance(body, Described) and body.descriptor in DECLARE:
            self._declare(delivery, body.value, link)
        elif isinstance(body, Described) and body.descriptor in DISCHARGE:
            self._discharge(delivery, body.value)
        else:
            log.warning("control link %s: not a declare or discharge: rejected", link.name)
            self._reject(delivery, "amqp:decode-error", "not a declare or a discharge")

    def _declare(self, delivery: Delivery, fields: Any, link: Link) -> None:
        if isinstance(fields, list) and fields and fields[0] is not None:
            self._reject(delivery, "amqp:not-implemented",
                         "distributed transactions (a global-id) are not supported")
            return
        transaction = Transaction(link)
        self.transactions[transaction.id] = transaction
        delivery.local.data = [transaction.id]
        delivery.update(DECLARED)
        delivery.settle()
        log.info("transaction %s declared", transaction.id.decode())

    def _discharge(self, delivery: Delivery, fields: Any) -> None:
        txn_id = fields[0] if isinstance(fields, list) and fields else None
        transaction = self.transactions.pop(bytes(txn_id), None) if txn_id is not None else None
        if transaction is None:
            log.warning("discharge of unknown transaction %r: rejected", txn_id)
            self._reject(delivery, UNKNOWN_ID, "no such transaction on this connection")
            return
        if len(fields) > 1 and fields[1]:
            self._rollback(transaction, "the client asked")
        else:
            transaction.commit(self.broker)
            log.info("transaction %s committed (%d posted, %d retired)", transaction.id.decode(),
                     len(transaction.posted), len(transaction.retired))
        self.accept(delivery)

    def _rollback(self, transaction: Transaction, why: str) -> None:
        transaction.rollback()
        log.info("transaction %s rolled back (%s): %d posted dropped, %d retired given back",
                 transaction.id.decode(), why, len(transaction.posted), len(transaction.retired))

    @staticmethod
    def _reject(delivery: Delivery, name: str, description: str) -> None:
        delivery.local.condition = Condition(name, description)
        delivery.update(Delivery.REJECTED)
        delivery.settle()

    # ----- transactional work on other links -----

    def on_message(self, event: Event) -> None:
        """A control message, a transactional transfer, or a plain one (for the broker)."""
        delivery: Delivery = event.delivery
        link = delivery.link
        if link in self.controllers:
            self._control(delivery, event.message.body, link)
        elif delivery.remote_state == TRANSACTIONAL_STATE:
            self._post(delivery, event.message, link)
        else:
            self.broker.on_message(event)

    def _post(self, delivery: Delivery, message: Message, link: Link) -> None:
        txn_id = _txn_id(delivery)
        transaction = self.transactions.get(txn_id) if txn_id is not None else None
        if transaction is None:
            log.warning("transfer in unknown transaction %r on %s: rejected", txn_id, link.name)
            self._reject(delivery, UNKNOWN_ID, "no such transaction on this connection")
            return
        address = link.target.address or message.address
        if not address:
            log.warning("message without an address on anonymous relay %s: rejected", link.name)
            self._reject(delivery, "amqp:not-found", "the message has no address")
            return
        transaction.posted.append((address, message))
        delivery.local.data = [transaction.id, ACCEPTED_OUTCOME]
        delivery.update(TRANSACTIONAL_STATE)
        delivery.settle()

    def on_delivery(self, event: Event) -> None:
        """A consumer's transactional disposition takes its message into the transaction (the
        child handlers then see no outcome they know, and a settlement finds nothing left)."""
        delivery: Delivery = event.delivery
        link = delivery.link
        if not link.is_sender or delivery.remote_state != TRANSACTIONAL_STATE:
            return
        feed = self.broker.feed(link)
        txn_id = _txn_id(delivery)
        transaction = self.transactions.get(txn_id) if txn_id is not None else None
        if feed is None or transaction is None:
            if transaction is None:
                log.warning("disposition in unknown transaction %r on %s: ignored",
                            txn_id, link.name)
            return
        entry = feed.take(link, delivery)
        if entry is None:
            return
        outcome = delivery.remote.data[1] if len(delivery.remote.data) > 1 else None
        consumed = isinstance(outcome, Described) and outcome.descriptor in CONSUMING
        transaction.retired.append((feed, entry, delivery, consumed))

    # ----- everything else: the broker's -----

    def on_sendable(self, event: Event) -> None:
        """A consumer has credit."""
        self.broker.on_sendable(event)

    def on_accepted(self, event: Event) -> None:
        """A plain outcome from a consumer."""
        self.broker.on_accepted(event)

    def on_rejected(self, event: Event) -> None:
        """A plain outcome from a consumer."""
        self.broker.on_rejected(event)

    def on_released(self, event: Event) -> None:
        """A plain outcome from a consumer."""
        self.broker.on_released(event)

    def on_settled(self, event: Event) -> None:
        """A consumer settled (a transactional settlement finds its message taken already)."""
        self.broker.on_settled(event)

    def on_link_closing(self, event: Event) -> None:
        """A control link detached: its undischarged transactions roll back."""
        self._controller_gone(event)
        self.broker.on_link_closing(event)

    def on_link_closed(self, event: Event) -> None:
        """Both ends detached."""
        self._controller_gone(event)
        self.broker.on_link_closed(event)

    def on_link_error(self, event: Event) -> None:
        """The client detached with an error."""
        self._controller_gone(event)
        self.broker.on_link_error(event)

    def _controller_gone(self, event: Event) -> None:
        link = event.link
        if link not in self.controllers:
            return
        self.controllers.discard(link)
        for txn_id, transaction in list(self.transactions.items()):
            if transaction.controller is link:
                del self.transactions[txn_id]
                self._rollback(transaction, "its control link detached")
