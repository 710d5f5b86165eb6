"""Broker shutdown rounds for tests/test_signals.py, each forked from one preloaded interpreter.

Run as ``python -m tests.signal_rounds FIRST SECOND ROUNDS`` (signal names, e.g. TERM TERM 20).
Each round forks three processes running the programs' own ``main``: the broker
(``amq_python.broker.cli``), a sender that never ends (``amq_python.tools.send``) and a receiver
(``amq_python.tools.receive -c 0``). Once the receiver prints a message (so messages flow), the
broker gets FIRST and, 10 ms later, SECOND. The round waits for the three to exit (killing what
is still there after 15 s) and prints one JSON line: each one's exit status (a negative number
is the signal that killed it) and stderr. Forking skips the interpreter's start-up and imports,
so a round takes a fraction of a second.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from amq_python.broker import cli
from amq_python.tools import receive, send

Main = Callable[[Sequence[str]], int]


def fork(main: Main, argv: list[str], out: Path, err: Path) -> int:
    """Run ``main(argv)`` in a child with stdout/stderr in files; its pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    status = 70
    try:
        for fd, path in ((1, out), (2, err)):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(target, fd)
            os.close(target)
        status = main(argv)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return 0  # not reached: the child ends in os._exit


def wait_for(path: Path, text: str, deadline: float) -> str:
    """Poll ``path`` until it contains ``text``; its contents (or what it had at the deadline)."""
    while True:
        found = path.read_text(errors="replace") if path.exists() else ""
        if text in found or time.monotonic() > deadline:
            return found
        time.sleep(0.005)


def reap(pid: int, deadline: float) -> int:
    """The exit status of ``pid`` (minus the signal number if a signal ended it); SIGKILL and
    -9 once ``deadline`` passes."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -9
        time.sleep(0.005)


def one_round(first: signal.Signals, second: signal.Signals, folder: Path) -> dict[str, object]:
    """Broker, sender, receiver; FIRST and SECOND to the broker; what each exit looked like."""
    files = {name: (folder / f"{name}.out", folder / f"{name}.err")
             for name in ("broker", "sender", "receiver")}
    pids = {"broker": fork(cli.main, ["--port", "0"], *files["broker"])}
    listening = wait_for(files["broker"][0], "\n", time.monotonic() + 15)
    if "listening on" in listening:
        url = f"amqp://{listening.split()[-1]}"
        pids["sender"] = fork(send.main, ["--url", url, "load", "-c", str(10**9), "-q"],
                              *files["sender"])
        pids["receiver"] = fork(receive.main, ["--url", url, "load", "-c", "0"],
                                *files["receiver"])
        wait_for(files["receiver"][0], "\n", time.monotonic() + 15)
    os.kill(pids["broker"], first)
    time.sleep(0.01)
    os.kill(pids["broker"], second)
    deadline = time.monotonic() + 15
    result: dict[str, object] = {}
    for name, pid in pids.items():
        result[name] = reap(pid, deadline)
        result[f"{name}_stderr"] = files[name][1].read_text(errors="replace")
    result["flowed"] = files["receiver"][0].exists() and files["receiver"][0].stat().st_size > 0
    return result


def main(argv: list[str]) -> None:
    """Run the rounds; one JSON line each on stdout."""
    first, second = (signal.Signals[f"SIG{name}"] for name in argv[:2])
    for _ in range(int(argv[2])):
        with tempfile.TemporaryDirectory(prefix="amq-signal-round-") as folder:
            print(json.dumps(one_round(first, second, Path(folder))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
