"""Differential test: the same handler script on python-qpid-proton and on amq_python.

``tests/diff_scenario.py`` runs in a subprocess per library, against the same kind of peer (a
python-qpid-proton broker, ``tests/peer_script.py``), and logs every handler call with the
presence of connection/session/link/delivery on its event. The two logs must be identical once
the raw events that only describe how each implementation drives its IO are set aside:

- ``on_transport``: "the transport has output"; how often depends on how each loop batches
  its writes, not on the protocol;
- ``on_selectable_*``: python-qpid-proton's reactor reports its sockets as events; amq_python
  watches sockets with ``selectors`` and has no such events;
- ``on_reactor_quiesced``: python-qpid-proton's loop emits it whenever it is about to block,
  which depends on socket timing;
- ``on_*_final``: when a C object is freed; python-qpid-proton keeps them until its wrappers
  are garbage collected (often after ``run()``), amq_python frees them when the engine is done;
- ``on_connection_bound`` / ``on_connection_unbound``: when the IO driver binds the transport
  to the connection, a step the two drivers take at different moments relative to the
  connection's local open.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import ROOT, Peer

SCENARIO = ROOT / "tests" / "diff_scenario.py"
IGNORED = {"on_transport", "on_reactor_quiesced", "on_connection_bound", "on_connection_unbound"}


def ignored(method: str) -> bool:
    return method in IGNORED or method.startswith("on_selectable_") or method.endswith("_final")


def handler_calls(module: str) -> list[tuple[str, str, str]]:
    """The scenario's log on ``module``, without the implementation-detail events."""
    with Peer(module="proton") as peer:
        done = subprocess.run(
            [sys.executable, str(SCENARIO), "--module", module, "--url", peer.url],
            capture_output=True, text=True, timeout=30, cwd=ROOT,
        )
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        assert peer.records("closed") == [1]
    return [tuple(call) for call in json.loads(done.stdout) if not ignored(call[1])]


@pytest.fixture(scope="module")
def proton_calls() -> list[tuple[str, str, str]]:
    return handler_calls("proton")


def test_same_handler_calls_as_python_qpid_proton(proton_calls):
    ours = handler_calls("amq_python")
    assert ours == proton_calls


def test_the_scenario_did_what_it_says(proton_calls):
    """The reference log itself covers the scenario, so the comparison means something."""
    messaging = [(method, flags) for who, method, flags in proton_calls if who == "messaging"]
    assert messaging.count(("on_accepted", "CSLD")) == 2
    assert messaging.count(("on_rejected", "CSLD")) == 1
    assert messaging.count(("on_message", "CSLD")) == 2
    assert ("on_connection_opened", "C---") in messaging
    assert ("on_link_opened", "CSL-") in messaging
    assert messaging[-1] == ("on_connection_closed", "C---")
    raw = {method for who, method, _flags in proton_calls if who == "raw"}
    assert {"on_reactor_init", "on_link_flow", "on_delivery", "on_transport_closed"} <= raw
