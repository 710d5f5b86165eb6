"""Zero loss through node failures of a 3-node RabbitMQ 3.10 cluster with a quorum queue.

Three producers (``resend_unsettled=True``) and three consumers, each one connection with
failover ``urls=[a, b, c]`` (rotated so they spread over the nodes), share the quorum queue
``q1``. Three times during the run the node that producer 0 is connected to fails: killed (kill
-9, then restarted so the cluster keeps its majority) in one test, stopped (SIGSTOP: found by the
heartbeat, then SIGCONT) in the other. Every message-id a producer saw ACCEPTED must reach some
consumer. Duplicates and the time from each failure to producer 0's first acceptance through
another node are printed (docs/reliability.md has the table). The cluster takes about 20 s to
start and each restart about 7 s; COUNT is sized so a test runs in about 1.5-3 minutes on 2 cores.
"""

from __future__ import annotations

import collections
import socket
import threading
import time
from typing import Any

import pytest

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Backoff, Container
from tests.peers.listener_process import watchdog
from tests.peers.rabbit_cluster import RabbitCluster

COUNT = 100_000  # messages in all, split between the producers (the number)
PRODUCERS = CONSUMERS = 3
FAILURES = 3
ADDRESS = "/amq/queue/q1"
HEARTBEAT = 2.0

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(400)]


class Producer(MessagingHandler):
    """Sends its share of ids on a resending sender; records each acceptance and the node."""

    def __init__(self, run: ClusterRun, index: int, count: int) -> None:
        super().__init__()
        self.run = run
        self.index = index
        self.ids = [f"p{index}-{n}" for n in range(count)]
        self.next = 0
        self.by_delivery: dict[Any, str] = {}
        self.accepted: set[str] = set()
        self.again: collections.deque[str] = collections.deque()
        self.nodes: list[str] = []

    def start(self, container: Container, urls: list[str]) -> None:
        self.connection = container.connect(
            urls=urls, heartbeat=HEARTBEAT, reconnect=Backoff(initial=0.1, max_delay=1.0),
            handler=self,
        )
        self.sender = container.create_sender(self.connection, ADDRESS, resend_unsettled=True)

    def on_connection_opened(self, event: Any) -> None:
        self.nodes.append(event.connection.connected_address)

    def on_sendable(self, event: Any) -> None:
        self.send()

    def send(self) -> None:
        """Send while there is credit, up to the next quarter of the ids after each failure
        (all once the failures are done), so traffic is flowing at every failure and the run
        cannot end before them."""
        sender = self.sender
        held = len(self.ids) * (len(self.run.failures) + 1) // (FAILURES + 1)
        while sender.credit > 0 and (self.again or self.next < held):
            if self.again:
                ident = self.again.popleft()
            else:
                ident = self.ids[self.next]
                self.next += 1
            self.by_delivery[sender.send(Message(id=ident, body=ident, durable=True))] = ident

    def on_accepted(self, event: Any) -> None:
        ident = self.by_delivery.pop(event.delivery)
        if ident not in self.accepted:
            self.accepted.add(ident)
            self.run.accepted_by(self, event.connection.connected_address)

    def on_rejected(self, event: Any) -> None:
        self.on_released(event)

    def on_released(self, event: Any) -> None:
        self.again.append(self.by_delivery.pop(event.delivery))
        self.run.resent_by_app += 1

    def on_session_error(self, event: Any) -> None:
        self.run.session_error(event.session.remote_condition, event.connection)

    def on_link_error(self, event: Any) -> None:
        self.run.session_error(event.link.remote_condition, event.connection)

    @property
    def done(self) -> bool:
        return len(self.accepted) == len(self.ids)


def _drop(connection: Any) -> None:
    """RabbitMQ 3.10 may end a session when a node dies (PEERS.md): treat it as one more lost
    connection, so the reconnect re-attaches everything."""
    channel = connection._channel
    if channel is not None and channel.sock is not None:
        channel.sock.shutdown(socket.SHUT_RDWR)


class Consumer(MessagingHandler):
    """Receives and accepts; counts every id."""

    def __init__(self, run: ClusterRun) -> None:
        super().__init__(prefetch=200)
        self.run = run

    def start(self, container: Container, urls: list[str]) -> None:
        self.connection = container.connect(
            urls=urls, heartbeat=HEARTBEAT, reconnect=Backoff(initial=0.1, max_delay=1.0),
            handler=self,
        )
        container.create_receiver(self.connection, ADDRESS)

    def on_message(self, event: Any) -> None:
        self.run.received[event.message.id] += 1

    def on_session_error(self, event: Any) -> None:
        self.run.session_error(event.session.remote_condition, event.connection)

    def on_link_error(self, event: Any) -> None:
        self.run.session_error(event.link.remote_condition, event.connection)


