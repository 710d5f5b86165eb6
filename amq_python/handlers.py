"""MessagingHandler and the helper handlers it is made of (``proton.handlers``' names).

A MessagingHandler has four children that turn raw engine events into messaging events and
call the MessagingHandler (their delegate) back:

- ``FlowController``: keeps each receiver's credit topped up to ``prefetch``;
- ``EndpointStateHandler``: ``on_*_opening/opened/closing/closed/error`` and
  ``on_disconnected``; opens and closes endpoints in answer to the peer;
- ``IncomingMessageHandler``: decodes deliveries into ``on_message`` and auto-accepts;
- ``OutgoingMessageHandler``: ``on_sendable``, and outcomes ``on_accepted`` ... ``on_settled``.

The dispatcher flattens this tree once per handler (see ``_events``), so each engine event costs
one table lookup and a few direct calls.
"""

from __future__ import annotations

from typing import Any

from proton_ext import lib

from ._core._delivery import ACCEPTED, MODIFIED, REJECTED, RELEASED, Delivery
from ._core._endpoints import Endpoint, Receiver, Sender
from ._core._events import Event, Handler, call, only_for
from ._core._exceptions import ProtonException
from ._core._receive import LARGE_MESSAGE, drain, receive
from ._reactor._selectable import IOHandler, PythonIO
from ._reactor._transactions import Transaction, TransactionHandler

_LOCAL_MASK = lib.PN_LOCAL_MASK
_REMOTE_MASK = lib.PN_REMOTE_MASK


class Reject(ProtonException):
    """Raise in ``on_message`` to reject the message."""


class Release(ProtonException):
    """Raise in ``on_message`` to release the message (it may go to another receiver)."""


class Acking:
    """Accept, reject, release and settle received deliveries."""

    def accept(self, delivery: Delivery) -> None:
        """Accept and settle: the message was processed."""
        self.settle(delivery, ACCEPTED)

    def reject(self, delivery: Delivery) -> None:
        """Reject and settle: the message is invalid and must not be redelivered."""
        self.settle(delivery, REJECTED)

    def release(self, delivery: Delivery, delivered: bool = True) -> None:
        """Give the message back: MODIFIED when it was delivered (counts as an attempt),
        RELEASED when it was not."""
        self.settle(delivery, MODIFIED if delivered else RELEASED)

    def settle(self, delivery: Delivery, state: int | None = None) -> None:
        """Settle, after setting ``state`` when given."""
        if state:
            delivery.update(state)
        delivery.settle()


class FlowController(Handler):
    """Tops up receiver credit to ``window`` whenever it may have dropped."""

    def __init__(self, window: int = 1024) -> None:
        super().__init__()
        self._window = window

    def _flow(self, link: Any) -> None:
        impl = link._impl
        if impl is None or not isinstance(link, Receiver):
            return
        delta = self._window - lib.pn_link_credit(impl)
        if delta > 0:
            lib.pn_link_flow(impl, delta)

    @only_for(Receiver)
    def on_link_local_open(self, event: Event) -> None:
        """Grant credit as soon as we open a receiver."""
        self._flow(event.context)

    @only_for(Receiver)
    def on_link_remote_open(self, event: Event) -> None:
        """Grant credit when the peer opens a receiver to us."""
        self._flow(event.context)

    @only_for(Receiver)
    def on_link_flow(self, event: Event) -> None:
        """Keep credit topped up after a flow update."""
        self._flow(event.context)

    @only_for(Receiver)
    def on_delivery(self, event: Event) -> None:
        """Replace the credit each received message used."""
        self._flow(event.context._link)


def _local(state: int) -> int:
    return state & _LOCAL_MASK


