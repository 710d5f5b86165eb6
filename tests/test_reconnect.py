"""Reconnect against a real peer process that is SIGKILLed and restarted on the same port."""

from __future__ import annotations

import collections
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from amq_python import Message
from amq_python._connector import GAVE_UP
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Backoff, Container
from tests.peers.listener_process import ListenerProcess, listeners, watchdog
from tests.peers.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
SLACK = 2.0  # seconds a loaded machine may add to a timer: only gross errors fail


def restart_later(peer: ListenerProcess, delay: float) -> threading.Timer:
    """Start the peer again after ``delay`` seconds, off the event loop's thread."""
    timer = threading.Timer(delay, peer.start)
    timer.start()
    return timer


class KillTwice(MessagingHandler):
    """Kills the peer after each of the first two opens; checks the links work after each."""

    def __init__(self, peer: ListenerProcess, down: float) -> None:
        super().__init__()
        self.peer = peer
        self.down = down
        self.opened: list[Any] = []
        self.lost_at: list[float] = []
        self.received: list[int] = []
        self.timers: list[threading.Timer] = []

    def on_start(self, event: Any) -> None:
        self.connection = event.container.connect(self.peer.url)
        self.sender = event.container.create_sender(self.connection, "q")
        event.container.create_receiver(self.connection, "q")

    def on_link_opened(self, event: Any) -> None:
        if event.link is self.sender:
            self.sender.send(Message(body=len(self.opened)))

    def on_connection_opened(self, event: Any) -> None:
        self.opened.append(event.connection)

    def on_message(self, event: Any) -> None:
        self.received.append(event.message.body)
        if len(self.opened) < 3:
            self.peer.kill()
            self.timers.append(restart_later(self.peer, self.down))
        else:
            event.connection.close()

    def on_disconnected(self, event: Any) -> None:
        self.lost_at.append(time.monotonic())


def test_reconnects_after_sigkill_with_backoff_delays() -> None:
    with listeners(1) as (peer,), watchdog(20):
        handler = KillTwice(peer, down=0.5)
        try:
            Container(handler).run()
        finally:
            for timer in handler.timers:
                timer.join()
    connection = handler.connection
    assert handler.opened == [connection] * 3  # the same object every time
    assert handler.received == [1, 2, 3]  # the sender and receiver re-attached by themselves
    delays = connection._connector.delays
    print("delays used:", delays)
    # Two outages of at least 0.5 s each; the delays start over (0, 0.1, ...) for the second
    # one. How many attempts an outage takes depends on how soon the peer is back (a loaded
    # machine restarts it later), not on the policy: at least the 3 that fit in 0.5 s.
    outages = [delays[: delays.index(0, 1)], delays[delays.index(0, 1):]]
    for outage in outages:
        assert outage == pytest.approx([0, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2][: len(outage)])
        assert len(outage) >= 3
    # Each failed attempt is one on_disconnected: their spacing is the delay that preceded them.
    lost = handler.lost_at
    failed = outages[0][:-1]  # the attempt after the last delay succeeded: no loss follows it
    gaps = [b - a for a, b in zip(lost, lost[1:])][: len(failed)]
    print("measured gaps:", [round(g, 3) for g in gaps])
    for wanted, measured in zip(failed, gaps):
        assert wanted <= measured + 0.01  # never sooner than the policy says
        assert measured < wanted + SLACK  # nor grossly later (wrong units, a lost timer)


class Recorder:
    """The seed's ExampleReconnect, recording calls; starts the peer at the third delay."""

    def __init__(self, peer: ListenerProcess) -> None:
        self.peer = peer
        self.calls: list[Any] = []
        self.delay = 0.0

    def reset(self) -> None:
        self.calls.append("reset")
        self.delay = 0.0

    def next(self) -> float:
        self.delay = 0.05 if self.delay == 0 else min(10, 2 * self.delay)
        self.calls.append(self.delay)
        if len(self.calls) in (4, 8):
            self.peer.start()
        return self.delay


class OpenTwice(MessagingHandler):
    """Connects to a dead port; kills the peer once after the first open, stops at the second."""

    def __init__(self, peer: ListenerProcess, policy: Recorder) -> None:
        super().__init__()
        self.peer = peer
        self.policy = policy
        self.opens = 0

    def on_start(self, event: Any) -> None:
        event.container.connect(self.peer.url, reconnect=self.policy)

    def on_connection_opened(self, event: Any) -> None:
        self.opens += 1
        if self.opens == 1:
            self.peer.kill()
        else:
            event.connection.close()


def test_custom_reset_next_object_call_order() -> None:
    peer = ListenerProcess(free_port())
    policy = Recorder(peer)
    try:
        with watchdog(15):
            Container(OpenTwice(peer, policy)).run()
    finally:
        peer.stop()
    assert policy.calls == ["reset", 0.05, 0.1, 0.2, "reset", 0.05, 0.1, 0.2]


