"""One Python object per C object, for the C object's whole life.

The registry maps a C pointer (cffi pointers hash and compare by address) to its wrapper.
A connection, session or link leaves it on its ``*_FINAL`` event, just before the C engine
frees it; a delivery leaves it when it is settled locally, or with its link. So
``event.connection`` is the same object on every event, attributes users set on it stay,
and an address the C allocator reuses never finds a stale wrapper.
"""

from __future__ import annotations

from typing import Any

from proton_ext import ffi

live: dict[Any, Any] = {}


def live_count() -> int:
    """How many wrappers are alive: tests use it to prove nothing leaks."""
    return len(live)


class Wrapper:
    """Base of every wrapper: holds the C pointer in ``_impl`` (None once the C object is gone)."""

    _impl: Any

    def _attach(self, impl: Any) -> None:
        self._impl = impl
        forget_stale(impl)
        live[impl] = self

    def _detach(self) -> None:
        impl = self._impl
        if impl is not None:
            live.pop(impl, None)
            self._impl = None


def forget_stale(impl: Any) -> None:
    """Before a new wrapper takes the address ``impl``: a wrapper still registered there is
    stale (its C object was freed without its final event reaching us, as when a container is
    dropped unfinished, and the allocator reused the address), so it lets go of the pointer
    rather than stand for the new object."""
    stale = live.get(impl)
    if stale is not None:
        stale._impl = None


def lookup(impl: Any) -> Any | None:
    """The wrapper of a C pointer, or None for NULL or an unwrapped pointer."""
    if impl == ffi.NULL:
        return None
    return live.get(impl)
