"""Senders, receivers and deliveries of ``amq_python.aio``: futures over one Container's engine
links, each fed by its own engine handler (``LinkEvents``; the connection's ``_Events`` gets
the connection's and sessions' events).

Theory of operation:
- Every engine call happens either in an engine event (inside a pass of the driver) or in a
  coroutine step of the application; the latter then calls ``kick()``, so the driver writes
  the change out in one pass per loop turn (many sends in one turn: one write). A coroutine
  about to wait for the peer (for credit, for a delivery) runs that pass at once instead
  (``_flush()``): what it sent, settled or granted goes out before it sleeps. A sender woken
  for credit needs neither: the pass that woke it scheduled the write pass right after its
  step (``kick_after_wake``), in the same loop turn.
- Awaiting is always on a future this module owns. A timeout sets TimeoutError on that future
  (``loop.call_at``), so no extra task runs per message and a cancelled or timed-out wait leaves
  nothing behind: a credit waiter leaves the queue (passing on credit it was given), a
  delivery handed to a cancelled ``receive()`` goes back to the front, a send whose outcome
  nobody awaits any more is still settled when the outcome comes.
- A receiver holds at most ``credit`` deliveries: the credit left at the peer plus the
  deliveries buffered here plus the ones handed out and not yet settled is the window. Settling
  one grants one more credit, never a whole window. The grants go out at the end of the loop
  turn (a kick), or at once when half the window has been granted since the last pass wrote:
  the peer then sends the next half while the application handles the rest of this batch
  (double buffering), for one write per half window.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import deque
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from proton_ext import lib

from .._core._condition import Condition
from .._core._delivery import Delivery as EngineDelivery
from .._core._delivery import DispositionType
from .._core._endpoints import Link
from .._core._endpoints import Receiver as EngineReceiver
from .._core._endpoints import Sender as EngineSender
from .._core._exceptions import LinkException, ProtonException
from .._core._message import ID_ONLY, Message
from .._core._receive import LARGE_MESSAGE, drain, receive
from ._errors import (
    ConnectionLost,
    MessageModified,
    MessageRejected,
    MessageReleased,
    StaleDelivery,
)

if TYPE_CHECKING:
    from ._connection import Connection

LOCAL_CLOSED = lib.PN_LOCAL_CLOSED
ACCEPTED = DispositionType.ACCEPTED
REJECTED = DispositionType.REJECTED
RELEASED = DispositionType.RELEASED
MODIFIED = DispositionType.MODIFIED


def _time_out(future: asyncio.Future[Any], what: str) -> None:
    if not future.done():
        future.set_exception(TimeoutError(what))


async def wait(future: asyncio.Future[Any], deadline: float | None, what: str) -> Any:
    """``await future``, failing it with TimeoutError at ``deadline`` (loop time) if set."""
    if deadline is None:
        return await future
    handle = future.get_loop().call_at(deadline, _time_out, future, what)
    try:
        return await future
    finally:
        handle.cancel()


def deadline_of(timeout: float | None) -> float | None:
    """The loop time ``timeout`` seconds from now (None: no deadline)."""
    if timeout is None:
        return None
    if timeout < 0:
        raise ValueError(f"timeout must be None or seconds >= 0, not {timeout!r}")
    return asyncio.get_running_loop().time() + timeout


def outcome_error(delivery: EngineDelivery) -> BaseException | None:
    """None when the peer accepted ``delivery``; else the exception saying what it did."""
    state = delivery.remote_state
    if state == ACCEPTED:
        return None
    remote = delivery.remote if delivery._impl is not None else None
    if state == REJECTED:
        return MessageRejected(delivery, remote.condition if remote is not None else None)
    if state == MODIFIED and remote is not None:
        return MessageModified(delivery, remote.failed, remote.undeliverable, remote.annotations)
    if state == MODIFIED:
        return MessageModified(delivery)
    return MessageReleased(delivery)


_L = TypeVar("_L", bound="_Link")


class LinkEvents:
    """The engine handler of one aio link (the link's own, so that its events and its
    deliveries' come straight here, not through the connection's handler)."""

    __slots__ = ("owner", "_amq_table")

    def __init__(self, owner: _Link) -> None:
        self.owner = owner

    def on_link_remote_open(self, event: Any) -> None:
        self.owner._on_remote_open()

    def on_link_remote_close(self, event: Any) -> None:
        owner = self.owner
        owner._on_remote_close(event.link.remote_condition)
        owner._connection._links.discard(owner)

    def on_link_remote_detach(self, event: Any) -> None:
        """A detach without ``closed`` (RabbitMQ answers our close so) ends the link too."""
        self.on_link_remote_close(event)

    def on_link_flow(self, event: Any) -> None:
        self.owner._on_flow()


class SenderEvents(LinkEvents):
    """A sender's: outcomes resolve their Trackers."""

    __slots__ = ()

    def on_delivery(self, event: Any) -> None:
        """The peer updated one of our deliveries: on a final outcome (or its settlement),
        resolve its Tracker and settle it."""
        delivery = event.context
        impl = delivery._impl
        if impl is None or not lib.pn_delivery_updated(impl):
            return
        state = lib.pn_delivery_remote_state(impl)
        if state in (lib.PN_RECEIVED, 0) and not lib.pn_delivery_settled(impl):
            return
        tracker = self.owner._outcomes.pop(delivery, None)  # type: ignore[attr-defined]
        if tracker is not None:
            tracker._resolve(None if state == lib.PN_ACCEPTED else outcome_error(delivery))
        delivery.settle()


