"""``amq_python.aio`` across a lost connection, with SIGKILLed peers: the same Connection,
Sender and Receiver objects go on after the reconnect; a delivery from before it raises
StaleDelivery when settled; a send waiting for its outcome raises ConnectionLost when its
sender does not resend (resending senders: tests/test_aio_resend.py)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap

import pytest

from amq_python import Message, aio
from amq_python.reactor import Backoff
from tests.broker_process import BrokerProcess
from tests.helpers import ROOT, free_port
from tests.test_aio_container import run_on

FAST = {"initial": 0.05, "max_delay": 0.2}

# A peer that takes messages and never settles them, and says so on stdout.
HOLDING_PEER = textwrap.dedent(
    """
    import sys
    from amq_python.handlers import MessagingHandler
    from amq_python.reactor import Container

    class Holding(MessagingHandler):
        def __init__(self):
            super().__init__(auto_accept=False)

        def on_start(self, event):
            event.container.listen(sys.argv[1])
            print("ready", flush=True)

        def on_message(self, event):
            print("got", event.message.body, flush=True)

    Container(Holding()).run()
    """
)


def test_iteration_resumes_and_old_deliveries_are_stale(loop: str) -> None:
    port = free_port()
    url = f"amqp://127.0.0.1:{port}"

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        broker = await loop.run_in_executor(None, lambda: BrokerProcess(port=port))
        seen = []
        try:
            conn = await aio.connect(url, reconnect=Backoff(**FAST))
            receiver = await conn.open_receiver("resume", credit=10)
            sender = await conn.open_sender("resume")
            for body in ("before-1", "before-2"):
                await sender.send(Message(body=body), timeout=5)
            iterator = receiver.__aiter__()
            old = await iterator.__anext__()
            seen.append(old.message.body)
            broker.proc.kill()
            while not old.stale:  # the loss is noticed: what came before it is stale
                await asyncio.sleep(0.01)
            broker.stop()
            # A new, empty broker on the same port (started off the loop: it takes a while).
            broker = await loop.run_in_executor(None, lambda: BrokerProcess(port=port))
            # The same sender and receiver objects re-attach: the send goes through.
            await sender.send(Message(body="after"), timeout=10)
            new = await asyncio.wait_for(iterator.__anext__(), 10)
            seen.append(new.message.body)
            assert old.stale and not new.stale
            try:
                old.accept()
            except aio.StaleDelivery:
                seen.append("stale")
            new.accept()
            assert receiver.held == 0
            await conn.close()
        finally:
            broker.stop()
        return seen

    assert run_on(loop, main) == ["before-1", "after", "stale"]


def test_send_waiting_for_its_outcome_gets_connection_lost(loop: str) -> None:
    port = free_port()
    url = f"amqp://127.0.0.1:{port}"
    peer = subprocess.Popen(
        [sys.executable, "-c", HOLDING_PEER, url],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert peer.stdout is not None
    try:
        assert peer.stdout.readline().strip() == "ready"

        async def main() -> None:
            conn = await aio.connect(url, reconnect=Backoff(**FAST))
            sender = await conn.open_sender("held", resend_unsettled=False)
            sending = asyncio.create_task(sender.send(Message(body="in flight")))
            loop = asyncio.get_running_loop()
            assert peer.stdout is not None
            line = await loop.run_in_executor(None, peer.stdout.readline)
            assert line.strip() == "got in flight"
            assert not sending.done()
            peer.kill()
            try:
                await asyncio.wait_for(sending, 10)
            except aio.ConnectionLost as e:
                assert "lost" in str(e)
            else:
                raise AssertionError("send() returned though its outcome never came")
            assert sender.unsettled == 0
            await conn.close()

        run_on(loop, main)
    finally:
        peer.kill()
        peer.wait()
        peer.stdout.close()


def test_failover_urls(loop: str) -> None:
    dead = f"amqp://127.0.0.1:{free_port()}"  # nothing listens there
    port = free_port()

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        broker = await loop.run_in_executor(None, lambda: BrokerProcess(port=port))
        try:
            live = f"amqp://127.0.0.1:{port}"
            async with await aio.connect(urls=[dead, live], reconnect=Backoff(**FAST)) as conn:
                sender = await conn.open_sender("failover")
                await sender.send(Message(body="via the second URL"), timeout=10)
                receiver = await conn.open_receiver("failover", auto_accept=True)
                got = (await receiver.receive(timeout=10)).message.body
                return [got, conn.connection.connected_address]
        finally:
            broker.stop()

    assert run_on(loop, main) == ["via the second URL", f"amqp://127.0.0.1:{port}"]


def test_cancelling_the_open_stops_connecting(loop: str) -> None:
    """``await aio.connect()`` cancelled (here by its timeout) before the connection opened
    ends that connection: it counts as closed and makes no more attempts (it retried for good
    in the background, out of the caller's reach)."""
    port = free_port()  # nothing listens there until after the cancel

    async def main() -> bool:
        connecting = aio.connect(f"amqp://127.0.0.1:{port}", reconnect=Backoff(**FAST))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(connecting, 0.3)
        await asyncio.wait_for(connecting.wait_closed(), 5)
        with socket.create_server(("127.0.0.1", port)) as listener:
            listener.setblocking(False)
            await asyncio.sleep(1.0)  # the FAST back-off would have tried again by now
            try:
                listener.accept()[0].close()
            except BlockingIOError:
                return False
            return True

    assert run_on(loop, main) is False
