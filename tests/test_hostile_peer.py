"""A hostile peer: the client reports the error, closes, frees everything, and reconnects.

The peer is ``tests/peers/hostile.py`` (raw sockets, hand-encoded frames) in a subprocess. For
each misbehaviour the client must call ``on_transport_error`` with an AMQP condition, let
``run()`` return (no hang: the watchdog fails the test after 10 s), and leave no wrapper and no
file descriptor behind; with reconnect on it must try again, and give up when told to.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Backoff, Container
from tests.helpers import live_wrappers, new_wrappers, run

HOSTILE = Path(__file__).resolve().parent / "peers" / "hostile.py"


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


class HostilePeer:
    """``hostile.py --scenario NAME`` in a subprocess; ``accepted`` counts its connections."""

    def __init__(self, scenario: str, timeout: float = 30.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HOSTILE), "--scenario", scenario, "--timeout", str(timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if not first.startswith("listening "):
            self.close()
            raise RuntimeError(f"hostile peer did not start: {first!r}")
        self.url = f"amqp://127.0.0.1:{int(first.split()[1])}"
        self.accepted = 0
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("accepted "):
                self.accepted = int(line.split()[1])

    def close(self) -> None:
        """Kill the peer and close its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> HostilePeer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Client(MessagingHandler):
    """Connects with a sender named as the peer expects and sends 64 KiB messages while it
    has credit; records transport errors and disconnects."""

    def __init__(self, url: str, reconnect: Any = False) -> None:
        super().__init__()
        self.url = url
        self.reconnect = reconnect
        self.errors: list[Any] = []
        self.disconnects = 0
        self.sent = 0

    def on_start(self, event: Any) -> None:
        """Connect: a 1 s idle timeout finds a peer that went silent."""
        conn = event.container.connect(self.url, reconnect=self.reconnect, heartbeat=1,
                                       max_frame_size=65536)
        event.container.create_sender(conn, "q", name="hostile-link")

    def on_sendable(self, event: Any) -> None:
        """Send while there is credit (the stalled peer gives plenty and never reads)."""
        while event.sender.credit > 0 and self.sent < 2000:
            event.sender.send(Message(body=b"x" * 65536))
            self.sent += 1

    def on_transport_error(self, event: Any) -> None:
        """Record the condition (the default handling still runs)."""
        self.errors.append(event.transport.condition)
        super().on_transport_error(event)

    def on_disconnected(self, event: Any) -> None:
        """Count lost sockets."""
        self.disconnects += 1


EXPECTED = {
    "garbage": {"amqp:connection:framing-error"},
    "garbage_after_open": {"amqp:connection:framing-error"},
    "truncated": {"amqp:connection:framing-error", "proton:io"},
    "oversized": {"amqp:connection:framing-error", "amqp:resource-limit-exceeded"},
    "unknown_channel": {"amqp:not-allowed"},
    "unknown_handle": {"amqp:invalid-field"},
    "transfer_before_attach": {"amqp:invalid-field"},
    "unknown_performative": {"amqp:connection:framing-error"},
    "open_close_flood": {"amqp:connection:framing-error"},
    "stall": {"amqp:resource-limit-exceeded"},
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_hostile_peer_gives_transport_error_and_frees_everything(scenario: str) -> None:
    """One misbehaviour per peer: an error with an AMQP condition, a clean end, no leak."""
    gc.collect()
    wrappers, fds = live_wrappers(), open_fds()
    with HostilePeer(scenario) as peer:
        client = Client(peer.url)
        run(Container(client), 10)
    assert client.errors, f"{scenario}: no on_transport_error"
    condition = client.errors[0]
    assert condition is not None and condition.name in EXPECTED[scenario], condition
    # After the flood's Close the connection is closed by both ends: no "disconnect" then.
    assert client.disconnects == (0 if scenario == "open_close_flood" else 1)
    if scenario == "stall":
        assert client.sent > 50, "the peer never made our writes block"
    del client
    gc.collect()
    assert new_wrappers(wrappers) == []
    assert open_fds() == fds


def test_hostile_peer_reconnect_then_give_up() -> None:
    """With reconnect on, each broken connection is retried; after max_tries the client gives
    up with a final transport error, and nothing is left behind."""
    gc.collect()
    wrappers, fds = live_wrappers(), open_fds()
    with HostilePeer("garbage") as peer:
        client = Client(peer.url, reconnect=Backoff(initial=0.01, max_tries=3))
        run(Container(client), 10)
        accepted = peer.accepted
    assert accepted == 4, accepted  # the first attempt and three retries
    names = [c.name for c in client.errors]
    assert names[:4] == ["amqp:connection:framing-error"] * 4, names
    assert names[-1] == "amqp:connection:forced"
    assert "gave up reconnecting after 3 attempts" in client.errors[-1].description
    del client
    gc.collect()
    assert new_wrappers(wrappers) == []
    assert open_fds() == fds
