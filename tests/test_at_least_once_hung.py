"""A hung peer (SIGSTOP: alive, socket open, silent) is found by the heartbeat, and the client
fails over to the next URL; resent messages follow it there (issue 15)."""

from __future__ import annotations

import time
from typing import Any

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Backoff, Container
from tests.peers.listener_process import watchdog
from tests.test_at_least_once import credit_peer

HEARTBEAT = 1.0


class HangsThenFailsOver(MessagingHandler):
    """Sends one message to the first peer, stops that peer (SIGSTOP) once it has it, sends a
    second one, and ends when the second peer has both (the first was never settled)."""

    def __init__(self, first: Any, second: Any) -> None:
        super().__init__()
        self.first = first
        self.second = second
        self.paused_at: float | None = None
        self.lost_at: float | None = None
        self.errors: list[str] = []
        self.containers: list[str] = []

    def on_start(self, event: Any) -> None:
        connection = event.container.connect(
            urls=[self.first.url, self.second.url], heartbeat=HEARTBEAT,
            reconnect=Backoff(initial=0.05),
        )
        self.sender = event.container.create_sender(connection, "q", resend_unsettled=True)
        self.sender.send(Message(id="before"))
        event.container.schedule(0.05, self)

    def on_connection_opened(self, event: Any) -> None:
        self.containers.append(event.connection.connected_address)

    def on_transport_error(self, event: Any) -> None:
        condition = event.transport.condition
        self.errors.append(f"{condition.name}: {condition.description}")
        if self.lost_at is None:
            self.lost_at = time.monotonic()

    def on_timer_task(self, event: Any) -> None:
        if self.paused_at is None:
            if self.first.messages() == ["before"]:
                self.first.pause()
                self.paused_at = time.monotonic()
                self.sender.send(Message(id="during"))
        elif self.second.messages() == ["before", "during"]:
            event.container.stop()
            return
        event.container.schedule(0.05, self)


def test_a_stopped_peer_is_found_by_the_heartbeat_and_left_for_the_next_url() -> None:
    with credit_peer(10, "hold") as first, credit_peer(10, "accept") as second, watchdog(30):
        handler = HangsThenFailsOver(first, second)
        Container(handler).run()
        first.resume()
    assert handler.containers == [first.url, second.url]
    assert handler.errors[0] == "amqp:resource-limit-exceeded: local-idle-timeout expired"
    assert handler.paused_at is not None and handler.lost_at is not None
    print(f"hung peer detected {handler.lost_at - handler.paused_at:.2f} s after SIGSTOP "
          f"(heartbeat={HEARTBEAT} s)")
