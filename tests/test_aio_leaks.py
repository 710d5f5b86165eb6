"""``amq_python.aio`` lets go of everything: after many connections with sends, receives, a
request, a send cancelled after its transfer and a receive cancelled while waiting, the open file
descriptors, the live engine wrappers and the descriptors the loop watches are back at their
baseline, and no aio object is left alive, while the loop still runs."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

from amq_python import Message, aio
from tests.broker_process import running_broker
from tests.helpers import live_wrappers, new_wrappers
from tests.test_aio_container import run_on
from tests.test_leaks import open_fds

ROUNDS = 30


async def session(url: str, n: int, alive: list[weakref.ref[Any]]) -> None:
    async with await aio.connect(url) as conn:
        sender = await conn.open_sender(f"leak-{n}")
        alive.extend([weakref.ref(conn), weakref.ref(sender), weakref.ref(conn.container)])
        await sender.send(Message(body="one"), timeout=5)
        sending = asyncio.create_task(sender.send(Message(body="two")))
        while sender.unsettled == 0:
            await asyncio.sleep(0)
        sending.cancel()  # after the transfer: its outcome is still settled
        async with await conn.open_receiver(f"leak-{n}", credit=2) as receiver:
            for _ in range(2):
                delivery = await receiver.receive(timeout=5)
                async with delivery.settle_on_exit():
                    pass
            waiting = asyncio.create_task(receiver.receive())
            await asyncio.sleep(0)
            waiting.cancel()
        async with await conn.open_receiver("leak-service") as service:
            replier = await conn.open_sender(None)
            answer = asyncio.create_task(conn.request("leak-service", Message(body="q"), timeout=5))
            request = await service.receive(timeout=5)
            request.accept()
            await replier.send(
                Message(address=request.message.reply_to,
                        correlation_id=request.message.correlation_id, body="a"),
                timeout=5,
            )
            assert (await answer).body == "a"
        while sender.unsettled:
            await asyncio.sleep(0)


def test_no_leaks(loop: str) -> None:
    with running_broker() as broker:

        async def main() -> None:
            alive: list[weakref.ref[Any]] = []
            # asyncio's own loop shows the descriptors it watches; uvloop does not.
            selector = getattr(asyncio.get_running_loop(), "_selector", None)
            for n in range(3):  # warm up: caches, first-use allocations
                await session(broker.url, n, alive)
            gc.collect()
            fds, wrappers = open_fds(), live_wrappers()
            watched = None if selector is None else len(selector.get_map())
            alive.clear()
            for n in range(ROUNDS):
                await session(broker.url, n, alive)
            gc.collect()
            assert [ref() for ref in alive if ref() is not None] == []
            assert new_wrappers(wrappers) == []
            assert open_fds() == fds
            assert watched is None or len(selector.get_map()) == watched

        run_on(loop, main)
