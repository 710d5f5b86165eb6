"""A C error becomes a Python exception carrying the engine's own text (``pn_error_text``).

Each test makes the C engine fail for real, then passes its return code and ``pn_error_t`` to
``amq_python._core._exceptions.check`` and compares the exception's text with what C says.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from amq_python._core._exceptions import (
    DataException,
    MessageException,
    ProtonException,
    TransportException,
    check,
)
from proton_ext import ffi, lib


def c_text(error: Any) -> str:
    text = lib.pn_error_text(error)
    assert text != ffi.NULL, "the C call left no error text"
    return ffi.string(text).decode()


def encoded_list() -> bytes:
    """A list of a string and an int, encoded by pn_data."""
    data = lib.pn_data(0)
    try:
        assert lib.pn_data_put_list(data) == 0
        assert lib.pn_data_enter(data)
        text = ffi.new("char[]", b"hello there")
        assert lib.pn_data_put_string(data, lib.pn_bytes(11, text)) == 0
        assert lib.pn_data_put_int(data, 42) == 0
        assert lib.pn_data_exit(data)
        buffer = ffi.new("char[]", 256)
        size = lib.pn_data_encode(data, buffer, 256)
        assert size > 0
        return ffi.buffer(buffer, size)[:]
    finally:
        lib.pn_data_free(data)


def test_truncated_data_raises_data_exception_with_c_text() -> None:
    encoded = encoded_list()
    data = lib.pn_data(0)
    try:
        assert lib.pn_data_decode(data, encoded, len(encoded)) == len(encoded)
        lib.pn_data_clear(data)

        code = lib.pn_data_decode(data, encoded[:-3], len(encoded) - 3)
        assert code == lib.PN_UNDERFLOW
        with pytest.raises(DataException) as raised:
            check(code, DataException, lib.pn_data_error(data))
        text = c_text(lib.pn_data_error(data))
        assert text  # e.g. "not enough data to decode"
        assert str(raised.value) == f"[{code}]: {text}"
    finally:
        lib.pn_data_free(data)


def test_encoding_into_a_short_buffer_raises_with_c_text() -> None:
    data = lib.pn_data(0)
    try:
        text = ffi.new("char[]", b"x" * 50)
        assert lib.pn_data_put_string(data, lib.pn_bytes(50, text)) == 0
        buffer = ffi.new("char[]", 10)
        code = lib.pn_data_encode(data, buffer, 10)
        assert code == lib.PN_OVERFLOW
        with pytest.raises(DataException, match=re.escape(c_text(lib.pn_data_error(data)))):
            check(code, DataException, lib.pn_data_error(data))
    finally:
        lib.pn_data_free(data)


def test_garbage_on_a_transport_raises_transport_exception_with_c_text() -> None:
    transport = lib.pn_transport()
    lib.pn_transport_set_server(transport)
    connection = lib.pn_connection()
    assert lib.pn_transport_bind(transport, connection) == 0
    try:
        garbage = b"GET / HTTP/1.1\r\n\r\n"
        code = lib.pn_transport_input(transport, garbage, len(garbage))
        assert code < 0
        text = c_text(lib.pn_transport_error(transport))
        assert "framing-error" in text
        with pytest.raises(TransportException) as raised:
            check(code, TransportException, lib.pn_transport_error(transport))
        assert text in str(raised.value)
        assert isinstance(raised.value, ProtonException)
    finally:
        lib.pn_transport_unbind(transport)
        lib.pn_transport_free(transport)
        lib.pn_connection_free(connection)


def test_error_without_text_names_the_code() -> None:
    # pn_message_encode reports a short buffer by its code alone: the message's error is empty.
    message = lib.pn_message()
    try:
        text = ffi.new("char[]", b"a body longer than the buffer")
        assert lib.pn_data_put_string(lib.pn_message_body(message), lib.pn_bytes(29, text)) == 0
        buffer = ffi.new("char[]", 8)
        size = ffi.new("size_t *", 8)
        code = lib.pn_message_encode(message, buffer, size)
        assert code == lib.PN_OVERFLOW
        assert lib.pn_error_text(lib.pn_message_error(message)) == ffi.NULL
        with pytest.raises(MessageException) as raised:
            check(code, MessageException, lib.pn_message_error(message))
        assert str(raised.value) == f"[{code}]: {ffi.string(lib.pn_code(code)).decode()}"
        assert "OVERFLOW" in str(raised.value)
    finally:
        lib.pn_message_free(message)


@pytest.mark.parametrize("code", [0, 1, 4096])
def test_non_negative_codes_pass_through(code: int) -> None:
    assert check(code, MessageException, ffi.NULL) == code
