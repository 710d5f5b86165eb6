"""Producers and consumers on a 3-node RabbitMQ cluster while its nodes fail: the run behind
tests/test_rabbitmq_cluster.py and soak/cluster.py (``make soak-cluster``).

Producers are handler-API senders made with ``resend_unsettled=True`` and ``amq_python.aio``
senders (which resend by default); consumers are handler-API and ``aio`` receivers; all on one
asyncio loop (the handler API's Container runs there with ``run_async``). Each client has its
own connection with failover ``urls=[a, b, c]``, rotated so the clients spread over the nodes. A
failure hits the node that producer 0 is connected to: ``kill`` (SIGKILL, then restarted with
its data) or ``stop`` (SIGSTOP, found by the heartbeat; SIGCONT after three heartbeats). A
failure is due at given fractions of the messages accepted (the tests) or every ``period``
seconds (the soak), and never before the cluster is back in sync after the one before
(``RabbitCluster.wait_synced``), so it keeps a quorum with the whole log. Every message-id a
producer saw accepted must reach some consumer; duplicates and recovery times are counted.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from amq_python import Message, aio
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Backoff, Container
from tests.peers.rabbit_cluster import RabbitCluster

HEARTBEAT = 2.0
PREFETCH = 200


def _reconnect() -> Backoff:
    return Backoff(initial=0.1, max_delay=1.0)


@dataclass
class Plan:
    """What one run does: ``count`` messages to ``queue``; failures by ``how`` at the
    ``fail_at`` fractions of ``count`` accepted or, with ``period``, every ``period`` s until
    the producers are done; how many producers and consumers of each API (producer 0, whose
    node fails, is a handler-API one)."""

    queue: str
    count: int
    how: str = "kill"
    fail_at: tuple[float, ...] = ()
    period: float | None = None
    producers: int = 2
    aio_producers: int = 1
    handler_consumers: int = 1
    aio_consumers: int = 2
    body_size: int = 0

    @property
    def address(self) -> str:
        """The quorum queue as a target and a source (``/queue/NAME`` would redeclare it)."""
        return f"/amq/queue/{self.queue}"


@dataclass
class Failure:
    """One node failure: which node, when, how long until producer 0's first acceptance
    through another node (``recovered``), until the node was back (its queue members online,
    ``online``) and how many log entries its member was then behind its leader (``lag``), and
    until the cluster was in sync again (``synced``)."""

    node: str
    url: str
    at: float
    to: str = "?"
    recovered: float | None = None
    online: float | None = None
    lag: int | None = None
    synced: float | None = None

    def row(self) -> str:
        """``a->b 1.23 s (back 7.1 s, 2345 entries behind; in sync 12.9 s)``."""
        recovered = "-" if self.recovered is None else f"{self.recovered:.2f} s"
        online = "-" if self.online is None else f"{self.online:.1f} s"
        synced = "-" if self.synced is None else f"{self.synced:.1f} s"
        return (f"{self.node}->{self.to} {recovered} (back {online}, {self.lag} entries "
                f"behind; in sync {synced})")


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
        self.body = "x" * run.plan.body_size

    def start(self, container: Container, urls: list[str]) -> None:
        self.connection = container.connect(
            urls=urls, heartbeat=HEARTBEAT, reconnect=_reconnect(), handler=self
        )
        self.sender = container.create_sender(
            self.connection, self.run.plan.address, resend_unsettled=True
        )

    def on_sendable(self, event: Any) -> None:
        self.send()

    def send(self) -> None:
        """Send while there is credit, up to what the run allows now (see ClusterRun.allowed)."""
        sender = self.sender
        allowed = self.run.allowed(len(self.ids))
        while sender.credit > 0 and (self.again or self.next < allowed):
            if self.again:
                ident = self.again.popleft()
            else:
                ident = self.ids[self.next]
                self.next += 1
            message = Message(id=ident, body=self.body or ident, durable=True)
            self.by_delivery[sender.send(message)] = ident

    def on_accepted(self, event: Any) -> None:
        ident = self.by_delivery.pop(event.delivery)
        if ident not in self.accepted:
            self.accepted.add(ident)
            self.run.accepted_by(self, event.connection.connected_address)

    def on_rejected(self, event: Any) -> None:
        self.on_released(event)

    def on_released(self, event: Any) -> None:
        """Not accepted: the application sends it again (resend_unsettled covers only the
        messages whose outcome was lost)."""
        self.again.append(self.by_delivery.pop(event.delivery))
        self.run.resent_by_app += 1

    @property
    def done(self) -> bool:
        return len(self.accepted) == len(self.ids)


class AioProducer:
    """Sends its share of ids on an ``aio`` sender (resending by default): ``submit()`` waits
    for credit and for room under ``max_unsettled``; each Tracker's outcome is recorded."""

    def __init__(self, run: ClusterRun, index: int, count: int) -> None:
        self.run = run
        self.index = index
        self.ids = [f"p{index}-{n}" for n in range(count)]
        self.next = 0
        self.accepted: set[str] = set()
        self.again: collections.deque[str] = collections.deque()
        self.body = "x" * run.plan.body_size
        self.connection: aio.Connection | None = None
        self.sender: aio.Sender | None = None
        self.outcomes: set[asyncio.Task[None]] = set()

    async def produce(self, urls: list[str]) -> None:
        self.connection = await aio.connect(
            urls=urls, heartbeat=HEARTBEAT, reconnect=_reconnect()
        )
        self.sender = sender = await self.connection.open_sender(self.run.plan.address)
        while not self.done:
            if self.again:
                ident = self.again.popleft()
            elif self.next < self.run.allowed(len(self.ids)):
                ident = self.ids[self.next]
                self.next += 1
            else:
                await asyncio.sleep(0.05)
                continue
            message = Message(id=ident, body=self.body or ident, durable=True)
            tracker = await sender.submit(message)
            task = asyncio.ensure_future(self._outcome(ident, tracker))
            self.outcomes.add(task)
            task.add_done_callback(self.outcomes.discard)

    async def _outcome(self, ident: str, tracker: aio.Tracker) -> None:
        try:
            await tracker
        except (aio.MessageReleased, aio.MessageRejected, aio.MessageModified):
            self.again.append(ident)  # not accepted: sent again, as the handler producers do
            self.run.resent_by_app += 1
            return
        if ident not in self.accepted:
            self.accepted.add(ident)
            assert self.connection is not None
            self.run.accepted_by(self, self.connection.connection.connected_address)

    def send(self) -> None:
        """Nothing to do: ``produce()`` sends as soon as the run allows."""

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    @property
    def done(self) -> bool:
        return len(self.accepted) == len(self.ids)


