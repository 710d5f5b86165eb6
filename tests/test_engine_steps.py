"""The sans-IO Engine's whole I/O steps (``read_from``, ``write_to``, ``status``), which the
Channel uses on the per-message path: over a real socket pair, no container, no loop."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from amq_python import Collector, Event, Message
from amq_python._core._engine import CLOSED, DRAINING, READING, Engine
from tests.test_sans_io_engine import _engine


def _types(collector: Collector) -> list[object]:
    seen = []
    while (event := collector.peek()) is not None:
        seen.append(event.type)
        collector.pop()
    return seen


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def _exchange(client: Engine, server: Engine, pair: tuple[socket.socket, socket.socket]) -> None:
    """Move bytes both ways with the whole steps until neither engine has any to send."""
    a, b = pair
    for _ in range(20):
        assert client.write_to(a.send) == 0
        assert server.write_to(b.send) == 0
        server.read_from(b.recv_into, 8)
        client.read_from(a.recv_into, 8)
        if client.pending() == 0 and server.pending() == 0:
            return
    raise AssertionError("the engines kept producing output")


def test_a_message_crosses_a_socket_pair_with_the_whole_steps(pair) -> None:
    """Open, attach, credit and one transfer with write_to/read_from only; the receiving engine
    queues the DELIVERY and both stay READING."""
    client, _ = _engine(server=False)
    server, server_events = _engine(server=True)
    connection = client.connection
    connection.open()
    sender = connection.session().sender("s")
    sender.session.open()
    sender.open()
    _exchange(client, server, pair)
    remote = server.connection
    remote.open()
    session = remote.session_head(0)
    assert session is not None
    session.open()
    receiver = remote.link_head(0)
    assert receiver is not None
    receiver.open()
    receiver.flow(1)
    _exchange(client, server, pair)
    assert sender.credit == 1
    _types(server_events)
    sender.send(Message(body="through a socket"))
    _exchange(client, server, pair)
    assert Event.DELIVERY in _types(server_events)
    incoming = receiver.current
    assert incoming is not None
    message = Message()
    message.decode(receiver.recv(incoming.pending))
    assert message.body == "through a socket"
    assert client.status() == READING and server.status() == READING


def test_a_full_socket_leaves_the_output_pending_untouched(pair) -> None:
    """``send`` raising BlockingIOError (a full socket) takes nothing: write_to answers what is
    still pending, and the same bytes go once the peer reads."""
    a, b = pair
    junk = b"x" * 65536
    while True:
        try:
            a.send(junk)
        except BlockingIOError:
            break
    client, _ = _engine(server=False)
    client.connection.open()
    pending = client.pending()
    assert pending > 0
    assert client.write_to(a.send) == pending
    assert client.pending() == pending
    drained = 0
    while True:
        try:
            drained += len(b.recv(1 << 20))
        except BlockingIOError:
            break
    assert client.write_to(a.send) == 0
    header = b.recv(1 << 20)
    assert header.startswith(b"AMQP")  # the protocol header: nothing lost, nothing sent twice
    assert len(header) == pending


def test_end_of_stream_closes_the_input_then_the_output_drains(pair) -> None:
    """A peer that stops sending before its header: read_from closes the input (DRAINING: no
    more reading, output still to write); write_to then writes all that is left, answers a
    negative count (the output is closed and all sent), and status is CLOSED."""
    a, b = pair
    client, _ = _engine(server=False)
    client.connection.open()
    pending = client.pending()
    b.shutdown(socket.SHUT_WR)
    client.read_from(a.recv_into, 8)
    assert client.status() == DRAINING
    assert not client.reading() and not client.closed()
    assert client.write_to(a.send) < 0
    assert client.status() == CLOSED and client.closed()
    written = b.recv(1 << 20)  # the header, Open, and the Close saying why it ended
    assert written.startswith(b"AMQP") and len(written) > pending
    assert b"amqp:connection:framing-error" in written
    assert client.tick(1_000) == 0  # a closed engine has no timers


def test_a_stream_error_propagates_from_read_from(pair) -> None:
    """An error other than BlockingIOError from ``recv_into`` reaches the caller (the Channel
    turns it into the transport's condition); BlockingIOError just ends the read."""
    a, _b = pair
    client, _ = _engine(server=False)
    client.read_from(a.recv_into, 8)  # nothing to read yet: no error, still reading
    assert client.status() == READING
    a.close()
    with pytest.raises(OSError):
        client.read_from(a.recv_into, 8)


def test_read_from_asks_for_a_tick_only_when_an_idle_timeout_is_set(pair) -> None:
    """Input moves deadlines only when either side has an idle timeout: read_from answers False
    while neither has (even for the peer's Open), True for an engine with its own, and True
    once the peer's Open brought one (the tick then gives a deadline)."""
    a, b = pair
    plain, _ = _engine(server=False)
    plain_peer, _ = _engine(server=True)
    plain.connection.open()
    plain_peer.connection.open()
    assert plain.write_to(a.send) == 0
    assert plain_peer.read_from(b.recv_into, 8) is False
    assert plain_peer.write_to(b.send) == 0
    assert plain.read_from(a.recv_into, 8) is False
    assert plain.connection.remote_container is not None  # the Open did arrive
    assert plain.tick(1_000) == 0

    c, d = socket.socketpair()
    with c, d:
        c.setblocking(False)
        d.setblocking(False)
        client, _ = _engine(server=False)
        server, _ = _engine(server=True)
        client.connection.open()
        server.transport.idle_timeout = 2.0
        server.connection.open()
        assert client.write_to(c.send) == 0
        assert server.read_from(d.recv_into, 8) is True  # its own idle timeout
        assert server.write_to(d.send) == 0
        assert client.tick(1_000) == 0  # no idle timeout known yet
        assert client.read_from(c.recv_into, 8) is True  # the server's Open brought one
        assert 1_000 < client.tick(1_000) <= 2_000