class ReceiverEvents(LinkEvents):
    """A receiver's: whole messages go to the receiver; aborted ones are dropped."""

    __slots__ = ()

    def on_delivery(self, event: Any) -> None:
        delivery = event.context
        impl = delivery._impl
        if impl is None:
            return
        owner: Receiver = self.owner  # type: ignore[assignment]
        if lib.pn_delivery_aborted(impl):
            delivery.settle()
            owner._top_up()
        elif lib.pn_delivery_readable(impl) and not lib.pn_delivery_partial(impl):
            owner._on_message(delivery, receive(delivery._link._impl, delivery))
        elif lib.pn_delivery_partial(impl) and lib.pn_delivery_pending(impl) >= LARGE_MESSAGE:
            drain(delivery._link._impl, delivery)


class _Link:
    """What senders and receivers share: the engine link, opening, closing, failure."""

    _events: type[LinkEvents] = LinkEvents

    def __init__(self, connection: Connection, link: Link) -> None:
        self._connection = connection
        self._link = link
        self._loop = connection._loop
        self._opened: asyncio.Future[None] = self._loop.create_future()
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._error: BaseException | None = None
        self._quiet = False  # the link ended cleanly: iteration stops instead of raising
        link._handler = self._events(self)  # this link's events come straight to it
        connection._links.add(self)

    @property
    def address(self) -> str | None:
        """The address the peer attached to (a dynamic node's generated one), else ours."""
        link = self._link
        if link._impl is None:
            return None
        remote = link.remote_target if link.is_sender else link.remote_source
        local = link.target if link.is_sender else link.source
        return remote.address or local.address

    @property
    def link(self) -> Link:
        """The engine link (the handler API's Sender or Receiver)."""
        return self._link

    async def wait_open(self, timeout: float | None = None) -> None:
        """Wait until the peer has attached the link."""
        await wait(asyncio.shield(self._opened), deadline_of(timeout), "link attach timed out")

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        impl = self._link._impl  # on every send and wait: the C call, not the link's property
        if impl is None or lib.pn_link_state(impl) & lib.PN_LOCAL_CLOSED:
            raise LinkException(f"link {self._link.name!r} is closed")

    def _on_remote_open(self) -> None:
        if not self._opened.done():
            self._opened.set_result(None)

    def _on_flow(self) -> None:
        """The peer's flow state changed (credit, drain)."""

    def _on_remote_close(self, condition: Condition | None) -> None:
        """The peer detached: with a condition that is an error for every waiter."""
        link = self._link
        if condition is not None:
            self._fail(LinkException(f"link {link.name!r} closed by the peer: {condition}"))
        else:
            self._fail(LinkException(f"link {link.name!r} closed by the peer"), quiet=True)
        if not link.state & lib.PN_LOCAL_CLOSED:
            link.close()

    def _fail(self, error: BaseException, quiet: bool = False) -> None:
        """End every wait with ``error`` (``quiet``: a clean end, iteration just stops)."""
        if self._error is None:
            self._error = error
            self._quiet = quiet
        if not self._opened.done():
            self._opened.set_exception(error)
            self._opened.exception()  # retrieved: nobody may be waiting for the attach
        if not self._closed.done():
            self._closed.set_result(None)

    def _on_lost(self, condition: Condition | None) -> None:
        """The transport dropped (the engine may re-attach this link on a new one)."""

    async def __aenter__(self: _L) -> _L:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Detach the link and wait for the peer's answer (or the connection's end)."""
        link = self._link
        if link._impl is not None and not link.state & lib.PN_LOCAL_CLOSED:
            link.close()
            self._connection._kick()
        await asyncio.shield(self._closed)


class _Pending:
    """The outcome of a Tracker whose peer has not answered yet."""

    def __repr__(self) -> str:
        return "PENDING"


PENDING: Any = _Pending()


class Tracker:
    """The outcome of one sent message. ``await tracker`` gives the engine Delivery once the
    peer accepted it, or raises MessageRejected/MessageReleased/MessageModified (or
    ConnectionLost, from a sender that does not resend); awaiting it again gives the same
    answer.

    The outcome is kept here; a future is made only for code that waits before it comes (a
    sender that submits many messages and looks at their outcomes later makes none)."""

    __slots__ = ("delivery", "_outcome", "_waiter")

    def __init__(self, delivery: EngineDelivery, outcome: Any = PENDING) -> None:
        self.delivery = delivery
        self._outcome: BaseException | None = outcome
        self._waiter: asyncio.Future[BaseException | None] | None = None

    def done(self) -> bool:
        """True once the outcome is known."""
        return self._outcome is not PENDING

    def _resolve(self, error: BaseException | None) -> None:
        """The outcome came: None for ACCEPTED, else the exception that says what it was."""
        if self._outcome is PENDING:
            self._outcome = error
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(error)

    def _waiting(self) -> asyncio.Future[BaseException | None]:
        """The future the outcome resolves (made on first use, by a coroutine on the loop)."""
        waiter = self._waiter
        if waiter is None:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
        return waiter

    def _result(self) -> EngineDelivery:
        error = self._outcome
        if error is not None:
            raise error
        return self.delivery

    async def wait(self, timeout: float | None = None) -> EngineDelivery:
        """The delivery when accepted, else the outcome's exception; TimeoutError after
        ``timeout`` seconds (the outcome is still tracked)."""
        if self._outcome is PENDING:
            await wait(asyncio.shield(self._waiting()), deadline_of(timeout), "no outcome yet")
        return self._result()

    def __await__(self) -> Generator[Any, None, EngineDelivery]:
        if self._outcome is PENDING:
            return (yield from self.wait().__await__())
        return self._result()  # the outcome has come: no coroutine needed


class Sender(_Link):
    """Sends messages on one link: ``send()`` waits for credit and the outcome; ``submit()``
    only for credit (backpressure).

    A resending sender (``resend_unsettled``, the default) keeps each message until its outcome
    (``_core._resend``): after a reconnect the engine sends the ones without an outcome again,
    under the same engine Delivery, so their Trackers here get the resend's outcome."""

    _link: EngineSender
    _events = SenderEvents

    def __init__(self, connection: Connection, link: EngineSender, presettled: bool) -> None:
        super().__init__(connection, link)
        self.presettled = presettled
        self._credit_waiters: deque[asyncio.Future[None]] = deque()
        self._granted = 0  # waiters woken for credit that have not sent yet
        self._outcomes: dict[EngineDelivery, Tracker] = {}
        self._lost: ConnectionLost | None = None  # lost, and not re-attached yet
        # A resending sender's ids for id-less messages: "<uuid4 hex>:<n>".
        self._id_prefix = f"{uuid.uuid4().hex}:"
        self._ids = itertools.count(1) if self.resend_unsettled else None

    @property
    def resend_unsettled(self) -> bool:
        """True when messages without an outcome are sent again after a reconnect."""
        return self._link._unsettled is not None

    @property
    def credit(self) -> int:
        """Messages this sender may send now: credit the peer has granted and we have not used
        (after a reconnect, the new peer's grant alone), and no more than ``max_unsettled``
        allows."""
        return self._link.credit if self._link._impl is not None else 0

    @property
    def unsettled(self) -> int:
        """Messages sent whose outcome has not come yet."""
        return len(self._outcomes)

    async def _wait_credit(self, deadline: float | None) -> None:
        """Return once this coroutine may send one message (in arrival order)."""
        self._check()
        if not self._credit_waiters and self._link.credit - self._granted > 0:
            return
        future: asyncio.Future[None] = self._loop.create_future()
        self._credit_waiters.append(future)
        self._connection._flush()
        try:
            if deadline is None:
                await future
            else:
                await wait(future, deadline, "no credit to send")
        except BaseException:
            if future.done() and not future.cancelled() and future.exception() is None:
                self._granted -= 1  # woken, then cancelled: pass the credit on
                self._wake()
            else:
                try:
                    self._credit_waiters.remove(future)
                except ValueError:
                    pass
            raise
        self._granted -= 1
        self._check()

    def _wake(self) -> bool:
        """Wake as many credit waiters as there is credit for; whether any woke."""
        waiters = self._credit_waiters
        available = self.credit - self._granted
        woke = False
        while waiters and available > 0:
            future = waiters.popleft()
            if not future.done():
                self._granted += 1
                available -= 1
                future.set_result(None)
                woke = True
        return woke

    def _on_flow(self) -> None:
        impl = self._link._impl
        if (  # the engine's credit first: a flow event also comes as our sends use it up
            self._credit_waiters
            and impl is not None
            and lib.pn_link_credit(impl) > self._granted
            and self._wake()
        ):
            self._connection._driver.kick_after_wake()  # it sends: the write follows it

    def _transfer(self, message: Message) -> Tracker:
        """Send now (credit is there); the Tracker of the outcome (done at once if
        pre-settled). A resending sender gives a message with no id one, so that its resend
        has the same id."""
        ids = self._ids
        if ids is not None and message._id is None:
            message._id = f"{self._id_prefix}{next(ids)}"  # a str, as the id setter keeps it
            if not message._dirty:
                message._dirty = ID_ONLY  # the one field set: its encoding is a constant's
        delivery = self._link.send(message)
        if self._connection._driver._kicked is None:  # else a pass is on its way already
            self._connection._kick()
        if self.presettled:
            return Tracker(delivery, None)
        tracker = self._outcomes[delivery] = Tracker(delivery)
        return tracker

    async def submit(self, message: Message, *, timeout: float | None = None) -> Tracker:
        """Wait for credit (at most ``timeout`` seconds), send, and return the Tracker of the
        outcome. Cancelled before the transfer, nothing is sent."""
        link = self._link
        impl = link._impl
        if (  # _check() and _wait_credit()'s first test, inline: no call when credit is there
            self._error is not None
            or impl is None
            or lib.pn_link_state(impl) & LOCAL_CLOSED
            or self._credit_waiters
            or link.credit - self._granted <= 0
        ):
            await self._wait_credit(None if timeout is None else deadline_of(timeout))
        return self._transfer(message)

    async def send(self, message: Message, *, timeout: float | None = None) -> EngineDelivery:
        """Wait for credit, send, and wait for the outcome, all within ``timeout`` seconds.
        Returns the delivery when the peer accepted it; raises MessageRejected,
        MessageReleased or MessageModified otherwise. If the connection drops first, a
        resending sender sends the message again once reconnected and returns that outcome;
        else it raises ConnectionLost (so does a resending one when reconnecting ends).
        Cancelled before the transfer, nothing is sent; after it, the outcome is still tracked
        and settled when it comes."""
        return await self._send(message, deadline_of(timeout))

    async def _send(self, message: Message, deadline: float | None) -> EngineDelivery:
        await self._wait_credit(deadline)
        tracker = self._transfer(message)
        if tracker._outcome is PENDING:
            await wait(tracker._waiting(), deadline, "no outcome within the timeout")
        return tracker._result()

    def _on_lost(self, condition: Condition | None) -> None:
        """The transport dropped: the outcomes of the messages written to it can no longer
        come. A resending sender sends them again if it reconnects (``_core._resend``); another
        fails them with ConnectionLost (the engine drops their deliveries at the unbind). A
        message not written yet goes on the next transport and waits on."""
        self._lost = ConnectionLost(condition)
        if self._link._unsettled is not None:
            return
        outcomes = self._outcomes
        for delivery, tracker in list(outcomes.items()):
            impl = delivery._impl
            if impl is not None and lib.pn_delivery_pending(impl):
                continue
            del outcomes[delivery]
            tracker._resolve(ConnectionLost(condition))

    def _on_remote_open(self) -> None:
        super()._on_remote_open()
        self._lost = None

    def _fail(self, error: BaseException, quiet: bool = False) -> None:
        super()._fail(error, quiet)
        while self._credit_waiters:
            waiter = self._credit_waiters.popleft()
            if not waiter.done():
                waiter.set_exception(error)
        lost = self._lost  # lost, and not reconnected: ConnectionLost
        outcomes, self._outcomes = self._outcomes, {}
        for tracker in outcomes.values():
            tracker._resolve(error if lost is None else ConnectionLost(lost.condition))


