"""A broker fault that ends a resending sender's session with ``amqp:internal-error`` while the
connection stays up (RabbitMQ's quorum queues do so when a replica's log fails, issue 15): the
messages on that link can get no outcome any more, so the connection is handled as lost,
re-attached and the messages resent. Everything else keeps python-qpid-proton's behaviour: a
refusal (``amqp:not-found``), a detached link, a sender that does not resend, or a connection
without reconnect gets ``on_session_error``/``on_link_error``, whose default closes the
connection.

The peer is tests/peers/credit_peer.py (python-qpid-proton) in its ``end-session:CONDITION`` and
``detach:CONDITION`` modes: it accepts two messages, fails at the third, then accepts all."""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import proton
import proton.handlers
import proton.reactor
import pytest

from amq_python import Message, aio
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Backoff, Container
from tests.peers.credit_peer import credit_peer
from tests.peers.listener_process import watchdog
from tests.test_aio_container import run_on

COUNT = 10


def fault_handler(
    base: type, resend: bool | None, reconnect: Any, message: type = Message
) -> Any:
    """A handler class on ``base`` (either library's MessagingHandler) that sends COUNT
    messages at once and records the events that follow; it stops at COUNT outcomes, at an
    error event (after the default's answer to it) or when the connection ends."""

    class Faulted(base):  # type: ignore[misc, valid-type]
        def __init__(self, url: str) -> None:
            super().__init__()
            self.url = url
            self.events: list[str] = []
            self.outcomes: collections.Counter[int] = collections.Counter()
            self.conditions: list[str] = []
            self.sent: dict[Any, int] = {}

        def on_start(self, event: Any) -> None:
            options = {} if reconnect is None else {"reconnect": reconnect}
            connection = event.container.connect(self.url, **options)
            link_options = {} if resend is None else {"resend_unsettled": resend}
            event.container.create_sender(connection, "q", **link_options)

        def on_sendable(self, event: Any) -> None:
            if not self.sent:
                for n in range(COUNT):
                    self.sent[event.sender.send(message(id=f"m{n}"))] = n

        def on_accepted(self, event: Any) -> None:
            self.outcomes[self.sent[event.delivery]] += 1
            if sum(self.outcomes.values()) == COUNT:
                event.connection.close()

        def on_transport_error(self, event: Any) -> None:
            condition = event.transport.condition
            self.conditions.append(f"{condition.name}: {condition.description}")

        def on_disconnected(self, event: Any) -> None:
            self.events.append("disconnected")

        def on_session_error(self, event: Any) -> None:
            self.events.append(f"session_error {event.session.remote_condition.name}")
            super().on_session_error(event)

        def on_link_error(self, event: Any) -> None:
            self.events.append(f"link_error {event.link.remote_condition.name}")
            super().on_link_error(event)

        def on_connection_closed(self, event: Any) -> None:
            self.events.append("connection_closed")

    return Faulted


def test_a_fault_ending_the_session_resends_on_a_new_connection() -> None:
    with credit_peer(COUNT, "end-session:amqp:internal-error") as peer, watchdog(30):
        handler = fault_handler(MessagingHandler, True, quick())(peer.url)
        Container(handler).run()
        arrived = peer.messages()
    # Every message has its outcome, once, on the application's own Delivery.
    assert handler.outcomes == {n: 1 for n in range(COUNT)}
    # One loss of the connection, and no error event (its default answer would close the
    # connection, and no reconnect would follow).
    assert handler.events == ["disconnected", "connection_closed"], handler.events
    assert len(handler.conditions) == 1
    assert handler.conditions[0].startswith(
        "amqp:internal-error: session ended by the peer: the peer failed (a test fault)")
    # The peer failed at m2 (it may have taken and accepted the messages that came with m2):
    # m2 came again first on the new connection, then the others without an outcome, in order.
    assert arrived[:3] == ["m0", "m1", "m2"], arrived
    again = arrived[arrived.index("m2", 3):]
    assert again == sorted(again, key=lambda i: int(i[1:])) and set(arrived) == {
        f"m{n}" for n in range(COUNT)}, arrived


