"""At-least-once across reconnects (issue 15): credit after a reconnect, resending senders,
stale received deliveries, the ``max_unsettled`` bound. Real peer processes, killed for real."""

from __future__ import annotations

import collections
import logging
import socket
import threading
from typing import Any

import pytest

from amq_python import Delivery, Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Backoff, Container, ResendUnsettled
from tests.broker_process import running_broker
from tests.peers.credit_peer import CreditPeer, credit_peer
from tests.peers.listener_process import listeners, watchdog

QUICK = Backoff(initial=0.05, factor=2, max_delay=0.5)



class Restarts:
    """Kills a peer process and starts it again shortly after, off the event loop's thread."""

    def __init__(self, peer: Any) -> None:
        self.peer = peer
        self.timers: list[threading.Timer] = []

    def kill_and_restart(self, delay: float = 0.2) -> None:
        self.peer.kill()
        timer = threading.Timer(delay, self.peer.start)
        self.timers.append(timer)
        timer.start()

    def join(self) -> None:
        for timer in self.timers:
            timer.join()


class CreditAfterReconnect(MessagingHandler):
    """Sends ``first`` messages on the first connection, kills the peer once the peer has
    them, and records ``sender.credit`` at the first ``on_sendable`` after the reconnect."""

    def __init__(self, peer: CreditPeer, first: int, resend: bool) -> None:
        super().__init__()
        self.peer = peer
        self.first = first
        self.resend = resend
        self.restarts = Restarts(peer)
        self.opens = 0
        self.sent: list[Any] = []
        self.credit_after: int | None = None

    def on_start(self, event: Any) -> None:
        connection = event.container.connect(self.peer.url, reconnect=QUICK)
        event.container.create_sender(connection, "q", resend_unsettled=self.resend)

    def on_connection_opened(self, event: Any) -> None:
        self.opens += 1

    def on_sendable(self, event: Any) -> None:
        if self.opens == 1 and not self.sent:
            for n in range(self.first):
                self.sent.append(event.sender.send(Message(id=f"m{n}")))
            event.container.schedule(0.05, self)
        elif self.opens == 2 and self.credit_after is None:
            self.credit_after = event.sender.credit
            event.container.schedule(0.3, self)  # let resent messages arrive

    def on_timer_task(self, event: Any) -> None:
        if self.credit_after is not None:
            event.container.stop()
        elif len(self.peer.messages()) >= self.first:
            self.restarts.kill_and_restart()
        else:
            event.container.schedule(0.05, self)


@pytest.mark.parametrize("mode,resend", [("accept", False), ("hold", False), ("hold", True)])
def test_credit_after_a_reconnect_is_the_new_peers_grant(mode: str, resend: bool) -> None:
    with credit_peer(5, mode) as peer, watchdog(20):
        handler = CreditAfterReconnect(peer, first=2, resend=resend)
        try:
            Container(handler).run()
        finally:
            handler.restarts.join()
        arrived = peer.messages()
    # Not 5 + 3 left over from the lost peer's grant; resent messages use the new grant.
    assert handler.credit_after == (3 if resend else 5)
    resent = ["m0", "m1"] if resend else []
    assert arrived == ["m0", "m1", *resent]
    held = [d for d in handler.sent if mode == "hold"]
    assert [d.stale for d in held] == [not resend] * len(held)