class Delivery:
    """A received message and its settlement: ``accept()``, ``reject()``, ``release()``,
    ``modify()``, or ``settle_on_exit()`` around its processing."""

    __slots__ = ("message", "delivery", "stale", "_receiver", "_settled")

    def __init__(self, receiver: Receiver, delivery: EngineDelivery, message: Message) -> None:
        self.message = message
        self.delivery = delivery  # the engine delivery (tag, states)
        self.stale = False  # it came before a reconnect: it can no longer be settled
        self._receiver = receiver
        self._settled = False

    @property
    def settled(self) -> bool:
        """True once settled here (by this object, or because the receiver was closed)."""
        return self._settled

    def _settle(self, state: int, condition: Condition | None = None) -> None:
        if self.stale:
            raise StaleDelivery(
                "this delivery arrived before the connection was lost; the peer will send "
                "the message again"
            )
        if self._settled:
            raise ProtonException("the delivery is already settled")
        delivery = self.delivery
        if condition is not None:
            delivery.local.condition = condition
        delivery.update(state)
        delivery.settle()
        self._settled = True
        self._receiver._on_settled(self)

    def accept(self) -> None:
        """The message was processed."""
        self._settle(ACCEPTED)

    def reject(self, condition: Condition | None = None) -> None:
        """The message is invalid and must not be delivered again; ``condition`` says why."""
        self._settle(REJECTED, condition)

    def release(self, delivered: bool = True) -> None:
        """Give the message back: MODIFIED with delivery-failed when ``delivered`` (it counts
        as an attempt, as in the handler API), plain RELEASED when not."""
        if delivered:
            self.modify(delivery_failed=True)
        else:
            self._settle(RELEASED)

    def modify(
        self,
        *,
        delivery_failed: bool = True,
        undeliverable_here: bool = False,
        annotations: dict[Any, Any] | None = None,
    ) -> None:
        """Give the message back with the MODIFIED outcome's fields."""
        if not self.stale and not self._settled:
            local = self.delivery.local
            local.failed = delivery_failed
            local.undeliverable = undeliverable_here
            if annotations is not None:
                local.annotations = annotations
        self._settle(MODIFIED)

    @asynccontextmanager
    async def settle_on_exit(self) -> AsyncIterator[Delivery]:
        """Accept when the block ends normally; release (RELEASED, not delivered) when it
        raises or is cancelled. The release needs no await, so it is written even when the
        task is being cancelled. A delivery settled inside the block is left as it is."""
        try:
            yield self
        except BaseException:
            if not self._settled and not self.stale:
                self._settle(RELEASED)
            raise
        if not self._settled and not self.stale:
            self._settle(ACCEPTED)

    def __repr__(self) -> str:
        return f"aio.Delivery(message={self.message!r}, settled={self._settled})"


