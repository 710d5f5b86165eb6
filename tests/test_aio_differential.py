"""The same scenario through the handler API (``Container.run()``) and through ``aio``, each
against its own python-qpid-proton listener: the client sees the same outcomes, and the peer
records the same messages and the same outcomes of what it sent."""

from __future__ import annotations

from typing import Any

from amq_python import Message, aio
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.helpers import Peer, run
from tests.test_aio_container import run_on

SENT = [("m1", "accept"), ("m2", "reject"), ("m3", "release"), ("m4", "accept")]
# The peer queues what it accepted (m1, m4) for our receiver; we accept the first, reject the
# second.
DECISIONS = ["accept", "reject"]


def messages() -> list[Message]:
    # With ids: an aio sender (resending by default) gives a message without one its own.
    return [Message(id=body, body=body, properties={"outcome": outcome}) for body, outcome in SENT]


class HandlerClient(MessagingHandler):
    def __init__(self, url: str) -> None:
        super().__init__(auto_accept=False)
        self.url = url
        self.outcomes: dict[str, str] = {}
        self.bodies: dict[Any, str] = {}
        self.received: list[str] = []
        self.sent = False

    def on_start(self, event: Any) -> None:
        self.conn = event.container.connect(self.url, reconnect=False)
        event.container.create_sender(self.conn, "diff")

    def on_sendable(self, event: Any) -> None:
        if not self.sent:
            self.sent = True
            for message in messages():
                self.bodies[event.sender.send(message)] = message.body

    def outcome(self, event: Any, name: str) -> None:
        self.outcomes[self.bodies[event.delivery]] = name
        if len(self.outcomes) == len(SENT):
            event.container.create_receiver(self.conn, "diff")

    def on_accepted(self, event: Any) -> None:
        self.outcome(event, "accepted")

    def on_rejected(self, event: Any) -> None:
        self.outcome(event, "rejected")

    def on_released(self, event: Any) -> None:
        self.outcome(event, "released")

    def on_message(self, event: Any) -> None:
        self.received.append(event.message.body)
        if DECISIONS[len(self.received) - 1] == "accept":
            self.accept(event.delivery)
        else:
            self.reject(event.delivery)
        if len(self.received) == len(DECISIONS):
            event.connection.close()


async def aio_client(url: str) -> tuple[dict[str, str], list[str]]:
    outcomes: dict[str, str] = {}
    received: list[str] = []
    async with await aio.connect(url, reconnect=False) as conn:
        sender = await conn.open_sender("diff")
        for message in messages():
            try:
                await sender.send(message, timeout=5)
                outcomes[message.body] = "accepted"
            except aio.MessageRejected:
                outcomes[message.body] = "rejected"
            except (aio.MessageReleased, aio.MessageModified):
                outcomes[message.body] = "released"
        receiver = await conn.open_receiver("diff")
        for decision in DECISIONS:
            delivery = await receiver.receive(timeout=5)
            received.append(delivery.message.body)
            if decision == "accept":
                delivery.accept()
            else:
                delivery.reject()
    return outcomes, received


def test_handler_api_and_aio_agree(loop: str) -> None:
    with Peer("proton") as peer:
        handler = HandlerClient(peer.url)
        run(Container(handler), 10)
        by_handler = (handler.outcomes, handler.received)
        handler_peer = (peer.records("message"), peer.outcomes())
    with Peer("proton") as peer:
        by_aio = run_on(loop, lambda: aio_client(peer.url))
        aio_peer = (peer.records("message"), peer.outcomes())
    assert by_aio == by_handler
    assert by_handler == (
        {"m1": "accepted", "m2": "rejected", "m3": "released", "m4": "accepted"},
        ["m1", "m4"],
    )
    assert aio_peer == handler_peer
    assert handler_peer[1] == {"m1": "accepted", "m4": "rejected"}
