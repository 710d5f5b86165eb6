"""One Python object per C object, for the C object's whole life.

The registry maps a C pointer (cffi pointers hash and compare by address) to its wrapper.
A connection, session or link leaves it on its ``*_FINAL`` event, just before the C engine
frees it; a delivery leaves it when it is settled locally, or with its link. So
``event.connection`` is the same object on every event, and attributes users set on it stay.

Code driving the engine by hand sees no such events, so a C object can be freed while its
wrapper is still registered, and the allocator can put a new object at the same address. To
tell them apart, registering a wrapper marks its C object (its context pointer, unused
otherwise); a new object starts unmarked, so ``registered()`` finds no wrapper for it and the
stale one lets go of the address.
"""

from __future__ import annotations

from typing import Any, Callable

from proton_ext import ffi

live: dict[Any, Any] = {}

# The context pointer of a C object that has a wrapper (never dereferenced: a mark).
_MARK = ffi.cast("void *", 1)


def live_count() -> int:
    """How many wrappers are alive: tests use it to prove nothing leaks."""
    return len(live)


class Wrapper:
    """Base of every wrapper: holds the C pointer in ``_impl`` (None once the C object is gone)."""

    _impl: Any
    # The engine's get and set of this kind of C object's context pointer.
    _get_context: Callable[[Any], Any]
    _set_context: Callable[[Any, Any], None]

    def _attach(self, impl: Any) -> None:
        self._impl = impl
        register(self, impl, type(self)._set_context)

    def _detach(self) -> None:
        impl = self._impl
        if impl is not None:
            live.pop(impl, None)
            self._impl = None


def register(wrapper: Any, impl: Any, set_context: Callable[[Any, Any], None]) -> None:
    """Register ``wrapper`` as the one of the C object at ``impl``, and mark that object."""
    forget_stale(impl)
    live[impl] = wrapper
    set_context(impl, _MARK)


def registered(impl: Any, get_context: Callable[[Any], Any]) -> Any | None:
    """The wrapper registered at ``impl`` if it wraps the C object there now; None if there
    is none, or if the object there is unmarked (a new one: the registered wrapper is stale,
    and lets go of the address)."""
    found = live.get(impl)
    if found is not None and get_context(impl) == ffi.NULL:
        forget_stale(impl)
        del live[impl]
        return None
    return found


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
