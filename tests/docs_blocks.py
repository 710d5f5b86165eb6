"""Helpers for running the docs' code blocks as written.

- ``docs_block(name)``: the text of the block a page names with ``{code-block}`` and
  ``:name: NAME``, read from the Markdown source; ``docstring_block(module)``: the literal block
  of a module's docstring (tests/test_docs_blocks.py checks that Sphinx reads the same texts).
- ``PrivateNetwork``: a network namespace with only loopback, entered with nsenter(1) for each
  command, where the pages' fixed ports (5672, 5671) are free and nothing outside can reach or
  hold them; so the commands run exactly as the pages show them, ports included.
- ``run_on_terminal``: a command that reads a password from its terminal (saslpasswd2), run on
  a pseudo-terminal with the answers typed in after each prompt.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pty
import re
import selectors
import signal
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BIN = Path(sys.executable).parent
NAMED = re.compile(
    r"```\{code-block\} (?P<language>\S+)\n:name: (?P<name>[\w-]+)\n(?::[\w-]+:[^\n]*\n)*\n?"
    r"(?P<text>.*?)```",
    re.DOTALL,
)
LISTENING = re.compile(r"^listening on (\S+):(\d+)\b", re.MULTILINE)


def named_blocks() -> dict[str, str]:
    """NAME -> text of every named ``{code-block}`` of the docs pages."""
    found: dict[str, str] = {}
    for page in sorted(DOCS.rglob("*.md")):
        for match in NAMED.finditer(page.read_text(encoding="utf-8")):
            assert match["name"] not in found, f"two blocks named {match['name']}"
            found[match["name"]] = match["text"]
    return found


def docs_block(name: str) -> str:
    """The text of the block named NAME."""
    return named_blocks()[name]


def docstring_block(module_name: str) -> str:
    """The literal block (after a line ending in ``::``) of a module's docstring: its indented
    lines, dedented, as the API reference shows them."""
    lines = (inspect.getdoc(importlib.import_module(module_name)) or "").splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith("::")) + 1
    block: list[str] = []
    for line in lines[start:]:
        if line.strip() and not line.startswith(" "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block)).strip("\n")


def commands(block: str) -> list[str]:
    """The block's non-empty lines: one shell command each, comments kept (sh drops them)."""
    return [line for line in block.splitlines() if line.strip()]


class PrivateNetwork:
    """A new network namespace with loopback up, held open by a ``sleep`` until ``close()``."""

    def __init__(self) -> None:
        self._holder = subprocess.Popen(
            ["unshare", "-n", "sh", "-c", "ip link set lo up && echo up && exec sleep infinity"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        )
        assert self._holder.stdout is not None
        if self._holder.stdout.readline().strip() != "up":
            self.close()
            raise RuntimeError("unshare -n failed: the docs' commands need a network namespace")
        self.env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                    "PYTHONUNBUFFERED": "1"}

    def _argv(self, command: str) -> list[str]:
        return ["nsenter", "-t", str(self._holder.pid), "-n", "sh", "-c", command]

    def run(self, command: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run one command line with sh in the namespace; its output, whatever its status."""
        return subprocess.run(self._argv(command), cwd=cwd, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)

    def start(self, command: str, cwd: Path, log: Path) -> Server:
        """Start a server's command line (sh execs it, so the process is the server's) and
        wait for its ``listening on HOST:PORT`` line."""
        with log.open("w") as errors:
            process = subprocess.Popen(self._argv("exec " + command), cwd=cwd, env=self.env,
                                       stdout=subprocess.PIPE, stderr=errors,
                                       stdin=subprocess.DEVNULL, text=True)
        return Server(process, log)

    def close(self) -> None:
        """End the holder: the namespace goes with the last process in it."""
        self._holder.kill()
        self._holder.wait()
        if self._holder.stdout is not None:
            self._holder.stdout.close()


class Server:
    """A server started by ``PrivateNetwork.start``: ``port``, ``output``, ``log()``, ``stop()``."""

    def __init__(self, process: subprocess.Popen[str], log: Path, startup: float = 15) -> None:
        self.process, self.log_path, self.output = process, log, ""
        assert process.stdout is not None
        deadline = time.monotonic() + startup
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while LISTENING.search(self.output) is None and time.monotonic() < deadline:
                if selector.select(deadline - time.monotonic()):
                    line = process.stdout.readline()
                    if not line:
                        break
                    self.output += line
        found = LISTENING.search(self.output)
        if found is None:
            self.stop()
            raise AssertionError(f"the server did not start:\n{self.output}{self.log()}")
        self.host, self.port = found[1], int(found[2])

    def log(self) -> str:
        """What it wrote on standard error so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM; its exit status (SIGKILL, and a failed test, after 10 s)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"still running 10 s after SIGTERM:\n{self.log()}")
        finally:
            assert self.process.stdout is not None
            self.output += self.process.stdout.read()
            self.process.stdout.close()


def echo_off(terminal: int, deadline: float) -> None:
    """Wait until the program reading the terminal has turned echo off: it is then reading a
    password (turning echo off discards what was typed before)."""
    while termios.tcgetattr(terminal)[3] & termios.ECHO and time.monotonic() < deadline:
        time.sleep(0.01)


def run_on_terminal(command: str, cwd: Path, answers: list[tuple[str, str]],
                    timeout: float = 30) -> tuple[int, str]:
    """Run a command line with sh on a new pseudo-terminal; after each prompt of ``answers``
    appears, type its answer and Enter. The exit status and everything it wrote."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the terminal is its controlling one, and its stdin/stdout
        os.chdir(cwd)
        os.execvp("sh", ["sh", "-c", command])
    seen, pending, answered = b"", list(answers), 0
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(terminal, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not selector.select(deadline - time.monotonic()):
                    continue
                try:
                    chunk = os.read(terminal, 1024)
                except OSError:  # EIO: the child has closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
                if pending and pending[0][0].encode() in seen[answered:]:
                    answered = seen.index(pending[0][0].encode(), answered) + 1
                    echo_off(terminal, deadline)  # typed earlier, it would be flushed
                    os.write(terminal, pending.pop(0)[1].encode() + b"\n")
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(terminal)
    assert not pending, f"{command} did not ask {pending[0][0]!r}: {seen!r}"
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")
