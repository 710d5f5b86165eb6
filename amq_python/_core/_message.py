"""``Message``: the AMQP 1.0 bare message, and the hot-path ``encode_message``/``decode_message``.

A ``Message`` is a plain Python object: its fields live in instance attributes (absent ones fall
back to class-level defaults), so creating one costs one allocation. Bytes are produced and
consumed in two ways, which give identical results:

1. The fast path, pure Python, for the common shape: header and properties at their defaults
   (encode), or sections whose values are all of the plain AMQP types (decode). It builds or
   parses the exact bytes the C engine produces (tests hold the two paths byte for byte).
2. The general path through the C engine: the fields are copied into one ``pn_message_t`` per
   thread (cleared and reused, never reallocated per message), encoded into a reused per-thread
   buffer that doubles on ``PN_OVERFLOW``; decoding runs ``pn_message_decode`` and reads the
   fields back. Anything the fast path does not handle falls through to this path.
"""

from __future__ import annotations

import struct
import threading
import uuid
from typing import Any, Callable, Union

from amq_python._core._codec import (
    AnnotationDict,
    Data,
    Described,
    byte,
    char,
    decimal32,
    decimal64,
    decimal128,
    float32,
    get_object,
    int32,
    put_object,
    short,
    symbol,
    timestamp,
    ubyte,
    uint,
    ulong,
    ushort,
)
from amq_python._core._exceptions import DataException, MessageException, check
from proton_ext import ffi, lib

__all__ = ["Message", "decode_message", "encode_message"]

MessageId = Union[int, uuid.UUID, bytes, str, None]

_HEADER_FIELDS = ("durable", "priority", "ttl", "first_acquirer", "delivery_count")
_PROPERTY_FIELDS = (
    "id",
    "user_id",
    "address",
    "subject",
    "reply_to",
    "correlation_id",
    "content_type",
    "content_encoding",
    "expiry_time",
    "creation_time",
    "group_id",
    "group_sequence",
    "reply_to_group_id",
)
_KEYWORDS = frozenset(
    (*_HEADER_FIELDS, *_PROPERTY_FIELDS, "inferred", "instructions", "annotations", "properties")
)
_REPR_FIELDS = (
    "inferred",
    "address",
    "reply_to",
    "durable",
    "ttl",
    "priority",
    "first_acquirer",
    "delivery_count",
    "id",
    "correlation_id",
    "user_id",
    "group_id",
    "group_sequence",
    "reply_to_group_id",
    "instructions",
    "annotations",
    "properties",
    "body",
)
# Instance attributes holding message state (removed by clear(); others belong to the user).
_STATE = (
    "_dirty",
    "_durable",
    "_priority",
    "_ttl",
    "_first_acquirer",
    "_delivery_count",
    "_id",
    "_user_id",
    "_address",
    "_subject",
    "_reply_to",
    "_correlation_id",
    "_content_type",
    "_content_encoding",
    "_expiry_time",
    "_creation_time",
    "_group_id",
    "_group_sequence",
    "_reply_to_group_id",
    "_inferred",
    "_instructions",
    "_annotations",
    "properties",
    "body",
)

_UINT_MAX = 2**32 - 1
_LONG_MIN = -(2**63)
_LONG_MAX = 2**63 - 1


def _ranged(name: str, value: Any, low: int, high: int) -> int:
    """``int(value)``, or a clear ValueError naming the field when it is out of range."""
    number = int(value)
    if not low <= number <= high:
        raise ValueError(f"Message.{name} must be in [{low}, {high}], got {value!r}")
    return number


def _millis(name: str, seconds: Any, low: int, high: int) -> int:
    """Seconds (float) to whole milliseconds, range-checked."""
    if not isinstance(seconds, (int, float)):
        raise TypeError(f"Message.{name} must be a number of seconds, not {type(seconds).__name__}")
    return _ranged(name, int(seconds * 1000), low, high)