class EndpointStateHandler(Handler):
    """Turns endpoint state changes into opening/opened/closing/closed/error callbacks."""

    def __init__(self, peer_close_is_error: bool = False, delegate: Any = None) -> None:
        super().__init__()
        self.delegate = delegate
        self.peer_close_is_error = peer_close_is_error

    @classmethod
    def print_error(cls, endpoint: Any, endpoint_type: str) -> None:
        """Report an endpoint's remote error condition on stderr."""
        import sys

        condition = endpoint.remote_condition
        if condition is not None:
            print(f"{endpoint_type} error: {condition.name}: {condition.description}",
                  file=sys.stderr)
        elif endpoint.state & Endpoint.LOCAL_ACTIVE:
            print(f"{endpoint_type} closed by peer", file=sys.stderr)

    @staticmethod
    def is_local_open(endpoint: Any) -> bool:
        """True when the local end is open."""
        return bool(endpoint.state & Endpoint.LOCAL_ACTIVE)

    @staticmethod
    def is_local_uninitialised(endpoint: Any) -> bool:
        """True when the local end was never opened."""
        return bool(endpoint.state & Endpoint.LOCAL_UNINIT)

    @staticmethod
    def is_local_closed(endpoint: Any) -> bool:
        """True when the local end is closed."""
        return bool(endpoint.state & Endpoint.LOCAL_CLOSED)

    @staticmethod
    def is_remote_open(endpoint: Any) -> bool:
        """True when the peer's end is open."""
        return bool(endpoint.state & Endpoint.REMOTE_ACTIVE)

    @staticmethod
    def is_remote_closed(endpoint: Any) -> bool:
        """True when the peer's end is closed."""
        return bool(endpoint.state & Endpoint.REMOTE_CLOSED)

    def _fire(self, kind: str, what: str, event: Event) -> None:
        """Call this handler's ``on_<kind>_<what>``: a subclass's override, else the default
        below that hands the event to the delegate."""
        getattr(self, f"on_{kind}_{what}")(event)

    def _remote_open(self, event: Event, endpoint: Any, kind: str) -> None:
        if endpoint.remote_condition is not None:
            self._fire(kind, "error", event)
        elif self.is_local_open(endpoint):
            self._fire(kind, "opened", event)
        elif self.is_local_uninitialised(endpoint):
            self._fire(kind, "opening", event)
            if endpoint._impl is not None and self.is_local_uninitialised(endpoint):
                endpoint.open()

    def _local_open(self, event: Event, endpoint: Any, kind: str) -> None:
        if self.is_remote_open(endpoint):
            self._fire(kind, "opened", event)

    def _remote_close(self, event: Event, endpoint: Any, kind: str) -> None:
        if endpoint.remote_condition is not None:
            self._fire(kind, "error", event)
        elif self.is_local_closed(endpoint):
            self._fire(kind, "closed", event)
        elif self.peer_close_is_error:
            self._fire(kind, "error", event)
        else:
            self._fire(kind, "closing", event)
        if endpoint._impl is not None and self.is_local_open(endpoint):
            endpoint.close()

    def _local_close(self, event: Event, endpoint: Any, kind: str) -> None:
        if self.is_remote_closed(endpoint):
            self._fire(kind, "closed", event)

    # The callbacks. Each default hands the event to the delegate (its method of that name, or
    # its on_unhandled); a subclass used as a handler by itself overrides the ones it needs.

    def on_connection_opening(self, event: Event) -> None:
        """The peer opened a connection we had not opened; it is opened in reply after this."""
        call(self.delegate, "on_connection_opening", event)

    def on_connection_opened(self, event: Event) -> None:
        """Both ends of the connection are open."""
        call(self.delegate, "on_connection_opened", event)

    def on_connection_closing(self, event: Event) -> None:
        """The peer closed the connection; it is closed in reply after this."""
        call(self.delegate, "on_connection_closing", event)

    def on_connection_closed(self, event: Event) -> None:
        """Both ends of the connection are closed."""
        call(self.delegate, "on_connection_closed", event)

    def on_connection_error(self, event: Event) -> None:
        """The peer closed (or refused) the connection with an error: to the delegate, or
        reported with ``print_error`` when there is none (so an error is never silent)."""
        self._error(event, event.connection, "connection")

    def on_session_opening(self, event: Event) -> None:
        """The peer began a session we had not; it is begun in reply after this."""
        call(self.delegate, "on_session_opening", event)

    def on_session_opened(self, event: Event) -> None:
        """Both ends of the session are open."""
        call(self.delegate, "on_session_opened", event)

    def on_session_closing(self, event: Event) -> None:
        """The peer ended the session; it is ended in reply after this."""
        call(self.delegate, "on_session_closing", event)

    def on_session_closed(self, event: Event) -> None:
        """Both ends of the session are closed."""
        call(self.delegate, "on_session_closed", event)

    def on_session_error(self, event: Event) -> None:
        """The peer ended (or refused) the session with an error: to the delegate, or
        reported with ``print_error``."""
        self._error(event, event.session, "session")

    def on_link_opening(self, event: Event) -> None:
        """The peer attached a link we had not; it is attached in reply after this."""
        call(self.delegate, "on_link_opening", event)

    def on_link_opened(self, event: Event) -> None:
        """Both ends of the link are attached."""
        call(self.delegate, "on_link_opened", event)

    def on_link_closing(self, event: Event) -> None:
        """The peer detached the link; it is detached in reply after this."""
        call(self.delegate, "on_link_closing", event)

    def on_link_closed(self, event: Event) -> None:
        """Both ends of the link are detached."""
        call(self.delegate, "on_link_closed", event)

    def on_link_error(self, event: Event) -> None:
        """The peer detached (or refused) the link with an error: to the delegate, or
        reported with ``print_error``."""
        self._error(event, event.link, "link")

    def _error(self, event: Event, endpoint: Any, kind: str) -> None:
        if self.delegate is not None:
            call(self.delegate, f"on_{kind}_error", event)
        else:
            self.print_error(endpoint, kind)

    def on_connection_remote_open(self, event: Event) -> None:
        """The peer opened the connection."""
        self._remote_open(event, event.context, "connection")

    def on_connection_local_open(self, event: Event) -> None:
        """We opened the connection."""
        self._local_open(event, event.context, "connection")

    def on_connection_remote_close(self, event: Event) -> None:
        """The peer closed the connection."""
        self._remote_close(event, event.context, "connection")

    def on_connection_local_close(self, event: Event) -> None:
        """We closed the connection."""
        self._local_close(event, event.context, "connection")

    def on_session_remote_open(self, event: Event) -> None:
        """The peer began a session."""
        self._remote_open(event, event.context, "session")

    def on_session_local_open(self, event: Event) -> None:
        """We began a session."""
        self._local_open(event, event.context, "session")

    def on_session_remote_close(self, event: Event) -> None:
        """The peer ended a session."""
        self._remote_close(event, event.context, "session")

    def on_session_local_close(self, event: Event) -> None:
        """We ended a session."""
        self._local_close(event, event.context, "session")

    def on_link_remote_open(self, event: Event) -> None:
        """The peer attached a link."""
        self._remote_open(event, event.context, "link")

    def on_link_local_open(self, event: Event) -> None:
        """We attached a link."""
        self._local_open(event, event.context, "link")

    def on_link_remote_close(self, event: Event) -> None:
        """The peer detached a link."""
        self._remote_close(event, event.context, "link")

    def on_link_local_close(self, event: Event) -> None:
        """We detached a link."""
        self._local_close(event, event.context, "link")

    def on_transport_tail_closed(self, event: Event) -> None:
        """No more input: treated like the transport closing."""
        self.on_transport_closed(event)

    def on_transport_closed(self, event: Event) -> None:
        """The socket is gone: ``on_disconnected`` unless we had closed the connection."""
        transport = event.context
        if transport is None or getattr(transport, "_disconnect_reported", False):
            return
        connection = event.connection
        if connection is not None and connection._impl is not None \
                and self.is_local_open(connection):
            transport._disconnect_reported = True
            call(self.delegate, "on_disconnected", event)


