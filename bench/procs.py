"""Child processes of the driver: started, awaited with a deadline, and never left behind.

Every child gets ``PR_SET_PDEATHSIG = SIGKILL``, so it dies with the driver even if the driver is
killed outright; ``started`` (and ``listening``, for a child that prints ``READY``) stops its
child when the block ends; ``measure`` and ``result`` kill a child that outlives its timeout.
Children run in the repository root, or in ``cwd`` (another revision's tree, ``bench.baseline``).
stderr goes to a temporary file (a full pipe would block the child) and its tail is quoted in
``ChildError``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import select
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench.common import READY

REPO = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1


class ChildError(RuntimeError):
    """A child process failed, timed out or printed no result."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _tail(stderr: IO[bytes], lines: int = 15) -> str:
    stderr.seek(0)
    text = stderr.read().decode(errors="replace").strip().splitlines()
    return "\n".join(text[-lines:])


def _spawn(argv: list[str], stderr: IO[bytes], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        preexec_fn=_die_with_parent,
    )


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


@dataclass
class Child:
    """A running child process, the file holding its stderr, and the first line it printed."""

    proc: subprocess.Popen[str]
    stderr: IO[bytes]
    first_line: str


@contextlib.contextmanager
def started(argv: list[str], timeout: float = 30.0, cwd: Path = REPO) -> Iterator[Child]:
    """Run a child until the block ends, once it has printed its first line (its readiness)."""
    with tempfile.TemporaryFile() as stderr:
        proc = _spawn(argv, stderr, cwd)
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], timeout)
            line = proc.stdout.readline().strip() if ready else ""
            if not line:
                _stop(proc)
                why = f"exit code {proc.returncode}" if ready else f"no output in {timeout:.0f} s"
                command = " ".join(argv)
                raise ChildError(f"child not ready ({why}): {command}\n{_tail(stderr)}")
            yield Child(proc, stderr, line)
        finally:
            _stop(proc)


@contextlib.contextmanager
def listening(
    argv: list[str], timeout: float = 30.0, cwd: Path = REPO
) -> Iterator[subprocess.Popen[str]]:
    """Run a listener until the block ends, once it has printed ``READY``."""
    with started(argv, timeout, cwd) as child:
        if child.first_line != READY:
            raise ChildError(
                f"listener printed {child.first_line!r}, not {READY}:\n{_tail(child.stderr)}"
            )
        yield child.proc
        if child.proc.poll() is not None:
            raise ChildError(
                f"listener exited with {child.proc.returncode}:\n{_tail(child.stderr)}"
            )


def result(child: Child, timeout: float) -> dict[str, float]:
    """Wait for a started child to exit and return the JSON object on its last line."""
    try:
        out, _ = child.proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ChildError(f"timed out after {timeout:.0f} s:\n{_tail(child.stderr)}")
    finally:
        _stop(child.proc)
    lines = out.strip().splitlines()
    if child.proc.returncode != 0 or not lines:
        raise ChildError(f"exited with {child.proc.returncode}:\n{_tail(child.stderr)}")
    try:
        values: dict[str, float] = json.loads(lines[-1])
    except ValueError:
        raise ChildError(f"last line is not a JSON result: {lines[-1]!r}\n{_tail(child.stderr)}")
    return values


def measure(argv: list[str], timeout: float, cwd: Path = REPO) -> dict[str, float]:
    """Run a measuring child to completion and return the JSON object on its last line."""
    with tempfile.TemporaryFile() as stderr:
        child = Child(_spawn(argv, stderr, cwd), stderr, "")
        return result(child, timeout)
