"""amq_python.utils against a real peer: a python-qpid-proton broker in its own process.

Each test uses its own addresses, so tests sharing the module's broker do not interfere.
"""

from __future__ import annotations

import gc
import os
import time
import uuid
from collections.abc import Iterator

import pytest

from amq_python import ConnectionException, Delivery, LinkException, Message, Timeout
from amq_python.handlers import MessagingHandler
from amq_python.reactor import AtMostOnce, Container
from amq_python.utils import (
    BlockingConnection,
    ConnectionClosed,
    LinkDetached,
    SendException,
    SyncRequestResponse,
)
from tests.helpers import live_wrappers, new_wrappers
from tests.peers.ports import free_port
from tests.peers.proton_broker import ProtonBroker


@pytest.fixture(scope="module")
def broker() -> Iterator[ProtonBroker]:
    """One python-qpid-proton broker for the module."""
    with ProtonBroker() as peer:
        yield peer


@pytest.fixture
def connection(broker: ProtonBroker) -> Iterator[BlockingConnection]:
    """A BlockingConnection to the broker, closed after the test."""
    conn = BlockingConnection(broker.url, timeout=10)
    try:
        yield conn
    finally:
        conn.close()


def queue() -> str:
    """A fresh address."""
    return f"q-{uuid.uuid4().hex[:10]}"


def test_send_then_receive_in_order(connection: BlockingConnection, broker: ProtonBroker) -> None:
    """Messages sent are each accepted and settled, then received in order and accepted."""
    address = queue()
    sender = connection.create_sender(address)
    for i in range(20):
        delivery = sender.send(Message(body=f"m{i}", properties={"i": i}))
        assert delivery.settled
        assert delivery.remote_state == Delivery.ACCEPTED
    receiver = connection.create_receiver(address, credit=5)
    for i in range(20):
        message = receiver.receive(timeout=5)
        assert (message.body, message.properties) == (f"m{i}", {"i": i})
        receiver.accept()
    assert connection.url == broker.url


def test_one_credit_per_receive(connection: BlockingConnection) -> None:
    """Without ``credit`` each receive asks for exactly one message; the rest wait at the
    broker for a later receiver."""
    address = queue()
    sender = connection.create_sender(address)
    for i in range(3):
        sender.send(Message(body=i))
    receiver = connection.create_receiver(address)
    assert receiver.receive(timeout=5).body == 0
    receiver.accept()
    receiver.close()
    other = connection.create_receiver(address)
    assert [other.receive(timeout=5).body for _ in range(2)] == [1, 2]


def test_rejected_and_released_raise_send_exception(connection: BlockingConnection) -> None:
    """A rejected or released message raises SendException with the state; other outcomes are
    returned, unless listed in ``error_states``."""
    for address, state in (("reject", Delivery.REJECTED), ("release", Delivery.RELEASED)):
        sender = connection.create_sender(address)
        with pytest.raises(SendException) as info:
            sender.send(Message(body="x"))
        assert info.value.state == state
    sender = connection.create_sender("modify")
    assert sender.send(Message(body="x")).remote_state == Delivery.MODIFIED
    with pytest.raises(SendException) as info:
        sender.send(Message(body="x"), error_states=[Delivery.MODIFIED])
    assert info.value.state == Delivery.MODIFIED


def test_presettled_send_returns_at_once(connection: BlockingConnection) -> None:
    """With AtMostOnce the message is settled when sent; send returns without an outcome."""
    address = queue()
    sender = connection.create_sender(address, options=AtMostOnce())
    assert sender.send(Message(body="fire and forget"), timeout=5).settled
    receiver = connection.create_receiver(address)
    assert receiver.receive(timeout=5).body == "fire and forget"


def test_receive_timeout(connection: BlockingConnection) -> None:
    """An empty queue: receive raises Timeout after about the time given."""
    receiver = connection.create_receiver(queue())
    start = time.monotonic()
    with pytest.raises(Timeout, match="Receiving on receiver"):
        receiver.receive(timeout=0.3)
    assert 0.25 <= time.monotonic() - start < 3


def test_release_reject_and_settle(connection: BlockingConnection) -> None:
    """release() gives the message back (the broker delivers it again); reject() does not."""
    address = queue()
    sender = connection.create_sender(address)
    receiver = connection.create_receiver(address)
    sender.send(Message(body="again"))
    assert receiver.receive(timeout=5).body == "again"
    receiver.release(delivered=False)
    assert receiver.receive(timeout=5).body == "again"
    receiver.release()
    assert receiver.receive(timeout=5).body == "again"
    receiver.settle()
    sender.send(Message(body="bad"))
    assert receiver.receive(timeout=5).body == "bad"
    receiver.reject()
    with pytest.raises(Timeout):
        receiver.receive(timeout=0.3)


def test_peer_closes_link(connection: BlockingConnection) -> None:
    """The broker closes the sender's link with an error: LinkDetached carries its reason."""
    sender = connection.create_sender("close-link")
    with pytest.raises(LinkDetached) as info:
        sender.send(Message(body="x"))
    assert info.value.condition == "amqp:internal-error"
    assert info.value.link is sender.link
    assert "closed by request" in str(info.value)
    assert isinstance(info.value, LinkException)


def test_refused_attach(connection: BlockingConnection) -> None:
    """The broker refuses a link: create_sender / create_receiver raise LinkDetached."""
    with pytest.raises(LinkDetached) as info:
        connection.create_sender("no-such-node")
    assert info.value.condition == "amqp:not-found"
    with pytest.raises(LinkDetached):
        connection.create_receiver("no-such-node")


