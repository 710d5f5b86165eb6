"""The AMQP 1.0 type system: Python classes for AMQP types, and ``Data`` over ``pn_data_t``.

Values flow between Python and the C codec in one place:

1. ``put_object(data, obj)`` looks up a writer by ``type(obj)`` (a dict, built once; a subclass of
   a known type is resolved through its MRO once and cached) and calls the matching
   ``pn_data_put_*``; compound values (list, dict, ``Described``, ``Array``) recurse.
2. ``get_object(data)`` reads the current node's ``pn_type_t`` and calls the matching reader from
   a table indexed by type code, which builds the Python value (an ``int`` subclass such as
   ``uint`` for a typed integer, ``str`` for a string, ``bytes`` for binary, ...).
3. ``Data`` is the python-qpid-proton face: the same cursor API, each call one ``pn_data_*`` call,
   every negative return code raised as ``DataException`` through ``check``.

The rest of the library (message, endpoints) calls ``put_object``/``get_object`` on raw
``pn_data_t *`` pointers, so there is no ``Data`` wrapper per value on the hot path.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any, Callable

from amq_python._core._exceptions import DataException, check
from proton_ext import ffi, lib

__all__ = [
    "AMQPRangeError",
    "AnnotationDict",
    "Array",
    "Data",
    "Described",
    "PropertyDict",
    "SymbolList",
    "UNDESCRIBED",
    "UnmappedType",
    "byte",
    "char",
    "decimal128",
    "decimal32",
    "decimal64",
    "float32",
    "get_dict",
    "get_object",
    "int32",
    "put_dict",
    "put_object",
    "short",
    "symbol",
    "timestamp",
    "ubyte",
    "uint",
    "ulong",
    "ushort",
]


class AMQPRangeError(ValueError, AssertionError):
    """A value outside an AMQP type's range (also an AssertionError, as proton raised one)."""


# ---------------------------------------------------------------------------------------------
# Scalar types
# ---------------------------------------------------------------------------------------------


class symbol(str):
    """An AMQP symbol: an ASCII name, encoded differently from a string."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"symbol({str.__repr__(self)})"


class char(str):
    """An AMQP char: one Unicode code point."""

    __slots__ = ()

    def __new__(cls, value: str) -> char:
        self = str.__new__(cls, value)
        if len(self) != 1:
            raise AMQPRangeError(f"char must be exactly one character, got {str(value)!r}")
        return self

    def __repr__(self) -> str:
        return f"char({str.__repr__(self)})"


class _RangedInt(int):
    """An int subclass that checks its AMQP range on construction."""

    __slots__ = ()
    _low = 0
    _high = 0

    def __new__(cls, value: Any = 0) -> Any:
        self = int.__new__(cls, value)
        if not cls._low <= self <= cls._high:
            raise AMQPRangeError(
                f"{cls.__name__} must be in [{cls._low}, {cls._high}], got {int.__repr__(self)}"
            )
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int.__repr__(self)})"


class ulong(_RangedInt):
    """An AMQP ulong: unsigned 64-bit integer."""

    __slots__ = ()
    _high = 2**64 - 1

    def __new__(cls, u64: int) -> ulong:
        """The value, checked against the type's range (the argument is required and named
        as in python-qpid-proton)."""
        return _RangedInt.__new__(cls, u64)


class uint(_RangedInt):
    """An AMQP uint: unsigned 32-bit integer."""

    __slots__ = ()
    _high = 2**32 - 1

    def __new__(cls, u32: int) -> uint:
        """The value, checked against the type's range (the argument is required and named
        as in python-qpid-proton)."""
        return _RangedInt.__new__(cls, u32)


class ushort(_RangedInt):
    """An AMQP ushort: unsigned 16-bit integer."""

    __slots__ = ()
    _high = 2**16 - 1

    def __new__(cls, i: int) -> ushort:
        """The value, checked against the type's range (the argument is required and named
        as in python-qpid-proton)."""
        return _RangedInt.__new__(cls, i)


class ubyte(_RangedInt):
    """An AMQP ubyte: unsigned 8-bit integer."""

    __slots__ = ()
    _high = 2**8 - 1

    def __new__(cls, i: int) -> ubyte:
        """The value, checked against the type's range (the argument is required and named
        as in python-qpid-proton)."""
        return _RangedInt.__new__(cls, i)


class byte(_RangedInt):
    """An AMQP byte: signed 8-bit integer."""

    __slots__ = ()
    _low = -(2**7)
    _high = 2**7 - 1


class short(_RangedInt):
    """An AMQP short: signed 16-bit integer."""

    __slots__ = ()
    _low = -(2**15)
    _high = 2**15 - 1


class int32(_RangedInt):
    """An AMQP int: signed 32-bit integer (a plain Python int is encoded as AMQP long)."""

    __slots__ = ()
    _low = -(2**31)
    _high = 2**31 - 1


class timestamp(_RangedInt):
    """An AMQP timestamp: milliseconds since the Unix epoch, signed 64-bit."""

    __slots__ = ()
    _low = -(2**63)
    _high = 2**63 - 1


class decimal32(_RangedInt):
    """An AMQP decimal32, carried as its raw 32-bit IEEE 754 pattern."""

    __slots__ = ()
    _high = 2**32 - 1


class decimal64(_RangedInt):
    """An AMQP decimal64, carried as its raw 64-bit IEEE 754 pattern."""

    __slots__ = ()
    _high = 2**64 - 1


class float32(float):
    """An AMQP float: 32-bit IEEE 754 (a plain Python float is encoded as AMQP double)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"float32({float.__repr__(self)})"


