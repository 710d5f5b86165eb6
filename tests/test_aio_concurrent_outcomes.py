"""1,000 concurrent ``send()``s on one aio connection, against a python-qpid-proton listener
that accepts, rejects or releases each message as its ``outcome`` property asks: every send()
gets its own message's outcome (none crossed with another's), and the listener received each
message once, in the order send() was called."""

from __future__ import annotations

import asyncio

from amq_python import Message, aio
from tests.helpers import Peer
from tests.test_aio_container import run_on

COUNT = 1000
OUTCOMES = ("accept", "reject", "release", "accept")


def wanted(i: int) -> str:
    return OUTCOMES[(i * 7) % len(OUTCOMES)]


async def send_one(sender: aio.Sender, i: int) -> str:
    try:
        await sender.send(Message(body=f"m{i}", properties={"outcome": wanted(i)}), timeout=30)
        return "accept"
    except aio.MessageRejected:
        return "reject"
    except aio.MessageReleased:
        return "release"


def test_a_thousand_concurrent_sends_each_get_their_own_outcome(loop: str) -> None:
    with Peer("proton", timeout=60) as peer:

        async def main() -> list[str]:
            async with await aio.connect(peer.url, reconnect=False) as conn:
                sender = await conn.open_sender("mixed")
                results = await asyncio.gather(*(send_one(sender, i) for i in range(COUNT)))
                assert sender.unsettled == 0
                return list(results)

        assert run_on(loop, main) == [wanted(i) for i in range(COUNT)]
        bodies = [message["body"] for message in peer.records("message")]
        assert bodies == [["str", f"m{i}"] for i in range(COUNT)]
