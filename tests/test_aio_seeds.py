"""The seed's four scenarios written with ``amq_python.aio`` (hello world, send with outcomes,
receive with manual accept/reject/release, request/response), each run against four peers: the
embedded broker, a python-qpid-proton listener (tests/peer_script.py), rhea's broker script and
RabbitMQ 3.10 with its AMQP 1.0 plug-in.

What a peer can do differs, and each test says so rather than skipping:
- a rejected or released send: the proton listener does either as the message's ``outcome``
  property asks; the embedded broker and rhea reject a message with no address on an anonymous
  link; RabbitMQ 3.10 only accepts (its reject-publish overflow drops the connection instead,
  see /work/shared/PEERS.md), so with it the scenario is accepted sends only;
- a released delivery comes back from the brokers (embedded, rhea, RabbitMQ); the proton
  listener does not queue it again but records the outcome, which is checked instead;
- ``Connection.request`` needs a dynamic reply queue: RabbitMQ 3.10 refuses one by ending the
  session ("Dynamic sources not supported"), which must fail the request at once (not hang);
  with RabbitMQ the scenario then uses a named reply queue on the same connection.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from amq_python import Message, aio
from amq_python._core._exceptions import LinkException
from tests.broker_process import BrokerProcess, running_broker
from tests.helpers import Peer
from tests.peers.conftest_fixtures import certs, rabbitmq, rhea_server  # noqa: F401
from tests.test_aio_container import run_on

PEERS = ["broker", "proton", "rhea", "rabbitmq"]


@dataclass
class Target:
    """One peer, as the scenarios need it."""

    name: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)
    prefix: str = ""  # RabbitMQ's queues are /queue/NAME
    listener: Peer | None = None  # the proton listener, for its records

    def address(self, what: str) -> str:
        return f"{self.prefix}seed-{what}-{uuid.uuid4().hex[:8]}"

    def connect(self) -> aio.Connection:
        return aio.connect(self.url, reconnect=False, **self.options)


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    with running_broker() as b:
        yield b


@pytest.fixture(params=PEERS)
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    name = request.param
    if name == "broker":
        yield Target(name, request.getfixturevalue("broker").url)
    elif name == "rhea":
        yield Target(name, request.getfixturevalue("rhea_server").url)
    elif name == "rabbitmq":
        node = request.getfixturevalue("rabbitmq")
        options = {"user": node.user, "password": node.password, "allowed_mechs": "PLAIN"}
        yield Target(name, node.url, options, prefix="/queue/")
    else:
        with Peer("proton", timeout=30) as listener:
            yield Target(name, listener.url, listener=listener)


def test_hello_world(target: Target, loop: str) -> None:
    address = target.address("hello")

    async def main() -> str:
        async with await target.connect() as conn:
            sender = await conn.open_sender(address)
            delivery = await sender.send(Message(body="Hello World!"), timeout=10)
            assert delivery.remote_state == delivery.ACCEPTED
            receiver = await conn.open_receiver(address)
            async for received in receiver:
                async with received.settle_on_exit():
                    return str(received.message.body)
        raise AssertionError("the receiver ended without a message")

    assert run_on(loop, main) == "Hello World!"


async def outcome_of(sender: aio.Sender, message: Message) -> str:
    try:
        await sender.send(message, timeout=10)
        return "accepted"
    except aio.MessageRejected:
        return "rejected"
    except aio.MessageReleased:
        return "released"


def test_send_with_outcomes(target: Target, loop: str) -> None:
    address = target.address("outcomes")

    async def main() -> list[str]:
        async with await target.connect() as conn:
            sender = await conn.open_sender(address)
            results = [await outcome_of(sender, Message(body=f"ok{i}")) for i in range(2)]
            if target.name == "proton":
                for wanted in ("reject", "release"):
                    message = Message(body=wanted, properties={"outcome": wanted})
                    results.append(await outcome_of(sender, message))
            elif target.name in ("broker", "rhea"):
                relay = await conn.open_sender(None)  # anonymous: routes by message.address
                results.append(await outcome_of(relay, Message(body="nowhere")))
                results.append(await outcome_of(relay, Message(address=address, body="ok2")))
            receiver = await conn.open_receiver(address, credit=5, auto_accept=True)
            accepted = sum(result == "accepted" for result in results)
            got = [(await receiver.receive(timeout=10)).message.body for _ in range(accepted)]
            with pytest.raises(TimeoutError):
                await receiver.receive(timeout=0.1)  # only the accepted ones were queued
            assert sorted(got) == [f"ok{i}" for i in range(accepted)]
            return results

    expected = {
        "proton": ["accepted", "accepted", "rejected", "released"],
        "broker": ["accepted", "accepted", "rejected", "accepted"],
        "rhea": ["accepted", "accepted", "rejected", "accepted"],
        "rabbitmq": ["accepted", "accepted"],
    }
    assert run_on(loop, main) == expected[target.name]


def test_receive_with_manual_accept_reject_release(target: Target, loop: str) -> None:
    address = target.address("manual")
    requeues = target.name != "proton"

    async def main() -> list[str]:
        seen = []
        async with await target.connect() as conn:
            sender = await conn.open_sender(address)
            for body in ("a", "r", "l"):
                await sender.send(Message(body=body), timeout=10)
            receiver = await conn.open_receiver(address, credit=3)
            for _ in range(3):
                delivery = await receiver.receive(timeout=10)
                body = delivery.message.body
                seen.append(body)
                if body == "a":
                    delivery.accept()
                elif body == "r":
                    delivery.reject()
                else:
                    delivery.release(delivered=False)
            if requeues:
                again = await receiver.receive(timeout=10)  # the released one, back
                seen.append(again.message.body)
                again.accept()
            await sender.send(Message(body="end"), timeout=10)
            last = await receiver.receive(timeout=10)  # not "r": rejected is not redelivered
            seen.append(last.message.body)
            last.accept()
        return seen

    seen = run_on(loop, main)
    assert seen == (["a", "r", "l", "l", "end"] if requeues else ["a", "r", "l", "end"])
    if target.listener is not None:
        outcomes = target.listener.outcomes()
        assert outcomes == {"a": "accepted", "r": "rejected", "l": "released", "end": "accepted"}


async def serve(conn: aio.Connection, requests: aio.Receiver, anonymous: bool) -> None:
    """Answer each request with its body in capitals, to its reply_to."""
    relay = await conn.open_sender(None) if anonymous else None
    async for delivery in requests:
        async with delivery.settle_on_exit():
            request = delivery.message
            reply = Message(
                address=request.reply_to,
                correlation_id=request.correlation_id,
                body=str(request.body).upper(),
            )
            if relay is not None:
                await relay.send(reply, timeout=10)
            else:
                async with await conn.open_sender(request.reply_to) as direct:
                    await direct.send(reply, timeout=10)


def test_request_response(target: Target, loop: str) -> None:
    service = target.address("service")

    async def main() -> list[Any]:
        async with await target.connect() as conn:
            requests = await conn.open_receiver(service)
            serving = asyncio.create_task(serve(conn, requests, target.name != "rabbitmq"))
            try:
                if target.name != "rabbitmq":
                    answers = [
                        await conn.request(service, Message(body=word), timeout=10)
                        for word in ("ping", "pong")
                    ]
                    return [(a.body, a.correlation_id is not None) for a in answers]
                with pytest.raises(LinkException, match="Dynamic sources not supported"):
                    await conn.request(service, Message(body="ping"), timeout=10)
                # That ended the session, and the service's receiver on it: the same
                # connection goes on with a new session, and a named reply queue.
                with pytest.raises(LinkException, match="session ended by the peer"):
                    await serving
                requests = await conn.open_receiver(service)
                serving = asyncio.create_task(serve(conn, requests, False))
                replies_address = target.address("replies")
                replies = await conn.open_receiver(replies_address)
                sender = await conn.open_sender(service)
                results = []
                for i, word in enumerate(("ping", "pong")):
                    await sender.send(
                        Message(body=word, reply_to=replies_address, correlation_id=i),
                        timeout=10,
                    )
                    reply = await replies.receive(timeout=10)
                    reply.accept()
                    results.append((reply.message.body, reply.message.correlation_id == i))
                return results
            finally:
                serving.cancel()

    assert run_on(loop, main) == [("PING", True), ("PONG", True)]