def _text(name: str, value: Any) -> str | None:
    """A str field value (None clears it)."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    raise TypeError(f"Message.{name} must be a str or None, not {type(value).__name__}")


def _message_id(name: str, value: Any) -> MessageId:
    """Normalise a message-id or correlation-id: AMQP allows ulong, uuid, binary and string."""
    if value is None or isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return _ranged(name, value, 0, 2**64 - 1)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(
        f"Message.{name} must be an unsigned int, uuid.UUID, bytes or str, "
        f"not {type(value).__name__}"
    )


class Message:
    """A mutable AMQP message: header, annotations, properties, application properties, body."""

    DEFAULT_PRIORITY = 4

    # Defaults, shadowed by instance attributes once set.
    _dirty: bool | int = False  # True when a header or properties field is set (or ID_ONLY)
    _durable = False
    _priority = 4
    _ttl = 0
    _first_acquirer = False
    _delivery_count = 0
    _id: MessageId = None
    _user_id: bytes | None = None
    _address: str | None = None
    _subject: str | None = None
    _reply_to: str | None = None
    _correlation_id: MessageId = None
    _content_type: symbol | None = None
    _content_encoding: symbol | None = None
    _expiry_time = 0
    _creation_time = 0
    _group_id: str | None = None
    _group_sequence = 0
    _reply_to_group_id: str | None = None
    _inferred = False
    _instructions: AnnotationDict | None = None
    _annotations: AnnotationDict | None = None
    properties: dict[str, Any] | None = None
    body: Any = None

    def __init__(self, body: Any = None, **kwargs: Any) -> None:
        if body is not None:
            self.body = body
        for name, value in kwargs.items():
            if name not in _KEYWORDS:
                raise AttributeError(
                    f"Message() got an unknown keyword {name!r}; "
                    f"valid keywords: {', '.join(sorted(_KEYWORDS))}"
                )
            setattr(self, name, value)

    # -- header ------------------------------------------------------------------------------

    @property
    def durable(self) -> bool:
        """Whether intermediaries must hold the message durably."""
        return self._durable

    @durable.setter
    def durable(self, value: bool) -> None:
        self._durable = bool(value)
        self._dirty = True

    @property
    def priority(self) -> int:
        """Relative priority, 0-255; AMQP's default is 4."""
        return self._priority

    @priority.setter
    def priority(self, value: int) -> None:
        self._priority = _ranged("priority", value, 0, 255)
        self._dirty = True

    @property
    def ttl(self) -> float:
        """Time to live in seconds (millisecond resolution); 0 means none."""
        return self._ttl / 1000

    @ttl.setter
    def ttl(self, value: float) -> None:
        self._ttl = _millis("ttl", value, 0, _UINT_MAX)
        self._dirty = True

    @property
    def first_acquirer(self) -> bool:
        """True if the recipient is the first to acquire the message."""
        return self._first_acquirer

    @first_acquirer.setter
    def first_acquirer(self, value: bool) -> None:
        self._first_acquirer = bool(value)
        self._dirty = True

    @property
    def delivery_count(self) -> int:
        """The number of earlier failed delivery attempts."""
        return self._delivery_count

    @delivery_count.setter
    def delivery_count(self, value: int) -> None:
        self._delivery_count = _ranged("delivery_count", value, 0, _UINT_MAX)
        self._dirty = True

    # -- properties --------------------------------------------------------------------------

    @property
    def id(self) -> MessageId:
        """The message-id: an unsigned int, uuid.UUID, bytes or str."""
        return self._id

    @id.setter
    def id(self, value: MessageId) -> None:
        self._id = _message_id("id", value)
        self._dirty = True

    @property
    def correlation_id(self) -> MessageId:
        """The correlation-id: an unsigned int, uuid.UUID, bytes or str."""
        return self._correlation_id

    @correlation_id.setter
    def correlation_id(self, value: MessageId) -> None:
        self._correlation_id = _message_id("correlation_id", value)
        self._dirty = True

    @property
    def user_id(self) -> bytes:
        """The identity of the user who produced the message (a str is encoded as UTF-8)."""
        return self._user_id or b""

    @user_id.setter
    def user_id(self, value: bytes | str | None) -> None:
        if value is None:
            self._user_id = None
        elif isinstance(value, str):
            self._user_id = value.encode("utf-8")
        elif isinstance(value, (bytes, bytearray, memoryview)):
            self._user_id = bytes(value)
        else:
            raise TypeError(f"Message.user_id must be bytes or str, not {type(value).__name__}")
        self._dirty = True

    @property
    def address(self) -> str | None:
        """The address of the node the message is going to (AMQP ``to``)."""
        return self._address

    @address.setter
    def address(self, value: str | None) -> None:
        self._address = _text("address", value)
        self._dirty = True

    @property
    def subject(self) -> str | None:
        """The subject of the message."""
        return self._subject

    @subject.setter
    def subject(self, value: str | None) -> None:
        self._subject = _text("subject", value)
        self._dirty = True

    @property
    def reply_to(self) -> str | None:
        """The address to send replies to."""
        return self._reply_to

    @reply_to.setter
    def reply_to(self, value: str | None) -> None:
        self._reply_to = _text("reply_to", value)
        self._dirty = True

    @property
    def content_type(self) -> symbol | None:
        """The MIME type of the body, as a symbol."""
        return self._content_type

    @content_type.setter
    def content_type(self, value: str | None) -> None:
        text = _text("content_type", value)
        self._content_type = None if text is None else symbol(text)
        self._dirty = True

    @property
    def content_encoding(self) -> symbol | None:
        """The content encoding of the body (e.g. gzip), as a symbol."""
        return self._content_encoding

    @content_encoding.setter
    def content_encoding(self, value: str | None) -> None:
        text = _text("content_encoding", value)
        self._content_encoding = None if text is None else symbol(text)
        self._dirty = True

    @property
    def expiry_time(self) -> float:
        """Absolute expiry time, seconds since the epoch (millisecond resolution); 0 is none."""
        return self._expiry_time / 1000

    @expiry_time.setter
    def expiry_time(self, value: float) -> None:
        self._expiry_time = _millis("expiry_time", value, _LONG_MIN, _LONG_MAX)
        self._dirty = True

    @property
    def creation_time(self) -> float:
        """Creation time, seconds since the epoch (millisecond resolution); 0 is unset."""
        return self._creation_time / 1000

    @creation_time.setter
    def creation_time(self, value: float) -> None:
        self._creation_time = _millis("creation_time", value, _LONG_MIN, _LONG_MAX)
        self._dirty = True

    @property
    def group_id(self) -> str | None:
        """The group the message belongs to."""
        return self._group_id

    @group_id.setter
    def group_id(self, value: str | None) -> None:
        self._group_id = _text("group_id", value)
        self._dirty = True

    @property
    def group_sequence(self) -> int:
        """The position of the message within its group."""
        return self._group_sequence

    @group_sequence.setter
    def group_sequence(self, value: int) -> None:
        self._group_sequence = _ranged("group_sequence", value, 0, _UINT_MAX)
        self._dirty = True

    @property
    def reply_to_group_id(self) -> str | None:
        """The group-id replies should carry."""
        return self._reply_to_group_id

    @reply_to_group_id.setter
    def reply_to_group_id(self, value: str | None) -> None:
        self._reply_to_group_id = _text("reply_to_group_id", value)
        self._dirty = True

    # -- sections ----------------------------------------------------------------------------

    @property
    def inferred(self) -> bool:
        """If True, a bytes body is sent as a data section and a list body as a sequence."""
        return self._inferred

    @inferred.setter
    def inferred(self, value: bool) -> None:
        self._inferred = bool(value)

    @property
    def instructions(self) -> AnnotationDict | None:
        """Delivery annotations (keys: symbol or ulong; str keys become symbols)."""
        return self._instructions

    @instructions.setter
    def instructions(self, value: dict[Any, Any] | None) -> None:
        self._instructions = _annotation_dict(value)

    @property
    def annotations(self) -> AnnotationDict | None:
        """Message annotations (keys: symbol or ulong; str keys become symbols)."""
        return self._annotations

    @annotations.setter
    def annotations(self, value: dict[Any, Any] | None) -> None:
        self._annotations = _annotation_dict(value)

    # -- whole message -----------------------------------------------------------------------

    def clear(self) -> None:
        """Reset every field, the annotations, the properties and the body to their defaults."""
        state = self.__dict__
        for name in _STATE:
            state.pop(name, None)

    def encode(self) -> bytes:
        """The message as AMQP bytes (the payload of a transfer)."""
        return encode_message(self)

    def decode(self, data: bytes | bytearray | memoryview) -> None:
        """Replace this message's contents with the message encoded in ``data``."""
        self.clear()
        _decode_into(self, data)

    def send(self, sender: Any, tag: str | None = None) -> Any:
        """Send this message on ``sender``; return the new delivery."""
        return sender.send(self, tag=tag)

    def recv(self, link: Any) -> Any:
        """Read the current complete delivery of ``link`` into this message; return it, or None."""
        if getattr(link, "is_sender", False):
            return None
        delivery = link.current
        if delivery is None or delivery.partial:
            return None
        data = link.recv(delivery.pending)
        link.advance()
        if getattr(link, "remote_snd_settle_mode", None) == lib.PN_SND_SETTLED:
            delivery.settle()
        self.decode(data)
        return delivery

    def __repr__(self) -> str:
        parts = []
        for name in _REPR_FIELDS:
            value = getattr(self, name)
            if value:
                parts.append(f"{name}={value!r}")
        return f"Message({', '.join(parts)})"