class ResendingSender(MessagingHandler):
    """Sends ids 1..count on a resending sender, receives them back through the forwarding
    peer on the same connection, and kills the peer three times along the way."""

    def __init__(self, peer: Any, count: int, **sender_options: Any) -> None:
        super().__init__(prefetch=50)
        self.peer = peer
        self.count = count
        self.sender_options = sender_options
        self.restarts = Restarts(peer)
        self.next_id = 1
        self.ids: dict[Delivery, int] = {}
        self.outcomes: collections.Counter[Delivery] = collections.Counter()
        self.accepted: list[int] = []
        self.epochs: list[list[int]] = [[]]
        self.in_flight_at_loss: list[int] = []
        self.kill_at = [count // 5, count // 2, 4 * count // 5]

    def on_start(self, event: Any) -> None:
        connection = event.container.connect(self.peer.url, reconnect=QUICK)
        self.sender = event.container.create_sender(connection, "alo", **self.sender_options)
        event.container.create_receiver(connection, "alo")

    def on_sendable(self, event: Any) -> None:
        sender = event.sender
        while sender.credit > 0 and self.next_id <= self.count:
            ident = self.next_id
            self.next_id += 1
            self.ids[sender.send(Message(id=ident, body=ident))] = ident

    def on_accepted(self, event: Any) -> None:
        self.outcomes[event.delivery] += 1
        self.accepted.append(self.ids[event.delivery])
        if len(self.accepted) == self.count:
            event.connection.close()

    def on_message(self, event: Any) -> None:
        assert event.message.id == event.message.body
        self.epochs[-1].append(event.message.id)
        received = sum(map(len, self.epochs))
        if self.kill_at and received >= self.kill_at[0]:
            self.kill_at.pop(0)
            self.restarts.kill_and_restart()

    def on_disconnected(self, event: Any) -> None:
        self.in_flight_at_loss.append(len(self.ids) - len(self.accepted))
        self.epochs.append([])


@pytest.mark.parametrize("how", ["keyword", "option"])
def test_resend_unsettled_through_a_peer_killed_three_times(how: str) -> None:
    count = 3000
    options: dict[str, Any] = (
        {"resend_unsettled": True} if how == "keyword" else {"options": ResendUnsettled()}
    )
    with listeners(1) as (peer,), watchdog(60):
        handler = ResendingSender(peer, count, **options)
        try:
            Container(handler).run()
        finally:
            handler.restarts.join()
    assert not handler.kill_at, "the peer was not killed three times"
    assert any(handler.in_flight_at_loss), "nothing was in flight at any loss"
    # Each Delivery the application got from send() had exactly one outcome: its resend's.
    assert set(handler.outcomes) == set(handler.ids) and set(handler.outcomes.values()) == {1}
    assert sorted(handler.accepted) == list(range(1, count + 1))
    received = collections.Counter(i for epoch in handler.epochs for i in epoch)
    assert set(handler.accepted) <= set(received)  # every accepted id arrived
    for epoch in handler.epochs:  # resends in their original order, before newer messages
        assert epoch == sorted(set(epoch)), "out of order within one connection"
    duplicates = sum(n - 1 for n in received.values())
    print(f"{count} accepted, {duplicates} duplicates, in flight at each loss: "
          f"{handler.in_flight_at_loss}")


class Bounded(MessagingHandler):
    """Sends ``count`` messages as fast as credit and ``max_unsettled`` allow, recording the
    most messages ever sent and not yet settled."""

    def __init__(self, peer: CreditPeer, count: int, limit: int) -> None:
        super().__init__()
        self.peer = peer
        self.count = count
        self.limit = limit
        self.sent = 0
        self.settled = 0
        self.most_unsettled = 0
        self.credit_when_full: int | None = None

    def on_start(self, event: Any) -> None:
        connection = event.container.connect(self.peer.url)
        event.container.create_sender(
            connection, "q", resend_unsettled=True, max_unsettled=self.limit
        )
        event.container.schedule(2.0, self)

    def on_sendable(self, event: Any) -> None:
        sender = event.sender
        while sender.credit > 0 and self.sent < self.count:
            sender.send(Message(id=self.sent))
            self.sent += 1
            self.most_unsettled = max(self.most_unsettled, self.sent - self.settled)
        if self.sent - self.settled == self.limit:
            self.credit_when_full = sender.credit

    def on_settled(self, event: Any) -> None:
        self.settled += 1
        if self.settled == self.count:
            event.connection.close()

    def on_timer_task(self, event: Any) -> None:
        event.container.stop()


def test_max_unsettled_bounds_what_is_held_and_sending_resumes_as_outcomes_come() -> None:
    with credit_peer(100, "accept") as peer, watchdog(20):
        handler = Bounded(peer, count=60, limit=5)
        Container(handler).run()
    # The peer granted 100 and never more: every on_sendable after the fifth message came
    # from a settlement making room.
    assert handler.settled == 60 and handler.most_unsettled == 5
    assert handler.credit_when_full == 0


def test_max_unsettled_against_a_peer_that_never_answers() -> None:
    with credit_peer(100, "hold") as peer, watchdog(20):
        handler = Bounded(peer, count=60, limit=10)
        Container(handler).run()
    assert handler.sent == 10 and handler.settled == 0
    assert handler.credit_when_full == 0


class StaleAccept(MessagingHandler):
    """Receives one message, drops the socket under the connection, and after the reconnect
    accepts the old delivery; then lets the redelivered copy go back (closing its link) and
    accepts the third delivery on a new receiver."""

    def __init__(self, url: str) -> None:
        super().__init__(auto_accept=False)
        self.url = url
        self.deliveries: list[Any] = []
        self.counts: list[int] = []

    def on_start(self, event: Any) -> None:
        self.connection = event.container.connect(self.url, reconnect=QUICK)
        event.container.create_sender(self.connection, "stale").send(Message(id="s1"))
        self.receiver = event.container.create_receiver(self.connection, "stale")

    def on_message(self, event: Any) -> None:
        self.deliveries.append(event.delivery)
        self.counts.append(event.message.delivery_count)
        if len(self.deliveries) == 1:
            self.connection._channel.sock.shutdown(socket.SHUT_RDWR)
        elif len(self.deliveries) == 2:
            self.accept(self.deliveries[0])  # stale: a warning, nothing on the wire
            self.accept(self.deliveries[0])  # the warning is given once
            event.receiver.close()
            event.container.create_receiver(self.connection, "stale")
        else:
            self.accept(event.delivery)
            event.connection.close()


def test_a_delivery_received_before_a_loss_is_stale(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="amq_python.delivery")
    with running_broker() as broker, watchdog(20):
        handler = StaleAccept(broker.url)
        Container(handler).run()
    first, second, third = handler.deliveries
    assert first.stale and not second.stale and not third.stale
    # The broker delivered the message again twice: the stale accept did not reach it (it
    # would have accepted the second delivery, which had the same delivery id on the new link).
    assert handler.counts[0] == 0 and handler.counts[1] >= 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "amq_python.delivery"]
    assert len(warnings) == 1 and repr(first) in warnings[0], warnings


