"""A slow ``aio`` consumer of a long queue holds bounded memory: 100,000 messages queued in the
embedded broker, ``open_receiver(..., credit=10)``, a consumer that sleeps on its messages.

Three views of the same bound, each able to fail on its own:
- the receiver's count: deliveries buffered plus handed out and unsettled never exceed 10;
- the wire, from the client transport's frame tracer: every FLOW the receiver writes grants at
  most 10, and what it allows the broker to send, less what its DISPOSITIONs have settled by the
  time the broker can act on it (the next frame in), never exceeds 10; nor does what arrived and
  was not settled on the wire when each TRANSFER comes in;
- tracemalloc: the peak after the last message is within a small factor of the peak after the
  first 1,000 (a buffer that grew with the queue would hold tens of megabytes).
"""

from __future__ import annotations

import asyncio
import gc
import re
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from amq_python import Message, aio
from tests.broker_process import BrokerProcess, running_broker
from tests.test_aio_container import run_on

QUEUED = 100_000
WINDOW = 10
SLOW = 1_000  # the first SLOW messages sleep each; after that every 500th (keeps the test fast)
FIELD = re.compile(r"([a-z-]+)=(0x[0-9a-f]+|true|false)")


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    with running_broker() as b:
        yield b


def fields(line: str) -> dict[str, int]:
    """The integer and boolean fields of one traced performative (``link-credit=0xa``)."""
    return {
        name: int(value, 16) if value.startswith("0x") else int(value == "true")
        for name, value in FIELD.findall(line)
    }


class WireWindow:
    """Follows the receiver's link in the frame trace, keeping only counters (it must not
    grow with the number of frames: it runs under tracemalloc)."""

    def __init__(self, handle: int) -> None:
        self.handle = handle
        self.transfer = f"@transfer(20) [handle={handle:#x},"
        self.flows = 0
        self.most_granted = 0  # the largest link-credit in one FLOW
        self.most_outstanding = 0  # allowed by a FLOW, not settled when the broker could act
        self.most_unsettled = 0  # arrived and not settled on the wire, at each TRANSFER
        self.transfers = 0
        self.settled = 0  # delivery ids covered by settled DISPOSITIONs written so far
        self.limit: int | None = None  # delivery-count + link-credit of a FLOW just written

    def trace(self, _transport: Any, line: str) -> None:
        outgoing = " -> " in line
        if not outgoing:
            self._peer_may_act()
        if outgoing and "@flow(19)" in line:
            flow = fields(line)
            if flow.get("handle") == self.handle:
                self.flows += 1
                self.most_granted = max(self.most_granted, flow["link-credit"])
                self.limit = flow["delivery-count"] + flow["link-credit"]
        elif outgoing and "@disposition(21)" in line:
            disposition = fields(line)
            if disposition.get("settled"):
                first = disposition["first"]
                self.settled += disposition.get("last", first) - first + 1
        elif not outgoing and self.transfer in line:
            self.transfers += 1
            self.most_unsettled = max(self.most_unsettled, self.transfers - self.settled)

    def _peer_may_act(self) -> None:
        """A frame came in: everything written before it has gone out together, so the broker
        has seen the last FLOW and every DISPOSITION written with it."""
        if self.limit is not None:
            self.most_outstanding = max(self.most_outstanding, self.limit - self.settled)
            self.limit = None


async def fill(url: str, address: str) -> None:
    """Queue QUEUED messages, pre-settled (the fastest way; the consumer sees every one)."""
    async with await aio.connect(url) as conn:
        sender = await conn.open_sender(address, settle="presettled")
        for i in range(QUEUED):
            await sender.submit(Message(body=i))


def test_a_slow_consumer_of_100k_queued_messages_holds_at_most_its_credit(
    broker: BrokerProcess, loop: str
) -> None:
    address = f"bounded-100k-{loop}"

    async def main() -> tuple[list[int], int, WireWindow, int, int]:
        await fill(broker.url, address)
        async with await aio.connect(broker.url) as conn:
            transport = conn.connection.transport
            # Handle 0: the receiver is this connection's first link.
            wire = WireWindow(handle=0)
            transport.tracer = wire.trace
            transport.trace(transport.TRACE_FRM)
            gc.collect()
            tracemalloc.start()
            try:
                receiver = await conn.open_receiver(address, credit=WINDOW)
                most_held = 0
                early_peak = 0
                first_bodies: list[int] = []
                for count in range(QUEUED):
                    delivery = await receiver.receive(timeout=10)
                    most_held = max(most_held, receiver.held)
                    async with delivery.settle_on_exit():
                        body = delivery.message.body
                        if count < SLOW:
                            first_bodies.append(body)
                        if count < SLOW or count % 500 == 0:
                            await asyncio.sleep(0.0005)  # slow: the broker fills the window
                            most_held = max(most_held, receiver.held)
                        else:
                            assert body == count  # in order, none lost
                    if count == SLOW - 1:
                        early_peak = tracemalloc.get_traced_memory()[1]
                late_peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            with pytest.raises(TimeoutError):
                await receiver.receive(timeout=0.05)  # the queue is empty: nothing was lost
            return first_bodies, most_held, wire, early_peak, late_peak

    first_bodies, most_held, wire, early_peak, late_peak = run_on(loop, main, debug=False)
    assert first_bodies == list(range(SLOW))
    assert most_held == WINDOW  # the window was full while the consumer slept, never more
    assert wire.transfers == QUEUED
    assert wire.flows > QUEUED // WINDOW  # topped up as settled, not once
    assert wire.most_granted == WINDOW
    assert wire.most_outstanding == WINDOW
    assert wire.most_unsettled <= WINDOW
    # A buffer that grew with the queue would be ~100 times the early peak; this allows noise.
    assert late_peak < 2 * early_peak, (early_peak, late_peak)
