"""One connection's AMQP engine with no I/O: its Transport, bound to its Connection.

A driver (the Container's Channel, over a socket and a poller) moves the bytes and keeps the
clock; the engine does the protocol:
1. Bytes in: ``input_buffer()`` lends the transport's own input buffer (no copy); the driver
   fills it and reports ``received(n)``, or ``close_input()`` at the end of the stream.
2. Bytes out: ``pending()`` says how much there is to send (negative once the output is
   closed and all sent), ``output(n)`` lends those bytes, ``sent(n)`` drops what went.
3. A clock in, the next deadline out: ``tick(now_ms)`` runs the engine's timers (heartbeats,
   the idle timeout) and answers when to tick again, in ms on the same clock (0: never).
4. Events out: the engine queues them in the collector its connection is bound to; the driver
   dispatches them for all its connections in one loop.

Steps 1 and 2 are one or two C calls each, for a driver that moves the bytes itself (two
engines paired in memory, in the tests). A driver over a non-blocking stream (the Channel's
socket) takes whole steps instead, since they sit on the per-message path: one Python call where
the fine ones take up to five. ``read_from(recv_into)`` is step 1, and says whether the input
makes a tick due; ``write_to(send)`` is step 2; ``status()`` says whether to watch for input
still, or the stream is done both ways.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from proton_ext import ffi, lib

from ._transport import Transport, raise_trace_error

READING = 1
"""``status()``: the engine takes input (so it is not closed)."""
DRAINING = 0
"""``status()``: its input is closed, its output is not (or not all of it sent yet)."""
CLOSED = -1
"""``status()``: both input and output are closed: nothing more to read or write."""

if TYPE_CHECKING:
    from ._endpoints import Connection


class Engine:
    """The protocol engine of ``connection`` over ``transport``, bound to it."""

    __slots__ = ("transport", "connection", "_t")

    def __init__(self, transport: Transport, connection: Connection) -> None:
        self.transport = transport
        self.connection = connection
        self._t = transport._impl

    def input_buffer(self) -> Any:
        """The transport's free input space as a writable buffer, or None when it takes no
        input now (full, or its input is closed: then the end of input is recorded)."""
        t = self._t
        capacity = lib.pn_transport_capacity(t)
        if capacity > 0:
            return ffi.buffer(lib.pn_transport_tail(t), capacity)
        if capacity < 0:
            lib.amqx_transport_close_tail_unlocked(t)
        return None

    def received(self, n: int) -> None:
        """The first ``n`` bytes of ``input_buffer()`` were filled: process them."""
        lib.amqx_transport_process_unlocked(self._t, n)

    def close_input(self) -> None:
        """The peer's stream ended."""
        lib.amqx_transport_close_tail_unlocked(self._t)

    def reading(self) -> bool:
        """True while the engine takes input (its input is not closed)."""
        return bool(lib.pn_transport_capacity(self._t) >= 0)

    def pending(self) -> int:
        """Bytes waiting to be sent; negative once the output is closed and all sent."""
        return int(lib.amqx_transport_pending_unlocked(self._t))

    def output(self, n: int) -> Any:
        """The first ``n`` pending bytes, as a buffer over the transport's own (no copy)."""
        return ffi.buffer(lib.pn_transport_head(self._t), n)

    def sent(self, n: int) -> None:
        """The first ``n`` pending bytes went out."""
        lib.pn_transport_pop(self._t, n)

    def close_output(self) -> None:
        """Send nothing more (what is pending is dropped)."""
        lib.pn_transport_close_head(self._t)

    def closed(self) -> bool:
        """True once both input and output are closed."""
        return bool(lib.pn_transport_closed(self._t))

    def status(self) -> int:
        """READING, DRAINING or CLOSED: whether to watch for input, or the stream is done."""
        t = self._t
        if lib.pn_transport_capacity(t) >= 0:
            return READING
        return CLOSED if lib.pn_transport_closed(t) else DRAINING

    def read_from(self, recv_into: Callable[[Any], int], reads: int) -> bool:
        """Fill the input from a non-blocking stream and process it, at most ``reads`` times
        while each read fills all the space offered. ``recv_into`` is the stream's (a socket's):
        it fills the buffer it gets and returns the count, 0 at the end of the stream (then the
        input is closed), or raises BlockingIOError when it has nothing now. Any other error
        it raises propagates, after the input read before it was processed.

        Returns whether the input may have moved the engine's deadlines, so that it wants a
        ``tick``: True when an idle timeout is set on either side (the peer's comes in its
        Open). With none, ticking does nothing and answers no deadline."""
        t = self._t
        capacity_of = lib.pn_transport_capacity
        for _ in range(reads):
            capacity = capacity_of(t)
            if capacity <= 0:
                if capacity < 0:
                    lib.amqx_transport_close_tail_unlocked(t)
                break
            try:
                n = recv_into(ffi.buffer(lib.pn_transport_tail(t), capacity))
            except (BlockingIOError, InterruptedError):
                break
            if not n:
                lib.amqx_transport_close_tail_unlocked(t)
                break
            lib.amqx_transport_process_unlocked(t, n)
            if n < capacity:
                break
        return bool(
            lib.pn_transport_get_idle_timeout(t) or lib.pn_transport_get_remote_idle_timeout(t)
        )

    def write_to(self, send: Callable[[Any], int]) -> int:
        """Give the pending output to a non-blocking stream until all of it went or the stream
        takes less, and drop what went. ``send`` is the stream's (a socket's): it takes what it
        can of the buffer it gets and returns how much, or raises BlockingIOError when it takes
        nothing now; any other error it raises propagates. Returns the bytes still pending:
        over 0 when the stream took less, 0 when all went, negative once the output is closed
        and all of it sent (as ``pending()``)."""
        t = self._t
        pending_of = lib.amqx_transport_pending_unlocked
        while True:
            pending: int = pending_of(t)
            if pending <= 0:
                return pending
            try:
                n = send(ffi.buffer(lib.pn_transport_head(t), pending))
            except (BlockingIOError, InterruptedError):
                return pending
            if n:
                lib.pn_transport_pop(t, n)
            if n < pending:
                return pending - n

    def tick(self, now_ms: int) -> int:
        """Run the engine's timers at ``now_ms``; the deadline of the next tick (0: none). A
        closed engine (``closed()``) has no timers left: it is not ticked, and answers 0."""
        t = self._t
        if lib.pn_transport_closed(t):
            return 0
        deadline: int = lib.pn_transport_tick(t, now_ms)
        raise_trace_error()
        return deadline

    def fail(self, description: str) -> None:
        """The byte stream broke: give the transport a ``proton:io`` condition (unless it has
        one) and close it both ways. First the engine makes its output once, which is dropped:
        it frees the deliveries settled since it last made output only then, and a delivery it
        still held would go again, empty, on the connection's next transport."""
        t = self._t
        lib.amqx_transport_pending_unlocked(t)
        cond = lib.pn_transport_condition(t)
        if not lib.pn_condition_is_set(cond):
            lib.pn_condition_set_name(cond, b"proton:io")
            lib.pn_condition_set_description(cond, description.encode("utf-8", "replace"))
        lib.amqx_transport_close_tail_unlocked(t)
        lib.pn_transport_close_head(t)

    def aborted(self) -> None:
        """The input ended without the peer's Close: the transport's condition says so (an
        ``amqp:connection:framing-error``, "connection aborted", unless it has one)."""
        cond = lib.pn_transport_condition(self._t)
        if not lib.pn_condition_is_set(cond):
            lib.pn_condition_set_name(cond, b"amqp:connection:framing-error")
            lib.pn_condition_set_description(cond, b"connection aborted")

    def release(self) -> None:
        """Unbind the connection (which may be bound to a new engine later) and free the
        transport."""
        transport = self.transport
        if transport._impl is not None:
            if lib.pn_transport_connection(transport._impl) != ffi.NULL:
                lib.pn_transport_unbind(transport._impl)
            transport.free()
