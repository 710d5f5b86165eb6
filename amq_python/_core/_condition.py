"""Condition: an AMQP error (name, description, info), as set on or read from an endpoint."""

from __future__ import annotations

from typing import Any

from proton_ext import ffi, lib

from . import _codec


class Condition:
    """An AMQP error condition such as ``amqp:unauthorized-access`` with its description."""

    __slots__ = ("name", "description", "info")

    def __init__(self, name: str, description: str | None = None, info: Any = None) -> None:
        self.name = name
        self.description = description
        self.info = info

    def __repr__(self) -> str:
        fields = [repr(f) for f in (self.name, self.description, self.info) if f is not None]
        return f"Condition({', '.join(fields)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Condition):
            return False
        return (self.name, self.description, self.info) == (
            other.name,
            other.description,
            other.info,
        )

    __hash__ = None  # type: ignore[assignment]


def _text(ptr: Any) -> str | None:
    return ffi.string(ptr).decode("utf-8", "replace") if ptr != ffi.NULL else None


def read_condition(cond: Any) -> Condition | None:
    """The Condition held by a ``pn_condition_t``, or None when it is not set."""
    if cond == ffi.NULL or not lib.pn_condition_is_set(cond):
        return None
    info_data = lib.pn_condition_info(cond)
    info = None
    if lib.pn_data_size(info_data):
        lib.pn_data_rewind(info_data)
        lib.pn_data_next(info_data)
        info = _codec.get_object(info_data)
        lib.pn_data_rewind(info_data)
    return Condition(
        _text(lib.pn_condition_get_name(cond)) or "",
        _text(lib.pn_condition_get_description(cond)),
        info,
    )


def write_condition(cond: Any, value: Condition | None) -> None:
    """Set (or clear, for None) a ``pn_condition_t`` from a Condition."""
    lib.pn_condition_clear(cond)
    if value is None:
        return
    lib.pn_condition_set_name(cond, value.name.encode())
    if value.description is not None:
        lib.pn_condition_set_description(cond, value.description.encode())
    if value.info is not None:
        info_data = lib.pn_condition_info(cond)
        lib.pn_data_clear(info_data)
        _codec.put_object(info_data, value.info)
