"""The sans-IO Engine (``amq_python._core._engine``): a client engine and a server engine paired
in memory, no sockets, no container, no loop. Bytes, a clock and events are all there is."""

from __future__ import annotations

from typing import Any

from amq_python import Collector, Connection, Event, Message, Transport
from amq_python._core._engine import Engine


def _engine(server: bool) -> tuple[Engine, Collector]:
    connection = Connection()
    collector = Collector()
    connection.collect(collector)
    transport = Transport(Transport.SERVER if server else None)
    transport.bind(connection)
    return Engine(transport, connection), collector


def _move(source: Engine, sink: Engine) -> int:
    """Copy what ``source`` has to send into ``sink``'s input, as much as it takes."""
    moved = 0
    while True:
        pending = source.pending()
        buffer = sink.input_buffer()
        if pending <= 0 or buffer is None:
            return moved
        n = min(pending, len(buffer))
        buffer[:n] = source.output(pending)[:n]
        sink.received(n)
        source.sent(n)
        moved += n


def _pump(a: Engine, b: Engine) -> None:
    while _move(a, b) + _move(b, a):
        pass


def _types(collector: Collector) -> list[Any]:
    seen = []
    while (event := collector.peek()) is not None:
        seen.append(event.type)
        collector.pop()
    return seen


def test_two_engines_open_a_link_and_move_a_message_in_memory() -> None:
    """Open, attach, credit, transfer, settle: only bytes between the two engines."""
    client, client_events = _engine(server=False)
    server, server_events = _engine(server=True)
    connection = client.connection
    connection.container = "client"
    connection.open()
    sender = connection.session().sender("s")
    sender.target.address = "queue"
    sender.session.open()
    sender.open()
    _pump(client, server)
    assert Event.CONNECTION_REMOTE_OPEN in _types(server_events)
    remote = server.connection
    assert remote.remote_container == "client"
    remote.open()
    session = remote.session_head(0)
    assert session is not None
    session.open()
    receiver = remote.link_head(0)
    assert receiver is not None and receiver.remote_target.address == "queue"
    receiver.open()
    receiver.flow(1)
    _pump(client, server)
    assert sender.credit == 1 and connection.remote_container is not None
    _types(client_events)

    delivery = sender.send(Message(body="over bytes alone"))
    _pump(client, server)
    assert Event.DELIVERY in _types(server_events)
    incoming = receiver.current
    assert incoming is not None and not incoming.partial
    body = receiver.recv(incoming.pending)
    receiver.advance()
    message = Message()
    message.decode(body)
    assert message.body == "over bytes alone"
    incoming.update(incoming.ACCEPTED)
    incoming.settle()
    _pump(client, server)
    assert delivery.remote_state == delivery.ACCEPTED and delivery.settled


def test_the_clock_in_gives_the_next_deadline_out() -> None:
    """With an idle timeout agreed, ``tick`` answers a deadline on the caller's clock; with
    none, it answers 0 (no deadline)."""
    client, _ = _engine(server=False)
    server, _ = _engine(server=True)
    assert client.tick(1_000) == 0
    server.transport.idle_timeout = 2.0
    client.connection.open()
    server.connection.open()
    _pump(client, server)
    deadline = client.tick(1_000)
    assert 1_000 < deadline <= 2_000  # heartbeats at least twice per peer timeout


def test_end_of_input_and_a_failure_close_the_engine() -> None:
    """``close_input`` (the peer went away) and ``fail`` (the stream broke) end the engine:
    it takes no input, and ``fail``'s description is the transport's condition."""
    client, _ = _engine(server=False)
    assert client.reading() and not client.closed()
    client.close_input()
    assert not client.reading() and client.input_buffer() is None

    broken, _ = _engine(server=False)
    broken.connection.open()
    assert broken.pending() > 0
    broken.fail("read failed: connection reset")
    assert broken.closed() and broken.pending() < 0
    condition = broken.transport.condition
    assert condition is not None and condition.name == "proton:io"
    assert condition.description == "read failed: connection reset"
