"""The asyncio example and the README's asyncio program run as written against the broker."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker_process import BrokerProcess, running_broker
from tests.helpers import ROOT
from tests.test_readme import fenced_blocks, in_private_network


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    with running_broker() as b:
        yield b


def on_loop(loop: str) -> list[str]:
    """The command that runs a program on ``loop`` (asyncio's default, or uvloop)."""
    if loop == "uvloop":
        return [sys.executable, str(ROOT / "tests" / "uvloop_run.py")]
    return [sys.executable]


def test_aio_hello_example(broker: BrokerProcess, loop: str) -> None:
    result = subprocess.run(
        [*on_loop(loop), str(ROOT / "examples" / "aio_hello.py"), "--url", broker.url],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello World!\n"


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_readme_asyncio_program(tmp_path: Path, loop: str) -> None:
    program = next(block for block in fenced_blocks("python")
                   if "async for delivery in receiver" in block)
    path = tmp_path / "aio_tour.py"
    path.write_text(program, encoding="utf-8")
    wrapper = on_loop(loop)[1:]  # the venv's python is first on PATH there
    result = in_private_network(" ".join(["python", *wrapper, str(path)]))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Delivery ") and lines[0].endswith(" is accepted")
    assert lines[1:] == ["Hello World!"]
