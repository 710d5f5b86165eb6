"""The AMQP type system and Data: round trips, and byte-for-byte agreement with proton.Data."""

from __future__ import annotations

import uuid
from typing import Any

import proton
import pytest

from amq_python._core import _codec as c
from amq_python._core._exceptions import DataException


def table(m: Any) -> list[Any]:
    """Values of every AMQP type, built from module ``m`` (ours or proton's) type classes."""
    return [
        None,
        True,
        False,
        0,
        1,
        -1,
        127,
        128,
        -129,
        2**31,
        2**63 - 1,
        -(2**63),
        1.5,
        -0.0,
        m.float32(1.5),
        "",
        "héllo ☃",
        "x" * 300,
        b"",
        b"\x00\xffab",
        b"y" * 300,
        m.symbol("s"),
        m.symbol(""),
        m.symbol("z" * 300),
        m.char("c"),
        m.char("☃"),
        m.ulong(0),
        m.ulong(5),
        m.ulong(2**64 - 1),
        m.uint(0),
        m.uint(7),
        m.uint(2**32 - 1),
        m.ushort(0),
        m.ushort(65535),
        m.ubyte(0),
        m.ubyte(255),
        m.byte(-128),
        m.short(-32768),
        m.int32(-3),
        m.int32(2**31 - 1),
        m.timestamp(0),
        m.timestamp(1_700_000_000_123),
        m.timestamp(-5),
        m.decimal32(5),
        m.decimal64(2**64 - 1),
        m.decimal128(b"0123456789abcdef"),
        uuid.UUID(int=5),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        [],
        [1, "a", None, [2]],
        {},
        {"a": 1},
        {1: 2, "x": [None, {}], m.symbol("k"): m.ulong(3)},
        m.Described(m.symbol("d"), 5),
        m.Described(m.ulong(0x70), [True, m.ubyte(4)]),
        m.Array(m.UNDESCRIBED, m.Data.INT, 1, 2, 3),
        m.Array(m.symbol("d"), m.Data.STRING, "a", "b"),
        m.Array(m.UNDESCRIBED, m.Data.SYMBOL, m.symbol("a"), m.symbol("b")),
        m.Array(m.UNDESCRIBED, m.Data.LIST),
        m.Array(m.UNDESCRIBED, m.Data.ULONG, 1, 2**40),
        m.SymbolList(["a", "b"]),
        m.AnnotationDict({"a": 1, m.ulong(2): "b"}),
        m.PropertyDict({"p": 1}),
    ]


OURS = table(c)
THEIRS = table(proton)
IDS = [f"{i}-{type(v).__name__}" for i, v in enumerate(OURS)]


def ours_encode(value: Any) -> bytes:
    data = c.Data()
    data.put_object(value)
    return data.encode()


def ours_decode(encoded: bytes) -> Any:
    data = c.Data()
    assert data.decode(encoded) == len(encoded)
    data.rewind()
    assert data.next() is not None
    return data.get_object()


def expected_back(value: Any) -> Any:
    """What get_object gives back for ``value``: tuples become lists, dict subclasses dicts."""
    if isinstance(value, tuple):
        return [expected_back(x) for x in value]
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


@pytest.mark.parametrize(("ours", "theirs"), list(zip(OURS, THEIRS)), ids=IDS)
def test_encoding_equals_proton(ours: Any, theirs: Any) -> None:
    expected = proton.Data()
    expected.put_object(theirs)
    assert ours_encode(ours) == bytes(expected.encode())


@pytest.mark.parametrize("value", OURS, ids=IDS)
def test_round_trip_keeps_value_and_type(value: Any) -> None:
    back = ours_decode(ours_encode(value))
    assert back == expected_back(value)
    if value is not None and not isinstance(value, (list, dict)):
        assert type(back) is type(value) or isinstance(value, (bytearray, memoryview))


@pytest.mark.parametrize(("ours", "theirs"), list(zip(OURS, THEIRS)), ids=IDS)
def test_each_side_decodes_the_other(ours: Any, theirs: Any) -> None:
    pdata = proton.Data()
    pdata.put_object(theirs)
    assert ours_decode(bytes(pdata.encode())) == expected_back(ours)
    pback = proton.Data()
    pback.decode(ours_encode(ours))
    pback.rewind()
    pback.next()
    their_value = pback.get_object()
    if isinstance(their_value, memoryview):
        their_value = their_value.tobytes()
    assert repr(their_value).replace("proton.", "") == repr(ours_decode(ours_encode(ours)))


