"""Interop with python-qpid-proton as the other peer, both ways round, on loopback.

The peer (``tests/peer_script.py``, a tiny broker) and the client (``tests/client_script.py``)
each run in their own subprocess on the library named by ``--module``. The client sends the
sample messages (properties, annotations, bodies of many AMQP types; one to be rejected, one
released), then receives the accepted ones back. python-qpid-proton on both ends is the
reference: every mix of the two libraries must see exactly what it sees.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

import amq_python
from amq_python import ACCEPTED, REJECTED, RELEASED
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.helpers import ROOT, Peer, canon_message, run, sample_messages

CLIENT_SCRIPT = ROOT / "tests" / "client_script.py"
EXPECTED_OUTCOMES = ["accepted", "rejected", "released"] + ["accepted"] * 9


def exchange(client: str, peer_module: str) -> tuple[dict[str, Any], Peer]:
    """Run the client script on ``client`` against a peer on ``peer_module``."""
    with Peer(module=peer_module) as peer:
        done = subprocess.run(
            [sys.executable, str(CLIENT_SCRIPT), "--module", client, "--url", peer.url],
            capture_output=True, text=True, timeout=30, cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.splitlines()[-1])
        peer.report()
    return result, peer


@pytest.fixture(scope="module")
def reference() -> tuple[dict[str, Any], list[Any]]:
    """What python-qpid-proton sees with python-qpid-proton on both ends."""
    result, peer = exchange("proton", "proton")
    assert result["errors"] == []
    assert result["outcomes"] == EXPECTED_OUTCOMES
    return result, peer.records("message")


@pytest.mark.parametrize(
    "client, peer_module",
    [("amq_python", "proton"), ("proton", "amq_python"), ("amq_python", "amq_python")],
    ids=["our-client-to-proton-listener", "proton-client-to-our-listener", "ours-both-ends"],
)
def test_send_and_receive_against_proton(client, peer_module, reference):
    expected_result, expected_at_peer = reference
    result, peer = exchange(client, peer_module)
    assert result["errors"] == []
    assert result["outcomes"] == EXPECTED_OUTCOMES
    # what the listener decoded from the client, field by field, type by type
    assert peer.records("message") == expected_at_peer
    assert len(expected_at_peer) == 12
    # what the client decoded from the listener: the accepted messages, in order
    assert result["received"] == expected_result["received"]
    assert result["received"][0]["body"] == ["str", "text body"]
    assert peer.records("closed") == [1]


def test_our_client_round_trips_typed_values_through_a_proton_listener():
    """In process: every value we send comes back from proton with its AMQP type."""

    class RoundTrip(MessagingHandler):
        def __init__(self, url):
            super().__init__()
            self.url = url
            self.to_send = sample_messages(amq_python)
            self.sent = list(self.to_send)
            self.deliveries = []
            self.states = {}
            self.received = []

        def on_start(self, event):
            self.conn = event.container.connect(self.url, reconnect=False)
            event.container.create_sender(self.conn, "typed")

        def on_sendable(self, event):
            while event.sender.credit and self.to_send:
                self.deliveries.append(event.sender.send(self.to_send.pop(0)))

        def on_settled(self, event):
            self.states[event.delivery] = event.delivery.remote_state
            if len(self.states) == len(self.sent):
                event.container.create_receiver(self.conn, "typed")

        def on_message(self, event):
            self.received.append(event.message)
            if len(self.received) == 10:
                event.connection.close()

    with Peer(module="proton") as peer:
        handler = RoundTrip(peer.url)
        run(Container(handler))
        assert peer.records("closed") == [1]
    states = [handler.states[d] for d in handler.deliveries]
    assert states == [ACCEPTED, REJECTED, RELEASED] + [ACCEPTED] * 9
    accepted = [m for i, m in enumerate(handler.sent) if i not in (1, 2)]
    assert [canon_message(m)["body"] for m in handler.received] == \
        [canon_message(m)["body"] for m in accepted]
    for got, sent in zip(handler.received, accepted):
        assert got.body == sent.body
        assert type(got.body) is type(sent.body)
        assert got.properties == sent.properties
        assert got.annotations == sent.annotations
        assert (got.subject, got.correlation_id, got.content_type, got.priority, got.ttl) == \
            (sent.subject, sent.correlation_id, sent.content_type, sent.priority, sent.ttl)