class Events(MessagingHandler):
    """Records transport errors and opens for a connection made in on_start."""

    def __init__(self, url: str | None = None, **options: Any) -> None:
        super().__init__()
        self.url = url
        self.options = options
        self.errors: list[Any] = []
        self.opened = 0

    def on_start(self, event: Any) -> None:
        if self.url is not None:
            self.connection = event.container.connect(self.url, **self.options)

    def on_transport_error(self, event: Any) -> None:
        self.errors.append(event.transport.condition)

    def on_connection_opened(self, event: Any) -> None:
        self.opened += 1


def test_reconnect_false_dead_port_one_error_and_run_returns() -> None:
    handler = Events(f"amqp://127.0.0.1:{free_port()}", reconnect=False)
    with watchdog(5):
        Container(handler).run()
    assert len(handler.errors) == 1 and handler.errors[0].name == "proton:io"
    assert handler.connection._connector.delays == []


def test_backoff_max_tries_gives_up_with_a_clear_error() -> None:
    handler = Events(f"amqp://127.0.0.1:{free_port()}", reconnect=Backoff(0.01, max_tries=3))
    with watchdog(5):
        Container(handler).run()
    assert [c.name for c in handler.errors] == ["proton:io"] * 4 + [GAVE_UP]
    assert "gave up reconnecting after 3 attempts" in handler.errors[-1].description
    assert "Connection refused" in handler.errors[-1].description
    assert handler.connection._impl is None  # closed and freed


def test_unauthorized_access_stops_reconnecting() -> None:
    peer = ListenerProcess(free_port(), refuse=True)
    try:
        peer.start()

        class Refused(Events):
            def on_connection_error(self, event: Any) -> None:
                self.errors.append(event.connection.remote_condition)

        handler = Refused(peer.url)
        with watchdog(5):
            Container(handler).run()
    finally:
        peer.stop()
    assert {c.name for c in handler.errors} == {"amqp:unauthorized-access"}
    assert handler.connection._connector.delays == []


@pytest.mark.parametrize("how", ["stop", "close"])
def test_stop_or_close_during_a_reconnect_wait_ends_run_promptly(how: str) -> None:
    class Waiting(Events):
        def on_transport_error(self, event: Any) -> None:
            super().on_transport_error(event)
            if len(self.errors) == 2:  # the next attempt is 5 s away
                event.container.schedule(0.2, self)

        def on_timer_task(self, event: Any) -> None:
            if how == "stop":
                event.container.stop()
            else:
                self.connection.close()

    handler = Waiting(f"amqp://127.0.0.1:{free_port()}", reconnect=Backoff(initial=5))
    started = time.monotonic()
    with watchdog(5):
        Container(handler).run()
    assert time.monotonic() - started < 1.0
    assert handler.connection._connector.delays == [0, 5]


def test_url_and_urls_together_is_an_error() -> None:
    with pytest.raises(ValueError, match="either url or urls, not both"):
        Container().connect("amqp://a", urls=["amqp://b"])


def spans(ids: list[int]) -> str:
    """Sorted ids as compact ranges: 1-3, 7."""
    runs: list[list[int]] = []
    for ident in ids:
        if runs and ident <= runs[-1][1] + 1:
            runs[-1][1] = ident
        else:
            runs.append([ident, ident])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in runs)


class CountingReceiver(MessagingHandler):
    """Receives through the peer, killing it three times along the way; ends when the sender
    process has exited and every id has arrived."""

    def __init__(self, peer: ListenerProcess, sender: subprocess.Popen[bytes], count: int) -> None:
        super().__init__(prefetch=100)
        self.peer = peer
        self.sender = sender
        self.count = count
        self.seen: collections.Counter[int] = collections.Counter()
        self.kill_at = [count // 5, count // 2, 4 * count // 5]
        self.timers: list[threading.Timer] = []

    def on_start(self, event: Any) -> None:
        event.container.create_receiver(event.container.connect(self.peer.url), "alo")
        event.container.schedule(0.1, self)

    def on_message(self, event: Any) -> None:
        self.seen[event.message.id] += 1
        if self.kill_at and len(self.seen) >= self.kill_at[0]:
            self.kill_at.pop(0)
            self.peer.kill()
            self.timers.append(restart_later(self.peer, 0.2))

    def on_timer_task(self, event: Any) -> None:
        if self.sender.poll() is not None and len(self.seen) >= self.count:
            event.container.stop()
        else:
            event.container.schedule(0.1, self)


def test_at_least_once_sender_through_a_peer_killed_three_times() -> None:
    count = 5000
    with listeners(1) as (peer,), watchdog(45):
        sender = subprocess.Popen(
            [sys.executable, "examples/at_least_once_sender.py", "--url", peer.url,
             "--address", "alo", "--count", str(count)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        receiver = CountingReceiver(peer, sender, count)
        try:
            Container(receiver).run()
        finally:
            sender.kill()
            output = sender.communicate()[0].decode()
            for timer in receiver.timers:
                timer.join()
    print(output)
    seen = receiver.seen
    duplicates = sorted(ident for ident, n in seen.items() for _ in range(n - 1))
    print(f"{len(seen)} distinct ids, {len(duplicates)} duplicates: {spans(duplicates)}")
    assert not receiver.kill_at, "the peer was not killed three times"
    assert set(seen) == set(range(1, count + 1))  # none lost
    assert sender.returncode == 0 and f"{count} accepted" in output
