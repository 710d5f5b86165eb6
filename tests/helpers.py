"""Shared helpers for the loopback tests: a peer subprocess, a bounded ``run()``, sample messages.

- ``Peer``: ``tests/peer_script.py`` (a tiny broker) in a subprocess, on amq_python or
  python-qpid-proton, listening on a free loopback port; ``report()`` waits for it to exit and
  returns what it saw (connections, messages, outcomes) as JSON records.
- ``run(container, timeout)``: ``container.run()`` with a watchdog timer, so a test that goes
  wrong fails with TimeoutError instead of hanging.
- ``sample_messages(module)``: messages with properties and bodies of several AMQP types,
  built with either library's classes.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.peer_script import canon, canon_message
from tests.peers.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
PEER_SCRIPT = Path(__file__).resolve().parent / "peer_script.py"

__all__ = ["Peer", "Watchdog", "canon", "canon_message", "has_ipv6", "run", "sample_messages"]


class Peer:
    """A broker subprocess listening on ``url`` (127.0.0.1 or [::1], a free port)."""

    def __init__(
        self,
        module: str = "amq_python",
        host: str = "127.0.0.1",
        connections: int = 1,
        timeout: float = 15.0,
    ) -> None:
        self.port = free_port()
        self.host = host
        bracketed = f"[{host}]" if ":" in host else host
        self.url = f"amqp://{bracketed}:{self.port}"
        # stderr goes to a file and stdout is drained by a thread: a peer blocked on a full
        # pipe would stop reading its socket and look like a stalled client.
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, str(PEER_SCRIPT), "--module", module, "--url", self.url,
             "--connections", str(connections), "--timeout", str(timeout)],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True, cwd=ROOT,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()  # bounded: the peer has its own watchdog
        if json.loads(first or "{}").get("ready") is not True:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"peer on {self.url} did not start: {first!r} {self._err()}")
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self._records: list[dict[str, Any]] | None = None

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.append(line)

    def _err(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()

    def report(self, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Wait for the peer to exit and return its records; fail if it did not exit cleanly."""
        if self._records is None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._reader.join()
                raise AssertionError(
                    f"peer did not finish: {''.join(self._lines)}\n{self._err()}"
                ) from None
            self._reader.join()
            out = "".join(self._lines)
            assert self.proc.returncode == 0, (
                f"peer failed ({self.proc.returncode}): {out}\n{self._err()}"
            )
            self._records = [json.loads(line) for line in out.splitlines() if line.strip()]
        return self._records

    def records(self, key: str) -> list[Any]:
        """The values of every record with ``key`` (``"message"``, ``"opened"``, ...)."""
        return [record[key] for record in self.report() if key in record]

    def outcomes(self) -> dict[str, str]:
        """Body -> outcome ("accepted", "rejected", "released") of each message the peer sent."""
        return {r["body"]: r["outcome"] for r in self.report() if "outcome" in r}

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join()
        self._stderr.close()


class Watchdog:
    """A timer handler that ends ``run()`` with TimeoutError once ``timeout`` seconds pass while
    the container still has sockets; it re-arms itself in short steps, so it never keeps an
    otherwise finished container running."""

    STEP = 0.05

    def __init__(self, container: Any, timeout: float) -> None:
        self.container = container
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        container.schedule(self.STEP, self)

    def on_timer_task(self, event: Any) -> None:
        container = self.container
        busy = bool(container._channels or container._acceptors)  # test-only peek at the loop
        if not busy:
            return
        if time.monotonic() > self.deadline:
            raise TimeoutError(f"watchdog: the container was still running after {self.timeout} s")
        container.schedule(self.STEP, self)


def run(container: Any, timeout: float = 5.0) -> Any:
    """Run ``container`` (an amq_python Container) to completion, failing after ``timeout``."""
    Watchdog(container, timeout)
    container.run()
    return container


def has_ipv6() -> bool:
    """Whether this machine can listen on ::1 (checked once per run)."""
    global _ipv6
    if _ipv6 is None:
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
                sock.bind(("::1", 0))
            _ipv6 = True
        except OSError:
            _ipv6 = False
    return _ipv6


_ipv6: bool | None = None


def sample_messages(module: ModuleType) -> list[Any]:
    """Messages with headers, properties and bodies of several AMQP types, made with
    ``module``'s classes (``amq_python`` or ``proton``). The ``outcome`` property tells the peer
    what to do: message 1 is rejected, message 2 released, the others accepted."""
    m = module
    bodies = [
        "text body",
        b"\x00\x01binary\xff",
        {"k": 1, m.symbol("sym"): [1, 2.5, None, True]},
        [m.ulong(7), m.uint(3), m.ushort(2), m.ubyte(1), m.byte(-1), m.short(-2), m.int32(-3)],
        m.timestamp(1_700_000_000_000),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        m.Described(m.symbol("desc"), "described value"),
        m.Array(m.UNDESCRIBED, m.Data.INT, m.int32(1), m.int32(2), m.int32(3)),
        m.char("c"),
        m.float32(1.5),
        None,
        12345678901234,
    ]
    outcomes = ["accept", "reject", "release"]
    messages = []
    for i, body in enumerate(bodies):
        message = m.Message(
            body=body,
            id=i,
            subject=f"subject {i}",
            correlation_id=m.ulong(i),
            content_type="application/x-test",
            durable=bool(i % 2),
            priority=4,
            ttl=60.0,
            properties={"i": i, "outcome": outcomes[i] if i < 3 else "accept", "s": "x" * i},
            annotations={m.symbol("x-opt-i"): i},
        )
        messages.append(message)
    return messages


def live_wrappers() -> dict[Any, Any]:
    """A snapshot of amq_python's wrapper registry, for ``new_wrappers`` to compare with."""
    from amq_python._core._wrapper import live

    return dict(live)


def new_wrappers(snapshot: dict[Any, Any]) -> list[str]:
    """The wrappers registered since ``snapshot`` and still there: what a test leaked, by type.
    (A count would also see earlier tests' stale entries leave as their addresses are reused.)"""
    from amq_python._core._wrapper import live

    return [repr(wrapper) for key, wrapper in live.items() if snapshot.get(key) is not wrapper]
