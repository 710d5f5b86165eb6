"""``amq_python.utils``: blocking wrappers (python-qpid-proton's ``proton.utils``).

A ``BlockingConnection`` owns a Container (or borrows the one it is given) and drives it one
turn at a time from the calling thread; no second thread is involved. Every blocking call is
``wait(condition)``:

1. run ``container.do_work(remaining time)`` until ``condition()`` holds, the transport is lost,
   or the deadline passes (``Timeout``);
2. events reach the connection (its scoped handler is the BlockingConnection) or a receiver's
   ``_Fetcher``; a peer closing a link or the connection raises ``LinkDetached`` or
   ``ConnectionClosed`` from inside the event, which propagates out of ``do_work`` and so out
   of the blocking call that was waiting;
3. a lost transport makes ``wait`` raise ``ConnectionException``, except while the connection is
   first opening with several ``urls``: then each URL is tried once, in order (the container's
   connector moves along the list), before giving up. python-qpid-proton gives up at the first.

``close()`` closes the connection, waits for the peer's close, frees the connection and runs the
container until the connection's C objects are finalized, so 1,000 connections opened and
closed leave no socket, selector or wrapper behind.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Literal, Union

from proton_ext import lib

from ._core._dedup import DuplicateFilter
from ._core._delivery import MODIFIED, REJECTED, RELEASED, Delivery, DispositionType, detach_settled
from ._core._endpoints import Connection, Link, Receiver, Sender
from ._core._events import Event, Handler
from ._core._exceptions import ConnectionException, LinkException, ProtonException, Timeout
from ._core._message import Message
from .handlers import IncomingMessageHandler, MessagingHandler

if TYPE_CHECKING:
    from ._core._backoff import Backoff
    from ._core._link_options import LinkOption
    from ._core._transport import SSLDomain
    from ._core._url import Url
    from ._reactor._container import Container

_REMOTE_UNINIT = lib.PN_REMOTE_UNINIT
_REMOTE_ACTIVE = lib.PN_REMOTE_ACTIVE
_REMOTE_CLOSED = lib.PN_REMOTE_CLOSED
_LOCAL_ACTIVE = lib.PN_LOCAL_ACTIVE
_LOCAL_CLOSED = lib.PN_LOCAL_CLOSED
_SND_SETTLED = lib.PN_SND_SETTLED

_DEFAULT_TIMEOUT = 60.0

_TimeoutArg = Union[None, Literal[False], float]


class SendException(ProtonException):
    """The peer did not accept a message sent with ``BlockingSender.send``.

    ``state`` is the delivery's remote state (``Delivery.REJECTED``, ``Delivery.RELEASED``, or
    any state the caller listed in ``error_states``).
    """

    def __init__(self, state: int) -> None:
        super().__init__(state)
        self.state = state


class LinkDetached(LinkException):
    """The peer closed a link a blocking call was using.

    ``link`` is the link; ``condition`` the name of the peer's error condition, or None when the
    peer closed it without one.
    """

    def __init__(self, link: Link) -> None:
        self.link = link
        if link.is_sender:
            text = f"sender {link.name} to {link.target.address} closed"
        else:
            text = f"receiver {link.name} from {link.source.address} closed"
        remote = link.remote_condition if link._impl is not None else None
        self.condition = remote.name if remote is not None else None
        text += f" due to: {remote!r}" if remote is not None else " by peer"
        super().__init__(text)


class ConnectionClosed(ConnectionException):
    """The peer closed the connection a blocking call was using.

    ``connection`` is the connection; ``condition`` the name of the peer's error condition, or
    None when the peer closed it without one.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        remote = connection.remote_condition if connection._impl is not None else None
        hostname = connection.hostname if connection._impl is not None else None
        self.condition = remote.name if remote is not None else None
        text = f"Connection {hostname} closed"
        text += f" due to: {remote!r}" if remote is not None else " by peer"
        super().__init__(text)


def _answered(endpoint: Connection | Link) -> bool:
    """True once the peer has answered our open (or the endpoint's C object is gone)."""
    return endpoint._impl is None or not endpoint.state & _REMOTE_UNINIT


def _remote_inactive(endpoint: Connection | Link) -> bool:
    """True when the peer's end is not open (or the endpoint's C object is gone)."""
    return endpoint._impl is None or not endpoint.state & _REMOTE_ACTIVE