class IncomingMessageHandler(Handler, Acking):
    """Decodes received deliveries into ``on_message`` and accepts them unless told not to."""

    def __init__(self, auto_accept: bool = True, delegate: Any = None) -> None:
        super().__init__()
        self.delegate = delegate
        self.auto_accept = auto_accept

    @only_for(Receiver)
    def on_delivery(self, event: Event) -> None:
        """A transfer arrived, or the peer settled one of ours."""
        delivery = event.context
        impl = delivery._impl
        if impl is None:
            return
        link = delivery._link
        if not isinstance(link, Receiver):
            return
        link_impl = link._impl
        if lib.pn_delivery_aborted(impl):
            call(self.delegate, "on_aborted", event)
            delivery.settle()
        elif lib.pn_delivery_readable(impl) and not lib.pn_delivery_partial(impl):
            event.message = receive(link_impl, delivery)
            self.on_message(event)
            if self.auto_accept and not delivery._local_settled:
                self.accept(delivery)
        elif lib.pn_delivery_partial(impl) and lib.pn_delivery_pending(impl) >= LARGE_MESSAGE:
            drain(link_impl, delivery)
        elif lib.pn_delivery_updated(impl) and lib.pn_delivery_settled(impl):
            call(self.delegate, "on_settled", event)

    def on_message(self, event: Event) -> None:
        """Hand the message to the delegate; Reject and Release raised there become outcomes."""
        try:
            call(self.delegate, "on_message", event)
        except Reject:
            self.reject(event.delivery)
        except Release:
            self.release(event.delivery)

    def on_settled(self, event: Event) -> None:
        """Pass on the peer's settlement."""
        call(self.delegate, "on_settled", event)

    def on_aborted(self, event: Event) -> None:
        """Pass on an aborted delivery."""
        call(self.delegate, "on_aborted", event)


