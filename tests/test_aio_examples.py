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


def test_aio_hello_example(broker: BrokerProcess) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "aio_hello.py"), "--url", broker.url],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello World!\n"


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_readme_asyncio_program(tmp_path: Path) -> None:
    program = next(block for block in fenced_blocks("python")
                   if "async for delivery in receiver" in block)
    path = tmp_path / "aio_tour.py"
    path.write_text(program, encoding="utf-8")
    result = in_private_network(f"python {path}")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Delivery ") and lines[0].endswith(" is accepted")
    assert lines[1:] == ["Hello World!"]