def _remote_closed(endpoint: Connection | Link) -> bool:
    """True once the peer has closed its end (or the endpoint's C object is gone)."""
    return endpoint._impl is None or bool(endpoint.state & _REMOTE_CLOSED)


class BlockingLink:
    """What BlockingSender and BlockingReceiver share: closing, and every attribute of the
    wrapped link (``blocking_link.credit`` is ``link.credit``)."""

    def __init__(self, connection: BlockingConnection, link: Sender | Receiver) -> None:
        self.connection = connection
        self.link = link
        connection.wait(lambda: _answered(link), msg=f"Opening link {link.name}")
        self._check_closed()

    def _check_matches(self, local: str | None, remote: str | None, what: str) -> None:
        """A peer refuses an attach by answering with a null terminus, then detaching: wait a
        moment for that detach (it raises LinkDetached with the peer's reason); failing it,
        close our end and raise LinkException rather than hand back a link that cannot work."""
        if local and local != remote:
            self._wait_for_close()
            if self.link._impl is not None and not self.link.state & _LOCAL_CLOSED:
                self.link.close()
            kind = "sender" if self.link.is_sender else "receiver"
            raise LinkException(f"Failed to open {kind} {self.link.name}, {what} does not match")

    def _wait_for_close(self, timeout: float = 1) -> None:
        """Give the peer ``timeout`` seconds to close the link; raise LinkDetached if it did."""
        link = self.link
        try:
            self.connection.wait(
                lambda: _remote_closed(link), timeout=timeout, msg=f"Closing link {link.name}"
            )
        except Timeout:
            pass
        self._check_closed()

    def _check_closed(self) -> None:
        """Raise LinkDetached (closing our end) if the peer has closed the link."""
        link = self.link
        if link._impl is not None and link.state & _REMOTE_CLOSED:
            if not link.state & _LOCAL_CLOSED:
                link.close()
            if not self.connection.closing:
                raise LinkDetached(link)

    def _check_open(self) -> None:
        """Raise LinkException if we closed the link, LinkDetached if the peer did."""
        link = self.link
        if link._impl is None or link.state & _LOCAL_CLOSED:
            kind = "sender" if isinstance(link, Sender) else "receiver"
            raise LinkException(f"the {kind} is closed")
        self._check_closed()

    def close(self) -> None:
        """Close the link and wait for the peer to close its end."""
        link = self.link
        if link._impl is None:
            return
        if not link.state & _LOCAL_CLOSED:
            link.close()
        self.connection.wait(lambda: _remote_inactive(link), msg=f"Closing link {link.name}")

    def __getattr__(self, name: str) -> Any:
        if name == "link":
            raise AttributeError(name)
        return getattr(self.link, name)


class BlockingSender(BlockingLink):
    """A sender whose ``send`` returns once the peer has settled the message."""

    link: Sender

    def __init__(self, connection: BlockingConnection, sender: Sender) -> None:
        super().__init__(connection, sender)
        if sender._impl is not None:
            self._check_matches(sender.target.address, sender.remote_target.address, "target")

    def send(
        self,
        msg: Message,
        timeout: _TimeoutArg = False,
        error_states: list[DispositionType] | None = None,
    ) -> Delivery:
        """Send ``msg`` (a Message: TypeError otherwise) and wait until the peer settles it;
        return the (settled) delivery.

        ``timeout``: False means the connection's timeout, None no limit, else seconds.
        ``error_states``: remote states that raise ``SendException`` (default: REJECTED and
        RELEASED).
        """
        if not isinstance(msg, Message):  # bytes would stream into no delivery: nothing to wait on
            raise TypeError(f"send() takes a Message, got {type(msg).__name__}")
        self._check_open()
        link = self.link
        delivery = link.send(msg)
        self.connection.wait(
            lambda: delivery.settled
            or _remote_closed(link)
            or link.snd_settle_mode == _SND_SETTLED,
            timeout=timeout,
            msg=f"Sending on sender {link.name}",
        )
        self._check_closed()
        # Settle our end too: nothing more will happen to the delivery, and an unsettled one
        # would stay in the engine (and our registry) until the link is freed.
        delivery.settle()
        detach_settled()
        states = (REJECTED, RELEASED) if error_states is None else error_states
        if delivery.remote_state in states:
            raise SendException(delivery.remote_state)
        return delivery


