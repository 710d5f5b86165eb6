"""Message: byte-for-byte agreement with proton.Message, both fast and C paths, and the API."""

from __future__ import annotations

import random
import threading
import uuid
from typing import Any

import proton
import pytest

from amq_python._core import _codec as c
from amq_python._core import _message as m
from amq_python._core._exceptions import MessageException
from amq_python._core._message import Message, decode_message, encode_message

FIELDS = [
    "id",
    "correlation_id",
    "user_id",
    "address",
    "subject",
    "reply_to",
    "content_type",
    "content_encoding",
    "expiry_time",
    "creation_time",
    "group_id",
    "group_sequence",
    "reply_to_group_id",
    "durable",
    "priority",
    "ttl",
    "first_acquirer",
    "delivery_count",
    "inferred",
    "instructions",
    "annotations",
    "properties",
    "body",
]


def cases(t: Any) -> list[dict[str, Any]]:
    """Message keyword sets, with AMQP types from module ``t`` (ours or proton's)."""
    return [
        {},
        {"body": "hello"},
        {"body": "x" * 300},
        {"body": b"\x00\x01" * 200},
        {"body": None, "address": "q"},
        {"body": {"a": 1, "b": [1, "x"], "c": {"d": None}}},
        {"body": [1, 2.5, True]},
        {"body": 42},
        {"body": 1.5},
        {"body": t.symbol("sym")},
        {"body": uuid.UUID(int=1)},
        {"body": t.Described(t.symbol("d"), 1)},
        {"body": t.Described(t.ulong(7), {"k": t.timestamp(5)})},
        {"body": t.Array(t.UNDESCRIBED, t.Data.INT, 1, 2)},
        {"body": t.Array(t.symbol("d"), t.Data.STRING, "a")},
        {"body": t.char("c")},
        {"body": t.decimal128(b"0123456789abcdef")},
        {"body": b"x", "inferred": True},
        {"body": [1, 2], "inferred": True},
        {"body": [], "inferred": True},
        {"properties": {}},
        {"instructions": {}, "annotations": {}},
        {
            "body": "hi",
            "id": 5,
            "ttl": 1.5,
            "expiry_time": 1000.25,
            "creation_time": 2.0009,
            "priority": 7,
            "durable": True,
            "user_id": b"u",
            "address": "a",
            "properties": {"k": 1},
            "annotations": {"x-a": 1},
            "instructions": {"i": 2},
        },
        {
            "body": [1],
            "id": "i",
            "correlation_id": "c",
            "user_id": b"u",
            "address": "a",
            "subject": "s",
            "reply_to": "r",
            "content_type": "ct",
            "content_encoding": "ce",
            "expiry_time": 5,
            "creation_time": 6,
            "group_id": "g",
            "group_sequence": 7,
            "reply_to_group_id": "rg",
            "durable": True,
            "priority": 9,
            "ttl": 3,
            "first_acquirer": True,
            "delivery_count": 2,
            "inferred": True,
            "instructions": {"i": 1},
            "annotations": {"a": 2},
            "properties": {"p": 3},
        },
        {"delivery_count": 300, "ttl": 0.001, "priority": 0},
        {"group_sequence": 0, "reply_to_group_id": "x"},
        {"creation_time": 0.0, "group_id": "g"},
        {"group_id": "", "group_sequence": 5},
        {"address": ""},
        {"user_id": b""},
        {"id": 0},
        {"id": 2**40},
        {"id": uuid.UUID(int=3)},
        {"id": b"bin"},
        {"correlation_id": t.ulong(5)},
        {"id": "x" * 300, "address": "y" * 250},
        {"expiry_time": -2.0},
        {"annotations": {t.ulong(3): "u", "x-opt-s": t.symbol("v")}, "body": 1.5},
        {
            "properties": {
                "uint": t.uint(1),
                "none": None,
                "list": [1],
                "ts": t.timestamp(5),
                "sym": t.symbol("s"),
                "bool": True,
                "bytes": b"b",
                "float": t.float32(0.5),
                "uuid": uuid.UUID(int=9),
                "char": t.char("c"),
                "short": t.short(-2),
                "byte": t.byte(-1),
                "ulong": t.ulong(2**63),
            }
        },
    ]


OURS = cases(c)
THEIRS = cases(proton)


def ours(kwargs: dict[str, Any]) -> Message:
    return Message(**kwargs)


def theirs(kwargs: dict[str, Any]) -> proton.Message:
    return proton.Message(**kwargs)


def norm(value: Any) -> Any:
    """``value`` with proton's memoryviews (for binary) turned into bytes, recursively."""
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, list):
        return [norm(x) for x in value]
    if isinstance(value, dict):
        return type(value)({norm(k): norm(v) for k, v in value.items()})
    return value