def _annotation_dict(value: dict[Any, Any] | None) -> AnnotationDict | None:
    """Annotations as an AnnotationDict (str keys become symbols; other keys are kept)."""
    if value is None or type(value) is AnnotationDict:
        return value
    if not isinstance(value, dict):
        raise TypeError(f"annotations must be a dict, not {type(value).__name__}")
    return AnnotationDict(value, raise_on_error=False)


# =============================================================================================
# Fast path: pure-Python encoding of the values pn_data_t writes, byte for byte.
# =============================================================================================


class _Slow(Exception):
    """Internal: the fast path does not handle this message; use the C engine."""


_pack = struct.pack
_unpack_from = struct.unpack_from


def _enc_str(value: str) -> bytes:
    raw = value.encode("utf-8")
    size = len(raw)
    return (b"\xa1" + bytes((size,)) if size < 256 else b"\xb1" + _pack(">I", size)) + raw


def _enc_binary(value: bytes) -> bytes:
    size = len(value)
    return (b"\xa0" + bytes((size,)) if size < 256 else b"\xb0" + _pack(">I", size)) + value


def _enc_symbol(value: str) -> bytes:
    raw = value.encode("utf-8")
    size = len(raw)
    return (b"\xa3" + bytes((size,)) if size < 256 else b"\xb3" + _pack(">I", size)) + raw


def _enc_long(value: int) -> bytes:
    if -128 <= value <= 127:
        return _pack(">Bb", 0x55, value)
    if _LONG_MIN <= value <= _LONG_MAX:
        return _pack(">Bq", 0x81, value)
    raise _Slow


def _enc_ulong(value: int) -> bytes:
    if value == 0:
        return b"\x44"
    return _pack(">BB", 0x53, value) if value < 256 else _pack(">BQ", 0x80, value)


def _enc_uint(value: int) -> bytes:
    if value == 0:
        return b"\x43"
    return _pack(">BB", 0x52, value) if value < 256 else _pack(">BI", 0x70, value)


def _enc_int32(value: int) -> bytes:
    return _pack(">Bb", 0x54, value) if -128 <= value <= 127 else _pack(">Bi", 0x71, value)


def _enc_list(value: Any) -> bytes:
    if not value:
        return b"\x45"
    body = b"".join([_ENC.get(type(item), _slow)(item) for item in value])
    return _pack(">BII", 0xD0, len(body) + 4, len(value)) + body


def _enc_map(value: Any) -> bytes:
    enc = _ENC
    parts = []
    for key, item in value.items():
        parts.append(enc.get(type(key), _slow)(key))
        parts.append(enc.get(type(item), _slow)(item))
    body = b"".join(parts)
    return _pack(">BII", 0xD1, len(body) + 4, len(parts)) + body


def _enc_described(value: Described) -> bytes:
    enc = _ENC
    descriptor, inner = value.descriptor, value.value
    return (
        b"\x00" + enc.get(type(descriptor), _slow)(descriptor) + enc.get(type(inner), _slow)(inner)
    )


def _slow(value: Any) -> bytes:
    raise _Slow