class _Fetcher(MessagingHandler):
    """A receiver's handler: queues incoming messages for ``BlockingReceiver.receive``.

    Messages are kept with their deliveries; ``pop`` hands out the next message and remembers
    its delivery (unless the sender already settled it) for ``settle_next``.
    """

    def __init__(self, connection: BlockingConnection, prefetch: int | None) -> None:
        super().__init__(prefetch=prefetch or 0, auto_accept=False)
        self.connection = connection
        self.incoming: collections.deque[tuple[Message, Delivery]] = collections.deque()
        self.unsettled: collections.deque[Delivery] = collections.deque()

    def on_message(self, event: Event) -> None:
        """Queue the message and its delivery."""
        self.incoming.append((event.message, event.delivery))

    def on_link_error(self, event: Event) -> None:
        """The peer closed the receiver with an error: close our end and raise."""
        link = event.link
        if link is not None and link.state & _LOCAL_ACTIVE:
            link.close()
            if not self.connection.closing:
                raise LinkDetached(link)

    @property
    def has_message(self) -> bool:
        """True when a message is waiting."""
        return bool(self.incoming)

    def pop(self) -> Message:
        """The next message (its delivery now waits for ``settle``)."""
        message, delivery = self.incoming.popleft()
        if not delivery.settled:
            self.unsettled.append(delivery)
        return message

    def settle_next(self, state: int | None = None) -> None:
        """Settle the oldest received, unsettled delivery, with ``state`` when given."""
        delivery = self.unsettled.popleft()
        if state:
            delivery.update(state)
        delivery.settle()
        detach_settled()


class BlockingReceiver(BlockingLink):
    """A receiver whose ``receive`` waits for the next message."""

    link: Receiver

    def __init__(
        self,
        connection: BlockingConnection,
        receiver: Receiver,
        fetcher: _Fetcher | None,
        credit: int = 1,
    ) -> None:
        super().__init__(connection, receiver)
        if receiver._impl is not None and not receiver.source.dynamic:
            self._check_matches(receiver.source.address, receiver.remote_source.address, "source")
        self.fetcher = fetcher
        if credit and fetcher is None:
            receiver.flow(credit)

    def _need_fetcher(self) -> _Fetcher:
        if self.fetcher is None:
            raise ProtonException(
                "this receiver was created with its own handler, which gets its messages: "
                "receive(), accept(), reject(), release() and settle() are not available"
            )
        return self.fetcher

    def receive(self, timeout: _TimeoutArg = False) -> Message:
        """Wait for the next message and return it; ``Timeout`` when none comes in time.

        ``timeout``: False means the connection's timeout, None no limit, else seconds. Unless
        the receiver was made with ``credit``, each call grants the sender one credit.
        """
        fetcher = self._need_fetcher()
        link = self.link
        if not fetcher.has_message:
            self._check_open()
        if not link.credit and not fetcher.has_message:
            link.flow(1)
        self.connection.wait(
            lambda: fetcher.has_message or _remote_closed(link),
            timeout=timeout,
            msg=f"Receiving on receiver {link.name}",
        )
        if not fetcher.has_message:
            self._check_closed()
        return fetcher.pop()

    def accept(self) -> None:
        """Accept and settle the oldest received, unsettled message."""
        self.settle(Delivery.ACCEPTED)

    def reject(self) -> None:
        """Reject and settle it: the message is invalid and must not be redelivered."""
        self.settle(Delivery.REJECTED)

    def release(self, delivered: bool = True) -> None:
        """Give it back: MODIFIED (delivery attempted, counted) when ``delivered``, else
        RELEASED."""
        self.settle(MODIFIED if delivered else RELEASED)

    def settle(self, state: DispositionType | None = None) -> None:
        """Settle the oldest received, unsettled message, after setting ``state`` if given."""
        self._need_fetcher().settle_next(state)


