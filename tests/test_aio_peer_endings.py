"""Ways a peer ends a link that RabbitMQ 3.10 uses, each of which left an aio wait hanging:

- it ends the whole session with an error (its answer to a dynamic source): every link on the
  session fails with the peer's condition, and the next link gets a new session;
- it answers our detach with ``closed`` unset: ``close()`` still returns.

The peer is a Container listening on the same loop (``run_async``), so each way is made on
purpose; tests/test_aio_seeds.py meets both against RabbitMQ itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from amq_python import Message, aio
from amq_python._core._condition import Condition
from amq_python._core._exceptions import LinkException
from amq_python.reactor import Container
from tests.helpers import free_port
from tests.test_aio_container import run_on


class Ending:
    """A bare engine handler (no MessagingHandler, which would attach every link before this
    could refuse it): opens what the client opens; for a link to ``end-session`` ends the
    whole session with an error instead of attaching; answers a close with a plain detach;
    grants credit to the client's senders and accepts what they send."""

    def __init__(self) -> None:
        self.detached: list[str] = []

    def on_connection_remote_open(self, event: Any) -> None:
        event.connection.open()

    def on_connection_remote_close(self, event: Any) -> None:
        event.connection.close()

    def on_session_remote_open(self, event: Any) -> None:
        event.session.open()

    def on_session_remote_close(self, event: Any) -> None:
        event.session.close()

    def on_link_remote_open(self, event: Any) -> None:
        link = event.link
        address = (link.remote_source if link.is_sender else link.remote_target).address
        if address == "end-session":
            session = link.session
            session.condition = Condition("amqp:not-implemented", "not here")
            session.close()
            return
        if link.is_sender:
            link.source.address = address
        else:
            link.target.address = address
            link.flow(10)
        link.open()

    def on_link_remote_close(self, event: Any) -> None:
        self.detached.append(event.link.name)
        event.link.detach()  # not close(): the detach does not say "closed"

    def on_delivery(self, event: Any) -> None:
        delivery = event.delivery
        if delivery.link.is_receiver and not delivery.partial:
            delivery.link.advance()
            delivery.update(delivery.ACCEPTED)
            delivery.settle()
            delivery.link.flow(1)


def run_with_peer(loop: str, body: Any) -> Ending:
    peer = Ending()
    port = free_port()

    async def main() -> None:
        container = Container(peer)
        container.listen(f"amqp://127.0.0.1:{port}")
        serving = asyncio.create_task(container.run_async())
        try:
            async with await aio.connect(f"amqp://127.0.0.1:{port}", reconnect=False) as conn:
                await asyncio.wait_for(body(conn), 10)
        finally:
            container.stop()
            await asyncio.wait_for(serving, 10)

    run_on(loop, main)
    return peer


def test_a_session_ended_by_the_peer_fails_its_links(loop: str) -> None:
    async def body(conn: aio.Connection) -> None:
        kept = await conn.open_receiver("kept")  # on the same (default) session
        with pytest.raises(LinkException, match="session ended by the peer.*not here"):
            await conn.open_receiver("end-session")
        with pytest.raises(LinkException, match="session ended by the peer"):
            await kept.receive(timeout=5)
        sender = await conn.open_sender("after")  # a new session
        delivery = await sender.send(Message(body="still here"), timeout=5)
        assert delivery.remote_state == delivery.ACCEPTED

    run_with_peer(loop, body)


def test_close_answered_by_a_plain_detach_returns(loop: str) -> None:
    async def body(conn: aio.Connection) -> None:
        async with await conn.open_sender("detached") as sender:
            await sender.send(Message(body="one"), timeout=5)
        receiver = await conn.open_receiver("detached-too")
        await receiver.close()

    peer = run_with_peer(loop, body)
    assert len(peer.detached) == 2