def _drop(connection: Any) -> None:
    """RabbitMQ 3.10 may end a session when a node dies (its AMQP 1.0 session process crashes
    on a publish nacked during a leader election, or a quorum member's log fails). For a
    resending sender's session the library then handles the connection as lost itself (its
    warning is counted in ``sessions_ended``); a consumer treats it so here, so the reconnect
    re-attaches everything."""
    channel = connection._channel
    if channel is not None and channel.sock is not None:
        channel.sock.shutdown(socket.SHUT_RDWR)


class Consumer(MessagingHandler):
    """A handler-API receiver that accepts every message and counts its id."""

    def __init__(self, run: ClusterRun) -> None:
        super().__init__(prefetch=PREFETCH)
        self.run = run

    def start(self, container: Container, urls: list[str]) -> None:
        self.connection = container.connect(
            urls=urls, heartbeat=HEARTBEAT, reconnect=_reconnect(), handler=self
        )
        container.create_receiver(self.connection, self.run.plan.address)

    def on_message(self, event: Any) -> None:
        self.run.received[event.message.id] += 1

    def on_session_error(self, event: Any) -> None:
        self.run.session_error(event.session.remote_condition, event.connection)

    def on_link_error(self, event: Any) -> None:
        self.run.session_error(event.link.remote_condition, event.connection)


class AioConsumer:
    """An ``amq_python.aio`` receiver that accepts every message and counts its id. A
    delivery from before a lost connection raises StaleDelivery when accepted (the broker
    sends it again): counted, not an error. A receiver the broker detaches is opened again."""

    def __init__(self, run: ClusterRun) -> None:
        self.run = run
        self.connection: aio.Connection | None = None

    async def consume(self, urls: list[str]) -> None:
        run = self.run
        self.connection = conn = await aio.connect(
            urls=urls, heartbeat=HEARTBEAT, reconnect=_reconnect()
        )
        while True:
            try:
                receiver = await conn.open_receiver(run.plan.address, credit=PREFETCH)
                async for delivery in receiver:
                    run.received[delivery.message.id] += 1
                    try:
                        delivery.accept()
                    except aio.StaleDelivery:
                        run.stale_accepts += 1
            except aio.ConnectionLost as e:
                run.aio_errors.append(f"{type(e).__name__}: {e}"[:160])
            except Exception as e:  # noqa: BLE001 - a detached link: open a new one
                if run.finished:
                    return
                run.aio_errors.append(f"{type(e).__name__}: {e}"[:160])
                await asyncio.sleep(0.5)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()


