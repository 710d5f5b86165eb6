"""Deliveries and their dispositions (delivery states).

``Sender.send()`` returns a Delivery, and that very object is ``event.delivery`` in every later
event about the same transfer (seed 5.3.2). It stays registered until it is settled locally.
The engine may free a settled delivery once it has written the settlement, so ``settle()``
keeps a copy of its tag and remote state, and queues the wrapper in this thread's
``pending_settled()`` list; ``detach_settled()`` lets go of the C pointer before any output is
produced (the container calls it after each event). Code driving the engine by hand has no
such call: there the wrapper lets go when a new delivery turns up at its address (see
``_wrapper.registered``). Either way the wrapper keeps its tag, link and last known states, so
code that held on to it reads them safely.
"""

from __future__ import annotations

import threading
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from proton_ext import ffi, lib

from . import _log
from ._condition import Condition, read_condition, write_condition
from ._endpoints import Link, _read_data, _write_data
from ._exceptions import ProtonException
from ._wrapper import live, register, registered

if TYPE_CHECKING:
    from ._endpoints import Connection, Session
    from ._transport import Transport


class DispositionType(IntEnum):
    """The AMQP delivery states, numbered by their descriptor codes."""

    RECEIVED = lib.PN_RECEIVED
    ACCEPTED = lib.PN_ACCEPTED
    REJECTED = lib.PN_REJECTED
    RELEASED = lib.PN_RELEASED
    MODIFIED = lib.PN_MODIFIED

    def __str__(self) -> str:
        return self.name

    @classmethod
    def get(cls, code: int) -> DispositionType | int:
        """The member for ``code``, or the bare number for a state AMQP does not define."""
        try:
            return cls(code)
        except ValueError:
            return code


class _Pending(threading.local):
    """Deliveries settled on this thread and not yet detached (one container per thread)."""

    def __init__(self) -> None:
        self.items: list[Delivery] = []


_pending = _Pending()


def pending_settled() -> list[Delivery]:
    """This thread's list of settled deliveries still to detach."""
    return _pending.items


def detach_settled() -> None:
    """Let go of the C pointers of deliveries settled on this thread since the last call."""
    items = _pending.items
    while items:
        items.pop()._detach()


RECEIVED = DispositionType.RECEIVED
ACCEPTED = DispositionType.ACCEPTED
REJECTED = DispositionType.REJECTED
RELEASED = DispositionType.RELEASED
MODIFIED = DispositionType.MODIFIED


class Disposition:
    """The local or remote state of a delivery with its details (condition, annotations)."""

    RECEIVED = RECEIVED
    ACCEPTED = ACCEPTED
    REJECTED = REJECTED
    RELEASED = RELEASED
    MODIFIED = MODIFIED

    __slots__ = ("_impl", "_delivery", "_local")

    def __init__(self, impl: Any, delivery: Delivery, local: bool) -> None:
        self._impl = impl
        self._delivery = delivery
        self._local = local

    @property
    def type(self) -> DispositionType | int:
        """The state's type (ACCEPTED, REJECTED, ...), 0 when none."""
        return DispositionType.get(lib.pn_disposition_type(self._impl))

    @property
    def section_number(self) -> int:
        """RECEIVED: the section the receiver got to."""
        return lib.pn_disposition_get_section_number(self._impl)

    @section_number.setter
    def section_number(self, n: int) -> None:
        lib.pn_disposition_set_section_number(self._impl, n)

    @property
    def section_offset(self) -> int:
        """RECEIVED: the offset within that section."""
        return lib.pn_disposition_get_section_offset(self._impl)

    @section_offset.setter
    def section_offset(self, n: int) -> None:
        lib.pn_disposition_set_section_offset(self._impl, n)

    @property
    def failed(self) -> bool:
        """MODIFIED: count this as a failed delivery attempt."""
        return bool(lib.pn_disposition_is_failed(self._impl))

    @failed.setter
    def failed(self, value: bool) -> None:
        lib.pn_disposition_set_failed(self._impl, value)

    @property
    def undeliverable(self) -> bool:
        """MODIFIED: do not deliver the message to this receiver again."""
        return bool(lib.pn_disposition_is_undeliverable(self._impl))

    @undeliverable.setter
    def undeliverable(self, value: bool) -> None:
        lib.pn_disposition_set_undeliverable(self._impl, value)

    @property
    def data(self) -> Any:
        """Custom state data (for non-standard outcomes)."""
        return _read_data(lib.pn_disposition_data(self._impl))

    @data.setter
    def data(self, value: Any) -> None:
        _write_data(lib.pn_disposition_data(self._impl), value)

    @property
    def annotations(self) -> Any:
        """MODIFIED: message annotations to merge into the message."""
        return _read_data(lib.pn_disposition_annotations(self._impl))

    @annotations.setter
    def annotations(self, value: Any) -> None:
        _write_data(lib.pn_disposition_annotations(self._impl), value)

    @property
    def condition(self) -> Condition | None:
        """REJECTED: the error explaining why."""
        return read_condition(lib.pn_disposition_condition(self._impl))

    @condition.setter
    def condition(self, value: Condition | None) -> None:
        write_condition(lib.pn_disposition_condition(self._impl), value)