class decimal128(bytes):
    """An AMQP decimal128, carried as its raw 16-byte IEEE 754 pattern."""

    __slots__ = ()

    def __new__(cls, value: bytes) -> decimal128:
        self = bytes.__new__(cls, value)
        if len(self) != 16:
            raise AMQPRangeError(f"decimal128 must be exactly 16 bytes, got {len(self)}")
        return self

    def __repr__(self) -> str:
        return f"decimal128({bytes.__repr__(self)})"


# ---------------------------------------------------------------------------------------------
# Compound types and markers
# ---------------------------------------------------------------------------------------------


class _Constant:
    """A named marker value whose repr is its name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


UNDESCRIBED = _Constant("UNDESCRIBED")


class Described:
    """An AMQP described value: a descriptor (usually a symbol or ulong) and a value."""

    __slots__ = ("descriptor", "value")

    def __init__(self, descriptor: Any, value: Any) -> None:
        self.descriptor = descriptor
        self.value = value

    def __repr__(self) -> str:
        return f"Described({self.descriptor!r}, {self.value!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Described):
            return False
        return self.descriptor == other.descriptor and self.value == other.value


class Array:
    """An AMQP array: elements of one AMQP type (a ``Data`` type code), optionally described."""

    __slots__ = ("descriptor", "type", "elements")

    def __init__(self, descriptor: Any, type: int, *elements: Any) -> None:
        self.descriptor = descriptor
        self.type = type
        self.elements = elements

    def __repr__(self) -> str:
        parts = ", ".join(repr(x) for x in (self.descriptor, self.type, *self.elements))
        return f"Array({parts})"

    def __iter__(self) -> Iterator[Any]:
        return iter(self.elements)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Array):
            return NotImplemented  # a SymbolList compares its items with ours
        return (self.descriptor, self.type, self.elements) == (
            other.descriptor,
            other.type,
            other.elements,
        )


class UnmappedType:
    """A placeholder for an AMQP value with no Python mapping."""

    __slots__ = ("msg",)

    def __init__(self, msg: str) -> None:
        self.msg = msg

    def __repr__(self) -> str:
        return f"UnmappedType({self.msg})"


class _RestrictedKeyDict(dict):
    """A dict that converts ``str`` keys to ``symbol`` and rejects keys AMQP does not allow."""

    _allow_ulong = False

    def __init__(self, e: Any = None, raise_on_error: bool = True, **kwargs: Any) -> None:
        super().__init__()
        self.raise_on_error = raise_on_error
        self.update(e, **kwargs)

    def _key(self, key: Any) -> Any:
        if isinstance(key, symbol) or (self._allow_ulong and isinstance(key, ulong)):
            return key
        if isinstance(key, str):
            return symbol(key)
        if self.raise_on_error:
            raise KeyError(f"invalid non-symbol key: {type(key)}: {key!r}")
        return key

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(self._key(key), value)

    def update(self, e: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Add the pairs of a mapping or iterable of pairs, and keywords, converting keys."""
        if e is not None:
            items = e.items() if hasattr(e, "keys") else e
            for key, value in items:
                self[key] = value
        for key, value in kwargs.items():
            self[key] = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"


class AnnotationDict(_RestrictedKeyDict):
    """Message or delivery annotations: keys are ``symbol`` or ``ulong``; ``str`` becomes symbol."""

    _allow_ulong = True


class PropertyDict(_RestrictedKeyDict):
    """A map whose keys must be ``symbol`` (``str`` keys are converted), e.g. link properties."""


class SymbolList(list):
    """A list whose elements must be ``symbol`` (``str`` elements are converted).

    A single string is one symbol (``SymbolList("X") == [symbol("X")]``), as AMQP lets one
    symbol stand for a multiple-valued field. It compares equal to a list, tuple or ``Array``
    with the same items, and a string to a one-item list.
    """

    def __init__(self, t: Iterable[Any] | None = None, raise_on_error: bool = True) -> None:
        self.raise_on_error = raise_on_error
        if isinstance(t, str):
            t = (t,)
        super().__init__(self._check(x) for x in (t or ()))

    def _check(self, value: Any) -> Any:
        if isinstance(value, symbol):
            return value
        if isinstance(value, str):
            return symbol(value)
        if self.raise_on_error:
            raise TypeError(f"Non-symbol type {type(value)}: {value!r}")
        return value

    def append(self, v: Any) -> None:
        """Append one element, converted to symbol."""
        super().append(self._check(v))

    def extend(self, t: Iterable[Any]) -> None:
        """Append elements, each converted to symbol."""
        super().extend(self._check(x) for x in t)

    def insert(self, i: Any, v: Any) -> None:
        """Insert one element, converted to symbol."""
        super().insert(i, self._check(v))

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            super().__setitem__(index, [self._check(x) for x in value])
        else:
            super().__setitem__(index, self._check(value))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list):
            return list.__eq__(self, other)
        if isinstance(other, (tuple, Array)):
            return list.__eq__(self, list(other))
        if isinstance(other, str):
            return list.__eq__(self, [other])
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None

    def __add__(self, other: Iterable[Any]) -> SymbolList:
        return SymbolList([*self, *other], raise_on_error=self.raise_on_error)

    def __iadd__(self, other: Iterable[Any]) -> SymbolList:
        self.extend(other)
        return self

    def to_array(self) -> Array:
        """The symbols as an undescribed AMQP array of symbol: the encoding AMQP prescribes
        for a multiple-valued symbol field such as capabilities (a list would be a different
        type on the wire)."""
        return Array(UNDESCRIBED, lib.PN_SYMBOL, *self)

    def __repr__(self) -> str:
        return f"SymbolList({list.__repr__(self)})"