def test_bytearray_and_memoryview_encode_as_binary() -> None:
    assert ours_encode(bytearray(b"ab")) == ours_encode(memoryview(b"ab")) == b"\xa0\x02ab"


def test_tuple_encodes_as_list() -> None:
    assert ours_decode(ours_encode((1, 2))) == [1, 2]


@pytest.mark.parametrize(
    ("cls", "bad"),
    [
        (c.ulong, -1),
        (c.ulong, 2**64),
        (c.uint, 2**32),
        (c.ushort, -1),
        (c.ubyte, 256),
        (c.byte, 128),
        (c.byte, -129),
        (c.short, 40000),
        (c.int32, 2**31),
        (c.decimal32, -1),
        (c.timestamp, 2**63),
    ],
)
def test_integer_types_are_range_checked(cls: type, bad: int) -> None:
    with pytest.raises(ValueError, match=cls.__name__):
        cls(bad)
    with pytest.raises(AssertionError):  # what python-qpid-proton raised
        cls(bad)


def test_char_and_decimal128_check_length() -> None:
    with pytest.raises(ValueError):
        c.char("ab")
    with pytest.raises(ValueError):
        c.decimal128(b"short")


@pytest.mark.parametrize("name", ["ulong", "uint", "symbol", "char", "float32", "timestamp"])
def test_reprs_match_proton(name: str) -> None:
    arg = "a" if name in ("symbol", "char") else 5
    assert repr(getattr(c, name)(arg)) == repr(getattr(proton, name)(arg))


def test_compound_reprs_match_proton() -> None:
    assert repr(c.Described(c.symbol("x"), 5)) == repr(proton.Described(proton.symbol("x"), 5))
    ours = c.Array(c.UNDESCRIBED, c.Data.INT, 1, 2)
    assert repr(ours) == repr(proton.Array(proton.UNDESCRIBED, proton.Data.INT, 1, 2))
    assert repr(c.UNDESCRIBED) == "UNDESCRIBED"
    assert repr(c.AnnotationDict({"a": 1})) == repr(proton.AnnotationDict({"a": 1}))
    assert repr(c.SymbolList(["a"])) == repr(proton.SymbolList(["a"]))


def test_annotation_dict_keys() -> None:
    d = c.AnnotationDict({"a": 1})
    assert type(next(iter(d))) is c.symbol
    d[c.ulong(3)] = 2
    d.update({"b": 1}, f=4)
    assert set(d) == {"a", c.ulong(3), "b", "f"}
    with pytest.raises(KeyError, match="invalid non-symbol key"):
        d[5] = 1
    with pytest.raises(KeyError):
        c.AnnotationDict({5: 1})
    assert c.AnnotationDict({5: 1}, raise_on_error=False) == {5: 1}


def test_property_dict_keys() -> None:
    assert type(next(iter(c.PropertyDict({"a": 1})))) is c.symbol
    with pytest.raises(KeyError):
        c.PropertyDict({c.ulong(1): 1})
    with pytest.raises(KeyError):
        c.PropertyDict(a=1)[5] = 2


def test_symbol_list_converts_and_rejects() -> None:
    s = c.SymbolList(["a"])
    s.append("b")
    s.extend(["c"])
    s.insert(0, "z")
    s += ["w"]
    assert all(type(x) is c.symbol for x in s) and s == ["z", "a", "b", "c", "w"]
    assert type(s + ["q"]) is c.SymbolList
    with pytest.raises(TypeError):
        s.append(5)
    assert c.SymbolList([5], raise_on_error=False) == [5]


def test_described_and_array_equality() -> None:
    assert c.Described(1, 2) == c.Described(1, 2) and c.Described(1, 2) != c.Described(1, 3)
    assert c.Array(c.UNDESCRIBED, c.Data.INT, 1) == c.Array(c.UNDESCRIBED, c.Data.INT, 1)
    assert c.Array(c.UNDESCRIBED, c.Data.INT, 1) != 5


@pytest.mark.parametrize("value", [{1}, object(), c.UnmappedType("x"), [1, object()]])
def test_unsupported_python_types_name_the_type(value: Any) -> None:
    with pytest.raises(DataException, match="cannot encode"):
        c.Data().put_object(value)


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1])
def test_int_too_big_for_long(value: int) -> None:
    with pytest.raises(DataException, match="cannot encode"):
        c.Data().put_object(value)


