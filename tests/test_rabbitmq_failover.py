"""Failover between two RabbitMQ nodes: the node in use is killed (SIGKILL), the client goes on.

One connection with ``urls=[a, b]`` holds a sender and a receiver on the same queue. Once some
messages have gone through node a, a is killed in the middle of the stream; the same connection
reconnects to b, its links re-attach by themselves, and both sending and receiving go on there.
At most WINDOW messages are on their way at a time, so the kill comes mid-stream.
Messages a accepted die with it (each node has its own queues); every message b accepted must
come back from b. The nodes come from the module-scoped ``rabbitmq_pair`` fixture.
"""

from __future__ import annotations

from typing import Any

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Backoff, Container
from tests.peers.conftest_fixtures import certs, rabbitmq_pair  # noqa: F401 (fixtures)
from tests.peers.rabbitmq import RabbitMQ

TOTAL = 200
KILL_AFTER = 50  # messages received through node a before it is killed
WINDOW = 10  # messages sent and not yet received back, at most: node a dies mid-stream


class FailoverClient(MessagingHandler):
    """Sends TOTAL numbered messages at least once and receives them, over ``urls``.

    Records each (re)connection's address, which node accepted each message, and which node
    delivered each received one. Kills ``victim`` after KILL_AFTER messages came back from it.
    """

    def __init__(self, urls: list[str], address: str, victim: RabbitMQ) -> None:
        super().__init__(auto_accept=True)
        self.urls = urls
        self.address = address
        self.victim = victim
        self.connected: list[str] = []
        self.to_send = list(range(TOTAL))
        self.unaccepted: dict[Any, int] = {}  # delivery -> body, on the current connection
        self.in_flight: set[int] = set()  # sent on the current connection, not received yet
        self.accepted: dict[int, str] = {}  # body -> the address that accepted it
        self.received: list[tuple[int, str]] = []  # (body, the address that delivered it)
        self.errors: list[str] = []
        self.connection: Any = None
        self.sender: Any = None
        self.watchdog: Any = None

    def on_start(self, event: Any) -> None:
        """Connect (fast retries), open both links, start the watchdog."""
        container = event.container
        self.connection = container.connect(urls=self.urls, reconnect=Backoff(initial=0.1))
        self.sender = container.create_sender(self.connection, self.address)
        container.create_receiver(self.connection, self.address)
        self.watchdog = container.schedule(40, self)

    def on_timer_task(self, event: Any) -> None:
        """The watchdog: stop, and let the test's asserts say what is missing."""
        self.errors.append(f"still running after 40 s: connected={self.connected}")
        event.container.stop()

    def on_connection_opened(self, event: Any) -> None:
        """Note where we are connected."""
        self.connected.append(event.connection.connected_address)

    def on_sendable(self, event: Any) -> None:
        """Send what is waiting."""
        self._send()

    def _send(self) -> None:
        """Send what is waiting, as credit and the window allow."""
        while self.to_send and self.sender.credit > 0 and len(self.in_flight) < WINDOW:
            body = self.to_send.pop(0)
            self.in_flight.add(body)
            self.unaccepted[self.sender.send(Message(body=body))] = body

    def on_accepted(self, event: Any) -> None:
        """The node in use has the message."""
        self.accepted[self.unaccepted.pop(event.delivery)] = self.connected[-1]
        self._check_done(event)

    def on_message(self, event: Any) -> None:
        """A message came back; after KILL_AFTER of them through the first node, kill it."""
        self.received.append((event.message.body, self.connected[-1]))
        self.in_flight.discard(event.message.body)
        if len(self.connected) == 1 and len(self.received) == KILL_AFTER:
            self.victim.kill()
        else:
            self._send()
        self._check_done(event)

    def on_disconnected(self, event: Any) -> None:
        """Whatever was not accepted is sent again after the reconnect (at least once)."""
        self.to_send[:0] = sorted(self.unaccepted.values())
        self.unaccepted.clear()
        self.in_flight.clear()

    def _check_done(self, event: Any) -> None:
        if len(self.accepted) < TOTAL:
            return
        from_b = {body for body, node in self.accepted.items() if node != self.connected[0]}
        if from_b <= {body for body, node in self.received if node != self.connected[0]}:
            self.watchdog.cancel()
            self.connection.close()


def test_failover_when_a_node_is_killed(rabbitmq_pair: tuple[RabbitMQ, RabbitMQ]) -> None:  # noqa: F811
    """Node a is SIGKILLed mid-stream: sending and receiving go on through node b."""
    a, b = rabbitmq_pair
    client = FailoverClient([a.url, b.url], "/queue/failover", a)
    Container(client).run()
    assert not client.errors, client.errors
    assert len(client.connected) == 2, client.connected
    assert str(a.port) in client.connected[0] and str(b.port) in client.connected[1]
    assert set(client.accepted) == set(range(TOTAL))
    after = [body for body, node in client.received if node == client.connected[1]]
    accepted_by_b = sorted(body for body, node in client.accepted.items()
                           if node == client.connected[1])
    assert accepted_by_b, "nothing was sent through node b"
    assert sorted(set(after)) == accepted_by_b
    assert len(client.received) - len(after) >= KILL_AFTER