_ENC: dict[type, Callable[[Any], bytes]] = {
    type(None): lambda v: b"\x40",
    bool: lambda v: b"\x41" if v else b"\x42",
    int: _enc_long,
    float: lambda v: _pack(">Bd", 0x82, v),
    str: _enc_str,
    bytes: _enc_binary,
    symbol: _enc_symbol,
    ulong: _enc_ulong,
    uint: _enc_uint,
    int32: _enc_int32,
    ubyte: lambda v: _pack(">BB", 0x50, v),
    byte: lambda v: _pack(">Bb", 0x51, v),
    ushort: lambda v: _pack(">BH", 0x60, v),
    short: lambda v: _pack(">Bh", 0x61, v),
    char: lambda v: _pack(">BI", 0x73, ord(v)),
    timestamp: lambda v: _pack(">Bq", 0x83, v),
    float32: lambda v: _pack(">Bf", 0x72, v),
    decimal32: lambda v: _pack(">BI", 0x74, v),
    decimal64: lambda v: _pack(">BQ", 0x84, v),
    decimal128: lambda v: b"\x94" + v,
    uuid.UUID: lambda v: b"\x98" + v.bytes,
    list: _enc_list,
    tuple: _enc_list,
    dict: _enc_map,
    AnnotationDict: _enc_map,
    Described: _enc_described,
}


def _enc_list_section(code: bytes, items: list[bytes], count: int) -> bytes:
    """A header or properties section: a described list of the first ``count`` items (the
    rest are nulls, dropped), list8 if small."""
    if not count:
        return code + b"\x45"
    body = b"".join(items[:count])
    if len(body) < 255:
        return code + _pack(">BBB", 0xC0, len(body) + 1, count) + body
    return code + _pack(">BII", 0xD0, len(body) + 4, count) + body


def _enc_id(value: MessageId) -> bytes:
    """A message-id or correlation-id (int as ulong, str as string)."""
    if value is None:
        return b"\x40"
    if type(value) is int:
        return _enc_ulong(value)
    if type(value) is str:
        return _enc_str(value)
    if type(value) is bytes:
        return _enc_binary(value)
    return b"\x98" + value.bytes  # type: ignore[union-attr]


def _enc_timestamp(value: int) -> bytes:
    return _pack(">Bq", 0x83, value) if value else b"\x40"


def _enc_nonzero_uint(value: int) -> bytes:
    return _enc_uint(value) if value else b"\x40"


def _enc_bool(value: bool) -> bytes:
    return b"\x41" if value else b"\x40"


def _enc_priority(value: int) -> bytes:
    return b"\x40" if value == 4 else _pack(">BB", 0x50, value)


# attribute -> (position: 0-4 in the header list, 5-17 in the properties list; encoder of a
# value that is not None). None, and defaults, encode as null.
_SECTION_ENC: dict[str, tuple[int, Callable[[Any], bytes]]] = {
    "_durable": (0, _enc_bool),
    "_priority": (1, _enc_priority),
    "_ttl": (2, _enc_nonzero_uint),
    "_first_acquirer": (3, _enc_bool),
    "_delivery_count": (4, _enc_nonzero_uint),
    "_id": (5, _enc_id),
    "_user_id": (6, _enc_binary),
    "_address": (7, _enc_str),
    "_subject": (8, _enc_str),
    "_reply_to": (9, _enc_str),
    "_correlation_id": (10, _enc_id),
    "_content_type": (11, _enc_symbol),
    "_content_encoding": (12, _enc_symbol),
    "_expiry_time": (13, _enc_timestamp),
    "_creation_time": (14, _enc_timestamp),
    "_group_id": (15, _enc_str),
    "_group_sequence": (16, _enc_nonzero_uint),
    "_reply_to_group_id": (17, _enc_str),
}

_EMPTY_HEADER = b"\x00\x53\x70\x45"
_EMPTY_PROPERTIES = b"\x00\x53\x73\x45"
_ID_ONLY_PROPERTIES = b"\x00\x53\x73\xc0"  # then size, count 1, the str8 id

ID_ONLY = 2
"""``Message._dirty`` when the one field set is a str message-id given by a sender that names
id-less messages (``aio``'s resending ones): truthy like True, but encoded without the generic
per-field pass. Every field setter makes ``_dirty`` True again."""


def _enc_sections(msg: Message) -> tuple[bytes, bytes]:
    """The header and properties sections of a message with fields set (only set ones cost;
    a section with none set is its constant empty list)."""
    header: list[bytes] | None = None
    properties: list[bytes] | None = None
    header_count = properties_count = 0  # up to the last non-null item
    get = _SECTION_ENC.get
    for name, value in msg.__dict__.items():
        slot = get(name)
        if slot is None or value is None:
            continue
        index, encode = slot
        encoded = encode(value)
        if encoded == b"\x40":
            continue
        if index < 5:
            if header is None:
                header = [b"\x40"] * 5
            header[index] = encoded
            if index >= header_count:
                header_count = index + 1
        else:
            if properties is None:
                properties = [b"\x40"] * 13
            index -= 5
            properties[index] = encoded
            if index >= properties_count:
                properties_count = index + 1
    if msg._group_id is not None:
        if properties is None:
            properties = [b"\x40"] * 13
        properties[11] = _enc_uint(msg._group_sequence)
        properties_count = max(properties_count, 12)
    return (
        _EMPTY_HEADER
        if header is None
        else _enc_list_section(b"\x00\x53\x70", header, header_count),
        _EMPTY_PROPERTIES
        if properties is None
        else _enc_list_section(b"\x00\x53\x73", properties, properties_count),
    )


