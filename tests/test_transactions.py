"""Transactions: declare, transactional send and accept, commit and abort.

The peer is ``tests/peers/txn_peer.py``, a python-qpid-proton broker with a transaction
coordinator (no broker at hand implements AMQP transactions). The programs in
``tests/proton_programs/`` (``tx_send.py``, ``tx_recv.py``) run under the real
python-qpid-proton and unmodified under ``python -m amq_python.compat``: the same outcomes, the
same output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.txn_peer import TxnPeer

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "proton_programs"
RUNNERS = {"proton": [sys.executable], "compat": [sys.executable, "-m", "amq_python.compat"]}


@pytest.fixture(scope="module")
def peer() -> Iterator[TxnPeer]:
    with TxnPeer() as running:
        yield running


def _both(peer: TxnPeer, program: str) -> str:
    """The program's output under proton and under compat (each on its own queue): equal."""
    outputs = {}
    for mode, runner in RUNNERS.items():
        done = subprocess.run(
            [*runner, str(PROGRAMS / program), peer.url, f"{program}-{mode}"],
            capture_output=True, text=True, timeout=30, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, f"{program} under {mode}: {done.stderr}"
        outputs[mode] = done.stdout
    assert outputs["compat"] == outputs["proton"]
    return outputs["compat"]


def test_transactional_send(peer: TxnPeer) -> None:
    """Committed batches reach the queue, the aborted one does not."""
    assert _both(peer, "tx_send.py").splitlines() == [
        "committed 2",
        "aborted 3",
        "committed 1",
        "on the queue: commit 1",
        "on the queue: commit 2",
        "on the queue: commit 1",
    ]


def test_transactional_accept(peer: TxnPeer) -> None:
    """Messages accepted in an aborted transaction come back; accepted in a committed one they
    are gone."""
    received = [f"received message {i}" for i in range(3)]
    assert _both(peer, "tx_recv.py").splitlines() == [
        *received, *received, "aborted 3", "committed 3", "the queue is empty"
    ]