class Receiver(_Link):
    """Receives messages on one link: an async iterator of Delivery, and ``receive()``.

    It never holds more than ``credit`` deliveries, buffered and handed out unsettled counted
    together; each settlement grants the peer one more."""

    _link: EngineReceiver
    _events = ReceiverEvents

    def __init__(
        self, connection: Connection, link: EngineReceiver, credit: int, auto_accept: bool
    ) -> None:
        super().__init__(connection, link)
        if credit < 1:
            raise ValueError(f"credit must be at least 1, not {credit}")
        self.auto_accept = auto_accept
        self._window = credit
        self._held = 0  # deliveries buffered here plus handed out and not settled
        self._buffer: deque[Delivery] = deque()
        self._waiters: deque[asyncio.Future[Delivery]] = deque()
        self._handed: set[Delivery] = set()
        self._in_flight: set[Delivery] = set()  # given to a receive() that has not resumed
        self._drained: asyncio.Future[None] | None = None
        self._closing = False
        self._container = connection._container
        self._half = (credit + 1) // 2  # grants written at once when this many are waiting
        self._grant_pass = -1  # the container's pass count when the waiting grants began
        self._unwritten = 0  # credit granted since then (no pass has written it yet)
        link.flow(credit)

    @property
    def credit(self) -> int:
        """The window: the most deliveries this receiver holds at once."""
        return self._window

    @property
    def held(self) -> int:
        """Deliveries buffered here plus those handed out and not settled yet."""
        return self._held

    @property
    def buffered(self) -> int:
        """Deliveries that arrived and were not handed out yet."""
        return len(self._buffer)

    def _top_up(self) -> None:
        """Grant what settling freed of the window (run per settlement: the engine's C calls
        directly, not through the link's properties). The grant goes out at the end of the
        loop turn, or now once half the window waits to be written (a pass since the last
        grant wrote the earlier ones; one made inside a pass is counted too, which can only
        make the write come sooner)."""
        impl = self._link._impl
        if impl is None or lib.pn_link_state(impl) & lib.PN_LOCAL_CLOSED:
            return
        more = self._window - self._held - lib.pn_link_credit(impl)
        if more > 0:
            lib.pn_link_flow(impl, more)
            passes = self._container._passes
            if passes != self._grant_pass:
                self._grant_pass = passes
                self._unwritten = 0
            self._unwritten += more
            if self._unwritten >= self._half:
                self._connection._flush(always=True)
            else:
                self._connection._kick()

    def _on_settled(self, item: Delivery) -> None:
        self._handed.discard(item)
        self._held -= 1
        if not self._closing:
            self._top_up()

    def add_credit(self, n: int) -> None:
        """Widen the window by ``n`` and grant it now."""
        if n < 1:
            raise ValueError(f"add_credit needs a positive number, not {n}")
        self._window += n
        self._half = (self._window + 1) // 2
        self._top_up()

    async def drain(self, timeout: float | None = None) -> None:
        """Ask the peer to use the credit it has now or give it back, and wait until it has:
        what it had is then buffered here. Settling tops credit up again afterwards."""
        self._check()
        link = self._link
        if self._drained is None:
            self._drained = self._loop.create_future()
            link.drain(0)
            self._connection._kick()
            self._on_flow()
        try:
            await wait(asyncio.shield(self._drained), deadline_of(timeout), "drain timed out")
        finally:
            if self._drained is not None and self._drained.done():
                self._drained = None

    def _on_flow(self) -> None:
        drained = self._drained
        link = self._link
        if drained is not None and not drained.done() and link._impl is not None:
            if not link.draining():
                link.drain_mode = False
                drained.set_result(None)

    def _on_message(self, delivery: EngineDelivery, message: Message) -> None:
        """A whole message arrived: to the oldest waiting ``receive()``, else the buffer."""
        self._held += 1
        self._give(Delivery(self, delivery, message))

    def _give(self, item: Delivery, front: bool = False) -> None:
        """To the oldest waiting ``receive()`` (in flight until it resumes), else the buffer
        (at its ``front`` for a delivery put back)."""
        waiters = self._waiters
        while waiters:
            future = waiters.popleft()
            if not future.done():
                future.set_result(item)
                self._in_flight.add(item)
                return
        if front:
            self._buffer.appendleft(item)
        else:
            self._buffer.append(item)

    def _hand_out(self, item: Delivery) -> Delivery:
        if self.auto_accept:
            item.accept()
        else:
            self._handed.add(item)
        return item

    async def receive(self, timeout: float | None = None) -> Delivery:
        """The next delivery, waiting at most ``timeout`` seconds (TimeoutError). Cancelled,
        it loses nothing: a delivery it was about to get goes to the next ``receive()``."""
        if self._buffer:
            return self._hand_out(self._buffer.popleft())
        deadline = deadline_of(timeout)
        while True:
            self._check()
            future: asyncio.Future[Delivery] = self._loop.create_future()
            self._waiters.append(future)
            self._connection._flush()
            try:
                item = await wait(future, deadline, "no message within the timeout")
            except BaseException:
                if future.done() and not future.cancelled() and future.exception() is None:
                    # Handed to us, then cancelled before we could return it: the next one.
                    item = future.result()
                    self._in_flight.discard(item)
                    if not item.stale:
                        self._give(item, front=True)
                raise
            self._in_flight.discard(item)
            if not item.stale:  # stale: the connection dropped meanwhile; it comes again
                return self._hand_out(item)

    def __aiter__(self) -> Receiver:
        return self

    async def __anext__(self) -> Delivery:
        try:
            return await self.receive()
        except LinkException:
            if self._quiet:
                raise StopAsyncIteration from None
            raise

    def _fail(self, error: BaseException, quiet: bool = False) -> None:
        super()._fail(error, quiet)
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_exception(error)
        if self._drained is not None and not self._drained.done():
            self._drained.set_exception(error)

    def _on_lost(self, condition: Condition | None) -> None:
        """The transport dropped: what arrived on it is stale (the peer forgot it and sends it
        again); buffered ones are dropped, handed-out ones refuse to be settled."""
        for item in [*self._handed, *self._buffer, *self._in_flight]:
            item.stale = True
            item.delivery.settle()
        self._handed.clear()
        self._buffer.clear()
        self._in_flight.clear()
        self._held = 0

    def _on_remote_open(self) -> None:
        super()._on_remote_open()
        self._top_up()  # after a re-attach the window starts afresh

    async def close(self) -> None:
        """Release the deliveries buffered and not handed out, then detach."""
        self._closing = True
        while self._buffer:
            item = self._buffer.popleft()
            if not item.stale:
                item._settle(RELEASED)
        await super().close()


__all__ = ["Delivery", "Receiver", "Sender", "Tracker"]