class ClusterRun(MessagingHandler):
    """Drives the run: fails producer 0's node at 1/8, 3/8 and 5/8 of the acceptances, each
    time only once the node failed before is back (so the cluster keeps its majority), brings
    it back in a thread, and ends when every accepted id has been received."""

    def __init__(self, cluster: RabbitCluster, how: str) -> None:
        super().__init__()
        self.cluster = cluster
        self.how = how
        shares = [COUNT // PRODUCERS + (i < COUNT % PRODUCERS) for i in range(PRODUCERS)]
        self.producers = [Producer(self, i, share) for i, share in enumerate(shares)]
        self.consumers = [Consumer(self) for _ in range(CONSUMERS)]
        self.received: collections.Counter[str] = collections.Counter()
        self.accepted = 0
        self.fail_at = [COUNT * k // 8 for k in (1, 3, 5)]  # each once the last one is back
        self.failures: list[dict[str, Any]] = []
        self.recoveries: list[threading.Thread] = []
        self.session_errors: list[str] = []
        self.resent_by_app = 0
        self.started = 0.0

    def on_start(self, event: Any) -> None:
        self.started = time.monotonic()
        urls = self.cluster.urls
        for i, client in enumerate([*self.producers, *self.consumers]):
            k = i % len(urls)
            client.start(event.container, urls[k:] + urls[:k])
        event.container.schedule(0.5, self)

    def accepted_by(self, producer: Producer, address: str | None) -> None:
        self.accepted += 1
        failure = self.failures[-1] if self.failures else None
        if producer.index == 0 and failure is not None and "recovered" not in failure:
            if address != failure["url"]:
                failure["recovered"] = time.monotonic() - failure["at"]
                failure["to"] = self.cluster.node_at(address).letter
        recovering = self.recoveries and self.recoveries[-1].is_alive()
        if self.fail_at and self.accepted >= self.fail_at[0] and not recovering:
            self.fail_at.pop(0)
            self.fail(self.producers[0].connection.connected_address)

    def fail(self, url: str | None) -> None:
        node = self.cluster.node_at(url)
        self.failures.append({"node": node.letter, "url": url, "at": time.monotonic()})
        if self.how == "kill":
            self.cluster.kill(node.letter)
            back = threading.Thread(target=self.cluster.restart, args=(node.letter,))
        else:
            self.cluster.pause(node.letter)
            back = threading.Thread(target=self._resume_later, args=(node.letter,))
        back.start()
        self.recoveries.append(back)

    def _resume_later(self, letter: str) -> None:
        time.sleep(3 * HEARTBEAT)
        self.cluster.resume(letter)
        self.cluster.wait_online(3)

    def session_error(self, condition: Any, connection: Any) -> None:
        self.session_errors.append(f"{condition.name}: {condition.description}"[:160])
        _drop(connection)

    def on_timer_task(self, event: Any) -> None:
        recovering = self.recoveries and self.recoveries[-1].is_alive()
        if self.fail_at and self.accepted >= self.fail_at[0] and not recovering:
            self.fail_at.pop(0)
            self.fail(self.producers[0].connection.connected_address)
        for producer in self.producers:
            producer.send()
        accepted = set().union(*(p.accepted for p in self.producers))
        if all(p.done for p in self.producers) and accepted <= set(self.received):
            for client in [*self.producers, *self.consumers]:
                client.connection.close()
            event.container.stop()
            return
        event.container.schedule(0.5, self)


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_zero_loss_through_three_node_failures(how: str) -> None:
    with RabbitCluster(["q1"]) as cluster, watchdog(360):
        run = ClusterRun(cluster, how)
        try:
            Container(run).run()
        finally:
            for thread in run.recoveries:
                thread.join()
            print(f"\n{how}: progress: accepted {run.accepted}, received "
                  f"{len(run.received)} distinct, failures {run.failures}, producers done "
                  f"{[p.done for p in run.producers]}, session errors {run.session_errors}")
        elapsed = time.monotonic() - run.started
    accepted = set().union(*(p.accepted for p in run.producers))
    lost = accepted - set(run.received)
    duplicates = sum(n - 1 for n in run.received.values())
    recoveries = [
        f"{f['node']}->{f.get('to', '?')} {f.get('recovered', float('nan')):.2f}"
        for f in run.failures
    ]
    print(
        f"\n{how}: {COUNT} messages, {len(run.failures)} failures, accepted {len(accepted)}, "
        f"lost {len(lost)}, duplicates {duplicates}, producer 0's next acceptance "
        f"(node->node s) {recoveries}, session errors {run.session_errors}, resent by the "
        f"application {run.resent_by_app}, run {elapsed:.1f} s, cluster start "
        f"{cluster.start_seconds:.1f} s"
    )
    assert len(run.failures) == FAILURES
    assert len(accepted) == COUNT
    assert not lost, sorted(lost)[:20]