def symbol_list_of(value: Any) -> SymbolList | None:
    """A capabilities field as the peer sent it (an array, a list or one symbol) as a SymbolList;
    None stays None. Items that are not symbols are kept, not refused: the peer chose them."""
    if value is None:
        return None
    if not isinstance(value, (str, list, tuple, Array)):
        value = (value,)
    return SymbolList(value, raise_on_error=False)


# ---------------------------------------------------------------------------------------------
# Writers: Python value -> pn_data_t node. Each returns the C return code (0 on success).
# ---------------------------------------------------------------------------------------------

_pn_bytes = lib.pn_bytes
_new = ffi.new
_unpack = ffi.unpack
_int_new = int.__new__
_str_new = str.__new__
_float_new = float.__new__


def _raise(data: Any, code: int) -> None:
    """Raise the C error for a failed put on ``data``."""
    check(code, DataException, lib.pn_data_error(data))


def _put_str(data: Any, value: str) -> int:
    raw = value.encode("utf-8")
    return lib.pn_data_put_string(data, _pn_bytes(len(raw), raw))


def _put_symbol(data: Any, value: str) -> int:
    raw = value.encode("utf-8")
    return lib.pn_data_put_symbol(data, _pn_bytes(len(raw), raw))


def _put_binary(data: Any, value: Any) -> int:
    raw = value if type(value) is bytes else bytes(value)
    return lib.pn_data_put_binary(data, _pn_bytes(len(raw), raw))


def _put_uuid(data: Any, value: uuid.UUID) -> int:
    return lib.pn_data_put_uuid(data, _new("pn_uuid_t *", [value.bytes])[0])


def _put_decimal128(data: Any, value: bytes) -> int:
    if len(value) != 16:
        raise DataException(f"decimal128 needs exactly 16 bytes, got {len(value)}")
    return lib.pn_data_put_decimal128(data, _new("pn_decimal128_t *", [bytes(value)])[0])


def _put_char(data: Any, value: str) -> int:
    return lib.pn_data_put_char(data, ord(value))


def _put_none(data: Any, value: Any) -> int:
    return lib.pn_data_put_null(data)


def _put_bool(data: Any, value: Any) -> int:
    return lib.pn_data_put_bool(data, bool(value))


def _put_list(data: Any, value: Iterable[Any]) -> int:
    code = lib.pn_data_put_list(data)
    if code:
        return int(code)
    lib.pn_data_enter(data)
    for item in value:
        _put(data, item)
    lib.pn_data_exit(data)
    return 0


def _put_map(data: Any, value: Any) -> int:
    code = lib.pn_data_put_map(data)
    if code:
        return int(code)
    lib.pn_data_enter(data)
    for key, item in value.items():
        _put(data, key)
        _put(data, item)
    lib.pn_data_exit(data)
    return 0


def _put_described(data: Any, value: Described) -> int:
    code = lib.pn_data_put_described(data)
    if code:
        return int(code)
    lib.pn_data_enter(data)
    _put(data, value.descriptor)
    _put(data, value.value)
    lib.pn_data_exit(data)
    return 0


def _put_array(data: Any, value: Array) -> int:
    described = value.descriptor is not UNDESCRIBED
    writer = _PUT_BY_CODE.get(value.type)
    if writer is None:
        raise DataException(f"unknown AMQP array element type {value.type!r}")
    code = lib.pn_data_put_array(data, described, value.type)
    if code:
        return int(code)
    lib.pn_data_enter(data)
    if described:
        _put(data, value.descriptor)
    for item in value.elements:
        code = writer(data, item)
        if code:
            return int(code)
    lib.pn_data_exit(data)
    return 0


_PUT: dict[type, Callable[[Any, Any], int]] = {
    type(None): _put_none,
    bool: _put_bool,
    int: lib.pn_data_put_long,
    float: lib.pn_data_put_double,
    str: _put_str,
    bytes: _put_binary,
    bytearray: _put_binary,
    memoryview: _put_binary,
    symbol: _put_symbol,
    char: _put_char,
    ulong: lib.pn_data_put_ulong,
    uint: lib.pn_data_put_uint,
    ushort: lib.pn_data_put_ushort,
    ubyte: lib.pn_data_put_ubyte,
    byte: lib.pn_data_put_byte,
    short: lib.pn_data_put_short,
    int32: lib.pn_data_put_int,
    timestamp: lib.pn_data_put_timestamp,
    float32: lib.pn_data_put_float,
    decimal32: lib.pn_data_put_decimal32,
    decimal64: lib.pn_data_put_decimal64,
    decimal128: _put_decimal128,
    uuid.UUID: _put_uuid,
    list: _put_list,
    tuple: _put_list,
    dict: _put_map,
    Described: _put_described,
    Array: _put_array,
}

