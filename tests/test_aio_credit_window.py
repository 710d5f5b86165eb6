"""When an ``aio`` receiver gives its credit back, seen by a python-qpid-proton sender process.

A receiver holds at most ``credit`` deliveries, buffered and handed out unsettled together, and
tops the credit up as the application settles (issue 14). Within that rule the grants must reach
the peer early, or the peer idles while the application works through a batch (bench scenario
1r): a settlement is written at the end of the loop turn with no further ``receive()``, and once
half the window is settled the grant is written at once, before the application yields, so the
peer sends the next half while the rest of this batch is handled.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from amq_python import aio
from tests.peers.ports import free_port
from tests.test_aio_bounded_memory import WireWindow, fields
from tests.test_aio_container import run_on

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = "numbers"

# The peer: listens, sends COUNT messages (bodies 0, 1, ...) to each receiver as its credit
# allows, and prints "flow N" with the credit it has each time a FLOW from the receiver arrives.
PEER = """
import sys
from proton import Message
from proton.handlers import MessagingHandler
from proton.reactor import Container


class Source(MessagingHandler):
    def __init__(self, port, count):
        super().__init__(prefetch=0)
        self.port = port
        self.count = count
        self.sent = 0

    def on_start(self, event):
        event.container.listen(f"127.0.0.1:{self.port}")
        print("ready", flush=True)

    def on_link_opening(self, event):
        if event.link.is_sender:
            event.link.source.address = event.link.remote_source.address

    def on_link_flow(self, event):
        link = event.link
        if link.is_sender:
            print(f"flow {link.credit}", flush=True)
            while link.credit and self.sent < self.count:
                link.send(Message(body=self.sent))
                self.sent += 1


Container(Source(int(sys.argv[1]), int(sys.argv[2]))).run()
"""


class Source:
    """The peer process: its URL, and the credit it reported at each FLOW, in order."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int, errors: Path) -> None:
        self.proc = proc
        self.url = f"amqp://127.0.0.1:{port}"
        self.errors = errors

    async def line(self) -> str:
        """The peer's next line of output."""
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 10)
        if not line:
            raise AssertionError(f"the peer ended: {self.errors.read_text()}")
        return line.decode().strip()

    async def next_flow(self) -> int:
        """The credit the peer had after the next FLOW that gave it some (proton also reports
        a flow event with no credit once a sender has used all it had)."""
        while True:
            word, value = (await self.line()).split()
            assert word == "flow"
            if int(value):
                return int(value)


@asynccontextmanager
async def source(count: int) -> AsyncIterator[Source]:
    """A started peer sending ``count`` messages to each receiver; killed on exit."""
    port = free_port()
    with tempfile.NamedTemporaryFile(prefix="amqpy-credit-peer-", suffix=".err") as errors:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PEER, str(port), str(count),
            stdout=asyncio.subprocess.PIPE, stderr=errors, cwd=ROOT,
        )
        peer = Source(proc, port, Path(errors.name))
        try:
            assert await peer.line() == "ready"
            yield peer
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()


async def until(condition: Callable[[], bool], check: Callable[[], None]) -> None:
    """Yield to the loop until ``condition()`` holds (10 s at most), calling ``check()`` at
    every step."""
    for _ in range(2000):
        check()
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("timed out")


def test_a_settlement_reaches_the_peer_without_another_receive(loop: str) -> None:
    async def main() -> tuple[int, int, int]:
        async with source(50) as peer:
            async with await aio.connect(peer.url, reconnect=False) as conn:
                receiver = await conn.open_receiver(ADDRESS, credit=4)
                first_grant = await peer.next_flow()

                def bounded() -> None:
                    assert receiver.held <= 4

                await until(lambda: receiver.buffered == 4, bounded)  # the peer has none left
                delivery = await receiver.receive()
                delivery.accept()
                # No receive() now: the grant goes out in this loop turn all the same.
                regrant = await peer.next_flow()
                await until(lambda: receiver.buffered == 4, bounded)  # the peer used it
                return first_grant, regrant, receiver.held

    first_grant, regrant, held = run_on(loop, main)
    assert first_grant == 4
    assert regrant == 1  # one settled, one more credit: never a whole window again
    assert held == 4


def test_half_the_window_settled_is_granted_before_the_application_yields(loop: str) -> None:
    window = 10

    async def main() -> tuple[list[list[int]], list[int], int]:
        async with source(100) as peer:
            async with await aio.connect(peer.url, reconnect=False) as conn:
                receiver = await conn.open_receiver(ADDRESS, credit=window)

                def bounded() -> None:
                    assert receiver.held <= window

                await until(lambda: receiver.buffered == window, bounded)
                granted: list[int] = []  # credit each FLOW the client writes adds

                def trace(_transport: object, line: str) -> None:
                    if " -> " in line and "@flow(19)" in line:
                        flow = fields(line)
                        # delivery-count + link-credit: what the peer may have sent in all;
                        # it had sent the whole window, so the rest is new credit.
                        granted.append(flow["delivery-count"] + flow["link-credit"] - window)

                transport = conn.connection.transport
                transport.tracer = trace
                transport.trace(transport.TRACE_FRM)
                deliveries = [await receiver.receive() for _ in range(window)]  # buffered
                written: list[list[int]] = []
                for delivery in deliveries:  # one step of this task: no yield to the loop
                    delivery.accept()
                    written.append(list(granted))
                await until(lambda: receiver.buffered == window, bounded)
                bodies = [(await receiver.receive()).message.body for _ in range(window)]
                return written, bodies, receiver.held

    written, bodies, held = run_on(loop, main)
    half = window // 2
    # The peer had no credit left: by the time half the window is settled, that half is on
    # the wire, before the application gives the loop a turn.
    assert written[half - 1] and written[half - 1][-1] >= half, written
    # Never more than settling freed, and one write per half window at most, not one each.
    for settled, flows in enumerate(written, 1):
        assert all(credit <= settled for credit in flows), written
    assert len(written[-1]) <= 2, written
    assert bodies == list(range(window, 2 * window))
    assert held == window


@pytest.mark.parametrize("credit", [1, 3, 10])
def test_a_fast_consumer_never_holds_more_than_its_credit(loop: str, credit: int) -> None:
    count = 2000

    async def main() -> tuple[list[int], int, WireWindow]:
        async with source(count) as peer:
            async with await aio.connect(peer.url, reconnect=False) as conn:
                wire = WireWindow(handle=0)  # the receiver is the connection's first link
                transport = conn.connection.transport
                transport.tracer = wire.trace
                transport.trace(transport.TRACE_FRM)
                receiver = await conn.open_receiver(ADDRESS, credit=credit)
                bodies = []
                most_held = 0
                for _ in range(count):
                    delivery = await receiver.receive(timeout=10)
                    most_held = max(most_held, receiver.held)
                    bodies.append(delivery.message.body)
                    delivery.accept()
                with pytest.raises(TimeoutError):
                    await receiver.receive(timeout=0.05)  # the peer sent no more
                return bodies, most_held, wire

    bodies, most_held, wire = run_on(loop, main, debug=False)
    assert bodies == list(range(count))
    assert most_held <= credit
    assert wire.transfers == count
    assert wire.most_granted <= credit
    assert wire.most_outstanding <= credit
    assert wire.most_unsettled <= credit