def fields(msg: Any) -> list[Any]:
    values = [norm(getattr(msg, name)) for name in FIELDS]
    if isinstance(msg, proton.Message):
        # proton 0.40 returns symbol('None') for an unset content type or encoding
        values = [
            None if n.startswith("content_") and v == "None" else v for n, v in zip(FIELDS, values)
        ]
    return values


PAIRS = list(zip(OURS, THEIRS))


@pytest.mark.parametrize(("o", "p"), PAIRS, ids=[str(i) for i in range(len(OURS))])
def test_bytes_equal_proton(o: dict[str, Any], p: dict[str, Any]) -> None:
    expected = bytes(theirs(p).encode())
    msg = ours(o)
    assert msg.encode() == expected
    assert encode_message(msg) == expected
    assert m._encode_c(msg) == expected  # the C path agrees with the fast path


@pytest.mark.parametrize(("o", "p"), PAIRS, ids=[str(i) for i in range(len(OURS))])
def test_each_decodes_the_other(o: dict[str, Any], p: dict[str, Any]) -> None:
    their_bytes = bytes(theirs(p).encode())
    decoded = decode_message(their_bytes)
    assert fields(decoded) == fields(ours(o))
    their_decoded = proton.Message()
    their_decoded.decode(their_bytes)
    assert repr(fields(decoded)) == repr(fields(their_decoded))
    back = proton.Message()
    back.decode(ours(o).encode())
    assert repr(fields(back)) == repr(fields(decoded))


@pytest.mark.parametrize("o", OURS, ids=[str(i) for i in range(len(OURS))])
def test_fast_and_c_decoders_agree(o: dict[str, Any]) -> None:
    encoded = ours(o).encode()
    fast = decode_message(encoded)
    slow = Message.__new__(Message)
    m._decode_c(slow, encoded)
    assert [(v, type(v)) for v in fields(fast)] == [(v, type(v)) for v in fields(slow)]


def test_random_header_and_property_combinations_match_c_engine() -> None:
    rnd = random.Random(7)
    choices: dict[str, list[Any]] = {
        "durable": [True, False],
        "priority": [0, 4, 9, 255],
        "ttl": [0, 0.001, 0.3, 5000.0],
        "first_acquirer": [True, False],
        "delivery_count": [0, 1, 300],
        "id": [None, 0, 5, 2**40, "x", b"", b"y", uuid.UUID(int=9), c.ulong(7)],
        "user_id": [None, b"", b"u"],
        "address": [None, "", "q", "a" * 260],
        "subject": [None, "s"],
        "reply_to": [None, "r"],
        "correlation_id": [None, 3, "c"],
        "content_type": [None, "text/plain"],
        "content_encoding": [None, "gzip"],
        "expiry_time": [0, 1.5, -2.0],
        "creation_time": [0, 1e9],
        "group_id": [None, "", "g"],
        "group_sequence": [0, 1, 70000],
        "reply_to_group_id": [None, "rg"],
    }
    for _ in range(500):
        kwargs = {k: rnd.choice(v) for k, v in choices.items() if rnd.random() < 0.3}
        msg = Message(body="b", **kwargs)
        encoded = encode_message(msg)
        assert encoded == m._encode_c(msg), kwargs
        slow = Message.__new__(Message)
        m._decode_c(slow, encoded)
        assert fields(decode_message(encoded)) == fields(slow) == fields(msg), kwargs


def test_defaults_and_units_match_proton() -> None:
    msg, ref = Message(), proton.Message()
    for name in FIELDS:
        if name in ("content_type", "content_encoding"):
            assert getattr(msg, name) is None  # proton 0.40 says symbol('None'), a bug
            continue
        assert getattr(msg, name) == getattr(ref, name), name
    msg.ttl = 1.5
    msg.expiry_time = 0.0015
    assert msg.ttl == 1.5 and msg.expiry_time == 0.001
    assert repr(Message()) == repr(proton.Message()) == "Message(priority=4)"


def test_repr_matches_proton() -> None:
    kwargs = dict(OURS[23])
    assert repr(Message(**kwargs)) == repr(proton.Message(**THEIRS[23])).replace("proton.", "")


