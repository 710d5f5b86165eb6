"""Soak, short: 50,000 messages through the embedded broker with at-least-once acks.

The full run (a million messages, memory compared after the first 100,000) is ``make soak``
(``soak/run.py``); its last results are in ``docs/reliability.md``. This one runs the same code
with 50,000 messages and the checkpoint at 10,000: nothing lost, duplicates counted, resident
memory at the end within 4 MiB of the checkpoint, live wrappers back to where they were.
"""

from __future__ import annotations

from soak.run import soak


def test_soak_fifty_thousand_messages() -> None:
    """50,000 messages: none lost, memory flat after the first 10,000."""
    result = soak(50_000, 10_000, timeout=90)
    print(f"soak: {result}")
    assert result["lost"] == 0, result
    assert result["received"] == 50_000
    assert result["duplicates"] == 0, result  # a stable broker redelivers nothing
    assert result["growth_mib"] < 4, result
    assert result["live_wrappers_end"] <= result["live_wrappers_checkpoint"], result