class OutgoingMessageHandler(Handler):
    """``on_sendable`` when a sender has credit; outcomes of sent messages."""

    def __init__(self, auto_settle: bool = True, delegate: Any = None) -> None:
        super().__init__()
        self.delegate = delegate
        self.auto_settle = auto_settle

    @only_for(Sender)
    def on_link_flow(self, event: Event) -> None:
        """Credit changed: ``on_sendable`` if this is an open sender with credit."""
        link = event.context
        impl = link._impl
        if impl is None or not isinstance(link, Sender):
            return
        if lib.pn_link_credit(impl) <= link._credit_offset or (
            link._unsettled is not None and link._unsettled.room() <= 0
        ):
            return
        state = lib.pn_link_state(impl)
        if state & lib.PN_LOCAL_ACTIVE and state & lib.PN_REMOTE_ACTIVE:
            self.on_sendable(event)

    @only_for(Sender)
    def on_delivery(self, event: Event) -> None:
        """The peer updated one of our deliveries: report the outcome, then settlement."""
        delivery = event.context
        impl = delivery._impl
        if impl is None or not isinstance(delivery._link, Sender):
            return
        if not lib.pn_delivery_updated(impl):
            return
        state = lib.pn_delivery_remote_state(impl)
        if state == lib.PN_ACCEPTED:
            self.on_accepted(event)
        elif state == lib.PN_REJECTED:
            self.on_rejected(event)
        elif state == lib.PN_RELEASED or state == lib.PN_MODIFIED:
            self.on_released(event)
        if lib.pn_delivery_settled(impl):
            self.on_settled(event)
            if self.auto_settle:
                delivery.settle()

    def on_sendable(self, event: Event) -> None:
        """Pass on: the sender may send."""
        call(self.delegate, "on_sendable", event)

    def on_accepted(self, event: Event) -> None:
        """Pass on: the peer accepted a message."""
        call(self.delegate, "on_accepted", event)

    def on_rejected(self, event: Event) -> None:
        """Pass on: the peer rejected a message."""
        call(self.delegate, "on_rejected", event)

    def on_released(self, event: Event) -> None:
        """Pass on: the peer released (or modified) a message."""
        call(self.delegate, "on_released", event)

    def on_settled(self, event: Event) -> None:
        """Pass on: the peer settled a message."""
        call(self.delegate, "on_settled", event)


