"""Engine details, on python-qpid-proton and amq_python alike: deliveries of code that drives
two Transports by hand (no Container), ``Transport.channel_max`` after Open, and clearing
``SSL.peer_hostname``. Each snippet runs on both libraries and must give the same result.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest

LIBRARIES = ("proton", "amq_python")


@pytest.fixture(params=LIBRARIES)
def api(request: pytest.FixtureRequest) -> ModuleType:
    """The library under test: python-qpid-proton, then amq_python."""
    return importlib.import_module(request.param)


def pump(a: Any, b: Any) -> None:
    """Move bytes between two transports, both ways, until neither has any to send."""
    moved = True
    while moved:
        moved = False
        for source, sink in ((a, b), (b, a)):
            size = source.pending()
            if size > 0:
                sink.push(source.peek(size))
                source.pop(size)
                moved = True


def linked_pair(api: ModuleType) -> tuple[Any, Any, Any, Any]:
    """A client and a server transport joined by ``pump``, with an open sender on the client
    and its receiver (with credit 100) on the server: (client transport, server transport,
    sender, receiver)."""
    client, server = api.Connection(), api.Connection()
    client_t, server_t = api.Transport(), api.Transport(api.Transport.SERVER)
    client_t.bind(client)
    server_t.bind(server)
    client.open()
    server.open()
    session = client.session()
    session.open()
    sender = session.sender("s")
    sender.open()
    pump(client_t, server_t)
    server.session_head(0).open()
    receiver = server.link_head(0)
    receiver.open()
    receiver.flow(100)
    pump(client_t, server_t)
    return client_t, server_t, sender, receiver


def transfers(api: ModuleType, count: int) -> list[tuple[Any, ...]]:
    """Send ``count`` one-frame messages one by one, each settled on both sides before the
    next: what each side's delivery says when it arrives, and the sent one after settling."""
    client_t, server_t, sender, receiver = linked_pair(api)
    seen = []
    for i in range(count):
        sent = sender.delivery(f"tag{i}")
        sender.send(b"payload")
        sender.advance()
        pump(client_t, server_t)
        arrived = receiver.current
        seen.append((sent.tag, sent.settled, arrived.tag, arrived.settled, arrived.pending))
        receiver.recv(arrived.pending)
        receiver.advance()
        arrived.settle()
        sent.settle()
        pump(client_t, server_t)
        seen.append((sent.tag, arrived.tag))
    return seen


def test_deliveries_settled_without_a_container_are_not_reused(api: ModuleType) -> None:
    """The engine frees a delivery settled on both sides and may make the next one at the
    same address: ``link.current`` is then a new delivery with its own tag, not the wrapper of
    the old one (which keeps its own tag)."""
    seen = transfers(api, 6)
    expected: list[tuple[Any, ...]] = []
    for i in range(6):
        expected += [(f"tag{i}", False, f"tag{i}", False, 7), (f"tag{i}", f"tag{i}")]
    assert seen == expected


def test_collector_events_name_the_new_delivery(api: ModuleType) -> None:
    """Code reading a Collector itself gets, in each DELIVERY event, the delivery that
    arrived, not the wrapper of a freed one at the same address."""
    client_t, server_t, sender, receiver = linked_pair(api)
    collector = api.Collector()
    receiver.connection.collect(collector)
    tags = []
    for i in range(6):
        sent = sender.delivery(f"tag{i}")
        sender.send(b"payload")
        sender.advance()
        pump(client_t, server_t)
        while (event := collector.peek()) is not None:
            if event.type == api.Event.DELIVERY and event.delivery.readable:
                delivery = event.delivery
                tags.append(delivery.tag)
                receiver.recv(delivery.pending)
                receiver.advance()
                delivery.settle()
            collector.pop()
        sent.settle()
        pump(client_t, server_t)
    assert tags == [f"tag{i}" for i in range(6)]


def test_both_libraries_see_the_same_transfers() -> None:
    """The same hand-driven transfers, compared between the libraries directly."""
    proton, ours = (importlib.import_module(name) for name in LIBRARIES)
    assert transfers(ours, 4) == transfers(proton, 4)


def channel_max_after_open(api: ModuleType) -> tuple[Any, ...]:
    """Set channel_max before Open, and again once the Open frame is out."""
    transport = api.Transport()
    connection = api.Connection()
    transport.bind(connection)
    transport.channel_max = 10
    connection.open()
    before_output = transport.channel_max
    transport.pending()  # writes the Open frame
    try:
        transport.channel_max = 5
        error = None
    except api.ProtonException as e:
        error = type(e).__name__
    return before_output, error, transport.channel_max


def test_channel_max_after_open_raises_session_exception(api: ModuleType) -> None:
    """Once the Open frame is written the limit is fixed: SessionException, value kept."""
    assert channel_max_after_open(api) == (10, "SessionException", 10)


def test_channel_max_can_change_until_the_open_frame_is_written(api: ModuleType) -> None:
    """Opening the connection alone does not fix it: the Open frame must be written."""
    transport = api.Transport()
    connection = api.Connection()
    transport.bind(connection)
    connection.open()
    transport.channel_max = 7
    assert transport.channel_max == 7


def peer_hostnames(api: ModuleType) -> list[Any]:
    """SSL.peer_hostname: unset, set, cleared with None, set again."""
    ssl = api.SSL(api.Transport(), api.SSLDomain(api.SSLDomain.MODE_CLIENT))
    seen = [ssl.peer_hostname]
    ssl.peer_hostname = "broker.example"
    seen.append(ssl.peer_hostname)
    ssl.peer_hostname = None
    seen.append(ssl.peer_hostname)
    ssl.peer_hostname = "other.example"
    seen.append(ssl.peer_hostname)
    return seen


def test_peer_hostname_none_clears_it(api: ModuleType) -> None:
    """Setting None clears the name (it reads back empty, as an unset one does)."""
    assert peer_hostnames(api) == ["", "broker.example", "", "other.example"]
