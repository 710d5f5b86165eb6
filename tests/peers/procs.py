"""Process helpers shared by the peers: find binaries, start in a process group, stop for sure."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

_Peer = TypeVar("_Peer", bound="ManagedPeer")


class PeerUnavailable(RuntimeError):
    """A peer's binary is missing: the message names the Debian package that provides it.

    Raised instead of skipping, so a CI run without the package fails loudly.
    """


def require_binary(name: str, package: str) -> str:
    """The full path of executable `name` (an absolute path, or found on PATH or in /usr/sbin)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        raise PeerUnavailable(
            f"{name} not found: install the Debian package {package} (apt-get install -y {package})"
        )
    return found


def start_group(
    argv: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start argv in a new session (its own process group), output appended to `log`.

    A process group lets stop_group() end the peer and every child it forked.
    """
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send sig to proc's process group; a group that is already gone is fine."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def stop_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process group, SIGKILL it after `grace` seconds, reap the leader.

    SIGKILL goes to the group even after a clean exit of the leader, so no child is left behind.
    """
    if proc.poll() is None and grace > 0:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(proc, signal.SIGKILL)
    proc.wait()


def tail(path: Path, limit: int = 3000) -> str:
    """The last `limit` characters of a log file, for error messages."""
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


class ManagedPeer:
    """The lifecycle a peer process shares: ``with Peer(...) as peer`` starts it, and on leaving
    (or on a failed start) stops it and removes its working directory. Subclasses provide
    ``start()``, ``stop()`` and ``directory``."""

    directory: Path

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """stop() and remove the working directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self: _Peer) -> _Peer:
        """Start; on a failed start everything is already stopped and removed."""
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        """close()."""
        self.close()