class BeyondCredit(MessagingHandler):
    """Sends 7 messages at once to a peer granting 5 and holding them, then kills it."""

    def __init__(self, peer: CreditPeer) -> None:
        super().__init__()
        self.peer = peer
        self.restarts = Restarts(peer)
        self.opens = 0
        self.seen: list[tuple[int, int]] = []

    def on_start(self, event: Any) -> None:
        connection = event.container.connect(self.peer.url, reconnect=QUICK)
        self.sender = event.container.create_sender(connection, "q", resend_unsettled=True)
        for n in range(7):
            self.sender.send(Message(id=f"m{n}"))
        event.container.schedule(0.05, self)

    def on_connection_opened(self, event: Any) -> None:
        self.opens += 1

    def on_timer_task(self, event: Any) -> None:
        arrived = len(self.peer.messages())
        if self.opens == 1 and arrived == 5 and not self.seen:
            self.seen.append((self.sender.credit, self.sender.unsettled))
            self.restarts.kill_and_restart()
        elif self.opens == 2 and arrived == 10:
            self.seen.append((self.sender.credit, self.sender.unsettled))
            event.container.stop()
            return
        event.container.schedule(0.05, self)


def test_resend_of_messages_sent_beyond_credit_keeps_their_order() -> None:
    with credit_peer(5, "hold") as peer, watchdog(20):
        handler = BeyondCredit(peer)
        try:
            Container(handler).run()
        finally:
            handler.restarts.join()
        arrived = peer.messages()
    # Two never left us; after the reconnect all seven are sent again, in order, and the new
    # grant of 5 is again short by two (the reconnect attempts that failed changed nothing).
    assert arrived == ["m0", "m1", "m2", "m3", "m4"] * 2
    assert handler.seen == [(-2, 7), (-2, 7)]
