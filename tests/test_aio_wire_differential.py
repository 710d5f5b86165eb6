"""The same scenario on ``Container.run()`` and on ``amq_python.aio`` puts the same frames on the
wire, in the same order, and sees the same outcomes.

tests/aio_wire_scenario.py runs the scenario (connect; attach a sender; send three messages
that a python-qpid-proton listener accepts, rejects and releases; attach a receiver; receive
and accept; close) in a subprocess with PN_TRACE_FRM=1, once per driver, each against its own
listener (tests/peer_script.py on python-qpid-proton). The frame traces, both directions, are
compared line by line; only the transport's address and our random container id (which also
prefixes the link names) are normalised.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

from tests.helpers import ROOT, Peer

SCENARIO = ROOT / "tests" / "aio_wire_scenario.py"
FRAME = re.compile(r"^\[0x[0-9a-f]+\]:\s*(.*)$")
CONTAINER_ID = re.compile(r'-> @open\(16\) \[container-id="([^"]+)"')


def traced_run(mode: str) -> tuple[dict[str, Any], list[str], list[Any]]:
    """Run the scenario with ``mode`` against a fresh listener: what it printed, its frames
    (normalised), and the listener's records."""
    with Peer("proton") as peer:
        done = subprocess.run(
            [sys.executable, str(SCENARIO), mode, peer.url],
            env={**os.environ, "PN_TRACE_FRM": "1", "PYTHONPATH": str(ROOT)},
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        records = [r for r in peer.report() if "opened" not in r]  # it names our container
    frames = [m.group(1) for m in map(FRAME.match, done.stderr.splitlines()) if m]
    found = next(filter(None, map(CONTAINER_ID.search, frames)))
    ours = found.group(1)
    frames = [frame.replace(ours, "<container-id>") for frame in frames]
    return json.loads(done.stdout), frames, records


def performatives(frames: list[str]) -> list[str]:
    """Direction and name of each AMQP frame: ``-> transfer``."""
    found = (re.search(r"(->|<-) @([a-z-]+)\(", frame) for frame in frames)
    return [f"{m.group(1)} {m.group(2)}" for m in found if m]


def test_container_and_aio_put_the_same_frames_on_the_wire(loop: str) -> None:
    by_container, container_frames, container_peer = traced_run("container")
    by_aio, aio_frames, aio_peer = traced_run("aio" if loop == "asyncio" else "aio-uvloop")

    expected = {"outcomes": ["accepted", "rejected", "released"], "received": ["m0"]}
    assert by_container == by_aio == expected
    assert aio_frames == container_frames
    assert aio_peer == container_peer  # what the listener received and the outcomes it saw

    out_in = performatives(aio_frames)
    assert out_in == [
        "<- sasl-mechanisms", "-> sasl-init", "<- sasl-outcome",
        "-> open", "<- open",
        "-> begin", "-> attach", "<- begin", "<- attach", "<- flow",
        "-> transfer", "<- disposition",
        "-> transfer", "<- flow", "<- disposition",
        "-> transfer", "<- flow", "<- disposition",
        "-> attach", "-> flow", "<- attach", "<- transfer",
        "-> flow", "-> disposition",
        "-> close", "<- close",
    ]
    dispositions = [frame for frame in aio_frames if "@disposition(21)" in frame]
    assert ["@accepted(36)" in dispositions[0], "@rejected(37)" in dispositions[1],
            "@released(38)" in dispositions[2], "@accepted(36)" in dispositions[3]] == [True] * 4