def _encode_fast(msg: Message) -> bytes:
    """Encode a message in pure Python, byte for byte as the C engine does, or raise _Slow."""
    dirty = msg._dirty
    if dirty is True:
        header, properties_section = _enc_sections(msg)
    elif dirty:  # ID_ONLY: a properties section with the str message-id alone
        raw = msg._id.encode("utf-8")  # type: ignore[union-attr]
        size = len(raw)
        header, properties_section = _EMPTY_HEADER, (
            _ID_ONLY_PROPERTIES + bytes((size + 3, 1, 0xA1, size)) + raw
            if size < 253
            else _enc_list_section(b"\x00\x53\x73", [_enc_id(msg._id)], 1)
        )
    else:
        header, properties_section = _EMPTY_HEADER, _EMPTY_PROPERTIES
    parts = [header]
    if msg._instructions is not None:
        parts.append(b"\x00\x53\x71" + _enc_map(msg._instructions))
    if msg._annotations is not None:
        parts.append(b"\x00\x53\x72" + _enc_map(msg._annotations))
    parts.append(properties_section)
    properties = msg.properties
    if properties is not None:
        if type(properties) is not dict:
            raise _Slow
        for key in properties:
            if type(key) is not str:
                raise _Slow
        parts.append(b"\x00\x53\x74" + _enc_map(properties))
    body = msg.body
    if body is not None:
        kind = type(body)
        if kind is bytes:
            # The section and binary headers, then the body itself: join() copies it once.
            size = len(body)
            parts.append(
                (b"\x00\x53\x75" if msg._inferred else b"\x00\x53\x77")
                + (b"\xa0" + bytes((size,)) if size < 256 else b"\xb0" + _pack(">I", size))
            )
            parts.append(body)
        elif msg._inferred and kind is list:
            parts.append(b"\x00\x53\x76" + _enc_list(body))
        else:
            parts.append(b"\x00\x53\x77" + _ENC.get(kind, _slow)(body))
    return b"".join(parts)


# =============================================================================================
# Fast path: pure-Python decoding of the plain AMQP types.
# =============================================================================================

_Reader = Callable[[bytes, int], tuple[Any, int]]


def _dec(buf: bytes, pos: int) -> tuple[Any, int]:
    """Decode one AMQP value at ``pos``; return it and the position after it."""
    return _DEC[buf[pos]](buf, pos + 1)


def _dec_vbin8(buf: bytes, pos: int) -> tuple[bytes, int]:
    end = pos + 1 + buf[pos]
    if end > len(buf):
        raise _Slow
    return buf[pos + 1 : end], end


def _dec_vbin32(buf: bytes, pos: int) -> tuple[bytes, int]:
    end = pos + 4 + _unpack_from(">I", buf, pos)[0]
    if end > len(buf):
        raise _Slow
    return buf[pos + 4 : end], end


def _dec_str8(buf: bytes, pos: int) -> tuple[str, int]:
    raw, end = _dec_vbin8(buf, pos)
    return raw.decode("utf-8"), end


def _dec_str32(buf: bytes, pos: int) -> tuple[str, int]:
    raw, end = _dec_vbin32(buf, pos)
    return raw.decode("utf-8"), end


def _dec_sym8(buf: bytes, pos: int) -> tuple[symbol, int]:
    raw, end = _dec_vbin8(buf, pos)
    return str.__new__(symbol, raw.decode("utf-8")), end


def _dec_sym32(buf: bytes, pos: int) -> tuple[symbol, int]:
    raw, end = _dec_vbin32(buf, pos)
    return str.__new__(symbol, raw.decode("utf-8")), end


def _dec_items(buf: bytes, pos: int, count: int, end: int) -> list[Any]:
    """``count`` values from ``pos``, which must end at ``end``. Nulls and short strings, most
    of a properties list, are decoded inline (a call each otherwise)."""
    items: list[Any] = []
    append = items.append
    for _ in range(count):
        code = buf[pos]
        if code == 0x40:
            append(None)
            pos += 1
        elif code == 0xA1:
            start = pos + 2
            pos = start + buf[pos + 1]
            if pos > end:
                raise _Slow
            append(buf[start:pos].decode("utf-8"))
        else:
            item, pos = _DEC[code](buf, pos + 1)
            append(item)
    if pos != end:
        raise _Slow
    return items


def _dec_list8(buf: bytes, pos: int) -> tuple[list[Any], int]:
    end = pos + 1 + buf[pos]
    return _dec_items(buf, pos + 2, buf[pos + 1], end), end


def _dec_list32(buf: bytes, pos: int) -> tuple[list[Any], int]:
    size, count = _unpack_from(">II", buf, pos)
    end = pos + 4 + size
    return _dec_items(buf, pos + 8, count, end), end


def _pairs(items: list[Any]) -> dict[Any, Any]:
    return dict(zip(items[::2], items[1::2]))


def _dec_map8(buf: bytes, pos: int) -> tuple[dict[Any, Any], int]:
    items, end = _dec_list8(buf, pos)
    return _pairs(items), end


def _dec_map32(buf: bytes, pos: int) -> tuple[dict[Any, Any], int]:
    items, end = _dec_list32(buf, pos)
    return _pairs(items), end


def _dec_described(buf: bytes, pos: int) -> tuple[Described, int]:
    descriptor, pos = _dec(buf, pos)
    value, pos = _dec(buf, pos)
    return Described(descriptor, value), pos


def _fixed(fmt: str, size: int, make: Callable[[Any], Any]) -> _Reader:
    """A reader for a fixed-width value."""

    def read(buf: bytes, pos: int) -> tuple[Any, int]:
        return make(_unpack_from(fmt, buf, pos)[0]), pos + size

    return read


def _typed_int(cls: type) -> Callable[[int], Any]:
    return lambda v: int.__new__(cls, v)


def _constant(value: Any) -> _Reader:
    return lambda buf, pos: (value, pos)


