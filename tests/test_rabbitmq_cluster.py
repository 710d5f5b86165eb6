"""At-least-once on a 3-node RabbitMQ 3.10 cluster with quorum queues (issue 15).

One cluster (tests/peers/rabbit_cluster.py) serves the module; each test has its own quorum
queue and starts only once the cluster is in sync (all three members of every queue caught up).

- Zero loss through three node failures (tests/cluster_run.py): 2 handler-API producers
  (``resend_unsettled=True``) and 1 ``aio`` producer (resending by default), 1 handler-API and
  2 ``aio`` consumers, failover ``urls=[a, b, c]``, 100,000 messages; the node producer 0 is
  connected to is killed (kill -9, restarted) or stopped (SIGSTOP, SIGCONT) three times. Every
  id a producer saw accepted must be received.
- Bounded memory: a producer with ``max_unsettled=1000`` whose node is stopped holds at most
  1,000 messages, and its resident memory stays flat while the heartbeat and the reconnect
  attempts go on.
- Stale settle: a delivery received before its connection was lost is accepted after the
  reconnect: a warning (handler API) or StaleDelivery (aio), and RabbitMQ delivers it again.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from amq_python import Message, aio
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Backoff, Container
from tests.cluster_run import ClusterRun, Plan
from tests.peers.listener_process import watchdog
from tests.peers.rabbit_cluster import RabbitCluster

QUEUES = {"kill": "q-kill", "stop": "q-stop", "memory": "q-memory", "stale": "q-stale"}

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def cluster() -> Iterator[RabbitCluster]:
    with RabbitCluster(list(QUEUES.values())) as running:
        yield running


@pytest.fixture
def synced(cluster: RabbitCluster) -> RabbitCluster:
    """The cluster with its three nodes running and every queue in sync: a node that a test
    before left stopped is resumed, one it left killed is restarted."""
    for letter, node in cluster.nodes.items():
        if node.proc is None:
            cluster.restart(letter, synced=False)
        else:
            cluster.resume(letter)
    cluster.wait_synced()
    return cluster


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_zero_loss_through_three_node_failures(synced: RabbitCluster, how: str) -> None:
    plan = Plan(queue=QUEUES[how], count=100_000, how=how, fail_at=(1 / 8, 3 / 8, 5 / 8))
    run = ClusterRun(synced, plan)
    with watchdog(240):
        try:
            results = run.run()
        except BaseException:
            print(f"\n{run.progress()}")
            raise
        finally:
            print(f"\n{run.results().summary(plan, synced.start_seconds)}")
    assert len(results.failures) == 3
    assert results.accepted == plan.count
    assert not results.lost, results.lost[:20]


def vm_rss_kib() -> int:
    """This process's resident memory (VmRSS in /proc/self/status), in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


class BoundedProducer(MessagingHandler):
    """Sends 1 KiB messages whenever it has credit, on a sender holding at most ``limit``
    unsettled; once ``before`` were accepted, stops (SIGSTOP) the node and then samples
    ``sender.unsettled`` and VmRSS every 0.2 s for ``watch`` seconds."""

    def __init__(self, cluster: RabbitCluster, limit: int, before: int, watch: float) -> None:
        super().__init__()
        self.cluster = cluster
        self.node = cluster.nodes["a"]
        self.limit = limit
        self.before = before
        self.watch = watch
        self.accepted = 0
        self.sent = 0
        self.most_unsettled = 0
        self.stopped_at: float | None = None
        self.samples: list[tuple[float, int, int]] = []  # (s after the stop, unsettled, KiB)
        self.disconnects = 0
        self.body = "x" * 1024

    def on_start(self, event: Any) -> None:
        connection = event.container.connect(
            self.node.url, heartbeat=1.0, reconnect=Backoff(initial=0.1, max_delay=0.5)
        )
        self.sender = event.container.create_sender(
            connection, f"/amq/queue/{QUEUES['memory']}", resend_unsettled=True,
            max_unsettled=self.limit,
        )

    def on_sendable(self, event: Any) -> None:
        self.send()

    def send(self) -> None:
        sender = self.sender
        while sender.credit > 0:
            sender.send(Message(id=self.sent, body=self.body))
            self.sent += 1
        self.most_unsettled = max(self.most_unsettled, sender.unsettled)

    def on_accepted(self, event: Any) -> None:
        self.accepted += 1
        if self.accepted == self.before:
            self.cluster.pause(self.node.letter)
            self.stopped_at = time.monotonic()
            event.container.schedule(0, self)

    def on_disconnected(self, event: Any) -> None:
        self.disconnects += 1

    def on_timer_task(self, event: Any) -> None:
        assert self.stopped_at is not None
        self.send()  # there is no credit to use: nothing is sent
        elapsed = time.monotonic() - self.stopped_at
        self.samples.append((elapsed, self.sender.unsettled, vm_rss_kib()))
        if elapsed >= self.watch:
            # Resumed first: a close waits for the peer's answer, which a stopped node never
            # sends.
            self.cluster.resume(self.node.letter)
            event.container.stop()
        else:
            event.container.schedule(0.2, self)


