"""A hand-written AMQP 1.0 encoder for hostile peers and fuzzers: no AMQP library involved.

It writes the bytes a peer would put on the wire (protocol headers, frames, performatives and
message sections) from plain Python values, so a test can send exactly what it wants, valid or
not. Integer widths are chosen with the marker classes ``UByte``, ``UShort``, ``UInt``, ``ULong``
and ``Sym`` (a symbol); a plain ``int`` is a signed long, ``str`` a string, ``bytes`` binary,
``list`` a list, ``SymArray`` an array of symbols, ``dict`` a map and ``Described`` a
described value.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

AMQP_HEADER = b"AMQP\x00\x01\x00\x00"
SASL_HEADER = b"AMQP\x03\x01\x00\x00"
TLS_HEADER = b"AMQP\x02\x01\x00\x00"

FRAME_AMQP = 0
FRAME_SASL = 1

# Performative descriptors (AMQP 1.0 part 2.7 and 5.3).
OPEN, BEGIN, ATTACH, FLOW, TRANSFER, DISPOSITION, DETACH, END, CLOSE = range(0x10, 0x19)
SASL_MECHANISMS, SASL_INIT, SASL_CHALLENGE, SASL_RESPONSE, SASL_OUTCOME = range(0x40, 0x45)
ERROR = 0x1D
ACCEPTED = 0x24
AMQP_VALUE = 0x77
SOURCE = 0x28
TARGET = 0x29


class UByte(int):
    """An AMQP ubyte."""


class UShort(int):
    """An AMQP ushort."""


class UInt(int):
    """An AMQP uint."""


class ULong(int):
    """An AMQP ulong."""


class Sym(str):
    """An AMQP symbol."""


class Described(NamedTuple):
    """A described value: descriptor (usually a ULong code) and value."""

    descriptor: Any
    value: Any


def _variable(small: int, large: int, payload: bytes) -> bytes:
    if len(payload) < 256:
        return bytes([small, len(payload)]) + payload
    return bytes([large]) + struct.pack(">I", len(payload)) + payload


def _compound(code: int, count: int, body: bytes) -> bytes:
    return bytes([code]) + struct.pack(">II", len(body) + 4, count) + body


def encode(value: Any) -> bytes:
    """The AMQP encoding of ``value`` (see the module docstring for the type mapping)."""
    if value is None:
        return b"\x40"
    if value is True:
        return b"\x41"
    if value is False:
        return b"\x42"
    if isinstance(value, Described):
        return b"\x00" + encode(value.descriptor) + encode(value.value)
    if isinstance(value, UByte):
        return b"\x50" + struct.pack(">B", value)
    if isinstance(value, UShort):
        return b"\x60" + struct.pack(">H", value)
    if isinstance(value, UInt):
        return b"\x70" + struct.pack(">I", value)
    if isinstance(value, ULong):
        return b"\x80" + struct.pack(">Q", value)
    if isinstance(value, int):
        return b"\x81" + struct.pack(">q", value)
    if isinstance(value, Sym):
        return _variable(0xA3, 0xB3, value.encode("utf-8"))  # non-ASCII: invalid, on purpose
    if isinstance(value, str):
        return _variable(0xA1, 0xB1, value.encode("utf-8"))
    if isinstance(value, (bytes, bytearray)):
        return _variable(0xA0, 0xB0, bytes(value))
    if isinstance(value, SymArray):
        return _symbol_array(value)
    if isinstance(value, list):
        return _compound(0xD0, len(value), b"".join(encode(v) for v in value))
    if isinstance(value, dict):
        body = b"".join(encode(k) + encode(v) for k, v in value.items())
        return _compound(0xD1, 2 * len(value), body)
    raise TypeError(f"amqp_wire cannot encode {type(value).__name__}")


class SymArray(list):  # type: ignore[type-arg]
    """An AMQP array of symbols (how SASL offers mechanisms)."""


def _symbol_array(names: list[str]) -> bytes:
    body = b"\xb3" + b"".join(struct.pack(">I", len(n)) + n.encode("ascii") for n in names)
    return b"\xf0" + struct.pack(">II", len(body) + 4, len(names)) + body


def performative(code: int, *fields: Any) -> bytes:
    """A performative body: the described list ``code`` with ``fields``."""
    return encode(Described(ULong(code), list(fields)))


def frame(body: bytes, channel: int = 0, kind: int = FRAME_AMQP, payload: bytes = b"") -> bytes:
    """One frame: the 8-byte header (size, doff 2, type, channel), then body and payload."""
    size = 8 + len(body) + len(payload)
    return struct.pack(">IBBH", size, 2, kind, channel) + body + payload


def error(condition: str, description: str) -> Described:
    """An AMQP error (for close, end and detach)."""
    return Described(ULong(ERROR), [Sym(condition), description])


def message(text: str) -> bytes:
    """A transfer payload: a message with one amqp-value section holding ``text``."""
    return encode(Described(ULong(AMQP_VALUE), text))


def open_frame(container_id: str = "hostile", max_frame_size: int = 65536) -> bytes:
    """An Open frame on channel 0."""
    return frame(performative(OPEN, container_id, None, UInt(max_frame_size), UShort(32767)))


def begin_frame(channel: int = 0, remote_channel: int | None = 0) -> bytes:
    """A Begin frame answering the peer's channel ``remote_channel``."""
    remote = None if remote_channel is None else UShort(remote_channel)
    body = performative(BEGIN, remote, UInt(0), UInt(2048), UInt(2048), UInt(1023))
    return frame(body, channel)


def attach_frame(name: str, handle: int, receiver: bool, address: str, channel: int = 0) -> bytes:
    """An Attach frame for link ``name`` (role receiver when ``receiver``)."""
    source = Described(ULong(SOURCE), [address])
    target = Described(ULong(TARGET), [address])
    body = performative(
        ATTACH, name, UInt(handle), receiver, UByte(0), UByte(0), source, target, None, None,
        None if receiver else UInt(0),
    )
    return frame(body, channel)


def flow_frame(handle: int, credit: int, delivery_count: int = 0, channel: int = 0) -> bytes:
    """A Flow frame giving ``credit`` on link ``handle``."""
    body = performative(
        FLOW, UInt(0), UInt(2048), UInt(0), UInt(2048), UInt(handle), UInt(delivery_count),
        UInt(credit),
    )
    return frame(body, channel)


def transfer_frame(handle: int, delivery_id: int, payload: bytes, channel: int = 0) -> bytes:
    """A Transfer frame (unsettled) carrying ``payload`` on link ``handle``."""
    body = performative(TRANSFER, UInt(handle), UInt(delivery_id), bytes([delivery_id % 256]))
    return frame(body, channel, payload=payload)


def close_frame(condition: str | None = None, description: str = "") -> bytes:
    """A Close frame, with an error when ``condition`` is given."""
    if condition is None:
        return frame(performative(CLOSE))
    return frame(performative(CLOSE, error(condition, description)))


def sasl_mechanisms_frame(*mechanisms: str) -> bytes:
    """A sasl-mechanisms frame offering ``mechanisms``."""
    return frame(performative(SASL_MECHANISMS, SymArray(mechanisms)), kind=FRAME_SASL)


def sasl_challenge_frame(challenge: bytes) -> bytes:
    """A sasl-challenge frame."""
    return frame(performative(SASL_CHALLENGE, challenge), kind=FRAME_SASL)


def sasl_outcome_frame(code: int, additional: bytes | None = None) -> bytes:
    """A sasl-outcome frame (code 0 is ok)."""
    return frame(performative(SASL_OUTCOME, UByte(code), additional), kind=FRAME_SASL)
