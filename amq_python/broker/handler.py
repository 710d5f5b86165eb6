"""The broker's MessagingHandler: answers links, routes incoming messages, feeds consumers.

How a message flows:

1. A client's sender attaches: we answer with its target (a dynamic target gets a generated
   address; no address at all makes the link an anonymous relay, routed by each message's
   ``address``). A client's receiver attaches: we answer with its source (dynamic: a new
   temporary queue) and subscribe the link to the queue or topic it names. A receiver's source
   may carry a JMS selector in its filter map (``selector``): that consumer only gets matching
   messages; we echo the selector in our source to say it applies (other filters are dropped
   from it: we do not apply them), and refuse a selector that does not parse.
2. ``on_message``: the message is stored in its queue (or copied to a topic's subscribers), then
   accepted. A message that cannot be routed is rejected.
3. ``on_sendable``: the queue feeding that link sends what it can (see ``queues``).
4. Outcomes from consumers (``on_accepted`` ... ``on_settled``) go to that queue. A link or
   connection that closes or drops gives its unsettled messages back.
5. A sender whose target is a coordinator makes its connection transactional: from then on the
   connection's links are handled by its ``TransactionScope`` (see ``transactions``), which
   does the transactional work and passes the rest back here.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, cast

from amq_python import (
    Condition,
    Connection,
    Delivery,
    Described,
    Event,
    Link,
    Receiver,
    Sender,
    SSLDomain,
    Terminus,
    symbol,
    ulong,
)
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Acceptor, Task

from .nodes import TOPIC_CAPABILITY, Registry, capabilities
from .queues import Queue
from .selector import Selector, SelectorError, compile_selector
from .transactions import TransactionScope

log = logging.getLogger("amq_python.broker")

NO_ADDRESS = Condition(
    "amqp:precondition-failed",
    "the message has no address: set the sender's target or the message's address",
)

# The filter type of a JMS selector, by name or by code (descriptor 0x468C:0x00000004).
SELECTOR_DESCRIPTORS = (symbol("apache.org:selector-filter:string"), ulong(0x0000468C00000004))


def selector_filter(source: Terminus) -> tuple[Any, Described] | None:
    """The selector entry (key, described value) of ``source``'s filter map, if it has one.
    Raises ValueError for a filter map we cannot apply: not a map, two selectors, or a
    selector that is not a string."""
    data = source.filter
    data.rewind()
    if data.next() is None:
        return None
    try:
        filters = data.get_object()
    except TypeError:  # a map key Python cannot hash (a list, a map)
        filters = None
    if not isinstance(filters, dict):
        raise ValueError("the source's filter is not a map of filters")
    found = [
        (key, value) for key, value in filters.items()
        if isinstance(value, Described) and value.descriptor in SELECTOR_DESCRIPTORS
    ]
    if len(found) > 1:
        raise ValueError("more than one selector in the filter")
    if found and not isinstance(found[0][1].value, str):
        raise ValueError("the selector is not a string")
    return found[0] if found else None


def _link(event: Event) -> Link:
    """The event's link (every link and delivery event has one)."""
    link = event.link
    assert link is not None, event
    return link


def _connection(event: Event) -> Connection:
    """The event's connection (every endpoint and transport event has one)."""
    connection = event.connection
    assert connection is not None, event
    return connection


class ShutdownTimeout(Exception):
    """Clients did not answer our close within the grace period: ``run()`` ends with this."""