def test_peer_closes_connection(broker: ProtonBroker) -> None:
    """The broker closes the connection with an error: ConnectionClosed, and the connection
    can no longer be used; close() still works."""
    conn = BlockingConnection(broker.url, timeout=10)
    try:
        sender = conn.create_sender("close-connection")
        with pytest.raises(ConnectionClosed) as info:
            sender.send(Message(body="x"))
        assert info.value.condition == "amqp:internal-error"
        assert info.value.connection is conn.conn
        with pytest.raises(ConnectionException):
            conn.create_sender(queue())
    finally:
        conn.close()
    conn.close()


def test_closed_links_refuse_use(connection: BlockingConnection) -> None:
    """After close(), a link's send / receive raise LinkException."""
    address = queue()
    sender = connection.create_sender(address)
    receiver = connection.create_receiver(address)
    sender.close()
    receiver.close()
    with pytest.raises(LinkException, match="sender is closed"):
        sender.send(Message(body="x"))
    with pytest.raises(LinkException, match="receiver is closed"):
        receiver.receive(timeout=1)


def test_connection_refused() -> None:
    """Nothing listens: ConnectionException at once (no reconnect wait), with or without
    reconnect, and nothing left open."""
    port = free_port()
    for reconnect in (None, False):
        start = time.monotonic()
        with pytest.raises(ConnectionException, match="disconnected"):
            BlockingConnection(f"amqp://127.0.0.1:{port}", timeout=10, reconnect=reconnect)
        assert time.monotonic() - start < 2


def test_urls_fail_over_while_opening(broker: ProtonBroker) -> None:
    """With urls=[dead, live] the connection opens to the live one."""
    dead = f"amqp://127.0.0.1:{free_port()}"
    conn = BlockingConnection(urls=[dead, broker.url], timeout=10)
    try:
        assert conn.url == broker.url
        conn.create_sender(queue()).send(Message(body="x"))
    finally:
        conn.close()
    with pytest.raises(ConnectionException):
        BlockingConnection(urls=[dead, broker.url], timeout=10, reconnect=False)


def test_anonymous_sender_and_dynamic_receiver(connection: BlockingConnection) -> None:
    """A sender with no address routes by each message's address; a dynamic receiver gets an
    address from the broker."""
    receiver = connection.create_receiver(None, dynamic=True)
    address = receiver.remote_source.address
    assert address and address.startswith("dynamic-")
    sender = connection.create_sender(None)
    sender.send(Message(address=address, body="routed"))
    assert receiver.receive(timeout=5).body == "routed"


def test_request_response(connection: BlockingConnection) -> None:
    """SyncRequestResponse: each call returns the matching reply."""
    client = SyncRequestResponse(connection, "upper")
    assert client.reply_to and client.reply_to.startswith("dynamic-")
    for word in ("abc", "hello"):
        response = client.call(Message(body=word))
        assert response.body == word.upper()
    anonymous = SyncRequestResponse(connection)
    assert anonymous.call(Message(address="upper", body="xyz")).body == "XYZ"
    with pytest.raises(ValueError, match="no address"):
        anonymous.call(Message(body="nowhere"))


def test_receiver_with_own_handler(connection: BlockingConnection) -> None:
    """With handler=, messages go to the handler while the connection waits; receive() is
    refused."""

    class Collect(MessagingHandler):
        def __init__(self) -> None:
            super().__init__(prefetch=0)
            self.bodies: list[object] = []

        def on_message(self, event):  # type: ignore[no-untyped-def]
            self.bodies.append(event.message.body)

    address = queue()
    handler = Collect()
    receiver = connection.create_receiver(address, credit=2, handler=handler)
    sender = connection.create_sender(address)
    sender.send(Message(body=1))
    sender.send(Message(body=2))
    connection.wait(lambda: len(handler.bodies) == 2, timeout=5)
    assert handler.bodies == [1, 2]
    with pytest.raises(Exception, match="own handler"):
        receiver.receive(timeout=1)


def test_given_container_is_left_usable(broker: ProtonBroker) -> None:
    """A BlockingConnection on the caller's container: closing it leaves the container
    usable for the next one."""
    container = Container()
    for _ in range(2):
        conn = BlockingConnection(broker.url, timeout=10, container=container)
        conn.create_sender(queue()).send(Message(body="x"))
        conn.close()


def test_link_attributes_pass_through(connection: BlockingConnection) -> None:
    """A blocking link exposes the link's attributes (name, credit, target, ...)."""
    address = queue()
    receiver = connection.create_receiver(address, credit=3)
    sender = connection.create_sender(address)
    assert sender.target.address == address
    assert sender.name == sender.link.name
    connection.wait(lambda: sender.credit > 0, timeout=5)
    assert receiver.source.address == address


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_no_leak_over_1000_connections(broker: ProtonBroker) -> None:
    """1,000 connections opened, used and closed leave no descriptor and no wrapper behind."""
    warm = BlockingConnection(broker.url, timeout=10)
    warm.create_sender(queue()).send(Message(body="warm up"))
    warm.close()
    gc.collect()
    fds, wrappers = _open_fds(), live_wrappers()
    address = queue()
    for i in range(1000):
        conn = BlockingConnection(broker.url, timeout=10)
        if i % 10 == 0:
            conn.create_sender(address).send(Message(body=i))
        conn.close()
    gc.collect()
    assert _open_fds() == fds
    assert new_wrappers(wrappers) == []
