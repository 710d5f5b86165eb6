"""A one-line progress bar with the message rate, redrawn in place on a stream (stderr)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``update(done)`` redraws at most ten times a second; ``finish()`` ends the line."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.started = time.monotonic()
        self._drawn = 0.0

    def line(self, done: int) -> str:
        """The bar's text for ``done`` messages out of ``total``."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        filled = self.width * done // self.total if self.total else self.width
        percent = 100 * done // self.total if self.total else 100
        bar = "#" * filled + "-" * (self.width - filled)
        return f"[{bar}] {done}/{self.total} {percent}% {done / elapsed:.0f} msg/s"

    def update(self, done: int) -> None:
        """Redraw if the last drawing is more than 0.1 s old."""
        now = time.monotonic()
        if now - self._drawn >= 0.1:
            self._drawn = now
            self.stream.write("\r" + self.line(done))
            self.stream.flush()

    def finish(self, done: int) -> None:
        """Draw the final state and end the line."""
        self.stream.write("\r" + self.line(done) + "\n")
        self.stream.flush()
