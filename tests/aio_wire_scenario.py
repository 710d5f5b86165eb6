"""One scenario, written twice: with a MessagingHandler on ``Container.run()`` and with
``amq_python.aio``. tests/test_aio_wire_differential.py runs each in a subprocess with
PN_TRACE_FRM=1 and compares the frames they put on the wire.

    python tests/aio_wire_scenario.py container|aio|aio-uvloop URL

Each step waits for the peer's answer to the one before, so the frames have one order: open the
connection; attach a sender to ``wire``; send three messages one at a time, each waiting for its
outcome (the peer, tests/peer_script.py, accepts the first, rejects the second, releases the
third, as their ``outcome`` property asks); attach a receiver to ``wire`` (credit 10), receive the
accepted message and accept it; close the connection. Prints the outcomes and the received body
as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from amq_python import Message, aio
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container

OUTCOMES = ("accept", "reject", "release")
CREDIT = 1  # the receiver's window, refilled as each message is settled


def message(i: int) -> Message:
    return Message(body=f"m{i}", properties={"outcome": OUTCOMES[i]})


class Scenario(MessagingHandler):
    """The handler version. It grants credit itself, as aio does: a window of CREDIT, one more
    per settled message. (The handlers' prefetch tops credit up on the next delivery event
    instead, in python-qpid-proton too: that policy is not what this compares.)"""

    def __init__(self, url: str) -> None:
        super().__init__(prefetch=0, auto_accept=False)
        self.url = url
        self.outcomes: list[str] = []
        self.received: list[Any] = []
        self.started = False

    def on_start(self, event: Any) -> None:
        self.conn = event.container.connect(self.url, reconnect=False)

    def on_connection_opened(self, event: Any) -> None:
        self.sender = event.container.create_sender(self.conn, "wire")

    def on_sendable(self, event: Any) -> None:
        if not self.started:  # the first credit; later messages follow the outcomes
            self.started = True
            event.sender.send(message(0))

    def outcome(self, event: Any, name: str) -> None:
        self.outcomes.append(name)
        if len(self.outcomes) < len(OUTCOMES):
            self.sender.send(message(len(self.outcomes)))
        else:
            event.container.create_receiver(self.conn, "wire").flow(CREDIT)

    def on_accepted(self, event: Any) -> None:
        self.outcome(event, "accepted")

    def on_rejected(self, event: Any) -> None:
        self.outcome(event, "rejected")

    def on_released(self, event: Any) -> None:
        self.outcome(event, "released")

    def on_message(self, event: Any) -> None:
        self.received.append(event.message.body)
        self.accept(event.delivery)
        event.receiver.flow(1)
        event.connection.close()


async def with_aio(url: str) -> tuple[list[str], list[Any]]:
    outcomes: list[str] = []
    received: list[Any] = []
    async with await aio.connect(url, reconnect=False) as conn:
        sender = await conn.open_sender("wire")
        for i in range(len(OUTCOMES)):
            try:
                await sender.send(message(i), timeout=10)
                outcomes.append("accepted")
            except aio.MessageRejected:
                outcomes.append("rejected")
            except aio.MessageReleased:
                outcomes.append("released")
        receiver = await conn.open_receiver("wire", credit=CREDIT)
        delivery = await receiver.receive(timeout=10)
        received.append(delivery.message.body)
        delivery.accept()
    return outcomes, received


def main() -> None:
    mode, url = sys.argv[1:3]
    if mode == "container":
        scenario = Scenario(url)
        Container(scenario).run()
        result = (scenario.outcomes, scenario.received)
    elif mode == "aio-uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
        try:
            result = loop.run_until_complete(with_aio(url))
        finally:
            loop.close()
    else:
        result = asyncio.run(with_aio(url))
    print(json.dumps({"outcomes": result[0], "received": result[1]}), flush=True)


if __name__ == "__main__":
    main()