_PUT_BY_CODE: dict[int, Callable[[Any, Any], int]] = {
    lib.PN_NULL: _put_none,
    lib.PN_BOOL: _put_bool,
    lib.PN_UBYTE: lib.pn_data_put_ubyte,
    lib.PN_BYTE: lib.pn_data_put_byte,
    lib.PN_USHORT: lib.pn_data_put_ushort,
    lib.PN_SHORT: lib.pn_data_put_short,
    lib.PN_UINT: lib.pn_data_put_uint,
    lib.PN_INT: lib.pn_data_put_int,
    lib.PN_CHAR: _put_char,
    lib.PN_ULONG: lib.pn_data_put_ulong,
    lib.PN_LONG: lib.pn_data_put_long,
    lib.PN_TIMESTAMP: lib.pn_data_put_timestamp,
    lib.PN_FLOAT: lib.pn_data_put_float,
    lib.PN_DOUBLE: lib.pn_data_put_double,
    lib.PN_DECIMAL32: lib.pn_data_put_decimal32,
    lib.PN_DECIMAL64: lib.pn_data_put_decimal64,
    lib.PN_DECIMAL128: _put_decimal128,
    lib.PN_UUID: _put_uuid,
    lib.PN_BINARY: _put_binary,
    lib.PN_STRING: _put_str,
    lib.PN_SYMBOL: _put_symbol,
    lib.PN_DESCRIBED: _put_described,
    lib.PN_ARRAY: _put_array,
    lib.PN_LIST: _put_list,
    lib.PN_MAP: _put_map,
}


def _writer_for(cls: type) -> Callable[[Any, Any], int]:
    """Find (and cache) the writer for a subclass of a known type, or raise naming the type."""
    for base in cls.__mro__[1:]:
        writer = _PUT.get(base)
        if writer is not None:
            _PUT[cls] = writer
            return writer
    raise DataException(f"cannot encode a value of Python type {cls.__qualname__} as AMQP")


def _put(data: Any, obj: Any) -> None:
    """Write ``obj`` as the next node; raise DataException if C refuses it."""
    writer = _PUT.get(type(obj)) or _writer_for(type(obj))
    code = writer(data, obj)
    if code:
        _raise(data, code)


def put_object(data: Any, obj: Any) -> None:
    """Write a Python value as the next node of a ``pn_data_t *``, choosing the AMQP type."""
    try:
        _put(data, obj)
    except (OverflowError, TypeError, UnicodeError) as e:
        raise DataException(f"cannot encode {type(obj).__name__} value {obj!r}: {e}") from e


def put_dict(data: Any, value: Any) -> None:
    """Write a mapping as an AMQP map node of a ``pn_data_t *``."""
    try:
        code = _put_map(data, value)
    except (OverflowError, TypeError, UnicodeError) as e:
        raise DataException(f"cannot encode map {value!r}: {e}") from e
    if code:
        _raise(data, code)


# ---------------------------------------------------------------------------------------------
# Readers: current pn_data_t node -> Python value
# ---------------------------------------------------------------------------------------------


def _bytes_of(view: Any) -> bytes:
    return _unpack(view.start, view.size) if view.size else b""


def _get_null(data: Any) -> None:
    return None


def _get_bool(data: Any) -> bool:
    return bool(lib.pn_data_get_bool(data))


def _get_ubyte(data: Any) -> ubyte:
    return _int_new(ubyte, lib.pn_data_get_ubyte(data))


def _get_byte(data: Any) -> byte:
    return _int_new(byte, lib.pn_data_get_byte(data))


def _get_ushort(data: Any) -> ushort:
    return _int_new(ushort, lib.pn_data_get_ushort(data))


def _get_short(data: Any) -> short:
    return _int_new(short, lib.pn_data_get_short(data))


def _get_uint(data: Any) -> uint:
    return _int_new(uint, lib.pn_data_get_uint(data))


def _get_int(data: Any) -> int32:
    return _int_new(int32, lib.pn_data_get_int(data))


def _get_char(data: Any) -> char:
    code = lib.pn_data_get_char(data)
    if code > 0x10FFFF:  # a UTF-32 value from the wire that is no Unicode code point
        raise DataException(f"AMQP char {code:#x} is not a Unicode code point")
    return _str_new(char, chr(code))


def _get_ulong(data: Any) -> ulong:
    return _int_new(ulong, lib.pn_data_get_ulong(data))


def _get_long(data: Any) -> int:
    return int(lib.pn_data_get_long(data))


def _get_timestamp(data: Any) -> timestamp:
    return _int_new(timestamp, lib.pn_data_get_timestamp(data))


def _get_float(data: Any) -> float32:
    return _float_new(float32, lib.pn_data_get_float(data))


def _get_double(data: Any) -> float:
    return float(lib.pn_data_get_double(data))


def _get_decimal32(data: Any) -> decimal32:
    return _int_new(decimal32, lib.pn_data_get_decimal32(data))


def _get_decimal64(data: Any) -> decimal64:
    return _int_new(decimal64, lib.pn_data_get_decimal64(data))