class BlockingConnection(Handler):
    """A connection used from one thread with blocking calls.

    It holds a socket and, unless ``container`` is given, a selector: call ``close()`` when
    done (``try/finally``). ``timeout`` (default 60 s) bounds every blocking call that is not
    given its own. ``url``/``urls``, ``reconnect``, ``heartbeat``, ``ssl_domain`` and
    ``kwargs`` are ``Container.connect``'s options.
    """

    def __init__(
        self,
        url: str | Url | None = None,
        timeout: float | None = None,
        container: Container | None = None,
        ssl_domain: SSLDomain | None = None,
        heartbeat: float | None = None,
        urls: list[str] | None = None,
        reconnect: None | Literal[False] | Backoff = None,
        **kwargs: Any,
    ) -> None:
        from ._reactor._container import Container

        super().__init__()
        self.disconnected = False
        self.closing = False
        self.timeout: float = timeout or _DEFAULT_TIMEOUT
        self._own_container = container is None
        self.container: Any = Container() if container is None else container
        self.conn: Connection | None = None
        self._condition: Any = None
        self._lost_transport: Any = None
        self._failover_left = len(urls) - 1 if urls and reconnect is not False else 0
        self.container.start()
        try:
            self.conn = self.container.connect(
                url=url,
                urls=urls,
                handler=self,
                reconnect=reconnect,
                heartbeat=heartbeat,
                ssl_domain=ssl_domain,
                **kwargs,
            )
            conn = self.conn
            self.wait(
                lambda: conn._impl is not None and not conn.state & _REMOTE_UNINIT,
                msg="Opening connection",
            )
        except BaseException:
            self.close()
            raise
        self._failover_left = 0
        self._lost_transport = None

    @property
    def url(self) -> str | None:
        """The URL the connection is connected to."""
        conn = self.conn
        return conn.connected_address if conn is not None else None

    def create_sender(
        self,
        address: str | None,
        handler: Handler | None = None,
        name: str | None = None,
        options: LinkOption | list[LinkOption] | None = None,
    ) -> BlockingSender:
        """Open a sender to ``address`` (None: the anonymous relay, each message's own
        address) and wait until the peer has attached it."""
        sender = self.container.create_sender(
            self._live_conn(), address, name=name, handler=handler, options=options
        )
        return BlockingSender(self, sender)

    def create_receiver(
        self,
        address: str | None = None,
        credit: int | None = None,
        dynamic: bool = False,
        handler: Handler | None = None,
        name: str | None = None,
        options: LinkOption | list[LinkOption] | None = None,
    ) -> BlockingReceiver:
        """Open a receiver from ``address`` (or a ``dynamic`` node) and wait until attached.

        ``credit``: keep that many messages prefetched (default: one credit per ``receive``).
        With a ``handler``, messages go to it rather than to ``receive``.
        """
        fetcher = None if handler is not None else _Fetcher(self, credit)
        receiver = self.container.create_receiver(
            self._live_conn(),
            address,
            name=name,
            dynamic=dynamic,
            handler=handler if handler is not None else fetcher,
            options=options,
        )
        if fetcher is not None:
            return BlockingReceiver(self, receiver, fetcher, credit=0)
        return BlockingReceiver(self, receiver, None, credit=1 if credit is None else credit)

    def _live_conn(self) -> Connection:
        """The connection, if it is still open at both ends."""
        conn = self.conn
        if conn is None or conn._impl is None or conn.state & (_LOCAL_CLOSED | _REMOTE_CLOSED):
            raise ConnectionException(f"Connection {self.url} is closed")
        return conn

    def close(self) -> None:
        """Close the connection, wait for the peer's close, and release every resource.

        Safe to call more than once.
        """
        conn = self.conn
        container = self.container
        if container is None:
            return
        self.closing = True
        try:
            if conn is not None and conn._impl is not None:
                if not conn.state & _LOCAL_CLOSED:
                    conn.close()
                if not self.disconnected:
                    self.wait(
                        lambda: _remote_inactive(conn) or self._lost_transport is not None,
                        msg="Closing connection",
                    )
        finally:
            if conn is not None:
                conn.free()
            self._release(conn)

    def _release(self, conn: Connection | None) -> None:
        """Run the container until the connection's C objects are finalized; then close the
        container's selector if it is ours. Bounded by the connection's timeout."""
        container = self.container
        deadline = time.monotonic() + self.timeout
        while conn is not None and conn._impl is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not container.do_work(remaining):
                break
        if self._own_container:
            container.stop()
            while time.monotonic() < deadline and container.do_work(deadline - time.monotonic()):
                pass
            container._selector.close()
        self.conn = None
        self.container = None

    def run(self) -> None:
        """Process events until the container has nothing left to do, then stop it."""
        container = self.container
        if container is None:
            return
        while container.do_work(None):
            pass
        container.stop()
        container.do_work(0)

    def wait(
        self, condition: Callable[[], bool], timeout: _TimeoutArg = False, msg: str | None = None
    ) -> None:
        """Process events until ``condition()`` is true.

        ``timeout``: False means the connection's timeout, None no limit, else seconds;
        ``Timeout`` is raised when it passes (its text ends with ``msg``). A lost transport
        raises ``ConnectionException``.
        """
        if timeout is False:
            timeout = self.timeout
        container = self.container
        if container is None:
            raise ConnectionException("the connection is closed")
        deadline = None if timeout is None else time.monotonic() + timeout
        while not condition():
            if self.disconnected:
                raise ConnectionException(
                    f"Connection {self.url} disconnected: {self._condition!r}"
                )
            if deadline is None:
                busy = container.do_work(None)
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Timeout(
                        f"Connection {self.url} timed out" + (f": {msg}" if msg else "")
                    )
                busy = container.do_work(remaining)
            if not busy and not condition():
                raise ConnectionException(
                    f"Connection {self.url}: nothing left to wait for"
                    + (f" ({msg})" if msg else "")
                )

    def on_link_remote_close(self, event: Event) -> None:
        """The peer closed a link: close our end, and raise LinkDetached unless closing."""
        link = event.link
        if link is not None and link.state & _LOCAL_ACTIVE:
            link.close()
            if not self.closing:
                raise LinkDetached(link)

    def on_connection_remote_close(self, event: Event) -> None:
        """The peer closed the connection: close our end, and raise ConnectionClosed unless
        we are closing."""
        connection = event.connection
        if connection is not None and connection.state & _LOCAL_ACTIVE:
            connection.close()
            if not self.closing:
                raise ConnectionClosed(connection)

    def on_transport_tail_closed(self, event: Event) -> None:
        """The peer's side of the byte stream ended: the transport is lost."""
        self.on_transport_closed(event)

    def on_transport_head_closed(self, event: Event) -> None:
        """Our side of the byte stream ended: the transport is lost."""
        self.on_transport_closed(event)

    def on_transport_closed(self, event: Event) -> None:
        """Mark the connection disconnected (once per transport), unless closing or, while
        first opening, another of ``urls`` is left to try."""
        transport = event.transport
        if transport is self._lost_transport:
            return
        self._lost_transport = transport
        if self.closing:
            return
        if self._failover_left > 0:
            self._failover_left -= 1
            return
        self.disconnected = True
        if transport is not None and transport._impl is not None:
            self._condition = transport.condition