class Delivery:
    """One message transfer on a link: its tag, states and settlement."""

    RECEIVED = RECEIVED
    ACCEPTED = ACCEPTED
    REJECTED = REJECTED
    RELEASED = RELEASED
    MODIFIED = MODIFIED

    __slots__ = (
        "_impl",
        "_link",
        "_tag",
        "_remote_state",
        "_local_state",
        "_local_settled",
        "_received",
        "__dict__",
    )

    stale = False
    """True for a delivery that was on the wire when its connection was lost: the peer forgot
    it (a broker redelivers the message), so settling it has no effect on the new link."""

    def __init__(self, impl: Any, link: Link) -> None:
        self._impl = impl
        self._link = link
        self._tag: bytes | None = None
        self._remote_state = 0
        self._local_state = 0
        self._local_settled = False
        self._received: bytearray | None = None  # a large message read as it arrives
        register(self, impl, lib.pn_delivery_set_context)
        link._deliveries[impl] = self

    @classmethod
    def from_event_pointer(cls, pointer: Any) -> Delivery:
        """The new wrapper of a delivery an event reports, given as ``void *``, that has none
        yet (the container looked it up already): one made by the peer."""
        impl = ffi.cast("pn_delivery_t *", pointer)
        link = Link.wrap(lib.pn_delivery_link(impl))
        assert link is not None
        return cls(impl, link)

    @classmethod
    def wrap(cls, impl: Any) -> Delivery | None:
        """The unique wrapper of a ``pn_delivery_t``."""
        if impl == ffi.NULL:
            return None
        found = registered(impl, lib.pn_delivery_get_context)
        if found is not None:
            return found
        link = Link.wrap(lib.pn_delivery_link(impl))
        assert link is not None
        return cls(impl, link)

    def _detach(self) -> None:
        impl = self._impl
        if impl is not None:
            if not self._local_settled:
                self._keep_last_state(impl)
            live.pop(impl, None)
            self._link._deliveries.pop(impl, None)
            self._impl = None

    def _let_go(self) -> None:
        """Unregister and drop the C delivery, keeping the last states (its connection was lost:
        ``_resend`` aborts it, and may give the wrapper a new one with ``_rebind``)."""
        impl = self._impl
        if impl is not None:
            self._keep_last_state(impl)
            live.pop(impl, None)
            self._link._deliveries.pop(impl, None)
            self._impl = None

    def _abort_quietly(self) -> None:
        """Before a lost transport is unbound: abort the C delivery (the engine then frees it
        with no frame on the next transport, as a delivery not being sent on it) and let go."""
        impl = self._impl
        if lib.pn_delivery_pending(impl):
            self._link._leaked += 1  # not all written: the engine keeps counting it as queued
        self._let_go()
        lib.pn_delivery_abort(impl)

    def _lost(self) -> None:
        """A sent delivery whose connection was lost before its outcome, and which is not sent
        again: it is dropped, and no outcome will come (tracing ends its span here)."""
        self._abort_quietly()

    def _rebind(self, impl: Any, tag: bytes) -> None:
        """Stand for a new C delivery of the same message (sent again after a reconnect)."""
        self._impl = impl
        self._tag = tag
        self._remote_state = 0
        register(self, impl, lib.pn_delivery_set_context)
        self._link._deliveries[impl] = self

    def _stale_use(self, what: str) -> None:
        """Settling a stale delivery: warn, once."""
        if not self.__dict__.get("_warned"):
            self._warned = True
            _log.stale_delivery(self, what)

    def _keep_last_state(self, impl: Any) -> None:
        """Copy what the wrapper still answers once it lets go of the C delivery."""
        self._remote_state = lib.pn_delivery_remote_state(impl)
        if self._tag is None:
            self._tag = self._read_tag(impl)

    def _live_impl(self) -> Any:
        impl = self._impl
        if impl is None or self._local_settled:
            raise ProtonException("the delivery is settled and can no longer be changed")
        return impl

    @staticmethod
    def _read_tag(impl: Any) -> bytes:
        tag = lib.pn_delivery_tag(impl)
        return ffi.unpack(tag.start, tag.size)

    @property
    def tag(self) -> str:
        """The delivery tag, unique among the link's unsettled deliveries: a str, as in
        python-qpid-proton (bytes that are not UTF-8 are kept as surrogate escapes)."""
        if self._tag is None:
            self._tag = self._read_tag(self._live_impl())
        return self._tag.decode("utf-8", "surrogateescape")

    @property
    def link(self) -> Link:
        """The link this delivery travels on."""
        return self._link

    @property
    def session(self) -> Session:
        """The link's session."""
        return self._link.session

    @property
    def connection(self) -> Connection:
        """The link's connection."""
        return self._link.connection

    @property
    def transport(self) -> Transport | None:
        """The connection's transport."""
        return self._link.transport

    @property
    def writable(self) -> bool:
        """The delivery can take more bytes to send."""
        return self._impl is not None and bool(lib.pn_delivery_writable(self._impl))

    @property
    def readable(self) -> bool:
        """The delivery has bytes to read."""
        return self._impl is not None and bool(lib.pn_delivery_readable(self._impl))

    @property
    def updated(self) -> bool:
        """The peer changed the remote state or settled it since the last look."""
        return self._impl is not None and bool(lib.pn_delivery_updated(self._impl))

    @property
    def pending(self) -> int:
        """Bytes buffered in this delivery."""
        return lib.pn_delivery_pending(self._impl) if self._impl is not None else 0

    @property
    def partial(self) -> bool:
        """More transfer frames of this message are still to come."""
        return self._impl is not None and bool(lib.pn_delivery_partial(self._impl))

    @property
    def aborted(self) -> bool:
        """The sender aborted this delivery."""
        return self._impl is not None and bool(lib.pn_delivery_aborted(self._impl))

    def _readable_impl(self) -> Any:
        impl = self._impl
        if impl is None:
            raise ProtonException("the delivery is settled; its details are gone")
        return impl

    @property
    def local(self) -> Disposition:
        """The local disposition: set its details before ``update()``."""
        return Disposition(lib.pn_delivery_local(self._readable_impl()), self, True)

    @property
    def remote(self) -> Disposition:
        """The disposition the peer sent."""
        return Disposition(lib.pn_delivery_remote(self._readable_impl()), self, False)

    @property
    def local_state(self) -> DispositionType | int:
        """The local state type."""
        impl = self._impl
        code = lib.pn_delivery_local_state(impl) if impl is not None else self._local_state
        return DispositionType.get(code)

    @property
    def remote_state(self) -> DispositionType | int:
        """The state the peer last sent (ACCEPTED, REJECTED, ...), 0 when none."""
        impl = self._impl
        code = lib.pn_delivery_remote_state(impl) if impl is not None else self._remote_state
        return DispositionType.get(code)

    @property
    def settled(self) -> bool:
        """True once the peer settled (and always once we have let go of the delivery)."""
        impl = self._impl
        return True if impl is None else bool(lib.pn_delivery_settled(impl))

    def update(self, state: int) -> None:
        """Set the local state (ACCEPTED, REJECTED, RELEASED, MODIFIED) and tell the peer."""
        if self.stale:
            return self._stale_use(f"update({DispositionType.get(state)!s})")
        lib.pn_delivery_update(self._live_impl(), state)
        self._local_state = state

    @property
    def locally_settled(self) -> bool:
        """True once ``settle()`` (or ``abort()``) was called on this side."""
        return self._local_settled

    def settle(self) -> None:
        """Settle: tell the peer, and forget the delivery locally (idempotent)."""
        impl = self._impl
        if impl is None or self._local_settled:
            return
        if self.stale:
            self._stale_use("settle()")
        self._local_settled = True
        self._keep_last_state(impl)
        lib.pn_delivery_settle(impl)
        _pending.items.append(self)
        unsettled = self._link._unsettled
        if unsettled is not None:
            unsettled.forget(self)

    def abort(self) -> None:
        """Abort a partly sent delivery."""
        impl = self._live_impl()
        self._local_settled = True
        self._keep_last_state(impl)
        lib.pn_delivery_abort(impl)
        _pending.items.append(self)
        unsettled = self._link._unsettled
        if unsettled is not None:
            unsettled.forget(self)

    def __repr__(self) -> str:
        try:
            tag = self.tag
        except ProtonException:
            tag = "?"
        return f"Delivery(tag={tag!r}, remote_state={self.remote_state!s})"


# _endpoints sits below this module: hand its links the class of their deliveries.
Link._delivery_class = Delivery
