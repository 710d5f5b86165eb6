"""``amq_python.aio`` against real peers: the embedded broker and a python-qpid-proton listener
(tests/peer_script.py, which rejects or releases a message whose ``outcome`` property says so).
The seed's scenarios (hello world, outcomes, manual accept and reject, request/response),
bounded credit, and the cancellation cases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from amq_python import ConnectionException, Message, aio
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.broker_process import BrokerProcess, running_broker
from tests.helpers import Peer, free_port
from tests.test_aio_container import LOOPS, run_on


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    with running_broker() as b:
        yield b


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the loop run until ``predicate()`` holds (TimeoutError after ``timeout``)."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0)

    await asyncio.wait_for(poll(), timeout)


@pytest.mark.parametrize("loop", LOOPS)
def test_hello_world(broker: BrokerProcess, loop: str) -> None:
    async def main() -> str:
        async with await aio.connect(broker.url) as conn:
            sender = await conn.open_sender(f"hello-{loop}")
            delivery = await sender.send(Message(body="Hello World!"), timeout=5)
            assert delivery.remote_state == delivery.ACCEPTED
            receiver = await conn.open_receiver(f"hello-{loop}", credit=10)
            async for received in receiver:
                async with received.settle_on_exit():
                    return str(received.message.body)
        raise AssertionError("the receiver ended without a message")

    assert run_on(loop, main) == "Hello World!"


def test_outcomes_from_a_proton_peer(loop: str) -> None:
    with Peer("proton") as peer:

        async def main() -> list[str]:
            results = []
            async with await aio.connect(peer.url, reconnect=False) as conn:
                sender = await conn.open_sender("outcomes")
                for outcome in ("accept", "reject", "release"):
                    message = Message(body=outcome, properties={"outcome": outcome})
                    try:
                        delivery = await sender.send(message, timeout=5)
                        results.append(f"accepted {delivery.remote_state}")
                    except aio.MessageNotAccepted as e:
                        results.append(type(e).__name__)
                tracker = await sender.submit(Message(body="t", properties={"outcome": "reject"}))
                with pytest.raises(aio.MessageRejected):
                    await tracker
                with pytest.raises(aio.MessageRejected):
                    await tracker  # the same answer again
            return results

        assert run_on(loop, main) == [
            "accepted ACCEPTED", "MessageRejected", "MessageReleased"
        ]
        assert [m["body"] for m in peer.records("message")] == [
            ["str", "accept"], ["str", "reject"], ["str", "release"], ["str", "t"]
        ]


def test_broker_rejects_a_message_with_no_address(broker: BrokerProcess, loop: str) -> None:
    async def main() -> None:
        async with await aio.connect(broker.url) as conn:
            relay = await conn.open_sender(None)  # anonymous relay: routes by message.address
            with pytest.raises(aio.MessageRejected) as caught:
                await relay.send(Message(body="nowhere"), timeout=5)
            assert caught.value.delivery.remote_state == caught.value.delivery.REJECTED
            delivery = await relay.send(Message(address="relayed", body="x"), timeout=5)
            assert delivery.remote_state == delivery.ACCEPTED

    run_on(loop, main)


def test_receive_manual_accept_reject_release_proton_peer(loop: str) -> None:
    with Peer("proton") as peer:

        async def main() -> list[Any]:
            async with await aio.connect(peer.url, reconnect=False) as conn:
                async with await conn.open_sender("manual") as sender:
                    for body in ("a", "r", "l", "m"):
                        await sender.send(Message(body=body), timeout=5)
                receiver = await conn.open_receiver("manual", credit=4)
                got = []
                for _ in range(4):
                    delivery = await receiver.receive(timeout=5)
                    got.append(delivery.message.body)
                    body = delivery.message.body
                    if body == "a":
                        delivery.accept()
                    elif body == "r":
                        delivery.reject()
                    elif body == "l":
                        delivery.release(delivered=False)
                    else:
                        delivery.modify(delivery_failed=True)
                    with pytest.raises(Exception, match="already settled"):
                        delivery.accept()
                return got

        assert run_on(loop, main) == ["a", "r", "l", "m"]
        assert peer.outcomes() == {
            "a": "accepted", "r": "rejected", "l": "released", "m": "released"
        }


@pytest.mark.parametrize("loop", LOOPS)
def test_request_response(broker: BrokerProcess, loop: str) -> None:
    service = f"service-{loop}"

    async def serve(conn: aio.Connection, ready: asyncio.Event) -> None:
        async with await conn.open_receiver(service) as requests:
            replies = await conn.open_sender(None)
            ready.set()
            async for delivery in requests:
                async with delivery.settle_on_exit():
                    request = delivery.message
                    await replies.send(
                        Message(
                            address=request.reply_to,
                            correlation_id=request.correlation_id,
                            body=str(request.body).upper(),
                        ),
                        timeout=5,
                    )

    async def main() -> list[Any]:
        async with await aio.connect(broker.url) as server, await aio.connect(broker.url) as conn:
            ready = asyncio.Event()
            serving = asyncio.create_task(serve(server, ready))
            await ready.wait()
            answers = await asyncio.gather(
                *(conn.request(service, Message(body=word), timeout=5) for word in ("ping", "pong"))
            )
            serving.cancel()
            return [answer.body for answer in answers]

    assert run_on(loop, main) == ["PING", "PONG"]


def test_bounded_credit_with_a_slow_consumer(broker: BrokerProcess, loop: str) -> None:
    total = 1000

    async def main() -> tuple[int, int]:
        async with await aio.connect(broker.url) as conn:
            sender = await conn.open_sender("bounded")
            trackers = [await sender.submit(Message(body=i)) for i in range(total)]
            await asyncio.gather(*trackers)
            receiver = await conn.open_receiver("bounded", credit=10)
            link = receiver.link
            most = 0
            worst = 0
            got = []
            async for delivery in receiver:
                async with delivery.settle_on_exit():
                    # What we hold, and what we hold plus the credit the broker still has.
                    most = max(most, receiver.held)
                    worst = max(worst, receiver.held + link.credit)
                    got.append(delivery.message.body)
                    await asyncio.sleep(0)  # slow: other messages arrive meanwhile
                    await asyncio.sleep(0)
                if len(got) == total:
                    break
            assert got == list(range(total))
            return most, worst

    most, worst = run_on(loop, main)
    assert 1 <= most <= 10
    assert worst <= 10


def test_add_credit_and_drain(broker: BrokerProcess, loop: str) -> None:
    async def main() -> None:
        async with await aio.connect(broker.url) as conn:
            sender = await conn.open_sender("drained")
            for i in range(5):
                await sender.send(Message(body=i), timeout=5)
            receiver = await conn.open_receiver("drained", credit=2)
            await receiver.drain(timeout=5)
            assert receiver.link.credit == 0
            assert receiver.buffered == 2
            receiver.add_credit(3)
            assert receiver.credit == 5
            await until(lambda: receiver.buffered == 5)
            bodies = []
            for _ in range(5):
                delivery = await receiver.receive(timeout=5)
                bodies.append(delivery.message.body)
                delivery.accept()
            assert bodies == [0, 1, 2, 3, 4]
            with pytest.raises(TimeoutError):
                await receiver.receive(timeout=0.05)

    run_on(loop, main)


class NoCredit(MessagingHandler):
    """A listener that grants no credit until told to, and records what it receives."""

    def __init__(self) -> None:
        super().__init__(prefetch=0)
        self.receivers: list[Any] = []
        self.bodies: list[Any] = []

    def on_link_opened(self, event: Any) -> None:
        if event.receiver is not None:
            self.receivers.append(event.receiver)

    def on_message(self, event: Any) -> None:
        self.bodies.append(event.message.body)


@pytest.mark.parametrize("loop", LOOPS)
def test_send_cancelled_before_credit_sends_nothing(loop: str) -> None:
    peer = NoCredit()
    port = free_port()

    async def main() -> None:
        container = Container(peer)
        container.listen(f"amqp://127.0.0.1:{port}")
        serving = asyncio.create_task(container.run_async())  # the peer, on the same loop
        async with await aio.connect(f"amqp://127.0.0.1:{port}", reconnect=False) as conn:
            sender = await conn.open_sender("nowhere")
            waiting = asyncio.create_task(sender.send(Message(body="first")))
            await until(lambda: bool(peer.receivers))
            await asyncio.sleep(0.01)
            assert not waiting.done()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            with pytest.raises(TimeoutError):
                await sender.send(Message(body="never"), timeout=0.01)
            peer.receivers[0].flow(1)
            container.wakeup()  # engine changed outside a handler
            second = asyncio.create_task(sender.send(Message(body="second")))
            await until(lambda: bool(peer.bodies))
            await asyncio.wait_for(second, 5)
            assert sender.unsettled == 0
        container.stop()
        await asyncio.wait_for(serving, 10)

    run_on(loop, main)
    assert peer.bodies == ["second"]


def test_send_cancelled_after_transfer_is_still_settled(broker: BrokerProcess, loop: str) -> None:
    async def main() -> None:
        async with await aio.connect(broker.url) as conn:
            sender = await conn.open_sender("after-transfer")
            sending = asyncio.create_task(sender.send(Message(body="sent")))
            await until(lambda: sender.unsettled == 1)  # transferred, outcome awaited
            sending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await sending
            await until(lambda: sender.unsettled == 0)  # the outcome came and was settled
            await until(lambda: sender.link.unsettled == 0)
            receiver = await conn.open_receiver("after-transfer")
            delivery = await receiver.receive(timeout=5)
            delivery.accept()
            assert delivery.message.body == "sent"

    run_on(loop, main)


@pytest.mark.parametrize("loop", LOOPS)
def test_cancelled_receive_loses_nothing(broker: BrokerProcess, loop: str) -> None:
    address = f"race-{loop}"

    async def main() -> tuple[bool, list[Any]]:
        async with await aio.connect(broker.url) as conn:
            receiver = await conn.open_receiver(address)
            sender = await conn.open_sender(address)
            waiting = asyncio.create_task(receiver.receive())
            await until(lambda: bool(receiver._waiters))
            future = receiver._waiters[0]
            await sender.submit(Message(body="raced"))
            # Cancel as soon as the delivery was handed to the waiting receive(), before that
            # task resumed (or, if the loop orders it otherwise, while it still waited).
            while not (future.done() or waiting.done()):
                await asyncio.sleep(0)  # this task itself polls: it wakes before `waiting`
            raced = future.done() and not waiting.done()
            waiting.cancel()
            try:
                got = [(await waiting).message.body]
            except asyncio.CancelledError:
                got = []
            if not got:
                delivery = await receiver.receive(timeout=5)
                got.append(delivery.message.body)
                delivery.accept()
            return raced, got

    raced, got = run_on(loop, main)
    assert got == ["raced"]
    assert raced  # the race was really run


def test_settle_on_exit_release_when_cancelled_is_on_the_wire(loop: str) -> None:
    with Peer("proton") as peer:

        async def main() -> None:
            async with await aio.connect(peer.url, reconnect=False) as conn:
                async with await conn.open_sender("held") as sender:
                    await sender.send(Message(body="cancelled"), timeout=5)
                    await sender.send(Message(body="failed"), timeout=5)
                    await sender.send(Message(body="done"), timeout=5)
                receiver = await conn.open_receiver("held")
                started = asyncio.Event()

                async def work() -> None:
                    delivery = await receiver.receive(timeout=5)
                    async with delivery.settle_on_exit():
                        started.set()
                        await asyncio.sleep(60)

                task = asyncio.create_task(work())
                await started.wait()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                with pytest.raises(ValueError):
                    async with (await receiver.receive(timeout=5)).settle_on_exit():
                        raise ValueError("processing failed")
                async with (await receiver.receive(timeout=5)).settle_on_exit():
                    pass
                assert receiver.held == 0

        run_on(loop, main)
        assert peer.outcomes() == {
            "cancelled": "released", "failed": "released", "done": "accepted"
        }


def test_receiver_close_releases_buffered_only(loop: str) -> None:
    with Peer("proton") as peer:

        async def main() -> None:
            async with await aio.connect(peer.url, reconnect=False) as conn:
                async with await conn.open_sender("closing") as sender:
                    for body in ("kept", "b1", "b2"):
                        await sender.send(Message(body=body), timeout=5)
                receiver = await conn.open_receiver("closing", credit=3)
                kept = await receiver.receive(timeout=5)
                await until(lambda: receiver.buffered == 2)
                await receiver.close()
                kept.accept()  # handed out before the close: still ours to settle

        run_on(loop, main)
        outcomes = peer.outcomes()
        assert outcomes["b1"] == outcomes["b2"] == "released"


def test_connect_failure_raises(loop: str) -> None:
    port = free_port()

    async def main() -> None:
        with pytest.raises(ConnectionException, match="refused|failed"):
            await aio.connect(f"amqp://127.0.0.1:{port}", reconnect=False)

    run_on(loop, main)


def test_presettled_sender(broker: BrokerProcess, loop: str) -> None:
    async def main() -> None:
        async with await aio.connect(broker.url) as conn:
            sender = await conn.open_sender("presettled", settle="presettled")
            delivery = await sender.send(Message(body="fire"), timeout=5)
            assert delivery.locally_settled
            assert sender.unsettled == 0
            receiver = await conn.open_receiver("presettled", auto_accept=True)
            assert (await receiver.receive(timeout=5)).message.body == "fire"

    run_on(loop, main)


def test_a_thousand_concurrent_sends_on_one_connection(broker: BrokerProcess, loop: str) -> None:
    address = f"concurrent-{loop}"

    async def main() -> tuple[int, list[Any]]:
        async with await aio.connect(broker.url) as conn:
            sender = await conn.open_sender(address)
            most = 0  # outcomes awaited at once: the sends really overlapped

            class Watch:
                """Sees each outcome arrive (after the sender took it): how many others
                were awaited then. Sampling from a task instead depends on where in the
                loop's turn it runs: one turn can resolve a whole batch and send the next."""

                def on_delivery(self, event: Any) -> None:
                    nonlocal most
                    most = max(most, sender.unsettled)

            conn.container.global_handler.add(Watch())
            deliveries = await asyncio.gather(
                *(sender.send(Message(body=i), timeout=30) for i in range(1000))
            )
            assert all(d.remote_state == d.ACCEPTED for d in deliveries)
            assert len({d.tag for d in deliveries}) == 1000  # one delivery per send()
            assert sender.unsettled == 0
            receiver = await conn.open_receiver(address, credit=100, auto_accept=True)
            bodies = [(await receiver.receive(timeout=10)).message.body for _ in range(1000)]
            with pytest.raises(TimeoutError):
                await receiver.receive(timeout=0.05)  # exactly 1000: nothing sent twice
            return most, bodies

    most, bodies = run_on(loop, main)
    assert most > 10  # many outcomes awaited at once (the broker grants 100 credits)
    assert bodies == list(range(1000))  # sent in the order send() was called


