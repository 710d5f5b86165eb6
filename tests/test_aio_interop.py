"""``amq_python.aio`` against independent implementations: rhea's broker script (Node.js) and
a RabbitMQ node with its AMQP 1.0 plug-in: send with outcome, receive with manual accept."""

from __future__ import annotations

import uuid

from amq_python import Message, aio
from tests.peers.conftest_fixtures import certs, rabbitmq, rhea_server  # noqa: F401
from tests.peers.rabbitmq import RabbitMQ
from tests.peers.rhea import RheaServer
from tests.test_aio_container import run_on


async def exchange(url: str, address: str, count: int, **options: object) -> list[object]:
    async with await aio.connect(url, reconnect=False, **options) as conn:
        sender = await conn.open_sender(address)
        for i in range(count):
            delivery = await sender.send(Message(body=f"m{i}"), timeout=10)
            assert delivery.remote_state == delivery.ACCEPTED
        receiver = await conn.open_receiver(address, credit=3)
        bodies = []
        while len(bodies) < count:
            delivery = await receiver.receive(timeout=10)
            async with delivery.settle_on_exit():
                bodies.append(delivery.message.body)
        return bodies


def test_rhea_broker(rhea_server: RheaServer, loop: str) -> None:  # noqa: F811
    expected = [f"m{i}" for i in range(5)]

    async def main() -> list[object]:
        return await exchange(rhea_server.url, "aio-rhea", 5)

    assert run_on(loop, main) == expected


def test_rabbitmq(rabbitmq: RabbitMQ, loop: str) -> None:  # noqa: F811
    address = f"/queue/aio-{uuid.uuid4().hex[:8]}"
    options = {"user": rabbitmq.user, "password": rabbitmq.password, "allowed_mechs": "PLAIN"}

    async def main() -> list[object]:
        return await exchange(rabbitmq.url, address, 5, **options)

    assert run_on(loop, main) == [f"m{i}" for i in range(5)]