def _get_decimal128(data: Any) -> decimal128:
    raw = _unpack(lib.pn_data_get_decimal128(data).bytes, 16)
    return bytes.__new__(decimal128, raw)


def _get_uuid(data: Any) -> uuid.UUID:
    return uuid.UUID(bytes=_unpack(lib.pn_data_get_uuid(data).bytes, 16))


def _get_binary(data: Any) -> bytes:
    return _bytes_of(lib.pn_data_get_binary(data))


def _get_string(data: Any) -> str:
    return _bytes_of(lib.pn_data_get_string(data)).decode("utf-8")


def _get_symbol(data: Any) -> symbol:
    raw = _bytes_of(lib.pn_data_get_symbol(data)).decode("utf-8")
    return _str_new(symbol, raw)


def _get_described(data: Any) -> Described:
    lib.pn_data_enter(data)
    lib.pn_data_next(data)
    descriptor = get_object(data)
    lib.pn_data_next(data)
    value = get_object(data)
    lib.pn_data_exit(data)
    return Described(descriptor, value)


def _get_array(data: Any) -> Array:
    count = lib.pn_data_get_array(data)
    described = lib.pn_data_is_array_described(data)
    element_type = lib.pn_data_get_array_type(data)
    lib.pn_data_enter(data)
    descriptor: Any = UNDESCRIBED
    if described:
        lib.pn_data_next(data)
        descriptor = get_object(data)
    elements = []
    for _ in range(count):
        lib.pn_data_next(data)
        elements.append(get_object(data))
    lib.pn_data_exit(data)
    return Array(descriptor, element_type, *elements)


def _get_list(data: Any) -> list[Any]:
    count = lib.pn_data_get_list(data)
    lib.pn_data_enter(data)
    result = []
    for _ in range(count):
        lib.pn_data_next(data)
        result.append(get_object(data))
    lib.pn_data_exit(data)
    return result


