"""cli-proton-python (the AMQP 1.0 sender and receiver clients used to QA brokers), unmodified,
on amq_python through ``python -m amq_python.compat`` and on python-qpid-proton, against the
embedded broker: the same messages go through, and both clients print the same.

Each client adds its error handler with ``super(proton.reactor.Container, container)
.global_handler.add(...)``, so this needs the Reactor base class and its global handler.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker_process import ROOT, BrokerProcess, running_broker

pytest.importorskip("cli_proton_python")

BIN = Path(sys.executable).parent
COUNT = 5


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    """One broker for the module: each run uses its own queue."""
    with running_broker() as process:
        yield process


def client(library: str, name: str, *args: str) -> list[dict[str, object]]:
    """Run the ``cli-proton-python-NAME`` console script on ``library``; the messages it
    printed (``--log-msgs json``: one JSON object a line)."""
    script = BIN / f"cli-proton-python-{name}"
    if not script.exists():
        pytest.skip(f"{script} is not installed")
    command = [sys.executable, str(script), *args, "--log-msgs", "json"]
    if library == "amq_python":
        command[1:1] = ["-m", "amq_python.compat"]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, f"{library} {name} failed:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def send_and_receive(broker: BrokerProcess, library: str) -> tuple[list[dict[str, object]], ...]:
    """COUNT numbered messages sent to a queue of this library's own, then received."""
    url = f"127.0.0.1:{broker.port}/cli-{library}"
    sent = client(
        library,
        "sender",
        "--broker-url", url,
        "--count", str(COUNT),
        "--msg-content", "body-%d",
        "--msg-subject", "cli",
        "--msg-property", "colour~blue",
    )
    received = client(library, "receiver", "--broker-url", url, "--count", str(COUNT))
    return sent, received


@pytest.mark.parametrize("library", ["amq_python", "proton"])
def test_sender_and_receiver_move_every_message(broker: BrokerProcess, library: str) -> None:
    """The sender sends COUNT messages; the receiver gets each one, in order, intact."""
    sent, received = send_and_receive(broker, library)
    bodies = [f"body-{i}" for i in range(COUNT)]
    assert [m["content"] for m in sent] == bodies
    assert [m["content"] for m in received] == bodies
    assert all(m["subject"] == "cli" and m["properties"] == {"colour": "blue"} for m in received)


def test_both_libraries_print_the_same(broker: BrokerProcess) -> None:
    """What the clients print about each message is the same on both libraries."""
    ours = send_and_receive(broker, "amq_python")
    theirs = send_and_receive(broker, "proton")
    assert ours == theirs


def test_connector_opens_and_closes_connections(broker: BrokerProcess) -> None:
    """The connector client opens and closes connections, sessions and links alike."""
    outputs = []
    for library in ("amq_python", "proton"):
        command = [
            sys.executable, str(BIN / "cli-proton-python-connector"),
            "--broker-url", f"127.0.0.1:{broker.port}/cli-connector",
            "--count", "3", "--obj-ctrl", "CESR",
        ]
        if not Path(command[1]).exists():
            pytest.skip("cli-proton-python-connector is not installed")
        if library == "amq_python":
            command[1:1] = ["-m", "amq_python.compat"]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=60, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.split())
    assert outputs[0] == outputs[1] == ["3", "0", "3"]
