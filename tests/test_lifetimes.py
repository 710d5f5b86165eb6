"""Lifetimes: one Python object per C object on every event, and nothing left behind.

The peer is our own listener (``tests/peer_script.py`` on amq_python) in a subprocess, so the
wrappers ``tests.helpers.new_wrappers`` finds are only the client's.
"""

from __future__ import annotations

import gc

from amq_python import Message
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.helpers import Peer, live_wrappers, new_wrappers, run


class SameObjects(MessagingHandler):
    """Checks on every event that connection, session, link and delivery are the objects the
    API handed out (or first showed) for them."""

    def __init__(self):
        super().__init__()
        self.mismatches = []
        self.checked = 0

    def check(self, what, got, expected):
        self.checked += 1
        if got is not expected:
            self.mismatches.append((what, got, expected))

    def check_event(self, event):
        connection = event.connection
        if connection is not None:
            self.check("connection", connection, self.conn)
        session = event.session
        if session is not None:
            first = self.sessions.setdefault(id(self.conn), session)
            self.check("session", session, first)
        link = event.link
        if link is not None:
            self.check("link", link, self.sender if link.is_sender else self.receiver)
        delivery = event.delivery
        if delivery is not None and event.sender is not None:
            self.check("delivery", delivery, self.deliveries[delivery.tag])


class ManyConnections(SameObjects):
    """200 connections one after the other, each sending 50 messages (10,000 in all)."""

    CONNECTIONS = 200
    PER_CONNECTION = 50

    def __init__(self, url):
        super().__init__()
        self.url = url
        self.opened = 0
        self.accepted = 0
        self.sessions = {}
        self.receiver = None

    def on_start(self, event):
        self.next_connection(event.container)

    def next_connection(self, container):
        self.opened += 1
        self.conn = container.connect(self.url, reconnect=False)
        self.sender = container.create_sender(self.conn, "lifetimes")
        self.sessions = {}
        self.deliveries = {}
        self.to_send = self.PER_CONNECTION
        self.settled = 0

    def on_connection_opened(self, event):
        self.check_event(event)

    def on_link_opened(self, event):
        self.check_event(event)

    def on_sendable(self, event):
        self.check_event(event)
        while event.sender.credit and self.to_send:
            self.to_send -= 1
            delivery = event.sender.send(Message(body=self.to_send, properties={"n": 1}))
            self.deliveries[delivery.tag] = delivery

    def on_accepted(self, event):
        self.check_event(event)
        self.accepted += 1
        self.settled += 1
        if self.settled == self.PER_CONNECTION:
            event.connection.close()

    def on_connection_closed(self, event):
        self.check_event(event)
        if self.opened < self.CONNECTIONS:
            self.next_connection(event.container)



def test_same_objects_and_no_leak_after_10000_messages_and_200_connections():
    gc.collect()
    baseline = live_wrappers()
    with Peer(connections=ManyConnections.CONNECTIONS, timeout=30) as peer:
        handler = ManyConnections(peer.url)
        run(Container(handler), timeout=15)
        assert len(peer.records("message")) == 10_000
    assert handler.accepted == 10_000
    assert handler.opened == 200
    assert handler.mismatches == []
    assert handler.checked > 20_000
    del handler
    gc.collect()
    assert new_wrappers(baseline) == []


def test_one_connection_sends_300_messages():
    """The stall on its own: one connection, 300 messages, each accepted."""

    class OneConnection(ManyConnections):
        CONNECTIONS = 1
        PER_CONNECTION = 300

    with Peer() as peer:
        handler = OneConnection(peer.url)
        run(Container(handler), timeout=4)
        assert handler.accepted == 300
        assert len(peer.records("message")) == 300


def test_same_objects_on_the_receiving_side_and_attributes_stay():
    """A receiver's events carry the Receiver create_receiver() returned, and an attribute a
    user set on the connection is still there on every later event."""

    class Tagged(SameObjects):
        def __init__(self, url):
            super().__init__()
            self.url = url
            self.sessions = {}
            self.deliveries = {}
            self.sender = None
            self.labels = []
            self.received = 0

        def on_start(self, event):
            self.conn = event.container.connect(self.url, reconnect=False)
            self.conn.label = "mine"
            self.sender = event.container.create_sender(self.conn, "q")
            self.receiver = event.container.create_receiver(self.conn, "q")

        def on_sendable(self, event):
            self.check_event(event)
            if not self.deliveries:
                for i in range(5):
                    delivery = event.sender.send(Message(body=i))
                    self.deliveries[delivery.tag] = delivery

        def on_message(self, event):
            self.check_event(event)
            self.labels.append(event.connection.label)
            self.received += 1
            if self.received == 5:
                event.connection.close()

    gc.collect()
    baseline = live_wrappers()
    with Peer() as peer:
        handler = Tagged(peer.url)
        run(Container(handler))
    assert handler.labels == ["mine"] * 5
    assert handler.mismatches == []
    assert handler.checked >= 20
    del handler
    gc.collect()
    assert new_wrappers(baseline) == []


def test_a_new_wrapper_at_a_stale_address_retires_the_old_one() -> None:
    """When a C object was freed without its final event reaching us (a container dropped
    unfinished) and the allocator hands its address to a new object, the old wrapper lets go
    of the pointer instead of standing for the new object."""
    from amq_python import Connection
    from amq_python._core._wrapper import live, lookup
    from proton_ext import lib

    stale = Connection()
    address = stale._impl
    fresh = Connection(address)  # what wrapping a new object at the same address does
    try:
        assert stale._impl is None
        assert lookup(address) is fresh
        assert live[address] is fresh
    finally:
        fresh._detach()
        lib.pn_connection_free(address)