def test_a_hundred_connections_in_one_loop(broker: BrokerProcess, loop: str) -> None:
    address = f"hundred-{loop}"
    count = 100

    async def one(i: int, all_open: asyncio.Event, opened: list[Any]) -> bool:
        async with await aio.connect(broker.url, container_id=f"hundred-{loop}-{i}") as conn:
            opened.append(conn)
            if len(opened) == count:
                all_open.set()
            await all_open.wait()  # every connection is open at once before any sends
            sender = await conn.open_sender(address)
            delivery = await sender.send(Message(body=i), timeout=30)
            return delivery.remote_state == delivery.ACCEPTED

    async def main() -> tuple[list[bool], set[str], list[Any]]:
        all_open = asyncio.Event()
        opened: list[Any] = []
        states = await asyncio.gather(*(one(i, all_open, opened) for i in range(count)))
        ids = {conn.container.container_id for conn in opened}
        async with await aio.connect(broker.url) as conn:
            receiver = await conn.open_receiver(address, auto_accept=True)
            bodies = [(await receiver.receive(timeout=10)).message.body for _ in range(count)]
            with pytest.raises(TimeoutError):
                await receiver.receive(timeout=0.05)
        return states, ids, sorted(bodies)

    states, ids, bodies = run_on(loop, main)
    assert states == [True] * count  # accepted, one message per connection
    assert len(ids) == count
    assert bodies == list(range(count))


@pytest.mark.parametrize("loop", LOOPS)
def test_host_names_resolved_by_the_loop(loop: str) -> None:
    # The broker listens where "localhost" resolves first, as the client connects: the test
    # holds with either order of /etc/hosts.
    with running_broker("--host", "localhost") as named:

        async def main() -> Any:
            with pytest.raises(ConnectionException, match="cannot resolve 'no-such-host.invalid'"):
                await aio.connect("amqp://no-such-host.invalid:5672", reconnect=False)
            async with await aio.connect(f"amqp://localhost:{named.port}") as conn:
                sender = await conn.open_sender("named")
                await sender.send(Message(body="by name"), timeout=5)
                receiver = await conn.open_receiver("named", auto_accept=True)
                return (await receiver.receive(timeout=5)).message.body

        assert run_on(loop, main) == "by name"
