"""The binding end to end, in memory: a client and a server transport joined by Python.

Each side is a ``pn_connection`` bound to a ``pn_transport`` and reporting to a
``pn_collector``. ``pump()`` moves each transport's pending output (``pn_transport_head``,
``pn_transport_pop``) into the other's input (``pn_transport_push``) until neither has any, so
every AMQP frame crosses the C engine's encoder and decoder, and no socket is involved.
Only raw ``lib.pn_*`` calls: this tests the binding, not amq_python.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from proton_ext import ffi, lib

ACTIVE = lib.PN_LOCAL_ACTIVE | lib.PN_REMOTE_ACTIVE
CLOSED = lib.PN_LOCAL_CLOSED | lib.PN_REMOTE_CLOSED


class Side:
    """One end of the pair. Owns its connection, transport and collector; ``free()`` frees them."""

    def __init__(self, server: bool) -> None:
        self.connection = lib.pn_connection()
        self.collector = lib.pn_collector()
        self.transport = lib.pn_transport()
        if server:
            lib.pn_transport_set_server(self.transport)
        lib.pn_connection_collect(self.connection, self.collector)
        assert lib.pn_transport_bind(self.transport, self.connection) == 0

    def events(self) -> list[tuple[str, Any]]:
        """Pop every collected event: (type name, the event's delivery, link or session)."""
        seen = []
        while (event := lib.pn_collector_peek(self.collector)) != ffi.NULL:
            name = ffi.string(lib.pn_event_type_name(lib.pn_event_type(event))).decode()
            subject = lib.pn_event_delivery(event)
            if subject == ffi.NULL:
                subject = lib.pn_event_link(event)
            if subject == ffi.NULL:
                subject = lib.pn_event_session(event)
            seen.append((name, subject))
            lib.pn_collector_pop(self.collector)
        return seen

    def event_names(self) -> list[str]:
        return [name for name, _ in self.events()]

    def free(self) -> None:
        lib.pn_transport_unbind(self.transport)
        lib.pn_transport_free(self.transport)
        lib.pn_connection_free(self.connection)
        lib.pn_collector_free(self.collector)


def _shuttle(source: Any, sink: Any) -> int:
    """Move what ``source`` has to send into ``sink``; return how many bytes moved."""
    pending = lib.pn_transport_pending(source)
    if pending <= 0:  # nothing to send, or the head is closed (PN_EOS)
        return 0
    data = ffi.buffer(lib.pn_transport_head(source), pending)[:]
    pushed = lib.pn_transport_push(sink, data, len(data))
    assert pushed >= 0, f"pn_transport_push failed: {pushed}"
    lib.pn_transport_pop(source, pushed)
    return int(pushed)


def pump(client: Side, server: Side) -> int:
    """Shuttle bytes both ways until both transports are idle; return the total moved."""
    total = 0
    while moved := _shuttle(client.transport, server.transport) + _shuttle(
        server.transport, client.transport
    ):
        total += moved
    return total


def put_string(data: Any, text: str) -> None:
    encoded = text.encode()
    buffer = ffi.new("char[]", encoded)  # alive until pn_data_put_string has copied it
    assert lib.pn_data_put_string(data, lib.pn_bytes(len(encoded), buffer)) == 0


def get_string(data: Any) -> str:
    view = lib.pn_data_get_string(data)
    return ffi.buffer(view.start, view.size)[:].decode()


def address(terminus: Any) -> str | None:
    text = lib.pn_terminus_get_address(terminus)
    return None if text == ffi.NULL else ffi.string(text).decode()


@pytest.fixture
def pair() -> Iterator[tuple[Side, Side]]:
    client, server = Side(server=False), Side(server=True)
    try:
        yield client, server
    finally:
        client.free()
        server.free()


@pytest.fixture
def message() -> Iterator[Any]:
    msg = lib.pn_message()
    try:
        yield msg
    finally:
        lib.pn_message_free(msg)


def open_connection(client: Side, server: Side) -> None:
    lib.pn_connection_set_container(client.connection, b"client-container")
    lib.pn_connection_open(client.connection)
    assert pump(client, server) > 0
    assert "PN_CONNECTION_REMOTE_OPEN" in server.event_names()
    assert lib.pn_connection_state(server.connection) == (
        lib.PN_LOCAL_UNINIT | lib.PN_REMOTE_ACTIVE
    )
    remote = lib.pn_connection_remote_container(server.connection)
    assert ffi.string(remote) == b"client-container"

    lib.pn_connection_open(server.connection)
    pump(client, server)
    assert "PN_CONNECTION_REMOTE_OPEN" in client.event_names()
    assert lib.pn_connection_state(client.connection) == ACTIVE
    assert lib.pn_connection_state(server.connection) == ACTIVE


def attach_link(client: Side, server: Side) -> tuple[Any, Any]:
    """Client sender to server receiver on "queue-a", opened both ways; no credit yet."""
    session = lib.pn_session(client.connection)
    lib.pn_session_open(session)
    sender = lib.pn_sender(session, b"client-to-queue-a")
    assert lib.pn_terminus_set_address(lib.pn_link_source(sender), b"client-out") == 0
    assert lib.pn_terminus_set_address(lib.pn_link_target(sender), b"queue-a") == 0
    lib.pn_link_open(sender)
    pump(client, server)

    events = server.events()
    names = [name for name, _ in events]
    assert "PN_SESSION_REMOTE_OPEN" in names
    assert "PN_LINK_REMOTE_OPEN" in names
    receiver = next(subject for name, subject in events if name == "PN_LINK_REMOTE_OPEN")
    assert lib.pn_link_is_receiver(receiver)
    assert ffi.string(lib.pn_link_name(receiver)) == b"client-to-queue-a"
    assert address(lib.pn_link_remote_target(receiver)) == "queue-a"
    assert address(lib.pn_link_remote_source(receiver)) == "client-out"

    lib.pn_session_open(lib.pn_link_session(receiver))
    for local, remote in (
        (lib.pn_link_target(receiver), lib.pn_link_remote_target(receiver)),
        (lib.pn_link_source(receiver), lib.pn_link_remote_source(receiver)),
    ):
        assert lib.pn_terminus_copy(local, remote) == 0
    lib.pn_link_open(receiver)
    pump(client, server)

    names = client.event_names()
    assert "PN_SESSION_REMOTE_OPEN" in names
    assert "PN_LINK_REMOTE_OPEN" in names
    assert lib.pn_link_state(sender) == ACTIVE
    assert lib.pn_link_state(receiver) == ACTIVE
    assert address(lib.pn_link_remote_target(sender)) == "queue-a"
    assert lib.pn_link_credit(sender) == 0
    return sender, receiver


def test_connection_opens_both_ways(pair: tuple[Side, Side]) -> None:
    client, server = pair
    assert lib.pn_connection_state(client.connection) == (
        lib.PN_LOCAL_UNINIT | lib.PN_REMOTE_UNINIT
    )
    open_connection(client, server)
    assert lib.pn_transport_get_frames_input(server.transport) >= 1
    assert lib.pn_transport_get_frames_input(client.transport) >= 1


def test_link_attaches_with_addresses(pair: tuple[Side, Side]) -> None:
    client, server = pair
    open_connection(client, server)
    sender, receiver = attach_link(client, server)
    assert lib.pn_link_is_sender(sender)
    assert address(lib.pn_link_target(receiver)) == "queue-a"


def test_receiver_credit_reaches_sender(pair: tuple[Side, Side]) -> None:
    client, server = pair
    open_connection(client, server)
    sender, receiver = attach_link(client, server)

    lib.pn_link_flow(receiver, 10)
    assert lib.pn_link_credit(receiver) == 10
    pump(client, server)
    assert "PN_LINK_FLOW" in client.event_names()
    assert lib.pn_link_credit(sender) == 10


def test_message_is_sent_decoded_accepted_and_settled(
    pair: tuple[Side, Side], message: Any
) -> None:
    client, server = pair
    open_connection(client, server)
    sender, receiver = attach_link(client, server)
    lib.pn_link_flow(receiver, 10)
    pump(client, server)
    client.events()

    # The sender encodes a message: a string body and application properties (a map).
    put_string(lib.pn_message_body(message), "hello, world")
    properties = lib.pn_message_properties(message)
    assert lib.pn_data_put_map(properties) == 0
    assert lib.pn_data_enter(properties)
    put_string(properties, "colour")
    put_string(properties, "blue")
    put_string(properties, "count")
    assert lib.pn_data_put_int(properties, 7) == 0
    assert lib.pn_data_exit(properties)
    buffer = ffi.new("char[]", 4096)
    size = ffi.new("size_t *", 4096)
    assert lib.pn_message_encode(message, buffer, size) == 0
    encoded = ffi.buffer(buffer, size[0])[:]
    assert b"hello, world" in encoded

    # ... and sends it on a new delivery tagged "tag-1".
    tag = ffi.new("char[]", b"tag-1")
    delivery = lib.pn_delivery(sender, lib.pn_dtag(tag, 5))
    assert lib.pn_link_current(sender) == delivery
    assert lib.pn_link_send(sender, encoded, len(encoded)) == len(encoded)
    assert lib.pn_link_advance(sender)
    assert lib.pn_link_credit(sender) == 9
    assert lib.pn_link_unsettled(sender) == 1
    pump(client, server)
    assert lib.pn_link_queued(sender) == 0

    # The receiver gets PN_DELIVERY with the whole message, and reads the bytes.
    events = server.events()
    incoming = [subject for name, subject in events if name == "PN_DELIVERY"]
    assert len(incoming) == 1
    received = incoming[0]
    assert lib.pn_delivery_link(received) == receiver
    assert lib.pn_link_current(receiver) == received
    received_tag = lib.pn_delivery_tag(received)
    assert ffi.buffer(received_tag.start, received_tag.size)[:] == b"tag-1"
    assert lib.pn_delivery_readable(received)
    assert not lib.pn_delivery_partial(received)
    assert lib.pn_delivery_pending(received) == len(encoded)
    inbox = ffi.new("char[]", len(encoded) + 16)
    assert lib.pn_link_recv(receiver, inbox, len(encoded) + 16) == len(encoded)
    assert lib.pn_link_recv(receiver, inbox, len(encoded) + 16) == lib.PN_EOS
    assert ffi.buffer(inbox, len(encoded))[:] == encoded
    assert lib.pn_link_credit(receiver) == 10  # the receiver's credit falls on advance
    assert lib.pn_link_advance(receiver)
    assert lib.pn_link_credit(receiver) == 9

    # It decodes them into a second message: the same body and properties.
    decoded = lib.pn_message()
    try:
        assert lib.pn_message_decode(decoded, inbox, len(encoded)) == 0
        body = lib.pn_message_body(decoded)
        lib.pn_data_rewind(body)
        assert lib.pn_data_next(body)
        assert lib.pn_data_type(body) == lib.PN_STRING
        assert get_string(body) == "hello, world"

        props = lib.pn_message_properties(decoded)
        lib.pn_data_rewind(props)
        assert lib.pn_data_next(props)
        assert lib.pn_data_type(props) == lib.PN_MAP
        assert lib.pn_data_get_map(props) == 4  # two keys and two values
        assert lib.pn_data_enter(props)
        found: dict[str, object] = {}
        while lib.pn_data_next(props):
            key = get_string(props)
            assert lib.pn_data_next(props)
            kind = lib.pn_data_type(props)
            found[key] = get_string(props) if kind == lib.PN_STRING else lib.pn_data_get_int(props)
        assert lib.pn_data_exit(props)
        assert found == {"colour": "blue", "count": 7}
    finally:
        lib.pn_message_free(decoded)

    # The receiver accepts and settles; the sender sees both.
    lib.pn_delivery_update(received, lib.PN_ACCEPTED)
    assert lib.pn_delivery_local_state(received) == lib.PN_ACCEPTED
    lib.pn_delivery_settle(received)
    assert lib.pn_delivery_remote_state(delivery) == 0
    assert not lib.pn_delivery_settled(delivery)
    pump(client, server)

    updates = [subject for name, subject in client.events() if name == "PN_DELIVERY"]
    assert updates == [delivery]
    assert lib.pn_delivery_updated(delivery)
    assert lib.pn_delivery_remote_state(delivery) == lib.PN_ACCEPTED
    assert lib.pn_delivery_settled(delivery)  # settled by the remote end
    lib.pn_delivery_settle(delivery)
    assert lib.pn_link_unsettled(sender) == 0


def test_close_reaches_the_peer(pair: tuple[Side, Side]) -> None:
    client, server = pair
    open_connection(client, server)
    sender, receiver = attach_link(client, server)

    lib.pn_link_close(sender)
    pump(client, server)
    assert "PN_LINK_REMOTE_CLOSE" in server.event_names()
    lib.pn_link_close(receiver)
    lib.pn_connection_close(client.connection)
    pump(client, server)
    assert "PN_CONNECTION_REMOTE_CLOSE" in server.event_names()
    assert lib.pn_link_state(sender) == CLOSED

    lib.pn_connection_close(server.connection)
    pump(client, server)
    assert "PN_CONNECTION_REMOTE_CLOSE" in client.event_names()
    assert lib.pn_connection_state(client.connection) == CLOSED
    assert lib.pn_connection_state(server.connection) == CLOSED
    assert lib.pn_transport_closed(client.transport)
    assert lib.pn_transport_closed(server.transport)