def test_cursor_navigation() -> None:
    data = c.Data()
    data.put_map()
    data.enter()
    data.put_string("k")
    data.put_list()
    data.enter()
    data.put_int(1)
    data.put_symbol("s")
    data.exit()
    data.exit()
    data.put_long(7)
    data.rewind()
    assert data.next() == c.Data.MAP
    assert data.get_map() == 2
    assert data.enter()
    assert data.next() == c.Data.STRING and data.get_string() == "k"
    assert data.next() == c.Data.LIST and data.get_list() == 2
    assert data.enter()
    assert data.next() == c.Data.INT and data.get_int() == 1
    assert data.next() == c.Data.SYMBOL and data.get_symbol() == "s"
    assert data.next() is None
    assert data.prev() == c.Data.INT
    assert data.exit() and data.exit()
    assert data.next() == c.Data.LONG and data.get_long() == 7
    assert data.next() is None
    assert data.format() == '{"k"=[1, :s]}, 7'
    assert data.encoded_size() == len(data.encode())


def test_lookup_narrow_widen_copy_clear() -> None:
    data = c.Data()
    data.put_object({"a": 1, "b": "x"})
    data.put_object(9)
    data.rewind()
    data.next()
    data.enter()
    assert data.lookup("b") and data.get_string() == "x"
    data.exit()
    data.rewind()
    data.next()
    data.narrow()
    assert data.type() == c.Data.MAP
    data.widen()
    copy = c.Data()
    copy.copy(data)
    assert copy.encode() == data.encode()
    copy.clear()
    assert copy.encode() == b"" and copy.type() is None


def test_arrays_by_hand() -> None:
    data = c.Data()
    data.put_array(True, c.Data.INT)
    data.enter()
    data.put_symbol("x")
    data.put_int(1)
    data.put_int(2)
    data.exit()
    data.rewind()
    data.next()
    assert data.get_array() == (2, True, c.Data.INT)
    assert data.get_py_array() == c.Array(c.symbol("x"), c.Data.INT, 1, 2)
    assert data.is_described() is False


def test_typed_put_get_pairs() -> None:
    data = c.Data()
    u = uuid.uuid4()
    puts = [
        (data.put_bool, True, data.get_bool),
        (data.put_ubyte, 200, data.get_ubyte),
        (data.put_byte, -2, data.get_byte),
        (data.put_ushort, 60000, data.get_ushort),
        (data.put_short, -2, data.get_short),
        (data.put_uint, 2**32 - 1, data.get_uint),
        (data.put_int, -(2**31), data.get_int),
        (data.put_char, "☃", data.get_char),
        (data.put_ulong, 2**64 - 1, data.get_ulong),
        (data.put_long, -(2**63), data.get_long),
        (data.put_timestamp, 1234, data.get_timestamp),
        (data.put_float, 0.5, data.get_float),
        (data.put_double, 0.1, data.get_double),
        (data.put_decimal32, 7, data.get_decimal32),
        (data.put_decimal64, 8, data.get_decimal64),
        (data.put_decimal128, b"x" * 16, data.get_decimal128),
        (data.put_uuid, u, data.get_uuid),
        (data.put_binary, b"\x00b", data.get_binary),
        (data.put_memoryview, memoryview(b"mv"), data.get_binary),
        (data.put_string, "s", data.get_string),
        (data.put_symbol, "y", data.get_symbol),
    ]
    for put, value, _ in puts:
        put(value)
    data.rewind()
    for _, value, get in puts:
        data.next()
        assert get() == (bytes(value) if isinstance(value, memoryview) else value)


@pytest.mark.parametrize(
    ("method", "value"),
    [("put_int", 2**31), ("put_ubyte", -1), ("put_string", b"x"), ("put_uuid", "x")],
)
def test_typed_put_rejects_bad_values(method: str, value: Any) -> None:
    with pytest.raises(DataException):
        getattr(c.Data(), method)(value)


def test_decode_errors_raise_data_exception() -> None:
    for bad in (b"", b"\xa1\x05ab"):
        with pytest.raises(DataException):
            c.Data().decode(bad)


def test_public_names_match_proton() -> None:
    theirs = {n for n in dir(proton.Data) if not n.startswith("_")}
    ours = {n for n in dir(c.Data) if not n.startswith("_")}
    assert theirs <= ours
    assert c.Data.type_names == proton.Data.type_names
    assert c.Data.type_name(c.Data.INT) == "int"


def test_module_functions_on_raw_pointers() -> None:
    data = c.Data()
    c.put_object(data._data, {"k": [c.uint(1)]})
    data.rewind()
    data.next()
    assert c.get_object(data._data) == {"k": [1]}
    assert c.get_dict(data._data) == {"k": [c.uint(1)]}
