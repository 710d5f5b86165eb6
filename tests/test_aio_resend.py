"""At-least-once for ``amq_python.aio`` senders (issue 15), resending by default: what was in
flight when the peer was SIGKILLed is sent again after the reconnect, in order, with the same
message-ids, and each send() gets the resend's outcome; ``resend_unsettled=False`` keeps
ConnectionLost; ``max_unsettled`` bounds what a sender holds; credit after a reconnect is the
new peer's grant. Real peer processes (python-qpid-proton), killed for real."""

from __future__ import annotations

import asyncio
import collections
import tracemalloc
from typing import Any

import pytest

from amq_python import Delivery, Message, aio
from amq_python.reactor import Backoff
from tests.peers.credit_peer import CreditPeer, credit_peer
from tests.peers.listener_process import listeners
from tests.test_aio_container import LOOPS, run_on

FAST = {"initial": 0.05, "max_delay": 0.2}
ACCEPTED = Delivery.ACCEPTED



async def restart(peer: CreditPeer, mode: str) -> None:
    """Kill the peer and start it again on its port in ``mode`` (off the loop: it takes a
    while); its log goes on, so ``messages()`` covers both runs."""
    peer.kill()
    peer.argv[-1] = mode
    await asyncio.get_running_loop().run_in_executor(None, peer.start)


async def arrived(peer: CreditPeer, count: int) -> list[str]:
    """The ids the peer logged, once there are ``count`` of them."""
    for _ in range(1000):
        ids = peer.messages()
        if len(ids) >= count:
            return ids
        await asyncio.sleep(0.01)
    raise AssertionError(f"the peer got {peer.messages()}, not {count} messages")


@pytest.mark.parametrize("loop", LOOPS)
def test_sends_in_flight_are_resent_in_order_with_their_ids(loop: str) -> None:
    with credit_peer(100, "hold") as peer:

        async def main() -> None:
            conn = await aio.connect(peer.url, reconnect=Backoff(**FAST))
            sender = await conn.open_sender("q")
            assert sender.resend_unsettled
            messages = [Message(body=n) if n % 2 else Message(id=f"app-{n}", body=n)
                        for n in range(20)]
            trackers = [await sender.submit(m) for m in messages[:15]]
            sends = [asyncio.create_task(sender.send(m, timeout=20)) for m in messages[15:]]
            first = await arrived(peer, 20)
            ids = [str(m.id) for m in messages]
            assert first == ids  # the sender gave the messages without an id one
            assert not any(t.done() for t in trackers) and not any(s.done() for s in sends)

            await restart(peer, "accept")
            # Sent while the peer is gone: these go after the resent ones.
            later = [Message(body=f"later-{n}") for n in range(3)]
            later_sends = [asyncio.create_task(sender.send(m, timeout=20)) for m in later]
            got = await asyncio.gather(*(t.wait(20) for t in trackers), *sends, *later_sends)

            # Each send's own Delivery got the resend's outcome (ACCEPTED), and only once.
            assert got[:15] == [t.delivery for t in trackers]
            assert [d.remote_state for d in got] == [ACCEPTED] * 23
            assert len({id(d) for d in got}) == 23
            assert sender.unsettled == 0 and not sender.link._unsettled.items
            assert [m.id for m in messages] == ids  # unchanged by the resend
            await conn.close()
            all_ids = await arrived(peer, 43)
            assert all_ids == ids + ids + [str(m.id) for m in later]

        run_on(loop, main)