_DEC: dict[int, _Reader] = {
    0x00: _dec_described,
    0x40: _constant(None),
    0x41: _constant(True),
    0x42: _constant(False),
    0x56: _fixed(">B", 1, bool),
    0x50: _fixed(">B", 1, _typed_int(ubyte)),
    0x51: _fixed(">b", 1, _typed_int(byte)),
    0x60: _fixed(">H", 2, _typed_int(ushort)),
    0x61: _fixed(">h", 2, _typed_int(short)),
    0x70: _fixed(">I", 4, _typed_int(uint)),
    0x52: _fixed(">B", 1, _typed_int(uint)),
    0x43: _constant(int.__new__(uint, 0)),
    0x71: _fixed(">i", 4, _typed_int(int32)),
    0x54: _fixed(">b", 1, _typed_int(int32)),
    0x80: _fixed(">Q", 8, _typed_int(ulong)),
    0x53: _fixed(">B", 1, _typed_int(ulong)),
    0x44: _constant(int.__new__(ulong, 0)),
    0x81: _fixed(">q", 8, int),
    0x55: _fixed(">b", 1, int),
    0x83: _fixed(">q", 8, _typed_int(timestamp)),
    0x72: _fixed(">f", 4, lambda v: float.__new__(float32, v)),
    0x82: _fixed(">d", 8, float),
    0x73: _fixed(">I", 4, lambda v: str.__new__(char, chr(v))),
    0x74: _fixed(">I", 4, _typed_int(decimal32)),
    0x84: _fixed(">Q", 8, _typed_int(decimal64)),
    0x94: _fixed("16s", 16, lambda v: bytes.__new__(decimal128, v)),
    0x98: _fixed("16s", 16, lambda v: uuid.UUID(bytes=v)),
    0xA0: _dec_vbin8,
    0xB0: _dec_vbin32,
    0xA1: _dec_str8,
    0xB1: _dec_str32,
    0xA3: _dec_sym8,
    0xB3: _dec_sym32,
    0x45: lambda buf, pos: ([], pos),
    0xC0: _dec_list8,
    0xD0: _dec_list32,
    0xC1: _dec_map8,
    0xD1: _dec_map32,
}


_HEADER_SLOTS: tuple[tuple[str, Any], ...] = (
    ("_durable", bool),
    ("_priority", ubyte),
    ("_ttl", uint),
    ("_first_acquirer", bool),
    ("_delivery_count", uint),
)


def _apply_header(msg: Message, items: list[Any]) -> None:
    """Set the header fields from its decoded list (nulls keep the defaults)."""
    state = msg.__dict__
    for (name, kind), value in zip(_HEADER_SLOTS, items):
        if value is None:
            continue
        if type(value) is not kind:
            raise _Slow
        state[name] = value if kind is bool else int(value)
    state["_dirty"] = True


_ID_KINDS = (ulong, uuid.UUID, bytes, str)


def _plain_id(value: Any) -> MessageId:
    return int(value) if isinstance(value, int) else value


_PROPERTY_SLOTS: tuple[tuple[str, Any], ...] = (
    ("_id", _ID_KINDS),
    ("_user_id", bytes),
    ("_address", str),
    ("_subject", str),
    ("_reply_to", str),
    ("_correlation_id", _ID_KINDS),
    ("_content_type", symbol),
    ("_content_encoding", symbol),
    ("_expiry_time", timestamp),
    ("_creation_time", timestamp),
    ("_group_id", str),
    ("_group_sequence", uint),
    ("_reply_to_group_id", str),
)


def _apply_properties(msg: Message, items: list[Any]) -> None:
    """Set the properties-section fields from its decoded list (nulls keep the defaults)."""
    state = msg.__dict__
    for index, value in enumerate(items[:13]):
        if value is not None:
            _set_property(state, index, value)
    state["_dirty"] = True


def _set_property(state: dict[str, Any], index: int, value: Any) -> None:
    """Set the field at ``index`` of the properties list to its decoded (non-null) value."""
    name, kind = _PROPERTY_SLOTS[index]
    if not isinstance(value, kind):
        raise _Slow
    if kind is _ID_KINDS:
        value = _plain_id(value)
    elif kind is str:
        value = str(value)
    elif kind is not bytes and kind is not symbol:
        value = int(value)
    state[name] = value


# Properties-list positions whose value is often a str8 (the address fields, and the ids).
_STR8_PROPERTIES = {
    index: name
    for index, (name, kind) in enumerate(_PROPERTY_SLOTS)
    if kind is str or kind is _ID_KINDS
}


def _dec_properties8(state: dict[str, Any], buf: bytes, pos: int) -> int:
    """Decode a properties list8 at ``pos`` straight into the message's fields (nulls and short
    strings inline, no intermediate list); returns the position after it."""
    end = pos + 1 + buf[pos]
    count = buf[pos + 1]
    pos += 2
    str8_names = _STR8_PROPERTIES
    for index in range(count):
        code = buf[pos]
        if code == 0x40:
            pos += 1
            continue
        if code == 0xA1 and index in str8_names:
            start = pos + 2
            pos = start + buf[pos + 1]
            if pos > end:
                raise _Slow
            state[str8_names[index]] = buf[start:pos].decode("utf-8")
            continue
        value, pos = _DEC[code](buf, pos + 1)
        if index < 13:
            _set_property(state, index, value)
    if pos != end:
        raise _Slow
    state["_dirty"] = True
    return pos


def _decoded_annotations(value: dict[Any, Any]) -> AnnotationDict:
    """An AnnotationDict of decoded annotations; keys already symbols are copied in bulk."""
    for key in value:
        if type(key) is not symbol:
            return AnnotationDict(value, raise_on_error=False)
    result = AnnotationDict.__new__(AnnotationDict)
    result.raise_on_error = False
    dict.update(result, value)
    return result