def test_unknown_keyword_is_a_clear_error() -> None:
    with pytest.raises(AttributeError, match="unknown keyword 'foo'"):
        Message(foo=1)


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("priority", 256, ValueError),
        ("priority", -1, ValueError),
        ("ttl", -1, ValueError),
        ("ttl", 4294968, ValueError),
        ("ttl", "x", TypeError),
        ("delivery_count", -1, ValueError),
        ("group_sequence", 2**32, ValueError),
        ("id", -1, ValueError),
        ("id", 1.5, TypeError),
        ("id", [1], TypeError),
        ("address", b"x", TypeError),
        ("address", 5, TypeError),
        ("user_id", 5, TypeError),
        ("annotations", [1], TypeError),
    ],
)
def test_bad_field_values_raise(name: str, value: Any, error: type) -> None:
    with pytest.raises(error, match=name):
        Message(**{name: value})


def test_property_keys_must_be_strings() -> None:
    with pytest.raises(MessageException, match="key"):
        Message(properties={1: 2}).encode()
    symbol_keys = Message(properties={c.symbol("a"): 1}).encode()
    assert symbol_keys == bytes(proton.Message(properties={"a": 1}).encode())


def test_unencodable_body_raises() -> None:
    with pytest.raises(Exception, match="object"):
        Message(body=object()).encode()


def test_annotations_mutated_after_set_are_encoded() -> None:
    msg = Message(annotations={"a": 1})
    msg.annotations["b"] = 2  # type: ignore[index]
    ref = proton.Message(annotations={"a": 1})
    ref.annotations["b"] = 2
    assert msg.encode() == bytes(ref.encode())
    assert isinstance(msg.annotations, c.AnnotationDict)


def test_user_id_str_is_utf8() -> None:
    assert Message(user_id="é").user_id == "é".encode()


def test_clear_resets_everything_but_user_attributes() -> None:
    msg = Message(body="x", ttl=5, address="a", properties={"k": 1})
    msg.tag = "mine"  # type: ignore[attr-defined]
    msg.clear()
    assert fields(msg) == fields(Message())
    assert msg.tag == "mine"  # type: ignore[attr-defined]
    assert msg.encode() == Message().encode()


def test_decode_replaces_contents() -> None:
    msg = Message(body="old", subject="s")
    msg.decode(Message(body="new").encode())
    assert msg.body == "new" and msg.subject is None


def test_decode_empty_raises() -> None:
    with pytest.raises(MessageException):
        decode_message(b"")


def test_decode_accepts_bytearray_and_memoryview() -> None:
    encoded = Message(body="x", durable=True).encode()
    assert decode_message(bytearray(encoded)).body == "x"
    assert decode_message(memoryview(encoded)).durable is True


def test_unusual_encodings_fall_back_to_c_engine() -> None:
    # sections the fast path does not parse (a ulong80 descriptor, an array body) decode as
    # the C engine decodes them
    data = c.Data()
    data.put_object(c.Array(c.UNDESCRIBED, c.Data.INT, 1, 2))
    encoded = b"\x00\x80" + (0x77).to_bytes(8, "big") + data.encode()
    slow = Message.__new__(Message)
    m._decode_c(slow, encoded)
    decoded = decode_message(encoded)
    assert decoded.body == slow.body == c.Array(c.UNDESCRIBED, c.Data.INT, 1, 2)
    ref = proton.Message()
    ref.decode(encoded)
    assert repr(ref.body) == repr(decoded.body)


def test_per_thread_state_is_independent() -> None:
    errors = []

    def work(n: int) -> None:
        for i in range(300):
            msg = Message(body=[n, i], subject=f"{n}", priority=n)
            back = decode_message(m._encode_c(msg))
            if back.body != [n, i] or back.priority != n:
                errors.append((n, i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_large_message_grows_the_encode_buffer() -> None:
    msg = Message(body=[b"x" * 5000] * 4, subject="s")
    assert decode_message(m._encode_c(msg)).body == [b"x" * 5000] * 4


class _FakeDelivery:
    def __init__(self, pending: int) -> None:
        self.partial = False
        self.pending = pending
        self.settled = False

    def settle(self) -> None:
        self.settled = True


class _FakeReceiver:
    is_sender = False
    remote_snd_settle_mode = 1

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.current = _FakeDelivery(len(payload))
        self.advanced = False

    def recv(self, n: int) -> bytes:
        return self.payload[:n]

    def advance(self) -> bool:
        self.advanced = True
        return True


def test_send_and_recv_are_duck_typed() -> None:
    sent = []

    class Sender:
        def send(self, msg: Message, tag: Any = None) -> str:
            sent.append((msg, tag))
            return "delivery"

    msg = Message(body="x")
    assert msg.send(Sender(), tag="t") == "delivery" and sent == [(msg, "t")]
    link = _FakeReceiver(Message(body="in", address="q").encode())
    got = Message()
    delivery = got.recv(link)
    assert delivery is link.current and link.advanced and delivery.settled
    assert (got.body, got.address) == ("in", "q")