def test_bounded_memory_against_a_stopped_node(synced: RabbitCluster) -> None:
    handler = BoundedProducer(synced, limit=1000, before=5000, watch=8.0)
    with watchdog(90):
        try:
            Container(handler).run()
        finally:
            synced.resume("a")
    unsettled = [u for _t, u, _k in handler.samples]
    rss = [k for _t, _u, k in handler.samples]
    print(f"\nsent {handler.sent}, accepted {handler.accepted}, most unsettled "
          f"{handler.most_unsettled}, disconnects {handler.disconnects}, unsettled after the "
          f"stop {min(unsettled)}-{max(unsettled)}, VmRSS {rss[0]} -> {rss[-1]} KiB "
          f"(max {max(rss)})")
    assert handler.most_unsettled <= 1000
    assert max(unsettled) == 1000  # the limit, not the broker's credit, stopped the sender
    assert handler.disconnects >= 1  # the heartbeat found the stopped node
    # Flat: what it holds is bounded, so memory does not follow the time spent waiting
    # (an unbounded sender would have taken the broker's credit: tens of MiB of 1 KiB bodies).
    assert max(rss) - rss[0] < 8 * 1024, handler.samples


class StaleAccept(MessagingHandler):
    """Sends one message and receives it; drops the socket under the connection; accepts the
    old delivery once the broker has delivered the message again; drops the socket once more
    and accepts the third delivery. RabbitMQ requeues a message only when the connection (its
    channel) goes, so the third delivery shows the stale accept settled nothing."""

    def __init__(self, url: str, address: str) -> None:
        super().__init__(auto_accept=False)
        self.url = url
        self.address = address
        self.deliveries: list[Any] = []
        self.seen: list[tuple[Any, int]] = []  # (id, delivery_count)

    def on_start(self, event: Any) -> None:
        self.connection = event.container.connect(
            self.url, reconnect=Backoff(initial=0.05, max_delay=0.5)
        )
        event.container.create_sender(self.connection, self.address).send(Message(id="s1"))
        event.container.create_receiver(self.connection, self.address)

    def _drop(self) -> None:
        self.connection._channel.sock.shutdown(socket.SHUT_RDWR)

    def on_message(self, event: Any) -> None:
        self.deliveries.append(event.delivery)
        self.seen.append((event.message.id, event.message.delivery_count))
        if len(self.deliveries) == 1:
            self._drop()
        elif len(self.deliveries) == 2:
            self.accept(self.deliveries[0])  # stale: a warning, nothing on the wire
            self.accept(self.deliveries[0])  # the warning is given once
            self._drop()
        else:
            self.accept(event.delivery)
            event.connection.close()


def test_stale_accept_handler_api(synced: RabbitCluster, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="amq_python.delivery")
    handler = StaleAccept(synced.nodes["b"].url, f"/amq/queue/{QUEUES['stale']}")
    with watchdog(60):
        Container(handler).run()
    first, second, third = handler.deliveries
    assert first.stale and second.stale and not third.stale
    # The one message, delivered three times: the stale accept did not settle it. (RabbitMQ
    # 3.10 leaves delivery-count at 0 on these redeliveries.)
    assert [i for i, _count in handler.seen] == ["s1"] * 3, handler.seen
    warnings = [r.getMessage() for r in caplog.records if r.name == "amq_python.delivery"]
    assert len(warnings) == 1 and repr(first) in warnings[0], warnings


def test_stale_accept_aio(synced: RabbitCluster) -> None:
    address = f"/amq/queue/{QUEUES['stale']}"

    async def main() -> list[Any]:
        conn = await aio.connect(
            synced.nodes["c"].url, reconnect=Backoff(initial=0.05, max_delay=0.5)
        )
        sender = await conn.open_sender(address)
        await sender.send(Message(id="a1", body="a1"), timeout=10)
        receiver = await conn.open_receiver(address, credit=1)
        iterator = receiver.__aiter__()
        old = await asyncio.wait_for(iterator.__anext__(), 10)
        conn.connection._channel.sock.shutdown(socket.SHUT_RDWR)
        again = await asyncio.wait_for(iterator.__anext__(), 20)
        seen: list[Any] = [old.message.id, old.message.delivery_count, old.stale]
        try:
            old.accept()
        except aio.StaleDelivery:
            seen.append("StaleDelivery")
        seen += [again.message.id, again.message.delivery_count, again.stale]
        again.accept()
        await conn.close()
        return seen

    with watchdog(60):
        seen = asyncio.run(main())
    old_id, _old_count, old_stale, error, new_id, _new_count, new_stale = seen
    assert (old_id, old_stale, error) == ("a1", True, "StaleDelivery")
    assert (new_id, new_stale) == ("a1", False)  # RabbitMQ delivered it again