def test_aio_sends_through_a_fault_ending_the_session(loop: str) -> None:
    async def main() -> list[str]:
        async with await aio.connect(peer.url, reconnect=quick()) as conn:
            sender = await conn.open_sender("q")
            trackers = [await sender.submit(Message(id=f"m{n}")) for n in range(COUNT)]
            outcomes = await asyncio.wait_for(asyncio.gather(*trackers), 20)
            return [str(d.remote_state) for d in outcomes]

    with credit_peer(COUNT, "end-session:amqp:internal-error") as peer, watchdog(30):
        states = run_on(loop, main)
        arrived = peer.messages()
    assert states == ["ACCEPTED"] * COUNT
    assert arrived.count("m2") == 2 and set(arrived) == {f"m{n}" for n in range(COUNT)}, arrived


def quick() -> Backoff:
    """A reconnect policy that retries within 50 ms."""
    return Backoff(initial=0.05, factor=2, max_delay=0.5)


def events_on(library: str, mode: str, resend: bool | None, reconnect: bool | None) -> list[str]:
    """The fault handler's events against a peer in ``mode``, on either library (``None``:
    the library's default)."""
    if library == "proton":
        base, container, message = (
            proton.handlers.MessagingHandler, proton.reactor.Container, proton.Message)
    else:
        base, container, message = MessagingHandler, Container, Message
    with credit_peer(COUNT, mode) as peer, watchdog(30):
        handler = fault_handler(base, resend, reconnect, message)(peer.url)
        container(handler).run()
    return handler.events


@pytest.mark.parametrize("fault", ["end-session", "detach"])
def test_without_resending_a_fault_is_an_error_as_in_proton(fault: str) -> None:
    mode = f"{fault}:amqp:internal-error"
    expected = events_on("proton", mode, None, None)
    assert events_on("amq_python", mode, None, None) == expected
    assert events_on("amq_python", mode, False, None) == expected
    kind = "session" if fault == "end-session" else "link"
    assert expected == [f"{kind}_error amqp:internal-error", "connection_closed"], expected


@pytest.mark.parametrize("mode", [
    "end-session:amqp:not-found", "detach:amqp:not-found", "detach:amqp:internal-error"])
def test_a_refusal_or_a_detach_is_an_error_even_when_resending(mode: str) -> None:
    """``amqp:not-found`` would come again on every attempt, and a detached link cannot be
    attached again: no reconnect, proton's events."""
    expected = events_on("proton", mode, None, None)
    assert events_on("amq_python", mode, True, None) == expected
    kind = "session" if mode.startswith("end-session") else "link"
    assert expected == [f"{kind}_error {mode.split(':', 1)[1]}", "connection_closed"], expected


def test_without_reconnect_a_fault_is_an_error_when_resending() -> None:
    mode = "end-session:amqp:internal-error"
    events = events_on("amq_python", mode, True, False)
    assert events == ["session_error amqp:internal-error", "connection_closed"], events


def test_aio_receiving_goes_on_through_a_fault_ending_the_session(loop: str) -> None:
    """An ``aio`` receiver outlives the fault as it does a lost connection: ``async for`` goes
    on with the messages the peer sends on the re-attached link."""

    async def main() -> list[str]:
        seen: list[str] = []
        async with await aio.connect(peer.url, reconnect=quick()) as conn:
            receiver = await conn.open_receiver("q", credit=10)
            async for delivery in receiver:
                seen.append(delivery.message.id)
                try:
                    delivery.accept()
                except aio.StaleDelivery:
                    seen.append("stale")
                if seen.count("s0") == 2 and seen[-1] == "s2":
                    return seen
        raise AssertionError(f"the iteration ended: {seen}")

    with credit_peer(COUNT, "end-session:amqp:internal-error") as peer, watchdog(30):
        seen = run_on(loop, lambda: asyncio.wait_for(main(), 20))
    assert seen[0] == "s0" and seen[-3:] == ["s0", "s1", "s2"], seen
