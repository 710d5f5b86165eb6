"""Soak: a million messages through the embedded broker, at-least-once; ``make soak`` runs it.

    .venv/bin/python soak/run.py                       # 1,000,000 messages, RSS checked at 100k
    .venv/bin/python soak/run.py --messages 50000 --checkpoint 10000

The broker (``python -m amq_python.broker --port 0``) runs in a subprocess. One client process
(this one) has a sending and a receiving connection to queue ``soak``. The sender keeps at most
``--window`` unsettled messages in flight (it sends in ``on_sendable`` while it has credit and
the window allows); the receiver accepts each message (at-least-once: the broker drops a message
only when it is accepted). Every message carries its number as ``id``; the receiver ticks them
off in a bitmap, so a number seen twice is counted as a duplicate and a number never seen as
lost. Resident memory (``/proc/self/statm``, after a garbage collection) is measured when the
``--checkpoint``-th message arrives and at the end; the run fails when a message is lost or the
memory grew by more than ``--max-growth`` MiB between the two. It prints one summary line and,
with ``--json``, the numbers as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from amq_python import Message  # noqa: E402
from amq_python._core._wrapper import live_count  # noqa: E402
from amq_python.handlers import MessagingHandler  # noqa: E402
from amq_python.reactor import Container  # noqa: E402


def rss_mib(pid: int | None = None) -> float:
    """Resident memory of a process (this one by default), in MiB."""
    with open(f"/proc/{pid or 'self'}/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Broker:
    """``python -m amq_python.broker --port 0`` in a subprocess; ``url`` once it listens."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "amq_python.broker", "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert self.proc.stdout is not None
        line = ""
        timer = threading.Timer(15, self.proc.kill)  # bounds the readline below
        timer.start()
        try:
            line = self.proc.stdout.readline()
        finally:
            timer.cancel()
        if not line.startswith("listening on "):
            self.close()
            raise RuntimeError(f"the broker did not start: {line!r}")
        self.url = "amqp://" + line.split()[-1]
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def close(self) -> None:
        """Kill the broker and wait for it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Soak(MessagingHandler):
    """Sends ``total`` numbered messages and receives them, ticking each off."""

    def __init__(self, url: str, total: int, checkpoint: int, window: int) -> None:
        super().__init__(prefetch=500)
        self.url = url
        self.total = total
        self.checkpoint = checkpoint
        self.window = window
        self.sent = 0
        self.accepted = 0
        self.received = 0
        self.duplicates = 0
        self.seen = bytearray(total)
        self.rss_checkpoint = 0.0
        self.live_checkpoint = 0
        self.started = time.monotonic()
        self.checkpoint_time = 0.0
        self.sender: Any = None

    def on_start(self, event: Any) -> None:
        """A connection for the sender and one for the receiver."""
        container = event.container
        self.send_conn = container.connect(self.url, reconnect=False)
        self.recv_conn = container.connect(self.url, reconnect=False)
        self.sender = container.create_sender(self.send_conn, "soak")
        container.create_receiver(self.recv_conn, "soak")

    def on_sendable(self, event: Any) -> None:
        """Send while there is credit and the unsettled window allows."""
        self._fill(event.sender)

    def _fill(self, sender: Any) -> None:
        while (sender.credit > 0 and self.sent < self.total
               and self.sent - self.accepted < self.window):
            sender.send(Message(id=self.sent, body="soak message body"))
            self.sent += 1

    def on_accepted(self, event: Any) -> None:
        """The broker has it: more may go."""
        self.accepted += 1
        if self.accepted % 100 == 0:
            self._fill(self.sender)

    def on_message(self, event: Any) -> None:
        """Tick the number off; at the checkpoint measure memory; at the end close."""
        number = event.message.id
        if self.seen[number]:
            self.duplicates += 1
        else:
            self.seen[number] = 1
            self.received += 1
        if self.received == self.checkpoint and not self.rss_checkpoint:
            gc.collect()
            self.rss_checkpoint = rss_mib()
            self.live_checkpoint = live_count()
            self.checkpoint_time = time.monotonic()
        if self.received == self.total:
            event.receiver.connection.close()
            self.send_conn.close()

    def on_transport_error(self, event: Any) -> None:
        """A lost connection ends the run (counted as loss)."""
        event.container.stop()


def soak(messages: int, checkpoint: int, window: int = 1000, timeout: float = 3600.0
         ) -> dict[str, Any]:
    """Run the soak; return the numbers (the broker is always killed)."""
    broker = Broker()
    try:
        handler = Soak(broker.url, messages, checkpoint, window)
        container = Container(handler)
        deadline = time.monotonic() + timeout

        class Watchdog:
            def on_timer_task(self, event: Any) -> None:
                if time.monotonic() > deadline:
                    event.container.stop()
                elif handler.received < messages:
                    event.container.schedule(1.0, self)

        container.schedule(1.0, Watchdog())
        container.run()
        gc.collect()
        end = time.monotonic()
        broker_rss = rss_mib(broker.proc.pid) if broker.proc.poll() is None else 0.0
    finally:
        broker.close()
    return {
        "messages": messages,
        "received": handler.received,
        "lost": messages - handler.received,
        "duplicates": handler.duplicates,
        "checkpoint": checkpoint,
        "rss_checkpoint_mib": round(handler.rss_checkpoint, 2),
        "rss_end_mib": round(rss_mib(), 2),
        "growth_mib": round(rss_mib() - handler.rss_checkpoint, 2),
        "live_wrappers_checkpoint": handler.live_checkpoint,
        "live_wrappers_end": live_count(),
        "broker_rss_end_mib": round(broker_rss, 2),
        "seconds": round(end - handler.started, 1),
        "rate_per_second": round(messages / max(end - handler.started, 1e-9)),
    }


def main() -> int:
    """Parse the options, soak, print the result; 1 on loss or too much memory growth."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--checkpoint", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--max-growth", type=float, default=4.0,
                        help="MiB of RSS growth allowed after the checkpoint")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = soak(args.messages, args.checkpoint, args.window)
    print(f"soak: {result['received']}/{result['messages']} received, {result['lost']} lost, "
          f"{result['duplicates']} duplicates; RSS {result['rss_checkpoint_mib']} MiB at "
          f"{result['checkpoint']}, {result['rss_end_mib']} MiB at the end "
          f"(+{result['growth_mib']} MiB); broker RSS {result['broker_rss_end_mib']} MiB; "
          f"{result['seconds']} s, {result['rate_per_second']} msg/s")
    if args.json:
        print(json.dumps(result))
    return 1 if result["lost"] or result["growth_mib"] > args.max_growth else 0


if __name__ == "__main__":
    sys.exit(main())
