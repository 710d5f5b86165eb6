"""Fuzz targets: every place amq_python takes bytes (or text) from outside, one function each.

Each target takes one input (``bytes`` for the binary targets, ``str`` for the text ones) and
returns normally when the library coped: it either decoded the input or raised one of the
documented error types (``ProtonException`` subclasses, ``ValueError``/``TypeError`` for bad
arguments), which the target swallows. Anything else escaping a target (another exception, a
failed invariant, an abort in C, a hang) is a bug. The same functions are driven by the short
hypothesis runs in ``tests/test_fuzz.py`` and the long runs of ``fuzz/run.py``; the hypothesis
strategies below build structured inputs (real frames with mutated fields) so the fuzzer gets
past the protocol header and the frame parser into the engine and our Python layer.

Targets:
- ``message_decode``: ``decode_message``, then every field and a re-encode of what decoded.
- ``data_decode``: ``Data.decode`` and ``get_object`` / ``format`` of every decoded value.
- ``engine_server`` / ``engine_client``: bytes pushed into a server- or client-side Transport
  bound to a Connection whose events a default ``MessagingHandler`` handles, as the container
  feeds a socket's bytes; a broken input must end in a transport error with a condition and a
  closed transport, and everything must be freed afterwards (live wrappers at baseline).
- ``sasl_client`` / ``sasl_server``: SASL frames into a transport with the Cyrus bridge.
- ``url_parse``: ``Url(text)``; ``connect_config``: ``parse_connect_config(text)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from amq_python import Data, Url  # noqa: E402
from amq_python._core._connect_config import parse_connect_config  # noqa: E402
from amq_python._core._endpoints import Connection  # noqa: E402
from amq_python._core._exceptions import ProtonException  # noqa: E402
from amq_python._core._message import decode_message  # noqa: E402
from amq_python._core._transport import Transport  # noqa: E402
from amq_python._core._wrapper import live  # noqa: E402
from amq_python._reactor._io import Channel  # noqa: E402
from amq_python.handlers import MessagingHandler  # noqa: E402
from amq_python.reactor import Container  # noqa: E402
from proton_ext import ffi, lib  # noqa: E402

NULL = ffi.NULL
from tests.peers import amqp_wire as w  # noqa: E402

DOCUMENTED = (ProtonException, ValueError, TypeError)


class FuzzFailure(AssertionError):
    """An invariant a target checks did not hold (not an exception the library raised)."""


# ----- decoders -------------------------------------------------------------------------------


def message_decode(data: bytes) -> None:
    """Decode ``data`` as a message; read every field and re-encode what decoded."""
    try:
        msg = decode_message(data)
    except DOCUMENTED:
        return
    for name in ("id", "user_id", "address", "subject", "reply_to", "correlation_id",
                 "content_type", "content_encoding", "expiry_time", "creation_time", "group_id",
                 "group_sequence", "reply_to_group_id", "durable", "priority", "ttl",
                 "first_acquirer", "delivery_count", "properties", "annotations",
                 "instructions", "body", "inferred"):
        getattr(msg, name)
    repr(msg)
    try:
        again = decode_message(msg.encode())
    except DOCUMENTED:
        return
    if again.body != msg.body and msg.body == msg.body:  # NaN bodies are not equal to themselves
        raise FuzzFailure(f"body changed in a round trip: {msg.body!r} -> {again.body!r}")


def data_decode(data: bytes) -> None:
    """Decode ``data`` as AMQP values; turn each into Python and format the tree."""
    tree = Data()
    offset = 0
    while offset < len(data):
        try:
            used = tree.decode(data[offset:])
        except DOCUMENTED:
            break
        if used <= 0:
            raise FuzzFailure(f"Data.decode consumed {used} bytes")
        offset += used
    tree.rewind()
    while tree.next() is not None:
        try:
            tree.get_object()
        except DOCUMENTED:
            pass
    tree.format()


# ----- the engine: frames into a transport ----------------------------------------------------


class _App(MessagingHandler):
    """A default application: opens what the peer opens, decodes and accepts messages."""

    def __init__(self) -> None:
        super().__init__(prefetch=5)
        self.errors: list[Any] = []
        self.peer_closed = False

    def on_connection_closing(self, event: Any) -> None:
        """The peer said Close first: an orderly end."""
        self.peer_closed = True

    def on_connection_closed(self, event: Any) -> None:
        """Both sides said Close."""
        self.peer_closed = True

    def on_connection_error(self, event: Any) -> None:
        """The peer said Close with an error (the default handling prints it)."""
        self.peer_closed = True

    def on_transport_error(self, event: Any) -> None:
        """Record the condition (and let the default handling run)."""
        self.errors.append(event.transport.condition)
        super().on_transport_error(event)

    def on_message(self, event: Any) -> None:
        """Read the message as an application would."""
        repr(event.message.body)


def _pump(container: Container, transport: Transport) -> None:
    """Dispatch the queued events and throw away the transport's output, until neither is
    left (making output can queue events: a SASL failure is found then)."""
    while True:
        container._process_events()
        if transport._impl is None:
            return
        pending = transport.pending()
        if pending <= 0:
            container._process_events()
            return
        transport.pop(pending)


def _engine(data: bytes, server: bool, sasl: bool = False, chunk: int = 61) -> None:
    """Feed ``data`` into a server or client transport in ``chunk``-sized pieces, the way the
    container does (a socketless Channel), then end the input. Unless the peer sent Close, the
    connection must end with a condition, one TRANSPORT_ERROR and both ends closed (an open
    output would keep a socket open for ever); nothing may stay alive afterwards."""
    baseline = set(live)
    app = _App()
    container = Container(app)
    connection = Connection()
    connection.container = "fuzz"
    connection._container_obj = container
    lib.pn_connection_collect(connection._impl, container._collector)
    transport = Transport(Transport.SERVER if server else Transport.CLIENT)
    if sasl:
        mechs = transport.sasl()
        mechs.allowed_mechs("PLAIN ANONYMOUS SCRAM-SHA-256 SCRAM-SHA-1 DIGEST-MD5 CRAM-MD5")
        if not server:
            connection.user = "user"
            connection.password = "secret"
    transport.bind(connection)
    channel = Channel(container, transport, connection, None)
    container._channels[transport._impl] = channel
    if not server:
        connection.open()
        session = connection.session()
        session.open()
        session.sender("out").open()
        session.receiver("in").open()
    try:
        _pump(container, transport)
        for start in range(0, len(data), chunk):
            if transport._impl is None or transport.capacity() < 0:
                break
            transport.push(data[start:start + chunk])
            _pump(container, transport)
            transport.tick(container.now)
        if transport._impl is not None and transport.capacity() >= 0:
            transport.close_tail()
            _pump(container, transport)
        if not app.peer_closed:
            if not app.errors:
                raise FuzzFailure("the input ended without Close and without a transport error")
            if transport._impl is not None and not transport.closed:
                raise FuzzFailure("the input ended without Close but the output stays open")
    finally:
        container._channels.pop(transport._impl, None)
        if transport._impl is not None and lib.pn_transport_connection(transport._impl) != NULL:
            transport.unbind()
            _pump(container, transport)
        channel.finish()
        connection.free()
        container._process_events()
    left = [wrapper for impl, wrapper in live.items() if impl not in baseline]
    if left:
        raise FuzzFailure(f"wrappers left alive: {left}")


def engine_server(data: bytes) -> None:
    """Bytes from a client into a server-side transport (no SASL layer)."""
    _engine(data, server=True)


def engine_client(data: bytes) -> None:
    """Bytes from a server into a client-side transport with open links (no SASL layer)."""
    _engine(data, server=False)


def sasl_client(data: bytes) -> None:
    """SASL frames from a server into a client transport with the Cyrus bridge installed."""
    _engine(data, server=False, sasl=True)


def sasl_server(data: bytes) -> None:
    """SASL frames from a client into a server transport with the Cyrus bridge installed."""
    _engine(data, server=True, sasl=True)


# ----- text -----------------------------------------------------------------------------------


def url_parse(text: str) -> None:
    """Parse ``text`` as a URL; a parsed URL must print and re-parse."""
    try:
        url = Url(text)
    except DOCUMENTED:
        return
    repr(url)
    url.port  # noqa: B018 - reading the property is the check
    again = Url(str(url))
    if str(again) != str(url):
        raise FuzzFailure(f"str(Url) does not round-trip: {str(url)!r} -> {str(again)!r}")


def connect_config(text: str) -> None:
    """Parse ``text`` as a connect.json file."""
    try:
        parse_connect_config(text, Path("connect.json"))
    except DOCUMENTED:
        return


BYTES_TARGETS: dict[str, Callable[[bytes], None]] = {
    "message_decode": message_decode,
    "data_decode": data_decode,
    "engine_server": engine_server,
    "engine_client": engine_client,
    "sasl_client": sasl_client,
    "sasl_server": sasl_server,
}
TEXT_TARGETS: dict[str, Callable[[str], None]] = {
    "url_parse": url_parse,
    "connect_config": connect_config,
}


# ----- hypothesis strategies: structured inputs -----------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(0, 255).map(w.UByte),
    st.integers(0, 65535).map(w.UShort),
    st.integers(0, 2**32 - 1).map(w.UInt),
    st.integers(0, 2**64 - 1).map(w.ULong),
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.text("abcxyz:-.", max_size=12).map(w.Sym),
)
values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.text(max_size=5), st.text("ab", max_size=5).map(w.Sym)),
                        inner, max_size=4),
        st.builds(w.Described, st.integers(0, 0x80).map(w.ULong), inner),
    ),
    max_leaves=12,
)

# Fields that make a performative plausible, so mutations reach the engine's deeper states.
_TYPICAL = {
    w.OPEN: ["hostile", None, w.UInt(65536), w.UShort(7)],
    w.BEGIN: [w.UShort(0), w.UInt(0), w.UInt(100), w.UInt(100), w.UInt(3)],
    w.ATTACH: ["in", w.UInt(0), False, w.UByte(0), w.UByte(0),
               w.Described(w.ULong(w.SOURCE), ["q"]), w.Described(w.ULong(w.TARGET), ["q"]),
               None, None, w.UInt(0)],
    w.FLOW: [w.UInt(0), w.UInt(100), w.UInt(0), w.UInt(100), w.UInt(0), w.UInt(0), w.UInt(10)],
    w.TRANSFER: [w.UInt(0), w.UInt(0), b"t", w.UInt(0), False, False],
    w.DISPOSITION: [True, w.UInt(0), w.UInt(0), True, w.Described(w.ULong(w.ACCEPTED), [])],
    w.DETACH: [w.UInt(0), True],
    w.END: [],
    w.CLOSE: [],
}


@st.composite
def _performative(draw: Any) -> bytes:
    code = draw(st.sampled_from(sorted(_TYPICAL)) | st.integers(0, 0x80))
    fields = list(_TYPICAL.get(code, []))
    for i in range(len(fields)):
        if draw(st.integers(0, 5)) == 0:
            fields[i] = draw(values)
    fields += draw(st.lists(values, max_size=2))
    return w.performative(code, *fields)


@st.composite
def amqp_frames(draw: Any) -> bytes:
    """An AMQP header and a run of frames with plausible, mutated performatives (and now and
    then a truncated, resized or garbage frame)."""
    out = [draw(st.sampled_from([w.AMQP_HEADER] * 6 + [w.SASL_HEADER, b"AMQP\x00\x01\x00"]))]
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            out.append(draw(st.binary(max_size=40)))
            continue
        payload = w.message(draw(st.text(max_size=30))) if draw(st.booleans()) else b""
        if draw(st.integers(0, 7)) == 0:
            payload = draw(st.binary(max_size=30))
        body = draw(_performative())
        channel = draw(st.sampled_from([0, 0, 0, 1, 7, 65535]))
        frame = w.frame(body, channel, payload=payload)
        if kind == 1:
            frame = frame[: draw(st.integers(0, len(frame)))]
        elif kind == 2:
            size = draw(st.integers(0, 2**32 - 1))
            frame = size.to_bytes(4, "big") + frame[4:]
        elif kind == 3:
            frame = frame[:4] + bytes([draw(st.integers(0, 255))]) + frame[5:]
        out.append(frame)
    return b"".join(out)


_MECHANISMS = ["PLAIN", "ANONYMOUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5",
               "GSSAPI", "EXTERNAL", "X-NONE", ""]


@st.composite
def sasl_frames(draw: Any) -> bytes:
    """A SASL header and SASL frames: mechanisms, challenges (random bytes), outcomes, inits,
    responses, with a random frame now and then; sometimes an AMQP header and open after."""
    out = [w.SASL_HEADER]
    offered = draw(st.lists(st.sampled_from(_MECHANISMS), min_size=0, max_size=4))
    out.append(w.sasl_mechanisms_frame(*offered))
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.integers(0, 5))
        blob = draw(st.binary(max_size=64))
        if kind == 0:
            out.append(w.sasl_challenge_frame(blob))
        elif kind == 1:
            out.append(w.sasl_outcome_frame(draw(st.integers(0, 255)), blob or None))
        elif kind == 2:
            mech = w.Sym(draw(st.sampled_from(_MECHANISMS)))
            init = w.performative(w.SASL_INIT, mech, blob, draw(st.text(max_size=10)))
            out.append(w.frame(init, kind=w.FRAME_SASL))
        elif kind == 3:
            out.append(w.frame(w.performative(w.SASL_RESPONSE, blob), kind=w.FRAME_SASL))
        elif kind == 4:
            code = draw(st.integers(0x40, 0x44))
            fields = draw(st.lists(values, max_size=3))
            out.append(w.frame(w.performative(code, *fields), kind=w.FRAME_SASL))
        else:
            out.append(blob)
    if draw(st.booleans()):
        out += [w.AMQP_HEADER, w.open_frame()]
    return b"".join(out)


@st.composite
def encoded_messages(draw: Any) -> bytes:
    """Message sections (header, annotations, properties, body ...) with random contents."""
    sections = []
    for _ in range(draw(st.integers(0, 5))):
        code = draw(st.sampled_from([0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78]))
        if code in (0x70, 0x73):
            content: Any = draw(st.lists(values, max_size=13))
        elif code in (0x71, 0x72, 0x74, 0x78):
            content = draw(st.dictionaries(st.text(max_size=5).map(w.Sym) | _scalars, values,
                                           max_size=3))
        elif code == 0x75:
            content = draw(st.binary(max_size=20))
        elif code == 0x76:
            content = draw(st.lists(values, max_size=4))
        else:
            content = draw(values)
        sections.append(w.encode(w.Described(w.ULong(code), content)))
    blob = b"".join(sections)
    if draw(st.integers(0, 4)) == 0:
        blob = blob[: draw(st.integers(0, len(blob)))]
    return blob


def _urls() -> st.SearchStrategy[str]:
    part = st.text("abc:@/[]%.-_1:é\x00 ", max_size=8)
    return st.builds(
        lambda scheme, user, host, port, path: f"{scheme}{user}{host}{port}{path}",
        st.sampled_from(["", "amqp://", "amqps://", "http://", "amqp:/", "://"]),
        st.one_of(st.just(""), part.map(lambda u: f"{u}@")),
        st.one_of(st.sampled_from(["localhost", "127.0.0.1", "[::1]", "::1", "[::1", "é.example"]),
                  part),
        st.one_of(st.just(""), st.integers(-5, 70000).map(lambda p: f":{p}"),
                  part.map(lambda p: f":{p}")),
        st.one_of(st.just(""), part.map(lambda p: f"/{p}")),
    )


_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                          st.floats(allow_nan=False), st.text(max_size=10))
_json = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
_CONFIG_KEYS = ["scheme", "host", "port", "user", "password", "sasl", "tls", "enabled",
                "mechanisms", "allow_insecure", "ca", "cert", "key", "verify"]


def _config_texts() -> st.SearchStrategy[str]:
    section = st.dictionaries(st.sampled_from(_CONFIG_KEYS), _json, max_size=4)
    document = st.dictionaries(st.sampled_from(_CONFIG_KEYS), _json | section, max_size=6)
    return st.one_of(
        document.map(json.dumps),
        document.map(lambda d: "// comment\n" + json.dumps(d) + "/* end */"),
        st.text(max_size=60),
    )


STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "message_decode": encoded_messages() | st.binary(max_size=200),
    "data_decode": values.map(w.encode) | st.binary(max_size=200),
    "engine_server": amqp_frames() | st.binary(max_size=200),
    "engine_client": amqp_frames(),
    "sasl_client": sasl_frames(),
    "sasl_server": sasl_frames(),
    "url_parse": _urls() | st.text(max_size=40),
    "connect_config": _config_texts(),
}
TARGETS: dict[str, Callable[[Any], None]] = {**BYTES_TARGETS, **TEXT_TARGETS}
