"""The README's code runs as written: the three-line quick start (broker, hello world, tools) and
the tour program, each against the embedded broker on 127.0.0.1:5672 inside a private network
namespace, so the fixed port the README uses never clashes with anything on the machine."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")


def fenced_blocks(language: str) -> list[str]:
    """Every fenced block of ``language`` in the README, in order."""
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def in_private_network(script: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a new network namespace with only loopback up, the venv's bin first
    on PATH, from the repository root; the embedded broker runs there on the README's port."""
    prologue = textwrap.dedent(
        f"""\
        set -e
        ip link set lo up
        export PATH={BIN}:$PATH
        cd {ROOT}
        log=$(mktemp)
        amq-broker >"$log" 2>&1 &
        broker=$!
        trap 'kill $broker; wait $broker 2>/dev/null; rm -f "$log"' EXIT
        for i in $(seq 100); do grep -q '^listening on' "$log" && break; sleep 0.1; done
        """
    )
    return subprocess.run(
        ["unshare", "-n", "sh", "-c", prologue + script],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_quick_start_lines_run_as_written() -> None:
    """The quick start's lines after the broker's: hello world, then three messages through
    amq-send and amq-receive."""
    quick = next(block for block in fenced_blocks("sh") if "amq-broker" in block)
    commands = [line.split("#")[0].strip() for line in quick.splitlines()]
    assert commands[0] == "amq-broker"
    script = "\n".join(command for command in commands[1:] if command)
    result = in_private_network(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Hello World!",
        "message 0",
        "message 1",
        "message 2",
    ]


def test_tour_program_runs_against_the_broker(tmp_path: Path) -> None:
    """The tour's HelloWorld: the message comes back and send()'s delivery is accepted."""
    tour = next(block for block in fenced_blocks("python") if "class HelloWorld" in block)
    program = tmp_path / "tour.py"
    program.write_text(tour, encoding="utf-8")
    result = in_private_network(f"python {program}")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Hello World!" in lines
    assert any(line.startswith("Delivery ") and line.endswith(" is accepted") for line in lines)