@dataclass
class Results:
    """What a run counted."""

    accepted: int = 0
    received: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: int = 0
    failures: list[Failure] = field(default_factory=list)
    session_errors: list[str] = field(default_factory=list)
    sessions_ended: int = 0
    aio_errors: list[str] = field(default_factory=list)
    stale_accepts: int = 0
    resent_by_app: int = 0
    seconds: float = 0.0

    def summary(self, plan: Plan, cluster_start: float) -> str:
        """One paragraph for the test's output and the soak's report."""
        return (
            f"{plan.how}: {plan.count} messages, {len(self.failures)} failures, accepted "
            f"{self.accepted}, received {self.received} distinct, lost {len(self.lost)}, "
            f"duplicates {self.duplicates}; producer 0's next acceptance and the cluster back "
            f"in sync per failure (node->node): {[f.row() for f in self.failures]}; producer "
            f"sessions ended by the broker, handled as lost connections {self.sessions_ended}; "
            f"consumer session errors {len(self.session_errors)} {self.session_errors[:3]}, "
            f"aio consumer errors "
            f"{len(self.aio_errors)} {self.aio_errors[:3]}, stale accepts (aio) "
            f"{self.stale_accepts}, resent by the application {self.resent_by_app}; run "
            f"{self.seconds:.1f} s, cluster start {cluster_start:.1f} s"
        )


