"""Reading a received message out of the engine: what MessagingHandler and ``aio`` share.

Small messages are read into one reusable buffer per thread; large ones (LARGE_MESSAGE and up)
are drained into the delivery's own buffer as their frames arrive.
"""

from __future__ import annotations

import threading
from typing import Any

from proton_ext import ffi, lib

from ._message import decode_message

LARGE_MESSAGE = 1 << 20
"""Messages at least this large are read as their frames arrive, into a buffer of their own,
so the engine does not hold a whole copy of the message next to ours."""


class _RecvBuffer(threading.local):
    """One receive buffer per thread, reused for every incoming message smaller than
    LARGE_MESSAGE (grown up to that size, never beyond)."""

    size = 0
    buf: Any = None


_recv_buffer = _RecvBuffer()


def drain(link_impl: Any, delivery: Any) -> None:
    """Move what has arrived of a large delivery from the engine to the delivery's own buffer."""
    received = delivery._received
    if received is None:
        received = delivery._received = bytearray()
    pending = lib.pn_delivery_pending(delivery._impl)
    start = len(received)
    received.extend(bytes(0) if pending <= 0 else b"\0" * pending)
    n = lib.pn_link_recv(link_impl, ffi.from_buffer(received) + start, pending)
    del received[start + max(n, 0):]


def receive(link_impl: Any, delivery: Any) -> Any:
    """Read the whole current delivery, decode it, and advance the link."""
    impl = delivery._impl
    pending = lib.pn_delivery_pending(impl)
    if delivery._received is not None or pending >= LARGE_MESSAGE:
        drain(link_impl, delivery)
        raw = bytes(delivery._received)
        delivery._received = None
        lib.pn_link_advance(link_impl)
        return decode_message(raw)
    if pending > _recv_buffer.size:
        _recv_buffer.size = min(max(pending, 2 * _recv_buffer.size, 4096), LARGE_MESSAGE)
        _recv_buffer.buf = ffi.new("char[]", _recv_buffer.size)
    buf = _recv_buffer.buf
    n = lib.pn_link_recv(link_impl, buf, pending)
    lib.pn_link_advance(link_impl)
    return decode_message(ffi.unpack(buf, max(n, 0)))
