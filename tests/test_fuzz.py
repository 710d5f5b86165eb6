"""Fuzzing: a short, bounded run of every fuzz target, and the inputs earlier runs found.

Each target of ``fuzz/targets.py`` (message decode, the AMQP type decoder, bytes into a server-
and a client-side engine, SASL frames into a transport with the Cyrus bridge, URL and
connect.json parsing) runs for about two seconds in a child process of ``fuzz/run.py``: an
abort in C would kill the child, not pytest, and the parent reports it with the input. Seeds
are fixed, so the suite does not fail at random on a finding still open (see
``docs/reliability.md``); the long run is ``make fuzz`` (``fuzz/run.py --duration 600``, random
seeds). The regression inputs below run in this process: each once raised an undocumented
exception or left a connection hanging.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from amq_python import Data
from amq_python._core._exceptions import DataException, ProtonException
from amq_python._core._message import decode_message
from fuzz.targets import TARGETS, engine_client, engine_server, sasl_client
from tests.peers import amqp_wire as w

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 2.0
SEED = 20240901  # repeatable here; ``make fuzz`` uses random seeds


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_target_short_run(name: str, tmp_path: Path) -> None:
    """A few seconds of hypothesis-generated inputs: no crash, hang or undocumented error."""
    cmd = [sys.executable, str(ROOT / "fuzz" / "run.py"), "--child", name, "--seed", str(SEED),
           "--duration", str(SECONDS), "--max-examples", "3000", "--last", str(tmp_path / "last")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=ROOT)
    try:
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    last = tmp_path / "last"
    hint = last.read_bytes()[:300] if last.exists() else b""
    assert proc.returncode == 0, f"{name} failed ({proc.returncode}); last input {hint!r}\n{out}"
    assert "no failure" in out


def test_char_beyond_unicode_is_a_data_error() -> None:
    """An AMQP char (0x73) of 0x80000000 raised OverflowError from chr()."""
    tree = Data()
    tree.decode(b"\x73\x80\x00\x00\x00")
    tree.rewind()
    tree.next()
    with pytest.raises(DataException, match="not a Unicode code point"):
        tree.get_object()


def test_message_with_char_beyond_unicode_is_a_message_error() -> None:
    """The same char as a message body: the fast decoder let ValueError escape."""
    for code in (b"\x80\x00\x00\x00", b"\x00\x11\x00\x00"):
        with pytest.raises(ProtonException):
            decode_message(b"\x00\x53\x77\x73" + code)


def test_empty_message_is_an_error_not_an_abort() -> None:
    """pn_message_decode asserts on empty input in Debian's build: guarded in Python."""
    with pytest.raises(ProtonException):
        decode_message(b"")


def test_unknown_performative_ends_the_connection_with_an_error() -> None:
    """A frame whose descriptor is no performative: the engine closed the input with no
    condition and left the output open (a socket that never closed)."""
    engine_server(w.AMQP_HEADER + w.frame(w.performative(0)) + b"\x00" * 32)
    engine_client(w.AMQP_HEADER + w.frame(w.performative(0x18)) + w.frame(w.performative(0)))


def test_frame_with_bad_data_offset_ends_the_connection_with_an_error() -> None:
    """A data offset beyond the frame, on channel 65535, then transfers."""
    engine_client(
        w.AMQP_HEADER + b"\x00\x00\x00\x54\x84\x00\xff\xff" + w.performative(0x15) + b"\x00" * 40
        + w.frame(w.performative(0x15), payload=w.message("x"))
    )


def test_sasl_empty_mechanism_array_is_an_authentication_error() -> None:
    """sasl-mechanisms with an empty symbol array: the failure shows only when output is made,
    and must still reach the handler as a transport error."""
    sasl_client(w.SASL_HEADER + w.sasl_mechanisms_frame())


def test_second_begin_on_same_channel_leaves_no_wrapper() -> None:
    """A second Begin on channel 0 before the first ended: the engine orphans the first session
    (no SESSION_FINAL); its wrapper must still go with the connection (found by ``make fuzz``)."""
    begin = w.frame(w.performative(0x11, None, None, w.UInt(100), w.UInt(100), w.UInt(3)))
    engine_server(w.AMQP_HEADER + begin + begin)