def get_dict(data: Any) -> dict[Any, Any]:
    """Read the current AMQP map node of a ``pn_data_t *`` as a ``dict``."""
    count = lib.pn_data_get_map(data)
    lib.pn_data_enter(data)
    result = {}
    for _ in range(count // 2):
        lib.pn_data_next(data)
        key = get_object(data)
        lib.pn_data_next(data)
        result[key] = get_object(data)
    lib.pn_data_exit(data)
    return result


# Indexed by pn_type_t; index 26 (reached by PN_INVALID == -1) means "no current node".
_GET: list[Callable[[Any], Any]] = [
    _get_null,
    _get_null,
    _get_bool,
    _get_ubyte,
    _get_byte,
    _get_ushort,
    _get_short,
    _get_uint,
    _get_int,
    _get_char,
    _get_ulong,
    _get_long,
    _get_timestamp,
    _get_float,
    _get_double,
    _get_decimal32,
    _get_decimal64,
    _get_decimal128,
    _get_uuid,
    _get_binary,
    _get_string,
    _get_symbol,
    _get_described,
    _get_array,
    _get_list,
    get_dict,
    _get_null,
]


def get_object(data: Any) -> Any:
    """Read the current node of a ``pn_data_t *`` as a Python value (None when there is none)."""
    return _GET[lib.pn_data_type(data)](data)


# ---------------------------------------------------------------------------------------------
# Data: the python-qpid-proton cursor API
# ---------------------------------------------------------------------------------------------

_TYPE_NAMES: dict[int, str] = {
    code: ffi.string(lib.pn_type_name(code)).decode()[3:].lower()
    for code in range(lib.PN_NULL, lib.PN_MAP + 1)
}


class Data:
    """A tree of AMQP values with a cursor, over a C ``pn_data_t``: build, encode, decode, walk.

    Put methods add a node after the current one; ``enter``/``exit`` move into and out of a
    compound node (list, map, array, described); get methods read the current node.
    """

    NULL = lib.PN_NULL
    BOOL = lib.PN_BOOL
    UBYTE = lib.PN_UBYTE
    BYTE = lib.PN_BYTE
    USHORT = lib.PN_USHORT
    SHORT = lib.PN_SHORT
    UINT = lib.PN_UINT
    INT = lib.PN_INT
    CHAR = lib.PN_CHAR
    ULONG = lib.PN_ULONG
    LONG = lib.PN_LONG
    TIMESTAMP = lib.PN_TIMESTAMP
    FLOAT = lib.PN_FLOAT
    DOUBLE = lib.PN_DOUBLE
    DECIMAL32 = lib.PN_DECIMAL32
    DECIMAL64 = lib.PN_DECIMAL64
    DECIMAL128 = lib.PN_DECIMAL128
    UUID = lib.PN_UUID
    BINARY = lib.PN_BINARY
    STRING = lib.PN_STRING
    SYMBOL = lib.PN_SYMBOL
    DESCRIBED = lib.PN_DESCRIBED
    ARRAY = lib.PN_ARRAY
    LIST = lib.PN_LIST
    MAP = lib.PN_MAP

    type_names = _TYPE_NAMES

    def __init__(self, capacity: Any = 16) -> None:
        if isinstance(capacity, int):
            self._data = ffi.gc(lib.pn_data(capacity), lib.pn_data_free)
        else:
            # A view of a pn_data_t that an engine object owns (a terminus's capabilities,
            # say): never freed here; whoever makes the view keeps the owner alive.
            self._data = capacity
        self._owner: Any = None

    @staticmethod
    def type_name(amqptype: int) -> str:
        """The AMQP name of a type code, e.g. ``Data.type_name(Data.INT) == 'int'``."""
        return _TYPE_NAMES[amqptype]

    def _check(self, code: int) -> int:
        """Raise DataException with the C error text for a negative return code."""
        return check(code, DataException, lib.pn_data_error(self._data))

    # -- navigation --------------------------------------------------------------------------

    def clear(self) -> None:
        """Remove every node and reset the cursor."""
        lib.pn_data_clear(self._data)

    def rewind(self) -> None:
        """Move the cursor before the first top-level node."""
        lib.pn_data_rewind(self._data)

    def next(self) -> int | None:
        """Advance to the next sibling; return its type code, or None at the end."""
        if lib.pn_data_next(self._data):
            return self.type()
        return None

    def prev(self) -> int | None:
        """Step back to the previous sibling; return its type code, or None at the start."""
        if lib.pn_data_prev(self._data):
            return self.type()
        return None

    def enter(self) -> bool:
        """Make the current compound node the parent, with the cursor before its first child."""
        return bool(lib.pn_data_enter(self._data))

    def exit(self) -> bool:
        """Make the parent node current again; False at the top level."""
        return bool(lib.pn_data_exit(self._data))

    def lookup(self, name: str) -> bool:
        """Within the current map, move to the value whose string or symbol key is ``name``."""
        return bool(lib.pn_data_lookup(self._data, name.encode("utf-8")))

    def narrow(self) -> None:
        """Treat the current node as the only top-level node until ``widen``."""
        lib.pn_data_narrow(self._data)

    def widen(self) -> None:
        """Undo ``narrow``."""
        lib.pn_data_widen(self._data)

    def type(self) -> int | None:
        """The type code of the current node, or None when there is no current node."""
        code = lib.pn_data_type(self._data)
        return None if code == lib.PN_INVALID else int(code)

    # -- whole-tree operations ---------------------------------------------------------------

    def encoded_size(self) -> int:
        """The number of bytes ``encode()`` would produce."""
        return self._check(lib.pn_data_encoded_size(self._data))

    def encode(self) -> bytes:
        """Encode every top-level node as AMQP bytes."""
        size = self.encoded_size()
        buf = ffi.new("char[]", size)
        written = self._check(lib.pn_data_encode(self._data, buf, size))
        return ffi.buffer(buf, written)[:]

    def decode(self, encoded: bytes | bytearray | memoryview) -> int:
        """Decode the first AMQP value in ``encoded`` as a new node; return bytes consumed."""
        raw = encoded if type(encoded) is bytes else ffi.from_buffer(encoded)
        return self._check(lib.pn_data_decode(self._data, raw, len(raw)))

    def copy(self, src: Data) -> None:
        """Append a copy of every node of ``src``."""
        self._check(lib.pn_data_copy(self._data, src._data))

    def format(self) -> str:
        """A human-readable rendering of the contents, e.g. ``{"a"=[1, 2]}``."""
        size = 64
        while True:
            buf = ffi.new("char[]", size)
            length = ffi.new("size_t *", size)
            code = lib.pn_data_format(self._data, buf, length)
            if code == lib.PN_OVERFLOW:
                size *= 2
                continue
            self._check(code)
            return ffi.unpack(buf, length[0]).decode("utf-8", "replace")

    def dump(self) -> None:
        """Print ``format()`` for debugging (the C tree dump is not bound)."""
        print(self.format())

    # -- put ---------------------------------------------------------------------------------

    def put_list(self) -> None:
        """Add an empty list node; ``enter`` it to add elements."""
        self._check(lib.pn_data_put_list(self._data))

    def put_map(self) -> None:
        """Add an empty map node; ``enter`` it to add alternating keys and values."""
        self._check(lib.pn_data_put_map(self._data))

    def put_array(self, described: bool, element_type: int) -> None:
        """Add an empty array node; ``enter`` it to add the descriptor (if any) and elements."""
        self._check(lib.pn_data_put_array(self._data, described, element_type))

    def put_described(self) -> None:
        """Add an empty described node; ``enter`` it to add the descriptor, then the value."""
        self._check(lib.pn_data_put_described(self._data))

    def put_null(self) -> None:
        """Add a null."""
        self._check(lib.pn_data_put_null(self._data))

    def put_bool(self, b: bool | int) -> None:
        """Add a boolean."""
        self._check(lib.pn_data_put_bool(self._data, bool(b)))

    def _put_number(self, writer: Callable[[Any, Any], int], value: Any, name: str) -> None:
        """Add a number through ``writer``, naming the AMQP type when it does not fit."""
        try:
            code = writer(self._data, value)
        except (OverflowError, TypeError) as e:
            raise DataException(f"cannot encode {value!r} as AMQP {name}: {e}") from e
        self._check(code)

    def put_ubyte(self, ub: ubyte | int) -> None:
        """Add an unsigned byte."""
        self._put_number(lib.pn_data_put_ubyte, ub, "ubyte")

    def put_byte(self, b: byte | int) -> None:
        """Add a signed byte."""
        self._put_number(lib.pn_data_put_byte, b, "byte")

    def put_ushort(self, us: ushort | int) -> None:
        """Add an unsigned short."""
        self._put_number(lib.pn_data_put_ushort, us, "ushort")

    def put_short(self, s: short | int) -> None:
        """Add a signed short."""
        self._put_number(lib.pn_data_put_short, s, "short")

    def put_uint(self, ui: uint | int) -> None:
        """Add an unsigned int."""
        self._put_number(lib.pn_data_put_uint, ui, "uint")

    def put_int(self, i: int32 | int) -> None:
        """Add a signed int."""
        self._put_number(lib.pn_data_put_int, i, "int")

    def put_char(self, c: char | str) -> None:
        """Add a char (one Unicode code point)."""
        self._put_number(_put_char, c, "char")

    def put_ulong(self, ul: ulong | int) -> None:
        """Add an unsigned long."""
        self._put_number(lib.pn_data_put_ulong, ul, "ulong")

    def put_long(self, i64: int) -> None:
        """Add a signed long."""
        self._put_number(lib.pn_data_put_long, i64, "long")

    def put_timestamp(self, t: timestamp | int) -> None:
        """Add a timestamp (milliseconds since the epoch)."""
        self._put_number(lib.pn_data_put_timestamp, t, "timestamp")

    def put_float(self, f: float32 | float | int) -> None:
        """Add a 32-bit float."""
        self._put_number(lib.pn_data_put_float, f, "float")

    def put_double(self, d: float | int) -> None:
        """Add a 64-bit float."""
        self._put_number(lib.pn_data_put_double, d, "double")

    def put_decimal32(self, d: decimal32 | int) -> None:
        """Add a decimal32 (raw bit pattern)."""
        self._put_number(lib.pn_data_put_decimal32, d, "decimal32")

    def put_decimal64(self, d: decimal64 | int) -> None:
        """Add a decimal64 (raw bit pattern)."""
        self._put_number(lib.pn_data_put_decimal64, d, "decimal64")

    def put_decimal128(self, d: decimal128 | bytes) -> None:
        """Add a decimal128 (16 raw bytes)."""
        self._check(_put_decimal128(self._data, d))

    def put_uuid(self, u: uuid.UUID) -> None:
        """Add a UUID."""
        if not isinstance(u, uuid.UUID):
            raise DataException(f"put_uuid needs a uuid.UUID, not {type(u).__name__}")
        self._check(_put_uuid(self._data, u))

    def put_binary(self, b: bytes | bytearray | memoryview) -> None:
        """Add binary data."""
        self._put_number(_put_binary, b, "binary")

    def put_memoryview(self, mv: memoryview) -> None:
        """Add the bytes of a memoryview as binary data."""
        self.put_binary(mv)

    def put_string(self, s: str) -> None:
        """Add a UTF-8 string."""
        if not isinstance(s, str):
            raise DataException(f"put_string needs a str, not {type(s).__name__}")
        self._put_number(_put_str, s, "string")

    def put_symbol(self, s: str | symbol) -> None:
        """Add a symbol."""
        if not isinstance(s, str):
            raise DataException(f"put_symbol needs a str, not {type(s).__name__}")
        self._put_number(_put_symbol, s, "symbol")

    def put_object(self, obj: Any) -> None:
        """Add any Python value, choosing its AMQP type from its Python type."""
        put_object(self._data, obj)

    def put_dict(self, d: dict[Any, Any]) -> None:
        """Add a dict as an AMQP map."""
        put_dict(self._data, d)

    def put_sequence(self, s: Iterable[Any]) -> None:
        """Add a list or tuple as an AMQP list."""
        put_object(self._data, list(s))

    def put_py_described(self, d: Described) -> None:
        """Add a ``Described`` value."""
        put_object(self._data, d)

    def put_py_array(self, a: Array) -> None:
        """Add an ``Array`` value."""
        put_object(self._data, a)

    # -- get ---------------------------------------------------------------------------------

    def get_list(self) -> int:
        """The number of elements of the current list node (0 if it is not a list)."""
        return int(lib.pn_data_get_list(self._data))

    def get_map(self) -> int:
        """The number of keys plus values of the current map node (0 if it is not a map)."""
        return int(lib.pn_data_get_map(self._data))

    def get_array(self) -> tuple[int, bool, int | None]:
        """(element count, described?, element type code) of the current array node."""
        count = lib.pn_data_get_array(self._data)
        described = bool(lib.pn_data_is_array_described(self._data))
        code = lib.pn_data_get_array_type(self._data)
        return int(count), described, None if code == lib.PN_INVALID else int(code)

    def is_described(self) -> bool:
        """True if the current node is a described value."""
        return bool(lib.pn_data_is_described(self._data))

    def is_null(self) -> bool:
        """True if the current node is null."""
        return bool(lib.pn_data_is_null(self._data))

    def get_bool(self) -> bool:
        """The current node as a bool."""
        return _get_bool(self._data)

    def get_ubyte(self) -> ubyte:
        """The current node as a ubyte."""
        return _get_ubyte(self._data)

    def get_byte(self) -> byte:
        """The current node as a byte."""
        return _get_byte(self._data)

    def get_ushort(self) -> ushort:
        """The current node as a ushort."""
        return _get_ushort(self._data)

    def get_short(self) -> short:
        """The current node as a short."""
        return _get_short(self._data)

    def get_uint(self) -> uint:
        """The current node as a uint."""
        return _get_uint(self._data)

    def get_int(self) -> int32:
        """The current node as an int32."""
        return _get_int(self._data)

    def get_char(self) -> char:
        """The current node as a char."""
        return _get_char(self._data)

    def get_ulong(self) -> ulong:
        """The current node as a ulong."""
        return _get_ulong(self._data)

    def get_long(self) -> int:
        """The current node as an int (AMQP long)."""
        return _get_long(self._data)

    def get_timestamp(self) -> timestamp:
        """The current node as a timestamp (milliseconds)."""
        return _get_timestamp(self._data)

    def get_float(self) -> float32:
        """The current node as a float32."""
        return _get_float(self._data)

    def get_double(self) -> float:
        """The current node as a float (AMQP double)."""
        return _get_double(self._data)

    def get_decimal32(self) -> decimal32:
        """The current node as a decimal32."""
        return _get_decimal32(self._data)

    def get_decimal64(self) -> decimal64:
        """The current node as a decimal64."""
        return _get_decimal64(self._data)

    def get_decimal128(self) -> decimal128:
        """The current node as a decimal128."""
        return _get_decimal128(self._data)

    def get_uuid(self) -> uuid.UUID | None:
        """The current node as a uuid.UUID, or None if it is not a UUID."""
        if lib.pn_data_type(self._data) != lib.PN_UUID:
            return None
        return _get_uuid(self._data)

    def get_binary(self) -> bytes:
        """The current node as bytes (empty if it is not binary)."""
        return _get_binary(self._data)

    def get_string(self) -> str:
        """The current node as a str (empty if it is not a string)."""
        return _get_string(self._data)

    def get_symbol(self) -> symbol:
        """The current node as a symbol (empty if it is not a symbol)."""
        return _get_symbol(self._data)

    def get_object(self) -> Any:
        """The current node as a Python value, or None when there is no current node."""
        return get_object(self._data)

    def get_dict(self) -> dict[Any, Any]:
        """The current map node as a dict."""
        return get_dict(self._data)

    def get_sequence(self) -> list[Any]:
        """The current list node as a list."""
        return _get_list(self._data)

    def get_py_described(self) -> Described:
        """The current described node as ``Described``."""
        if not lib.pn_data_is_described(self._data):
            raise DataException("the current node is not a described value")
        return _get_described(self._data)

    def get_py_array(self) -> Array | None:
        """The current array node as ``Array``, or None if it is not an array."""
        if lib.pn_data_type(self._data) != lib.PN_ARRAY:
            return None
        return _get_array(self._data)

    put_mappings: dict[Any, Callable[..., None]] = {}
    get_mappings: dict[int, Callable[..., Any]] = {}


Data.put_mappings.update(
    {
        type(None): lambda self, _: self.put_null(),
        bool: Data.put_bool,
        ubyte: Data.put_ubyte,
        ushort: Data.put_ushort,
        uint: Data.put_uint,
        ulong: Data.put_ulong,
        byte: Data.put_byte,
        short: Data.put_short,
        int32: Data.put_int,
        int: Data.put_long,
        float32: Data.put_float,
        float: Data.put_double,
        decimal32: Data.put_decimal32,
        decimal64: Data.put_decimal64,
        decimal128: Data.put_decimal128,
        char: Data.put_char,
        timestamp: Data.put_timestamp,
        uuid.UUID: Data.put_uuid,
        bytes: Data.put_binary,
        bytearray: Data.put_binary,
        memoryview: Data.put_memoryview,
        str: Data.put_string,
        symbol: Data.put_symbol,
        list: Data.put_sequence,
        tuple: Data.put_sequence,
        dict: Data.put_dict,
        Described: Data.put_py_described,
        Array: Data.put_py_array,
        AnnotationDict: Data.put_dict,
        PropertyDict: Data.put_dict,
        SymbolList: Data.put_sequence,
    }
)

Data.get_mappings.update(
    {
        Data.NULL: lambda self: None,
        Data.BOOL: Data.get_bool,
        Data.BYTE: Data.get_byte,
        Data.UBYTE: Data.get_ubyte,
        Data.SHORT: Data.get_short,
        Data.USHORT: Data.get_ushort,
        Data.INT: Data.get_int,
        Data.UINT: Data.get_uint,
        Data.CHAR: Data.get_char,
        Data.LONG: Data.get_long,
        Data.ULONG: Data.get_ulong,
        Data.TIMESTAMP: Data.get_timestamp,
        Data.FLOAT: Data.get_float,
        Data.DOUBLE: Data.get_double,
        Data.DECIMAL32: Data.get_decimal32,
        Data.DECIMAL64: Data.get_decimal64,
        Data.DECIMAL128: Data.get_decimal128,
        Data.UUID: Data.get_uuid,
        Data.BINARY: Data.get_binary,
        Data.STRING: Data.get_string,
        Data.SYMBOL: Data.get_symbol,
        Data.DESCRIBED: Data.get_py_described,
        Data.ARRAY: Data.get_py_array,
        Data.LIST: Data.get_sequence,
        Data.MAP: Data.get_dict,
    }
)
