"""Failover across two real peer processes: urls=[...] is a ring walked on each failure."""

from __future__ import annotations

from typing import Any

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.peers.listener_process import ListenerProcess, listeners, watchdog
from tests.peers.ports import free_port


class Failover(MessagingHandler):
    """Sends one message per open and checks it comes back through the re-attached links.

    After the first round trip (on peer A) it kills A; after the second (on B) it restarts A and
    then kills B; the third round trip ends the test. A is up before B dies, so the test waits
    for no reconnect back-off (it did, for up to 13 s, on a loaded machine).
    """

    def __init__(self, a: ListenerProcess, b: ListenerProcess) -> None:
        super().__init__()
        self.a = a
        self.b = b
        self.peers_seen: list[str] = []
        self.received: list[str] = []

    def on_start(self, event: Any) -> None:
        connection = event.container.connect(urls=[self.a.url, self.b.url])
        self.sender = event.container.create_sender(connection, "f")
        event.container.create_receiver(connection, "f")

    def on_connection_opened(self, event: Any) -> None:
        self.peers_seen.append(event.connection.remote_container)

    def on_link_opened(self, event: Any) -> None:
        if event.link is self.sender:
            self.sender.send(Message(body=self.peers_seen[-1]))

    def on_message(self, event: Any) -> None:
        self.received.append(event.message.body)
        if len(self.received) == 1:
            self.a.kill()
        elif len(self.received) == 2:
            self.a.start()
            self.b.kill()
        else:
            event.connection.close()


def test_failover_to_second_peer_and_back_to_first() -> None:
    with listeners(2) as (a, b), watchdog(30):
        handler = Failover(a, b)
        Container(handler).run()
    names = [f"peer-{a.port}", f"peer-{b.port}", f"peer-{a.port}"]
    assert handler.peers_seen == names
    assert handler.received == names


class FirstOpen(MessagingHandler):
    """Records where the connection opened, then closes it."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__()
        self.urls = urls
        self.opened_on: str | None = None

    def on_start(self, event: Any) -> None:
        self.connection = event.container.connect(urls=self.urls)

    def on_connection_opened(self, event: Any) -> None:
        self.opened_on = event.connection.remote_container
        event.connection.close()


def test_initial_connect_fails_over_past_a_dead_url() -> None:
    with listeners(1) as (peer,), watchdog(10):
        handler = FirstOpen([f"amqp://127.0.0.1:{free_port()}", peer.url])
        Container(handler).run()
    assert handler.opened_on == f"peer-{peer.port}"
    assert handler.connection._connector.delays == [0]