class MessagingHandler(Handler, Acking):
    """The handler applications subclass: messaging events with sensible defaults."""

    def __init__(
        self,
        prefetch: int = 10,
        auto_accept: bool = True,
        auto_settle: bool = True,
        peer_close_is_error: bool = False,
    ) -> None:
        super().__init__()
        self.handlers = []
        if prefetch:
            self.handlers.append(FlowController(prefetch))
        self.handlers.append(EndpointStateHandler(peer_close_is_error, self))
        self.handlers.append(IncomingMessageHandler(auto_accept, self))
        self.handlers.append(OutgoingMessageHandler(auto_settle, self))
        self.fatal_conditions = ["amqp:unauthorized-access"]

    def on_transport_error(self, event: Event) -> None:
        """Close the connection on errors that retrying cannot fix (failed authentication)."""
        transport = event.transport
        condition = transport.condition if transport is not None else None
        connection = event.connection
        if condition is not None and condition.name in self.fatal_conditions \
                and connection is not None and connection._impl is not None:
            connection.close()

    def on_connection_error(self, event: Event) -> None:
        """Report the peer's error and close the connection."""
        EndpointStateHandler.print_error(event.connection, "connection")

    def on_session_error(self, event: Event) -> None:
        """Report the peer's error and close the connection."""
        EndpointStateHandler.print_error(event.session, "session")
        connection = event.connection
        if connection is not None:
            connection.close()

    def on_link_error(self, event: Event) -> None:
        """Report the peer's error and close the connection."""
        EndpointStateHandler.print_error(event.link, "link")
        connection = event.connection
        if connection is not None:
            connection.close()

    def on_reactor_init(self, event: Event) -> None:
        """The container started: calls ``on_start``."""
        self.on_start(event)

    def on_start(self, event: Event) -> None:
        """The container started: create connections and links here."""

    def on_connection_closed(self, event: Event) -> None:
        """Both ends closed the connection."""

    def on_session_closed(self, event: Event) -> None:
        """Both ends closed the session."""

    def on_link_closed(self, event: Event) -> None:
        """Both ends closed the link."""

    def on_connection_closing(self, event: Event) -> None:
        """The peer is closing the connection (it is closed in answer)."""

    def on_session_closing(self, event: Event) -> None:
        """The peer is closing the session (it is closed in answer)."""

    def on_link_closing(self, event: Event) -> None:
        """The peer is closing the link (it is closed in answer)."""

    def on_disconnected(self, event: Event) -> None:
        """The socket was lost (reconnect, if on, follows)."""

    def on_sendable(self, event: Event) -> None:
        """A sender has credit: send messages here."""

    def on_accepted(self, event: Event) -> None:
        """The peer accepted a message we sent."""

    def on_rejected(self, event: Event) -> None:
        """The peer rejected a message we sent."""

    def on_released(self, event: Event) -> None:
        """The peer released (or modified) a message we sent."""

    def on_settled(self, event: Event) -> None:
        """The peer settled a message we sent."""

    def on_message(self, event: Event) -> None:
        """A message arrived: ``event.message``; ``event.delivery`` to acknowledge it."""


class Handshaker(Handler):
    """Opens and closes endpoints in answer to the peer (for handlers without MessagingHandler)."""

    @staticmethod
    def on_connection_remote_open(event: Event) -> None:
        """Open the connection if we have not."""
        connection = event.connection
        if connection is not None and connection.state & Endpoint.LOCAL_UNINIT:
            connection.open()

    @staticmethod
    def on_session_remote_open(event: Event) -> None:
        """Open the session if we have not."""
        session = event.session
        if session is not None and session.state & Endpoint.LOCAL_UNINIT:
            session.open()

    @staticmethod
    def on_link_remote_open(event: Event) -> None:
        """Open the link, copying the peer's termini, if we have not."""
        link = event.link
        if link is not None and link.state & Endpoint.LOCAL_UNINIT:
            link.source.copy(link.remote_source)
            link.target.copy(link.remote_target)
            link.open()

    @staticmethod
    def on_connection_remote_close(event: Event) -> None:
        """Close the connection in answer."""
        connection = event.connection
        if connection is not None and not connection.state & Endpoint.LOCAL_CLOSED:
            connection.close()

    @staticmethod
    def on_session_remote_close(event: Event) -> None:
        """Close the session in answer."""
        session = event.session
        if session is not None and not session.state & Endpoint.LOCAL_CLOSED:
            session.close()

    @staticmethod
    def on_link_remote_close(event: Event) -> None:
        """Close the link in answer."""
        link = event.link
        if link is not None and not link.state & Endpoint.LOCAL_CLOSED:
            link.close()


class TransactionalClientHandler(MessagingHandler, TransactionHandler):
    """A MessagingHandler that also receives transaction events, with ``accept`` able to
    accept under a transaction. Messages are not accepted automatically (``auto_accept`` is
    False by default): the application accepts each, in or out of a transaction."""

    def __init__(
        self,
        prefetch: int = 10,
        auto_accept: bool = False,
        auto_settle: bool = True,
        peer_close_is_error: bool = False,
    ) -> None:
        super().__init__(prefetch, auto_accept, auto_settle, peer_close_is_error)

    def accept(self, delivery: Delivery, transaction: Transaction | None = None) -> None:
        """Accept ``delivery`` under ``transaction``, or plainly (and settle) without one."""
        if transaction is None:
            super().accept(delivery)
        else:
            transaction.accept(delivery)


__all__ = [
    "Acking",
    "EndpointStateHandler",
    "FlowController",
    "Handshaker",
    "IncomingMessageHandler",
    "IOHandler",
    "MessagingHandler",
    "OutgoingMessageHandler",
    "PythonIO",
    "Reject",
    "Release",
    "TransactionHandler",
    "TransactionalClientHandler",
]
