"""The embedded broker as a subprocess for tests: started on a free port, stopped for sure.

``python -m amq_python.broker --port 0`` prints ``listening on 127.0.0.1:PORT``; we read that line
(with a deadline), and stop the broker with SIGTERM (SIGKILL if it lingers) in ``stop()``.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"listening on (\S+):(\d+)")


class BrokerProcess:
    """One broker subprocess: ``url``, ``port``, ``log`` (its stderr), ``stop()``."""

    def __init__(self, *args: str, port: int = 0, startup: float = 15.0) -> None:
        self._log_file = tempfile.NamedTemporaryFile(prefix="amq-broker-", suffix=".log")
        self.log_path = Path(self._log_file.name)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "amq_python.broker", "--port", str(port), "-v", *args],
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env=env,
            text=True,
        )
        try:
            self.port = self._read_port(startup)
        except BaseException:
            self.stop()
            raise
        self.url = f"amqp://127.0.0.1:{self.port}"

    def _read_port(self, startup: float) -> int:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + startup
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(max(0.0, deadline - time.monotonic())):
                    line = self.proc.stdout.readline()
                    found = LISTENING.search(line)
                    if found:
                        return int(found.group(2))
                    if not line:
                        break
        raise RuntimeError(f"the broker did not start: {self.log()}")

    def log(self) -> str:
        """What the broker logged on stderr so far."""
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: signal.Signals) -> int:
        """Send ``sig`` and wait (at most 10 s) for the exit status."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"broker still running 10 s after {sig!r}:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM, SIGKILL after 5 s; close our ends."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log_file.close()


@contextmanager
def running_broker(*args: str, port: int = 0) -> Iterator[BrokerProcess]:
    """A started broker, stopped when the block ends."""
    broker = BrokerProcess(*args, port=port)
    try:
        yield broker
    finally:
        broker.stop()
