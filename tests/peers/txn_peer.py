"""A minimal AMQP broker with a transaction coordinator, written with python-qpid-proton.

No broker at hand implements AMQP transactions (python-qpid-proton has none; RabbitMQ 3.10's
AMQP 1.0 plug-in does not support them), so tests use this independent peer, for our client and
proton's alike.

Behaviour:
- Queues by address, handed to receivers in order as credit allows (as in ``proton_broker``).
- A link whose target is a coordinator is the transaction controller. A ``declare`` is settled
  with ``declared(txn-id)``; a ``discharge(txn-id, fail)`` is accepted, and then applies
  (commit) or discards (abort) the transaction's work; an unknown txn-id is rejected with
  ``amqp:transaction:unknown-id``.
- A message transferred with ``transactional-state(txn-id)`` is accepted and held: a commit puts
  it on its queue, an abort drops it.
- A delivery the client accepts with ``transactional-state(txn-id, accepted)`` is held: a commit
  consumes it, an abort puts its message back at the head of its queue.

Run as ``python -m tests.peers.txn_peer PORT``; prints ``READY`` once it listens.
Tests use the ``TxnPeer`` context manager.
"""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.peers.ports import free_port, wait_for_port
from tests.peers.procs import stop_group

_ROOT = Path(__file__).resolve().parents[2]
DECLARED = 0x33
TRANSACTIONAL_STATE = 0x34
DECLARE = ("amqp:declare:list", 0x31)
DISCHARGE = ("amqp:discharge:list", 0x32)


class TxnPeer:
    """Runs the peer in a subprocess on a free loopback port; ``url`` is where it listens."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"amqp://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> TxnPeer:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.peers.txn_peer", str(self.port)],
            cwd=_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not wait_for_port(self.port, 20):
            self.__exit__(None, None, None)
            raise RuntimeError(f"the transaction peer did not start listening on {self.port}")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None:
            stop_group(self.proc, grace=5)
            self.proc = None


def _serve(port: int) -> None:
    """The peer itself (python-qpid-proton), on 127.0.0.1:port until killed."""
    from proton import Condition, Delivery, Described, Message, Terminus
    from proton.handlers import MessagingHandler
    from proton.reactor import Container

    class Txn:
        def __init__(self) -> None:
            self.sent: list[tuple[str, Message]] = []
            self.accepted: list[tuple[Any, str, Message]] = []

    class Peer(MessagingHandler):
        def __init__(self) -> None:
            super().__init__(auto_accept=False)
            self.queues: dict[str, collections.deque[Message]] = collections.defaultdict(
                collections.deque
            )
            self.consumers: dict[str, list[Any]] = collections.defaultdict(list)
            self.in_flight: dict[Any, tuple[str, Message]] = {}
            self.txns: dict[bytes, Txn] = {}
            self.next_id = 0

        def on_start(self, event: Any) -> None:
            event.container.listen(f"127.0.0.1:{port}")
            print("READY", flush=True)

        def on_link_opening(self, event: Any) -> None:
            link = event.link
            if link.is_sender:
                link.source.address = link.remote_source.address
                self.consumers[link.source.address].append(link)
            elif link.remote_target.type == Terminus.COORDINATOR:
                link.target.type = Terminus.COORDINATOR
                link.target.copy(link.remote_target)
            else:
                link.target.address = link.remote_target.address

        def on_link_closing(self, event: Any) -> None:
            link = event.link
            if link.is_sender and link in self.consumers[link.source.address]:
                self.consumers[link.source.address].remove(link)

        def on_sendable(self, event: Any) -> None:
            self._pump(event.link.source.address)

        def _pump(self, address: str) -> None:
            queue = self.queues[address]
            for link in self.consumers.get(address, []):
                while queue and link.credit > 0:
                    message = queue.popleft()
                    self.in_flight[link.send(message)] = (address, message)

        def on_delivery(self, event: Any) -> None:
            delivery = event.delivery
            if event.link.is_sender and delivery.remote_state == TRANSACTIONAL_STATE:
                txn_id, _outcome = delivery.remote.data
                found = self.in_flight.pop(delivery, None)
                if found is not None and bytes(txn_id) in self.txns:
                    self.txns[bytes(txn_id)].accepted.append((delivery, *found))

        def on_settled(self, event: Any) -> None:
            self.in_flight.pop(event.delivery, None)

        def on_message(self, event: Any) -> None:
            delivery, message = event.delivery, event.message
            if event.link.target.type == Terminus.COORDINATOR:
                self._control(delivery, message.body)
                return
            address = event.link.target.address or message.address
            if delivery.remote_state == TRANSACTIONAL_STATE:
                txn = self.txns.get(bytes(delivery.remote.data[0]))
                if txn is None:
                    delivery.local.condition = Condition("amqp:transaction:unknown-id")
                    self.settle(delivery, Delivery.REJECTED)
                    return
                txn.sent.append((address, message))
            else:
                self.queues[address].append(message)
                self._pump(address)
            self.accept(delivery)

        def _control(self, delivery: Any, body: Any) -> None:
            if not isinstance(body, Described):
                self.settle(delivery, Delivery.REJECTED)
            elif body.descriptor in DECLARE:
                self.next_id += 1
                txn_id = b"txn-%d" % self.next_id
                self.txns[txn_id] = Txn()
                delivery.local.data = [txn_id]
                delivery.update(DECLARED)
                delivery.settle()
            elif body.descriptor in DISCHARGE:
                txn_id, fail = bytes(body.value[0]), bool(body.value[1])
                txn = self.txns.pop(txn_id, None)
                if txn is None:
                    delivery.local.condition = Condition("amqp:transaction:unknown-id")
                    self.settle(delivery, Delivery.REJECTED)
                    return
                self.accept(delivery)
                self._discharge(txn, fail)

        def _discharge(self, txn: Txn, fail: bool) -> None:
            touched = set()
            if not fail:
                for address, message in txn.sent:
                    self.queues[address].append(message)
                    touched.add(address)
            for delivery, address, message in reversed(txn.accepted):
                if fail:
                    self.queues[address].appendleft(message)
                    touched.add(address)
                delivery.settle()
            for address in touched:
                self._pump(address)

    Container(Peer()).run()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