def test_through_a_forwarding_peer_killed_three_times() -> None:
    count = 1000
    with listeners(1) as (peer,):

        async def main() -> tuple[int, list[int]]:
            loop = asyncio.get_running_loop()
            conn = await aio.connect(peer.url, reconnect=Backoff(**FAST))
            receiver = await conn.open_receiver("alo", credit=50)
            sender = await conn.open_sender("alo")
            messages = [Message(body=n) for n in range(count)]

            async def produce() -> list[aio.Tracker]:
                return [await sender.submit(m, timeout=30) for m in messages]

            producing = asyncio.create_task(produce())
            accepted: collections.Counter[int] = collections.Counter()
            kill_at = [count // 5, count // 2, 4 * count // 5]
            in_flight_at_kill: list[int] = []
            starts = []
            while len(accepted) < count:
                delivery = await receiver.receive(timeout=30)
                body = delivery.message.body
                # The sender gave each message an id; a resend has the same.
                assert delivery.message.id == messages[body].id is not None
                try:
                    delivery.accept()
                except aio.StaleDelivery:
                    continue  # the peer is gone; the message comes again
                accepted[body] += 1
                if kill_at and sum(accepted.values()) >= kill_at[0]:
                    kill_at.pop(0)
                    in_flight_at_kill.append(sender.unsettled)
                    peer.kill()
                    starts.append(loop.run_in_executor(None, peer.start))
            trackers = await producing
            got = await asyncio.gather(*(t.wait(30) for t in trackers))
            await asyncio.gather(*starts)
            assert got == [t.delivery for t in trackers]
            assert all(d.remote_state == ACCEPTED for d in got)
            # Every message the sender saw accepted was accepted by the receiver.
            assert set(accepted) == set(range(count))
            assert sender.unsettled == 0
            await conn.close()
            return sum(accepted.values()) - count, in_flight_at_kill

        duplicates, in_flight = run_on("asyncio", main)
    assert len(in_flight) == 3 and any(in_flight), "nothing was in flight at any loss"
    print(f"{count} accepted, {duplicates} duplicates, in flight at each kill: {in_flight}")


def test_without_resend_a_send_in_flight_gets_connection_lost() -> None:
    with credit_peer(100, "hold") as peer:

        async def main() -> None:
            conn = await aio.connect(peer.url, reconnect=Backoff(**FAST))
            sender = await conn.open_sender("q", resend_unsettled=False)
            assert not sender.resend_unsettled
            trackers = [await sender.submit(Message(id=f"m{n}")) for n in range(3)]
            await arrived(peer, 3)
            await restart(peer, "accept")
            for tracker in trackers:
                with pytest.raises(aio.ConnectionLost):
                    await tracker.wait(20)
            await sender.send(Message(id="after"), timeout=20)
            assert sender.unsettled == 0
            await conn.close()
            assert await arrived(peer, 4) == ["m0", "m1", "m2", "after"]  # nothing resent

        run_on("asyncio", main)


def test_presettled_senders_never_resend() -> None:
    with credit_peer(100, "hold") as peer:

        async def main() -> None:
            conn = await aio.connect(peer.url, reconnect=Backoff(**FAST))
            sender = await conn.open_sender("q", settle="presettled")
            assert not sender.resend_unsettled
            for n in range(3):
                await sender.send(Message(id=f"m{n}"))
            await arrived(peer, 3)
            await restart(peer, "accept")
            await sender.send(Message(id="after"))
            await arrived(peer, 4)
            await conn.close()
            assert peer.messages() == ["m0", "m1", "m2", "after"]

        run_on("asyncio", main)


@pytest.mark.parametrize("reconnect", [False, "gives up"])
def test_a_resending_sender_that_cannot_reconnect_gets_connection_lost(reconnect: Any) -> None:
    policy = False if reconnect is False else Backoff(initial=0.01, max_delay=0.02, max_tries=2)
    with credit_peer(100, "hold") as peer:

        async def main() -> None:
            conn = await aio.connect(peer.url, reconnect=policy)
            sender = await conn.open_sender("q")
            tracker = await sender.submit(Message(id="m0"))
            await arrived(peer, 1)
            peer.kill()
            with pytest.raises(aio.ConnectionLost):
                await tracker.wait(20)
            await asyncio.wait_for(conn.wait_closed(), 20)

        run_on("asyncio", main)


def test_max_unsettled_bounds_what_the_sender_holds_while_the_peer_hangs() -> None:
    limit, waiting = 10, 80
    body = b"x" * 100_000
    with credit_peer(100, "hold") as peer:

        async def main() -> None:
            conn = await aio.connect(peer.url, reconnect=Backoff(**FAST))
            sender = await conn.open_sender("q", max_unsettled=limit)
            held = [Message(body=body) for _ in range(limit)]
            trackers = [await sender.submit(m) for m in held]
            assert sender.credit == 0  # the peer granted 100: the bound says no
            with pytest.raises(TimeoutError):
                await sender.submit(Message(body=body), timeout=0.2)  # blocks at the bound
            ids = [str(m.id) for m in held]
            assert await arrived(peer, limit) == ids
            peer.pause()  # hung, its grant of 90 more still ours: only the bound holds us back

            later = [Message(body=body) for _ in range(waiting)]
            tracemalloc.start()
            try:
                before = traced_by_amq_python()
                blocked = [asyncio.create_task(sender.submit(m, timeout=30)) for m in later]
                await asyncio.sleep(0.5)
                grown = traced_by_amq_python() - before
            finally:
                tracemalloc.stop()
            # Waiting submits hold nothing of their message: 80 more held would be 8 MB.
            assert grown < 2_000_000, grown
            assert not any(b.done() for b in blocked)
            assert sender.unsettled == limit and len(sender.link._unsettled.items) == limit

            await restart(peer, "accept")
            more = await asyncio.gather(*blocked)
            got = await asyncio.gather(*(t.wait(20) for t in trackers + more))
            assert [d.remote_state for d in got] == [ACCEPTED] * (limit + waiting)
            await conn.close()
            # The held ones again, in order, then the ones that waited, in the order they came.
            assert peer.messages() == ids + ids + [str(m.id) for m in later]

        run_on("asyncio", main)


def traced_by_amq_python() -> int:
    """Bytes tracemalloc sees allocated, now, by code in the amq_python package."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, "*/amq_python/*")]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


@pytest.mark.parametrize("mode,credit_after", [("accept", 5), ("hold", 3)])
def test_credit_after_a_reconnect_is_the_new_peers_grant(mode: str, credit_after: int) -> None:
    with credit_peer(5, mode) as peer:

        async def main() -> None:
            conn = await aio.connect(peer.url, reconnect=Backoff(**FAST))
            sender = await conn.open_sender("q")
            trackers = [await sender.submit(Message(id=f"m{n}")) for n in range(2)]
            if mode == "accept":
                await asyncio.gather(*(t.wait(20) for t in trackers))
            await arrived(peer, 2)
            assert sender.credit == 3
            await restart(peer, mode)
            expected = 2 if mode == "accept" else 4  # "hold": the two are resent
            await arrived(peer, expected)
            for _ in range(1000):  # until the new peer's grant comes
                if sender.credit != 0:
                    break
                await asyncio.sleep(0.01)
            # Not 5 + 3 left over from the lost peer's grant.
            assert sender.credit == credit_after
            if mode == "accept":
                await sender.send(Message(id="after"), timeout=20)
                assert sender.credit == 4
            await conn.close()

        run_on("asyncio", main)
