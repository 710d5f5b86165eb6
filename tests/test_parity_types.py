"""Types and capabilities as python-qpid-proton 0.40 has them (issue #13).

``Array`` iterates its elements; ``SymbolList("X")`` is one symbol; a SymbolList equals a list,
tuple or Array with the same items; ``Connection.remote_*_capabilities`` is a SymbolList whether
the peer sent an array, a list or a single symbol; capabilities go on the wire as an array of
symbols; ``Url.Port`` equals its service name; a ``://`` in a URL's path is no scheme. Each check
runs the same snippet on both libraries and expects the same answer; the few places where we
differ on purpose say so.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from types import ModuleType
from typing import Any

import proton
import pytest

import amq_python
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.helpers import run
from tests.peers.ports import free_port

LIBS = pytest.mark.parametrize("m", [proton, amq_python], ids=["proton", "amq_python"])


def both(snippet: Any) -> Any:
    """Run ``snippet(module)`` on both libraries, assert they agree, return the answer."""
    theirs, ours = snippet(proton), snippet(amq_python)
    assert ours == theirs, f"python-qpid-proton: {theirs!r}, amq_python: {ours!r}"
    return ours


def outcome(call: Any) -> Any:
    """What ``call()`` gives, or the name of the exception it raises (comparable across libs)."""
    try:
        return call()
    except Exception as e:  # noqa: BLE001 - the exception's type is the answer
        return type(e).__name__


# ---- Array and SymbolList ---------------------------------------------------------------------


def test_array_is_iterable() -> None:
    def snippet(m: ModuleType) -> Any:
        symbols = m.Array(m.UNDESCRIBED, m.Data.SYMBOL, m.symbol("a"), m.symbol("b"))
        ints = m.Array(m.UNDESCRIBED, m.Data.INT, 1, 2, 3)
        return list(symbols), [x * 2 for x in ints], list(m.Array(m.UNDESCRIBED, m.Data.INT))

    assert both(snippet) == (["a", "b"], [2, 4, 6], [])


def test_symbol_list_of_one_string_is_one_symbol() -> None:
    def snippet(m: ModuleType) -> Any:
        return [
            (list(m.SymbolList(value)), [type(x).__name__ for x in m.SymbolList(value)])
            for value in ("X", "XYZ", m.symbol("amqp:x"), ["ab", "cd"], None)
        ]

    got = both(snippet)
    assert got[1] == (["XYZ"], ["symbol"])
    assert got[2] == (["amqp:x"], ["symbol"])


def test_symbol_list_built_from_an_array() -> None:
    def snippet(m: ModuleType) -> Any:
        array = m.Array(m.UNDESCRIBED, m.Data.SYMBOL, m.symbol("a"), m.symbol("b"))
        return repr(m.SymbolList(array))

    assert both(snippet) == "SymbolList([symbol('a'), symbol('b')])"


@pytest.mark.parametrize(
    "expr",
    [
        'SymbolList(["a", "b"]) == ["a", "b"]',
        'SymbolList(["a", "b"]) == [symbol("a"), symbol("b")]',
        'SymbolList(["a", "b"]) == ("a", "b")',
        'SymbolList(["a", "b"]) == Array(UNDESCRIBED, Data.SYMBOL, symbol("a"), symbol("b"))',
        'SymbolList(["a", "b"]) == Array(UNDESCRIBED, Data.STRING, "a", "b")',
        'SymbolList(["a", "b"]) == Array(UNDESCRIBED, Data.SYMBOL, symbol("b"), symbol("a"))',
        'SymbolList(["a", "b"]) == ["a"]',
        'SymbolList(["a"]) == [1]',
        'SymbolList("X") == "X"',
        'SymbolList(["a"]) == None',
        '["a", "b"] == SymbolList(["a", "b"])',
        'SymbolList(["a", "b"]) == SymbolList(("a", "b"))',
        'Array(UNDESCRIBED, Data.INT, 1) == Array(UNDESCRIBED, Data.INT, 1)',
        'Array(UNDESCRIBED, Data.INT, 1) == Array(UNDESCRIBED, Data.LONG, 1)',
    ],
)
def test_symbol_list_equality(expr: str) -> None:
    def snippet(m: ModuleType) -> Any:
        return outcome(lambda: eval(expr, vars(m)))

    assert isinstance(both(snippet), bool)


def test_symbol_list_equality_is_symmetric_and_inequality_agrees() -> None:
    """Where we differ on purpose: python-qpid-proton's ``Array == SymbolList`` is False while
    ``SymbolList == Array`` is True, and its ``SymbolList != Array`` is True as well. Ours is
    symmetric and ``!=`` is the negation of ``==``."""
    m = amq_python
    array = m.Array(m.UNDESCRIBED, m.Data.SYMBOL, m.symbol("a"), m.symbol("b"))
    symbols = m.SymbolList(["a", "b"])
    assert symbols == array and array == symbols
    assert not symbols != array and not array != symbols
    assert symbols != ["a"] and symbols != 5 and not symbols == 5
    assert proton.SymbolList(["a", "b"]) == proton.Array(
        proton.UNDESCRIBED, proton.Data.SYMBOL, proton.symbol("a"), proton.symbol("b")
    )


# ---- capabilities on the wire -----------------------------------------------------------------


def _pump(a: Any, b: Any) -> None:
    """Move bytes both ways between two in-memory transports until neither has any to send."""
    moved = True
    while moved:
        moved = False
        for src, dst in ((a, b), (b, a)):
            n = src.pending()
            if n > 0:
                dst.push(bytes(src.peek(n)))
                src.pop(n)
                moved = True


def _open_frame(m: ModuleType, caps: Any) -> tuple[list[str], bytes]:
    """The frames (PN_TRACE_FRM text) and bytes a client transport of ``m`` sends for an Open
    carrying ``caps`` as both offered and desired capabilities."""
    connection = m.Connection()
    connection.container = "parity-caps"
    if caps is not None:
        connection.offered_capabilities = caps
        connection.desired_capabilities = caps
    transport = m.Transport()
    frames: list[str] = []
    transport.tracer = lambda _t, message: frames.append(message)
    transport.trace(m.Transport.TRACE_FRM)
    transport.bind(connection)
    connection.open()
    n = transport.pending()
    return frames, bytes(transport.peek(n))


_CAP_FIELD = re.compile(r"(offered|desired)-capabilities=[^\]]*\]")


@pytest.mark.parametrize("caps", [["a", "bc"], "x", ("one", "two", "three"), [], None])
def test_capabilities_are_sent_as_an_array_of_symbols(caps: Any) -> None:
    """The Open's capability fields read the same in both libraries' frame traces (an array of
    symbol, ``@<symbol>[...]``, or absent when empty), and their encoded bytes are the same."""

    def snippet(m: ModuleType) -> Any:
        frames, data = _open_frame(m, caps)
        opens = [f for f in frames if "@open" in f]
        assert len(opens) == 1, frames
        fields = [match.group(0) for match in _CAP_FIELD.finditer(opens[0])]
        encoded = proton.Data()
        if caps:
            encoded.put_object(proton.SymbolList(caps).to_array())
        array = bytes(encoded.encode())
        return fields, data.count(array) if array else 0

    fields, copies = both(snippet)
    if caps:
        assert [f.split("=", 1)[1].startswith("@<symbol>[") for f in fields] == [True, True]
        assert copies == 2
    else:
        assert fields == []


def _peer_connection(form: str) -> Any:
    """A python-qpid-proton connection whose Open carries capabilities in ``form``: an array
    (proton's own way), a list, a single symbol, or an empty array."""
    connection = proton.Connection()
    connection.container = "parity-peer"
    offered: dict[str, Any] = {
        "array": proton.SymbolList(["a", "b"]),
        "list": [proton.symbol("a"), proton.symbol("b")],
        "symbol": proton.symbol("a"),
        "list of strings": ["a", "b"],
    }
    # offered_capabilities_list is what proton's open() encodes: its setter would make any
    # value an array, so the other forms are put there directly.
    connection.offered_capabilities_list = offered[form]
    connection.desired_capabilities_list = offered[form]
    return connection


@pytest.mark.parametrize("form", ["array", "list", "symbol", "list of strings"])
def test_remote_capabilities_are_a_symbol_list_whatever_the_peer_sent(form: str) -> None:
    """A python-qpid-proton peer sends its capabilities as an array, a list or one symbol; the
    other end, on either library, reads both remote capability fields as the same SymbolList."""

    def snippet(m: ModuleType) -> Any:
        peer = _peer_connection(form)
        peer_transport = proton.Transport(proton.Transport.SERVER)
        peer_transport.bind(peer)
        peer.open()
        connection = m.Connection()
        transport = m.Transport()
        transport.bind(connection)
        connection.open()
        _pump(transport, peer_transport)
        offered, desired = (
            connection.remote_offered_capabilities,
            connection.remote_desired_capabilities,
        )
        return [
            (type(value).__name__, repr(value), [type(x).__name__ for x in value])
            for value in (offered, desired)
        ]

    got = both(snippet)
    expected = ["a"] if form == "symbol" else ["a", "b"]
    assert got[0] == got[1] == ("SymbolList", repr(amq_python.SymbolList(expected)),
                                ["symbol"] * len(expected))


def test_remote_capabilities_none_when_the_peer_sent_none() -> None:
    def snippet(m: ModuleType) -> Any:
        peer = proton.Connection()
        peer_transport = proton.Transport(proton.Transport.SERVER)
        peer_transport.bind(peer)
        peer.open()
        connection = m.Connection()
        transport = m.Transport()
        transport.bind(connection)
        connection.open()
        _pump(transport, peer_transport)
        return connection.remote_offered_capabilities, connection.remote_desired_capabilities

    assert both(snippet) == (None, None)


_CAPABILITY_SERVER = """
import json, sys
import proton, proton.handlers, proton.reactor

class Server(proton.handlers.MessagingHandler):
    def on_start(self, event):
        self.acceptor = event.container.listen(sys.argv[1])
        print("READY", flush=True)

    def on_connection_opening(self, event):
        # put straight where open() reads them: proton's setters would make arrays of them
        event.connection.offered_capabilities_list = [proton.symbol("x"), proton.symbol("y")]
        event.connection.desired_capabilities_list = proton.symbol("z")
        self.seen = [repr(event.connection.remote_offered_capabilities),
                     repr(event.connection.remote_desired_capabilities)]

    def on_connection_closed(self, event):
        self.acceptor.close()
        print(json.dumps(self.seen), flush=True)

proton.reactor.Container(Server()).run()
"""


def test_remote_capabilities_over_tcp_from_a_proton_listener() -> None:
    """End to end on loopback: our Container connects to a python-qpid-proton listener (its
    own process) that sends a list and a single symbol; we read both as SymbolLists, and the
    listener reads ours back as the SymbolLists we set."""
    url = f"amqp://127.0.0.1:{free_port()}"
    server = subprocess.Popen([sys.executable, "-c", _CAPABILITY_SERVER, url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "READY"
        seen: dict[str, Any] = {}

        class Client(MessagingHandler):
            def on_start(self, event: Any) -> None:
                event.container.connect(
                    url, offered_capabilities=["ours"], desired_capabilities="wanted"
                )

            def on_connection_opened(self, event: Any) -> None:
                seen["offered"] = event.connection.remote_offered_capabilities
                seen["desired"] = event.connection.remote_desired_capabilities
                event.connection.close()

        run(Container(Client()), timeout=10)
        out, err = server.communicate(timeout=10)
    finally:
        server.kill()
        server.wait()
    assert server.returncode == 0, err
    assert isinstance(seen["offered"], amq_python.SymbolList)
    assert seen["offered"] == ["x", "y"] and seen["desired"] == ["z"]
    assert [type(x) for x in seen["offered"] + seen["desired"]] == [amq_python.symbol] * 3
    assert json.loads(out) == ["SymbolList([symbol('ours')])", "SymbolList([symbol('wanted')])"]


# ---- Url ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        'Url("amqps://h").port == "amqps"',
        'Url("amqps://h").port == 5671',
        'Url("amqp://h").port == "amqp"',
        'Url("amqp://h").port != "amqp"',
        'Url("amqps://h").port == "amqp"',
        'Url("h:amqps").port == "amqps"',
        'Url("h:5671").port == "5671"',
        'Url("h:5671").port == "amqps"',
        'Url("amqps://h", port="amqp").port == "amqp"',
        'str(Url.Port(Url.Port("amqp")))',
        'Url.Port(Url.Port("amqp")) == "amqp"',
        'Url.Port(Url.Port("amqp")) == 5672',
        'Url.Port("amqp").name',
        'Url.Port(5672) == "amqp"',
        'Url.Port("amqp") == Url.Port(5672)',
        'str(Url("h", port=Url.Port("amqps")))',
        'int(Url("amqps://h").port) + 1',
    ],
)
def test_port_compares_equal_to_its_service_name(expr: str) -> None:
    def snippet(m: ModuleType) -> Any:
        return outcome(lambda: eval(expr, vars(m)))

    both(snippet)


@pytest.mark.parametrize(
    "text",
    [
        "host:5672/queue://x",
        "host/queue://x",
        "/queue://x",
        "amqp://u:p@host:1234/a://b",
        "amqps://host/topic://t/x://y",
        "[::1]:5672/a://b",
        "h/x:y",
    ],
)
def test_scheme_separator_in_path_is_not_a_scheme(text: str) -> None:
    def snippet(m: ModuleType) -> Any:
        url = m.Url(text)
        return url.scheme, url.username, url.password, url.host, int(url.port), url.path, str(url)

    both(snippet)


@LIBS
def test_path_with_scheme_separator_round_trips(m: ModuleType) -> None:
    url = m.Url("host:5672/queue://x")
    assert (url.host, url.path) == ("host", "queue://x")
    assert m.Url(str(url)).path == "queue://x"