class _SessionsEnded(logging.Handler):
    """Counts the library's warnings that a connection was lost because the broker ended a
    resending sender's session with an error (``Container._peer_ending``)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "session ended by the peer" in record.getMessage():
            self.count += 1


class ClusterRun(MessagingHandler):
    """Drives one run (see the module docstring); ``run()`` returns its Results."""

    def __init__(self, cluster: RabbitCluster, plan: Plan) -> None:
        super().__init__()
        self.cluster = cluster
        self.plan = plan
        n = plan.producers + plan.aio_producers
        shares = [plan.count // n + (i < plan.count % n) for i in range(n)]
        self.producers: list[Producer | AioProducer] = [
            Producer(self, i, share) if i < plan.producers else AioProducer(self, i, share)
            for i, share in enumerate(shares)
        ]
        self.consumers = [Consumer(self) for _ in range(plan.handler_consumers)]
        self.aio_consumers = [AioConsumer(self) for _ in range(plan.aio_consumers)]
        self.received: collections.Counter[str] = collections.Counter()
        self.accepted = 0
        self.fail_at = [int(plan.count * f) for f in plan.fail_at]
        self.failures: list[Failure] = []
        self.recovery: threading.Thread | None = None
        self.recovery_error: BaseException | None = None
        self.session_errors: list[str] = []
        self.sessions_ended = _SessionsEnded()
        self.aio_errors: list[str] = []
        self.stale_accepts = 0
        self.resent_by_app = 0
        self.started = 0.0
        self.finished = False

    # ----- the schedule -----

    def allowed(self, share: int) -> int:
        """How many of its ``share`` a producer may have sent by now: with ``fail_at``, up to
        the next failure's fraction plus an eighth of the run until every failure has
        happened, so traffic is flowing at each failure and the run cannot end before them."""
        if not self.plan.fail_at:
            return share
        done = len(self.failures)
        if done == len(self.plan.fail_at):
            return share
        return int(share * min(1.0, self.plan.fail_at[done] + 0.125))

    def _due(self) -> bool:
        if self.recovery is not None and self.recovery.is_alive():
            return False
        if self.plan.period is not None:
            last = self.failures[-1].at if self.failures else self.started
            return not all(p.done for p in self.producers) and (
                time.monotonic() - last >= self.plan.period
            )
        return bool(self.fail_at) and self.accepted >= self.fail_at[0]

    def _maybe_fail(self) -> None:
        first = self.producers[0]
        assert isinstance(first, Producer)
        url = first.connection.connected_address
        if url is None or not self._due():
            return
        if self.fail_at:
            self.fail_at.pop(0)
        node = self.cluster.node_at(url)
        failure = Failure(node.letter, url, time.monotonic())
        self.failures.append(failure)
        if self.plan.how == "kill":
            self.cluster.kill(node.letter)
        else:
            self.cluster.pause(node.letter)
        self.recovery = threading.Thread(target=self._recover, args=(failure,), daemon=True)
        self.recovery.start()

    def _recover(self, failure: Failure) -> None:
        """Bring the failed node back and wait until the cluster is in sync (a thread)."""
        try:
            if self.plan.how == "kill":
                self.cluster.restart(failure.node, synced=False)
            else:
                time.sleep(3 * HEARTBEAT)
                self.cluster.resume(failure.node)
            failure.online = time.monotonic() - failure.at
            failure.lag = self.cluster.member_lag(failure.node)
            self.cluster.wait_synced()
            failure.synced = time.monotonic() - failure.at
        except BaseException as e:  # noqa: BLE001 - reported by the run
            self.recovery_error = e

    # ----- events -----

    def on_start(self, event: Any) -> None:
        self.started = time.monotonic()
        urls = self.cluster.urls
        clients: list[Any] = [*self.producers, *self.consumers, *self.aio_consumers]
        loop = asyncio.get_running_loop()
        for i, client in enumerate(clients):
            k = i % len(urls)
            rotated = urls[k:] + urls[:k]
            if isinstance(client, AioConsumer):
                self.tasks.append(loop.create_task(client.consume(rotated)))
            elif isinstance(client, AioProducer):
                self.tasks.append(loop.create_task(client.produce(rotated)))
            else:
                client.start(event.container, rotated)
        event.container.schedule(0.25, self)

    def accepted_by(self, producer: Producer | AioProducer, address: str | None) -> None:
        self.accepted += 1
        failure = self.failures[-1] if self.failures else None
        if producer.index == 0 and failure is not None and failure.recovered is None:
            if address is not None and address != failure.url:
                failure.recovered = time.monotonic() - failure.at
                failure.to = self.cluster.node_at(address).letter
        self._maybe_fail()

    def session_error(self, condition: Any, connection: Any) -> None:
        self.session_errors.append(f"{condition.name}: {condition.description}"[:160])
        _drop(connection)

    def on_timer_task(self, event: Any) -> None:
        if self.recovery_error is not None:
            raise RuntimeError("a failed node did not come back") from self.recovery_error
        self._maybe_fail()
        for producer in self.producers:
            producer.send()
        if self._complete():
            self.finished = True
            for client in [*self.producers, *self.consumers]:
                if isinstance(client, (Producer, Consumer)):
                    client.connection.close()
            event.container.stop()
            return
        event.container.schedule(0.25, self)

    def _complete(self) -> bool:
        if not all(p.done for p in self.producers) or self.fail_at:
            return False
        if self.recovery is not None and self.recovery.is_alive():
            return False
        received = self.received
        if len(received) < self.accepted:  # cheap: some accepted id is missing
            return False
        return all(i in received for p in self.producers for i in p.accepted)

    # ----- the run -----

    async def _main(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []
        try:
            await Container(self).run_async()
        finally:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            aio_clients = [*self.aio_consumers, *self.producers]
            await asyncio.gather(
                *(c.close() for c in aio_clients if isinstance(c, (AioConsumer, AioProducer))),
                return_exceptions=True,
            )

    def run(self) -> Results:
        """Run to the end (every accepted id received); the counts, also when it fails
        (``progress``)."""
        log = logging.getLogger("amq_python.connection")
        log.addHandler(self.sessions_ended)
        try:
            asyncio.run(self._main())
        finally:
            log.removeHandler(self.sessions_ended)
            if self.recovery is not None:
                self.recovery.join()
        return self.results()

    def progress(self) -> str:
        """Each producer's acceptances, unsettled messages, credit and node (while its link
        is still there): for a run that fails."""
        rows = []
        for p in self.producers:
            sender: Any = p.sender
            engine = sender if isinstance(p, Producer) else getattr(sender, "link", None)
            conn: Any = p.connection if isinstance(p, Producer) else getattr(
                p.connection, "connection", None
            )
            link = "freed" if engine is None or engine._impl is None else (
                f"unsettled {engine.unsettled}, credit {engine.credit}"
            )
            address = None if conn is None else conn.connected_address
            rows.append(
                f"p{p.index}: {len(p.accepted)}/{len(p.ids)} accepted, sent {p.next}, {link}, "
                f"at {address}"
            )
        return f"{'; '.join(rows)}; received {len(self.received)}"

    def results(self) -> Results:
        """The counts so far."""
        accepted = set().union(*(p.accepted for p in self.producers))
        return Results(
            accepted=len(accepted),
            received=len(self.received),
            lost=sorted(accepted - set(self.received)),
            duplicates=sum(n - 1 for n in self.received.values()),
            failures=list(self.failures),
            session_errors=list(self.session_errors),
            sessions_ended=self.sessions_ended.count,
            aio_errors=list(self.aio_errors),
            stale_accepts=self.stale_accepts,
            resent_by_app=self.resent_by_app,
            seconds=time.monotonic() - self.started,
        )
