"""The embedded broker's transaction coordinator, used by programs written for
python-qpid-proton's transactional API (``container.declare_transaction``, ``transaction.send``,
``transaction.accept``, ``commit()`` / ``abort()``).

Each program in ``tests/proton_programs/broker_tx_*.py`` runs as its own process against one
broker (``python -m amq_python.broker``), under the real python-qpid-proton and unmodified
under ``python -m amq_python.compat``, each on its own queue: both must print the same. What a
queue holds afterwards is read by ``broker_queue.py drain`` (everything up to a marker it sends
first, so "exactly these" needs no timeout).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.broker_process import BrokerProcess, running_broker

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "proton_programs"
RUNNERS = {"proton": [sys.executable], "compat": [sys.executable, "-m", "amq_python.compat"]}
ACCEPTED = 0x24
TRANSACTIONAL_STATE = 0x34


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    with running_broker() as running:
        yield running


def run(broker: BrokerProcess, mode: str, program: str, *args: str) -> list[str]:
    """The lines a program prints under ``mode`` (proton or compat); it must exit with 0."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PN_TRACE_FRM", None)
    done = subprocess.run(
        [*RUNNERS[mode], str(PROGRAMS / program), broker.url, *args],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{program} under {mode}: {done.stderr}\n{broker.log()}"
    return done.stdout.splitlines()


def both(scenario: Callable[[str, str], list[str]], name: str) -> list[str]:
    """Run ``scenario(mode, queue)`` under proton and under compat: the same lines."""
    outputs = {mode: scenario(mode, f"{name}-{mode}") for mode in RUNNERS}
    assert outputs["compat"] == outputs["proton"]
    return outputs["proton"]


def test_committed_sends_are_enqueued_aborted_ones_dropped(broker: BrokerProcess) -> None:
    """10 sent in a committed transaction and 10 in an aborted one, then a plain one: the queue
    holds exactly the committed 10, in order, and the plain one; every transactional transfer
    was answered with a transactional state, the plain one with accepted."""

    def scenario(mode: str, queue: str) -> list[str]:
        sent = run(broker, mode, "broker_tx_send.py", queue, "commit:10,abort:10")
        return sent + run(broker, mode, "broker_queue.py", queue, "drain")

    assert both(scenario, "txsend") == [
        "committed 10",
        "aborted 10",
        f"transfers settled: [({ACCEPTED}, 1), ({TRANSACTIONAL_STATE}, 20)] accepted: 1",
        *[f"on the queue: commit-0-{i} delivery count 0" for i in range(1, 11)],
        "on the queue: plain delivery count 0",
    ]


def test_aborted_acceptance_returns_messages_committed_consumes(broker: BrokerProcess) -> None:
    """5 accepted in an aborted transaction come back (delivery count 1) and are received
    again; accepted in a committed one they are gone: the other 5 are what is left. After the
    abort both clients release those deliveries (none settles them with the stale txn-id)."""

    def scenario(mode: str, queue: str) -> list[str]:
        run(broker, mode, "broker_queue.py", queue, "fill", "10")
        received = run(broker, mode, "broker_tx_recv.py", queue, "abort:5,commit:5")
        return received + run(broker, mode, "broker_queue.py", queue, "drain")

    assert both(scenario, "txrecv") == [
        *[f"received m{i} delivery count 0" for i in range(5)],
        "aborted 5",
        *[f"received m{i} delivery count 1" for i in range(5)],
        "committed 5",
        *[f"on the queue: m{i} delivery count 0" for i in range(5, 10)],
    ]
    assert "disposition in unknown transaction" not in broker.log()


def test_connection_closed_mid_transaction_rolls_back(broker: BrokerProcess) -> None:
    """A client that closes its connection with a transaction open: its acceptances are
    rolled back, every message is on the queue again."""

    def scenario(mode: str, queue: str) -> list[str]:
        run(broker, mode, "broker_queue.py", queue, "fill", "3")
        received = run(broker, mode, "broker_tx_recv.py", queue, "close:2")
        return received + run(broker, mode, "broker_queue.py", queue, "drain")

    assert both(scenario, "txclose") == [
        "received m0 delivery count 0",
        "received m1 delivery count 0",
        "closing with the transaction open",
        "on the queue: m0 delivery count 1",
        "on the queue: m1 delivery count 1",
        "on the queue: m2 delivery count 0",
    ]


def test_unknown_transaction_id(broker: BrokerProcess) -> None:
    """After its commit a transaction's id is unknown: a transfer in it is rejected with
    amqp:transaction:unknown-id (and not enqueued), and a second commit fails with it. A
    declare the broker refuses (distributed) reaches on_transaction_declare_failed."""

    def scenario(mode: str, queue: str) -> list[str]:
        told = run(broker, mode, "broker_tx_unknown.py", queue)
        return told + run(broker, mode, "broker_queue.py", queue, "drain")

    assert both(scenario, "txunknown") == [
        "committed",
        "late send rejected: amqp:transaction:unknown-id",
        "second commit failed: amqp:transaction:unknown-id",
        "distributed declare failed: amqp:not-implemented",
        "on the queue: in the transaction delivery count 0",
    ]