class BrokerHandler(MessagingHandler):
    """Listens on ``url`` and serves queues, topics and dynamic queues to every client.

    With ``ssl_domain`` the listener speaks TLS with those settings. With ``require_auth`` a
    client must log in through SASL with a mechanism other than ANONYMOUS: the engine refuses
    clients that skip SASL, and we close an ANONYMOUS login's connection with
    ``amqp:unauthorized-access``. Which mechanisms are offered and how passwords are checked are
    the container's settings (``allowed_mechs``, ``sasl_config_path``, ``sasl_config_name``).
    """

    prefetch = 100  # credit we keep open on each client's sender

    def __init__(
        self,
        url: str,
        on_listening: Callable[[Acceptor], None] | None = None,
        grace: float = 2.0,
        ssl_domain: SSLDomain | None = None,
        require_auth: bool = False,
    ) -> None:
        super().__init__(prefetch=self.prefetch, auto_accept=False)
        self.url = url
        self.ssl_domain = ssl_domain
        self.require_auth = require_auth
        self.on_listening = on_listening
        self.grace = grace
        self.registry = Registry()
        self.acceptor: Acceptor | None = None
        self._feeds: dict[Link, tuple[Connection, Queue]] = {}
        self._connections: set[Connection] = set()
        self._scopes: dict[Connection, TransactionScope] = {}
        self._deadline: Task | None = None

    # ----- lifecycle -----

    def on_start(self, event: Event) -> None:
        """Start listening, then tell whoever started us where."""
        self.acceptor = event.container.listen(self.url, ssl_domain=self.ssl_domain)
        if self.on_listening is not None:
            self.on_listening(self.acceptor)

    def on_shutdown(self, event: Event) -> None:
        """The ``shutdown`` application event (from a signal): close every connection and the
        listener; clients get ``grace`` seconds to answer before ``run()`` ends anyway."""
        log.info("signal %s received: shutting down", getattr(event, "subject", None))
        event.container.stop()
        if self._connections:
            self._deadline = event.container.schedule(self.grace, self)

    def on_timer_task(self, event: Event) -> None:
        """The grace period is over."""
        raise ShutdownTimeout(f"{len(self._connections)} client(s) did not answer the close")

    def on_connection_bound(self, event: Event) -> None:
        """A client's transport is set up: with ``require_auth``, SASL becomes mandatory."""
        if self.require_auth and event.transport is not None:
            event.transport.require_auth(True)

    def on_connection_opening(self, event: Event) -> None:
        """The client opened its connection (after SASL): with ``require_auth``, refuse an
        ANONYMOUS login (the connection is opened, then closed with the error)."""
        transport = event.transport
        if not self.require_auth or transport is None:
            return
        user = transport.user
        if not transport.authenticated or user is None or user.lower() == "anonymous":
            connection = _connection(event)
            log.warning("connection from %s refused: not authenticated",
                        connection.remote_container)
            connection.open()
            connection.condition = Condition("amqp:unauthorized-access",
                                             "this broker requires authentication")
            connection.close()

    def on_connection_opened(self, event: Event) -> None:
        """Log who connected, and as whom."""
        connection = _connection(event)
        self._connections.add(connection)
        user = event.transport.user if event.transport is not None else None
        log.info("connection from %s opened (user %s)", connection.remote_container, user)

    def on_transport_closed(self, event: Event) -> None:
        """A connection is over, cleanly or not; the last one ends a shutdown's grace period."""
        if event.connection is not None:
            self._connections.discard(event.connection)
        if self._deadline is not None and not self._connections:
            self._deadline.cancel()

    def on_connection_closing(self, event: Event) -> None:
        """The client closes: give back what its consumers had not settled."""
        self._release_connection(_connection(event))

    def on_connection_error(self, event: Event) -> None:
        """The client closed with an error: log it and release its consumers."""
        connection = _connection(event)
        log.warning("connection closed by peer with error: %s", connection.remote_condition)
        self._release_connection(connection)

    def on_disconnected(self, event: Event) -> None:
        """The socket dropped without a close: release the connection's consumers."""
        connection = _connection(event)
        log.info("connection from %s lost", connection.remote_container)
        self._release_connection(connection)

    # ----- links -----

    def on_link_opening(self, event: Event) -> None:
        """Answer the peer's attach with our source and target (it is opened after this)."""
        link = _link(event)
        connection = _connection(event)
        link.source.copy(link.remote_source)
        link.target.copy(link.remote_target)
        if link.is_sender:
            self._attach_consumer(cast(Sender, link), connection)
        elif link.remote_target.type == Terminus.COORDINATOR:
            self._attach_controller(cast(Receiver, link), connection)
        else:
            self._attach_producer(cast(Receiver, link))
        scope = self._scopes.get(connection)
        if scope is not None:
            scope.adopt(link)

    def _attach_controller(self, link: Receiver, connection: Connection) -> None:
        """A transaction controller: the connection becomes transactional (its links so far
        are handed to its scope here, later ones as they attach)."""
        scope = self._scopes.get(connection)
        if scope is None:
            scope = self._scopes[connection] = TransactionScope(self, connection)
            other = connection.link_head(0)
            while other is not None:
                scope.adopt(other)
                other = other.next(0)
        scope.add_controller(link)

    def _attach_consumer(self, link: Sender, connection: Connection) -> None:
        remote = link.remote_source
        dynamic = remote.dynamic
        address = self.registry.dynamic_address() if dynamic else remote.address
        if not address:
            self._refuse(link, "a receiver needs a source address (or a dynamic source)")
            return
        try:
            selected = selector_filter(remote)
            selector: Selector | None = None
            if selected is not None:
                selector = compile_selector(selected[1].value)
        except SelectorError as error:
            self._refuse(link, f"invalid selector: {error}")
            return
        except ValueError as error:
            self._refuse(link, str(error))
            return
        link.source.filter.clear()
        if selected is not None:
            link.source.filter.put_dict(dict([selected]))
        if TOPIC_CAPABILITY in capabilities(remote):
            self.registry.declare_topic(address)
        link.source.address = address
        link.snd_settle_mode = link.remote_snd_settle_mode
        browse = remote.distribution_mode == Terminus.DIST_MODE_COPY
        queue = self.registry.subscribe(link, address, browse, dynamic, selector)
        self._feeds[link] = (connection, queue)
        log.info("%s %s attached to %s%s", "browser" if browse else "consumer", link.name,
                 address, f" with selector {selected[1].value!r}" if selected else "")

    def _attach_producer(self, link: Receiver) -> None:
        remote = link.remote_target
        address = self.registry.dynamic_address() if remote.dynamic else remote.address
        if address:
            link.target.address = address
            if TOPIC_CAPABILITY in capabilities(remote):
                self.registry.declare_topic(address)
        log.info("producer %s attached to %s", link.name, address or "(anonymous relay)")

    @staticmethod
    def _refuse(link: Link, why: str) -> None:
        log.warning("link %s refused: %s", link.name, why)
        link.open()
        link.condition = Condition("amqp:invalid-field", why)
        link.close()

    def on_link_closing(self, event: Event) -> None:
        """The client detached a link: release a consumer's unsettled messages."""
        self._release_link(_link(event))

    def on_link_closed(self, event: Event) -> None:
        """Both ends detached."""
        self._release_link(_link(event))

    def on_link_error(self, event: Event) -> None:
        """The client detached with an error: log it (the connection stays open)."""
        link = _link(event)
        log.warning("link %s closed by peer with error: %s", link.name, link.remote_condition)
        self._release_link(link)

    def _release_link(self, link: Link) -> None:
        feed = self._feeds.pop(link, None)
        if feed is not None:
            self.registry.unsubscribe(link, feed[1])
            log.info("consumer %s detached from %s", link.name, feed[1].address)

    def _release_connection(self, connection: Connection) -> None:
        scope = self._scopes.pop(connection, None)
        if scope is not None:
            scope.end()
        for link, (owner, _queue) in list(self._feeds.items()):
            if owner is connection:
                self._release_link(link)

    # ----- messages -----

    def on_message(self, event: Event) -> None:
        """Route by the link's target, or by the message's address on an anonymous relay."""
        link = _link(event)
        address = link.target.address or event.message.address
        if not address:
            log.warning("message without an address on anonymous relay %s: rejected", link.name)
            event.delivery.local.condition = NO_ADDRESS
            self.reject(event.delivery)
            return
        log.debug("message to %s", address)
        self.registry.publish(address, event.message)
        self.accept(event.delivery)

    def feed(self, link: Link) -> Queue | None:
        """The queue feeding consumer ``link`` (None for other links)."""
        feed = self._feeds.get(link)
        return feed[1] if feed is not None else None

    def on_sendable(self, event: Event) -> None:
        """A consumer has credit: let its queue send."""
        link = _link(event)
        feed = self._feeds.get(link)
        log.debug("%s has credit %d", link.name, link.credit)
        if feed is not None:
            feed[1].dispatch()

    def _outcome(self, event: Event) -> None:
        delivery: Delivery = event.delivery
        link = _link(event)
        feed = self._feeds.get(link)
        if feed is not None:
            feed[1].outcome(link, delivery)
        delivery.settle()

    on_accepted = _outcome
    on_rejected = _outcome
    on_released = _outcome
    on_settled = _outcome