class _Counter:
    """A thread-safe counter: ``next()`` gives 1, 2, 3, ..."""

    def __init__(self) -> None:
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    def next(self) -> int:
        """The next number."""
        with self._lock:
            return next(self._count)


class SyncRequestResponse(IncomingMessageHandler):
    """Request-response (RPC) over a BlockingConnection: ``call(request)`` sends the request
    with ``reply_to`` set to a dynamic receiver of ours and returns the matching response.

    ``address``: where every request goes; if None, each request's own ``address``.
    """

    correlation_id = _Counter()

    def __init__(self, connection: BlockingConnection, address: str | None = None) -> None:
        super().__init__()
        self.connection = connection
        self.address = address
        self.response: Message | None = None
        self.sender = connection.create_sender(address)
        self.receiver = connection.create_receiver(None, dynamic=True, credit=1, handler=self)

    @property
    def reply_to(self) -> str | None:
        """The address the peer gave our dynamic receiver: where responses come back."""
        return self.receiver.remote_source.address

    def call(self, request: Message) -> Message:
        """Send ``request`` and wait (the connection's timeout) for its response."""
        if not self.address and not request.address:
            raise ValueError(f"Request message has no address: {request}")
        request.reply_to = self.reply_to
        correlation_id = str(self.correlation_id.next())
        request.correlation_id = correlation_id
        self.sender.send(request)

        def answered() -> bool:
            response = self.response
            return response is not None and response.correlation_id == correlation_id

        self.connection.wait(answered, msg="Waiting for response")
        response = self.response
        assert response is not None
        self.response = None
        self.receiver.flow(1)
        return response

    def on_message(self, event: Event) -> None:
        """Keep the response for ``call``."""
        self.response = event.message


__all__ = [
    "BlockingConnection",
    "BlockingReceiver",
    "BlockingSender",
    "ConnectionClosed",
    "DuplicateFilter",
    "LinkDetached",
    "SendException",
    "SyncRequestResponse",
]