def _decode_fast(msg: Message, buf: bytes) -> None:
    """Decode ``buf`` into a cleared ``msg`` in pure Python, or raise _Slow."""
    pos = 0
    size = len(buf)
    body_seen = False
    dec = _DEC
    state = msg.__dict__
    while pos < size:
        if buf[pos] != 0 or buf[pos + 1] != 0x53:
            raise _Slow
        code = buf[pos + 2]
        if code == 0x73 and buf[pos + 3] == 0xC0:
            pos = _dec_properties8(state, buf, pos + 4)
            continue
        value, pos = dec[buf[pos + 3]](buf, pos + 4)
        if code == 0x77 or code == 0x75 or code == 0x76:
            if body_seen:
                raise _Slow
            body_seen = True
            if code == 0x77:
                state["body"] = value
            elif (code == 0x75 and type(value) is bytes) or (code == 0x76 and type(value) is list):
                state["body"] = value
                state["_inferred"] = True
            else:
                raise _Slow
        elif code == 0x70 and type(value) is list:
            if value:
                _apply_header(msg, value)
        elif code == 0x73 and type(value) is list:
            if value:
                _apply_properties(msg, value)
        elif code == 0x74 and type(value) is dict:
            state["properties"] = value
        elif code == 0x72 and type(value) is dict:
            state["_annotations"] = _decoded_annotations(value)
        elif code == 0x71 and type(value) is dict:
            state["_instructions"] = _decoded_annotations(value)
        else:
            raise _Slow


# =============================================================================================
# General path: the C engine, one pn_message_t and one buffer per thread.
# =============================================================================================


class _ThreadState(threading.local):
    """This thread's reusable ``pn_message_t`` and encode buffer."""

    def __init__(self) -> None:
        self.msg = ffi.gc(lib.pn_message(), lib.pn_message_free)
        self.size = 4096
        self.buf = ffi.new("char[]", self.size)
        self.length = ffi.new("size_t *")


_tls = _ThreadState()


def _cstr(value: str) -> bytes:
    return value.encode("utf-8")


def _put_id(data: Any, value: MessageId) -> None:
    """Write a message-id: int as ulong, str as string (a symbol too), bytes, uuid."""
    if isinstance(value, int):
        put_object(data, ulong(value))
    elif isinstance(value, str):
        put_object(data, str(value))
    else:
        put_object(data, value)


def _fill(pm: Any, msg: Message) -> None:
    """Copy ``msg`` into the cleared ``pn_message_t``."""
    err = lib.pn_message_error(pm)
    if msg._dirty:
        if msg._durable:
            lib.pn_message_set_durable(pm, True)
        if msg._priority != 4:
            lib.pn_message_set_priority(pm, msg._priority)
        if msg._ttl:
            lib.pn_message_set_ttl(pm, msg._ttl)
        if msg._first_acquirer:
            lib.pn_message_set_first_acquirer(pm, True)
        if msg._delivery_count:
            lib.pn_message_set_delivery_count(pm, msg._delivery_count)
        if msg._id is not None:
            _put_id(lib.pn_message_id(pm), msg._id)
        if msg._correlation_id is not None:
            _put_id(lib.pn_message_correlation_id(pm), msg._correlation_id)
        if msg._user_id is not None:
            raw = msg._user_id
            check(
                lib.pn_message_set_user_id(pm, lib.pn_bytes(len(raw), raw)), MessageException, err
            )
        for name, setter in _STRING_SETTERS:
            value = getattr(msg, name)
            if value is not None:
                check(setter(pm, _cstr(value)), MessageException, err)
        if msg._expiry_time:
            lib.pn_message_set_expiry_time(pm, msg._expiry_time)
        if msg._creation_time:
            lib.pn_message_set_creation_time(pm, msg._creation_time)
        if msg._group_sequence:
            lib.pn_message_set_group_sequence(pm, msg._group_sequence)
    if msg._inferred:
        lib.pn_message_set_inferred(pm, True)
    if msg._instructions is not None:
        _put_section(lib.pn_message_instructions(pm), "instructions", msg._instructions)
    if msg._annotations is not None:
        _put_section(lib.pn_message_annotations(pm), "annotations", msg._annotations)
    if msg.properties is not None:
        _put_properties(lib.pn_message_properties(pm), msg.properties)
    if msg.body is not None:
        _put_section(lib.pn_message_body(pm), "body", msg.body)


_STRING_SETTERS = (
    ("_address", lib.pn_message_set_address),
    ("_subject", lib.pn_message_set_subject),
    ("_reply_to", lib.pn_message_set_reply_to),
    ("_content_type", lib.pn_message_set_content_type),
    ("_content_encoding", lib.pn_message_set_content_encoding),
    ("_group_id", lib.pn_message_set_group_id),
    ("_reply_to_group_id", lib.pn_message_set_reply_to_group_id),
)


def _put_properties(data: Any, properties: Any) -> None:
    """Write application properties: keys must be strings (a symbol key is sent as a string)."""
    if not isinstance(properties, dict):
        raise MessageException(
            f"Message.properties must be a dict, not {type(properties).__name__}"
        )
    for key in properties:
        if not isinstance(key, str):
            raise MessageException(
                f"Application property key is not string type: key={key!r} {type(key)}"
            )
    _put_section(data, "properties", {str(key): value for key, value in properties.items()})


def _put_section(data: Any, name: str, value: Any) -> None:
    """Write the value of the field ``name``; one AMQP cannot carry is reported with where it
    is (``Message.properties['when']: ... datetime ...``)."""
    try:
        put_object(data, value)
    except DataException as error:
        path, reason = _culprit(value, str(error))
        raise DataException(f"Message.{name}{path}: {reason}") from None


def _encode_error(value: Any) -> str | None:
    """Why AMQP cannot carry ``value`` on its own, or None when it can."""
    try:
        Data().put_object(value)
    except DataException as error:
        return str(error)
    return None


def _culprit(value: Any, reason: str) -> tuple[str, str]:
    """The path (``['key'][2]``) in a map or list to the first value that cannot be encoded,
    and why; ("", ``reason``) when it is ``value`` itself. Run only after encoding failed."""
    if isinstance(value, dict):
        for key, item in value.items():
            failure = _encode_error(key)
            if failure is not None:
                return f" key {key!r}", failure
            failure = _encode_error(item)
            if failure is not None:
                path, failure = _culprit(item, failure)
                return f"[{key!r}]{path}", failure
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            failure = _encode_error(item)
            if failure is not None:
                path, failure = _culprit(item, failure)
                return f"[{index}]{path}", failure
    return "", reason


def encode_message(msg: Message) -> bytes:
    """Encode ``msg`` as the payload of an AMQP transfer (bytes)."""
    try:
        return _encode_fast(msg)
    except _Slow:
        pass  # the C engine's turn, outside the handler: its errors do not chain the _Slow
    return _encode_c(msg)


def _encode_c(msg: Message) -> bytes:
    """Encode through the C engine, reusing this thread's pn_message_t and buffer."""
    state = _tls
    pm = state.msg
    lib.pn_message_clear(pm)
    _fill(pm, msg)
    length = state.length
    while True:
        length[0] = state.size
        code = lib.pn_message_encode(pm, state.buf, length)
        if code != lib.PN_OVERFLOW:
            break
        state.size *= 2
        state.buf = ffi.new("char[]", state.size)
    check(code, MessageException, lib.pn_message_error(pm))
    return ffi.unpack(state.buf, length[0])


def decode_message(buffer: bytes | bytearray | memoryview) -> Message:
    """Decode the payload of an AMQP transfer into a new ``Message``."""
    msg = Message.__new__(Message)
    _decode_into(msg, buffer)
    return msg


def _decode_into(msg: Message, buffer: bytes | bytearray | memoryview) -> None:
    """Decode ``buffer`` into a cleared ``msg``: fast path first, the C engine otherwise."""
    raw = buffer if type(buffer) is bytes else bytes(buffer)
    if not raw:
        raise MessageException("cannot decode a message from empty bytes")
    try:
        _decode_fast(msg, raw)
        return
    except (_Slow, KeyError, IndexError, struct.error, ValueError, OverflowError):
        # ValueError/OverflowError: bad UTF-8, or a char beyond Unicode; the C path then
        # raises the documented error for it.
        msg.clear()
    _decode_c(msg, raw)


def _cstring(ptr: Any) -> str | None:
    return None if ptr == ffi.NULL else ffi.string(ptr).decode("utf-8")


def _section(data: Any) -> Any:
    """The first value of a section's ``pn_data_t``, or None when it is empty."""
    lib.pn_data_rewind(data)
    if not lib.pn_data_next(data):
        return None
    return get_object(data)


def _decode_c(msg: Message, raw: bytes) -> None:
    """Decode through the C engine and read every field back."""
    pm = _tls.msg
    lib.pn_message_clear(pm)
    check(lib.pn_message_decode(pm, raw, len(raw)), MessageException, lib.pn_message_error(pm))
    state = msg.__dict__
    state["_dirty"] = True
    state["_durable"] = bool(lib.pn_message_is_durable(pm))
    state["_priority"] = int(lib.pn_message_get_priority(pm))
    state["_ttl"] = int(lib.pn_message_get_ttl(pm))
    state["_first_acquirer"] = bool(lib.pn_message_is_first_acquirer(pm))
    state["_delivery_count"] = int(lib.pn_message_get_delivery_count(pm))
    state["_id"] = _plain_id(_section(lib.pn_message_id(pm)))
    state["_correlation_id"] = _plain_id(_section(lib.pn_message_correlation_id(pm)))
    user_id = lib.pn_message_get_user_id(pm)
    if user_id.start != ffi.NULL:
        state["_user_id"] = ffi.unpack(user_id.start, user_id.size) if user_id.size else b""
    for name, getter in _STRING_GETTERS:
        state[name] = _cstring(getter(pm))
    for name in ("_content_type", "_content_encoding"):
        if state[name] is not None:
            state[name] = symbol(state[name])
    state["_expiry_time"] = int(lib.pn_message_get_expiry_time(pm))
    state["_creation_time"] = int(lib.pn_message_get_creation_time(pm))
    state["_group_sequence"] = int(lib.pn_message_get_group_sequence(pm))
    state["_inferred"] = bool(lib.pn_message_is_inferred(pm))
    instructions = _section(lib.pn_message_instructions(pm))
    if instructions is not None:
        state["_instructions"] = AnnotationDict(instructions, raise_on_error=False)
    annotations = _section(lib.pn_message_annotations(pm))
    if annotations is not None:
        state["_annotations"] = AnnotationDict(annotations, raise_on_error=False)
    state["properties"] = _section(lib.pn_message_properties(pm))
    state["body"] = _section(lib.pn_message_body(pm))


_STRING_GETTERS = (
    ("_address", lib.pn_message_get_address),
    ("_subject", lib.pn_message_get_subject),
    ("_reply_to", lib.pn_message_get_reply_to),
    ("_content_type", lib.pn_message_get_content_type),
    ("_content_encoding", lib.pn_message_get_content_encoding),
    ("_group_id", lib.pn_message_get_group_id),
    ("_reply_to_group_id", lib.pn_message_get_reply_to_group_id),
)
