"""The Cyrus SASL bridge (proton_ext/csrc/cyrus_sasl.c) against real Cyrus and a real sasldb.

A client and a server ``pn_transport`` are joined in memory (bytes shuttled in Python), both with
the bridge installed, and the test looks at what a user would: the mechanism chosen, the user the
server authenticated, the condition on a failed connection. Cyrus configures its server side once
per process, so one sasldb (a module fixture) serves every test; each test narrows what the
server offers with ``pn_sasl_allowed_mechs`` on the server transport.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from proton_ext import ffi, lib
from tests.peers.kdc import Kdc
from tests.peers.sasldb import SaslDb

# Sets the process's Cyrus server configuration: runs before any test accepts a connection
# (tests/conftest.py).
pytestmark = pytest.mark.cyrus_server_config

PASSWORD = "s3cret-Pa55"
CONTAINER_IDS = {False: b"amqx-client-container", True: b"amqx-server-container"}
AMQP_HEADER = b"AMQP\x00\x01\x00\x00"
ALL_MECHS = (
    "GSSAPI",
    "SCRAM-SHA-256",
    "SCRAM-SHA-1",
    "DIGEST-MD5",
    "CRAM-MD5",
    "PLAIN",
    "ANONYMOUS",
)


def text(ptr: object) -> str | None:
    """A C string as str (None for NULL)."""
    return None if ptr == ffi.NULL else ffi.string(ptr).decode()


class Side:
    """One end: a connection, its collector and a transport carrying the Cyrus bridge."""

    def __init__(
        self,
        server: bool,
        allowed: str | None = None,
        insecure: bool = False,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        """Build the objects and bind them; credentials go on the connection before binding."""
        self.connection = lib.pn_connection()
        self.collector = lib.pn_collector()
        lib.pn_connection_collect(self.connection, self.collector)
        lib.pn_connection_set_container(self.connection, CONTAINER_IDS[server])
        if not server:
            lib.pn_connection_set_hostname(self.connection, b"localhost")
        if user is not None:
            lib.pn_connection_set_user(self.connection, user.encode())
        if password is not None:
            lib.pn_connection_set_password(self.connection, password.encode())
        self.transport = lib.pn_transport()
        if server:
            lib.pn_transport_set_server(self.transport)
        assert lib.amqx_cyrus_install(self.transport) == 0, text(lib.amqx_cyrus_last_error())
        self.sasl = lib.pn_sasl(self.transport)
        if allowed is not None:
            lib.pn_sasl_allowed_mechs(self.sasl, allowed.encode())
        lib.pn_sasl_set_allow_insecure_mechs(self.sasl, insecure)
        assert lib.pn_transport_bind(self.transport, self.connection) == 0
        self.events: list[int] = []
        self.sent = bytearray()

    def drain(self) -> None:
        """Record the collector's events; a server answers the client's open with its own."""
        while True:
            event = lib.pn_collector_peek(self.collector)
            if event == ffi.NULL:
                return
            kind = lib.pn_event_type(event)
            self.events.append(kind)
            if kind == lib.PN_CONNECTION_REMOTE_OPEN and lib.pn_transport_is_authenticated(
                self.transport
            ):
                lib.pn_connection_open(self.connection)
            lib.pn_collector_pop(self.collector)

    def condition(self) -> tuple[str | None, str | None]:
        """The transport condition's name and description."""
        cond = lib.pn_transport_condition(self.transport)
        if not lib.pn_condition_is_set(cond):
            return None, None
        return (
            text(lib.pn_condition_get_name(cond)),
            text(lib.pn_condition_get_description(cond)),
        )

    def mech(self) -> str | None:
        """The SASL mechanism this end settled on."""
        return text(lib.pn_sasl_get_mech(self.sasl))

    def user(self) -> str | None:
        """The user this end's transport reports (the authenticated user on a server)."""
        return text(lib.pn_transport_get_user(self.transport))

    def free(self) -> None:
        """Free the C objects, transport first (that is when the bridge's free runs)."""
        lib.pn_transport_unbind(self.transport)
        lib.pn_transport_free(self.transport)
        lib.pn_connection_free(self.connection)
        lib.pn_collector_free(self.collector)


def _move(source: Side, sink: Side) -> int:
    """Move all pending output bytes of `source` into `sink`; returns how many moved."""
    moved = 0
    while True:
        pending = lib.pn_transport_pending(source.transport)
        if pending <= 0:
            if pending < 0:
                lib.pn_transport_close_tail(sink.transport)
            return moved
        data = ffi.buffer(lib.pn_transport_head(source.transport), pending)[:]
        lib.pn_transport_pop(source.transport, pending)
        source.sent += data
        pushed = lib.pn_transport_push(sink.transport, data, len(data))
        if pushed < 0:
            return moved
        moved += pending


def connect(client: Side, server: Side, rounds: int = 50) -> None:
    """Open the client's connection and shuttle bytes until neither side has more to say."""
    lib.pn_connection_open(client.connection)
    for _ in range(rounds):
        moved = _move(client, server)
        server.drain()
        moved += _move(server, client)
        client.drain()
        if not moved:
            return


def opened(side: Side) -> bool:
    """Whether the other end's AMQP open reached this side."""
    return lib.PN_CONNECTION_REMOTE_OPEN in side.events


@pytest.fixture(scope="module")
def sasldb() -> Iterator[SaslDb]:
    """One sasldb and config for the process (Cyrus reads server configuration only once)."""
    with SaslDb(mechs=ALL_MECHS) as db:
        assert lib.amqx_cyrus_set_config(str(db.dir).encode(), db.app.encode()) == 0, text(
            lib.amqx_cyrus_last_error()
        )
        db.add_user("alice", PASSWORD)
        db.add_user("bob", "another-one")
        yield db


@pytest.fixture
def pairs() -> Iterator[list[tuple[Side, Side]]]:
    """Pairs a test made, freed afterwards."""
    made: list[tuple[Side, Side]] = []
    yield made
    for client, server in made:
        client.free()
        server.free()


def make_pair(
    pairs: list[tuple[Side, Side]],
    server_allowed: str | None,
    client_allowed: str | None = None,
    user: str | None = None,
    password: str | None = None,
    insecure: bool = False,
) -> tuple[Side, Side]:
    """A connected client/server pair; insecure mechanisms allowed on both ends when asked."""
    client = Side(False, client_allowed, insecure, user, password)
    server = Side(True, server_allowed, insecure)
    pairs.append((client, server))
    connect(client, server)
    return client, server


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5"])
def test_password_mechanism_authenticates(
    sasldb: SaslDb, pairs: list[tuple[Side, Side]], mech: str
) -> None:
    """Each hashed-password mechanism logs alice in and the server reports her name."""
    login = f"alice@{sasldb.realm}"
    client, server = make_pair(pairs, mech, user=login, password=PASSWORD)
    assert server.condition() == (None, None)
    assert client.condition() == (None, None)
    assert opened(server) and opened(client)
    assert client.mech() == mech and server.mech() == mech
    assert server.user() == login


def test_digest_md5_security_layer(sasldb: SaslDb, pairs: list[tuple[Side, Side]]) -> None:
    """On a cleartext link DIGEST-MD5 negotiates confidentiality and the frames still get through.

    Cyrus's layer (sasl_encode / sasl_decode) then wraps every AMQP frame after the SASL outcome,
    so neither the AMQP header nor the open frames' container ids cross the wire in clear.
    """
    client, server = make_pair(pairs, "DIGEST-MD5", user=f"alice@{sasldb.realm}", password=PASSWORD)
    assert opened(server) and opened(client)
    for side in (client, server):
        assert AMQP_HEADER not in side.sent
        assert CONTAINER_IDS[side is server] not in side.sent


def test_scram_has_no_security_layer(sasldb: SaslDb, pairs: list[tuple[Side, Side]]) -> None:
    """SCRAM has no layer: the AMQP frames after the outcome are plain (TLS is the way there)."""
    client, server = make_pair(
        pairs, "SCRAM-SHA-1", user=f"alice@{sasldb.realm}", password=PASSWORD
    )
    assert opened(server)
    assert AMQP_HEADER in client.sent and CONTAINER_IDS[False] in client.sent


def test_plain_needs_insecure_allowed(sasldb: SaslDb, pairs: list[tuple[Side, Side]]) -> None:
    """PLAIN over a cleartext link works when insecure mechanisms are allowed on both ends."""
    login = f"alice@{sasldb.realm}"
    client, server = make_pair(pairs, "PLAIN", user=login, password=PASSWORD, insecure=True)
    assert opened(server) and opened(client)
    assert server.mech() == "PLAIN" and server.user() == login


def test_plain_refused_without_insecure(sasldb: SaslDb, pairs: list[tuple[Side, Side]]) -> None:
    """Without allow_insecure_mechs the client will not send a password in clear, and says why."""
    client, server = make_pair(
        pairs, "PLAIN", user=f"alice@{sasldb.realm}", password=PASSWORD, insecure=False
    )
    assert not opened(server)
    name, description = client.condition()
    assert name == "amqp:unauthorized-access"
    assert description is not None and PASSWORD not in description


def test_plain_offered_only_when_insecure_allowed(
    sasldb: SaslDb, pairs: list[tuple[Side, Side]]
) -> None:
    """The client allows PLAIN and insecure mechanisms, but the server will not offer it."""
    client = Side(False, "PLAIN", True, f"alice@{sasldb.realm}", PASSWORD)
    server = Side(True, None, False)
    pairs.append((client, server))
    connect(client, server)
    assert not opened(server)
    name, description = client.condition()
    assert name == "amqp:unauthorized-access"
    assert description is not None and "Authentication failed" in description
    assert lib.PN_TRANSPORT_AUTHENTICATED not in server.events


def test_anonymous(sasldb: SaslDb, pairs: list[tuple[Side, Side]]) -> None:
    """With no credentials the client uses ANONYMOUS and the server lets it in as anonymous."""
    client, server = make_pair(pairs, "ANONYMOUS SCRAM-SHA-256")
    assert opened(server) and opened(client)
    assert client.mech() == "ANONYMOUS" and server.mech() == "ANONYMOUS"
    assert server.user() == "anonymous"


def test_strongest_offered_mechanism_is_chosen(
    sasldb: SaslDb, pairs: list[tuple[Side, Side]]
) -> None:
    """Offered everything, a client with a password and no Kerberos ticket uses SCRAM-SHA-256.

    Cyrus ranks GSSAPI first; without a ticket it cannot start, so the bridge lets Cyrus pick
    again from the rest.
    """
    client, server = make_pair(
        pairs, None, user=f"alice@{sasldb.realm}", password=PASSWORD, insecure=True
    )
    assert opened(server)
    assert client.mech() == "SCRAM-SHA-256" == server.mech()


def test_client_allowed_list_limits_the_choice(
    sasldb: SaslDb, pairs: list[tuple[Side, Side]]
) -> None:
    """The client's allowed mechanisms filter the server's list before Cyrus picks."""
    client, server = make_pair(
        pairs, None, "SCRAM-SHA-1 PLAIN", user=f"alice@{sasldb.realm}", password=PASSWORD
    )
    assert opened(server)
    assert client.mech() == "SCRAM-SHA-1" == server.mech()


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "DIGEST-MD5", "PLAIN"])
def test_wrong_password_is_unauthorized(
    sasldb: SaslDb, pairs: list[tuple[Side, Side]], mech: str
) -> None:
    """A wrong password fails on both ends with amqp:unauthorized-access; no password in text."""
    wrong = "not-the-Pa55word"
    client, server = make_pair(
        pairs, mech, user=f"alice@{sasldb.realm}", password=wrong, insecure=True
    )
    assert not opened(server) and not opened(client)
    name, description = client.condition()
    assert name == "amqp:unauthorized-access"
    assert description is not None and mech in description
    assert wrong not in description and PASSWORD not in description
    server_name, server_description = server.condition()
    assert server_name == "amqp:unauthorized-access"
    assert server_description is not None and wrong not in server_description


def test_unknown_user_is_unauthorized(sasldb: SaslDb, pairs: list[tuple[Side, Side]]) -> None:
    """A user missing from the sasldb fails like a wrong password."""
    client, _ = make_pair(pairs, "SCRAM-SHA-256", user=f"carol@{sasldb.realm}", password="x")
    assert client.condition()[0] == "amqp:unauthorized-access"


def test_missing_plugin_names_the_package(sasldb: SaslDb) -> None:
    """A mechanism with no Cyrus plug-in here is reported with the package that provides it."""
    buffer = ffi.new("char[]", 1024)
    installed = ffi.new("char[]", 1024)
    assert lib.amqx_cyrus_client_mechs(installed, len(installed)) > 0
    assert "OTP" not in ffi.string(installed).decode().split()
    assert lib.amqx_cyrus_missing_mechs(b"SCRAM-SHA-256 OTP", buffer, len(buffer)) == 1
    message = ffi.string(buffer).decode()
    assert "OTP" in message and "libsasl2-modules-otp" in message
    assert "SCRAM" not in message
    assert "cyrus-sasl-gssapi" in (text(lib.amqx_cyrus_mech_package(b"GSSAPI")) or "")


def _sasl_mechanisms_frame(*mechs: str) -> bytes:
    """A SASL layer header and a sasl-mechanisms frame offering `mechs` (AMQP 1.0, 5.3.3.1)."""
    elements = b"".join(bytes([len(m)]) + m.encode() for m in mechs)
    field = b"\xe0" + bytes([len(elements) + 2, len(mechs)]) + b"\xa3" + elements
    body = b"\x00\x53\x40\xc0" + bytes([len(field) + 1, 1]) + field
    frame = (8 + len(body)).to_bytes(4, "big") + b"\x02\x01\x00\x00" + body
    return b"AMQP\x03\x01\x00\x00" + frame


def test_offered_mechanism_without_plugin_names_the_package(
    sasldb: SaslDb, pairs: list[tuple[Side, Side]]
) -> None:
    """A server offering only OTP, which the client allows but lacks: the error names it."""
    client = Side(False, "OTP", False, f"alice@{sasldb.realm}", PASSWORD)
    server = Side(True)
    pairs.append((client, server))
    lib.pn_connection_open(client.connection)
    data = _sasl_mechanisms_frame("OTP", "SRP")
    assert lib.pn_transport_push(client.transport, data, len(data)) == len(data)
    client.drain()
    name, description = client.condition()
    assert name == "amqp:unauthorized-access"
    assert description is not None
    assert "no Cyrus SASL plug-in for OTP" in description
    assert "libsasl2-modules-otp" in description and PASSWORD not in description


def test_server_mechanism_list(sasldb: SaslDb) -> None:
    """The diagnose call lists what the server configuration offers."""
    buffer = ffi.new("char[]", 1024)
    assert lib.amqx_cyrus_server_mechs(buffer, len(buffer)) > 0
    offered = set(ffi.string(buffer).decode().split())
    assert set(ALL_MECHS) <= offered
    assert lib.amqx_cyrus_set_config(b"/elsewhere", b"other") == -1
    assert "already initialised" in (text(lib.amqx_cyrus_last_error()) or "")


@pytest.fixture
def kdc(monkeypatch: pytest.MonkeyPatch) -> Iterator[Kdc]:
    """A realm on a loopback KDC, its environment in force for this test only."""
    with Kdc() as realm:
        for name, value in realm.env.items():
            monkeypatch.setenv(name, value)
        yield realm


def test_gssapi_with_a_ticket(sasldb: SaslDb, kdc: Kdc, pairs: list[tuple[Side, Side]]) -> None:
    """With a ticket from a real KDC, GSSAPI logs the principal in; no password is involved.

    Proton leaves GSSAPI out unless the client's allowed mechanisms name it. Cyrus strips the
    server's own realm from the user name.
    """
    granted = kdc.kinit()
    assert granted.returncode == 0, granted.stderr
    client, server = make_pair(pairs, "GSSAPI SCRAM-SHA-256", "GSSAPI SCRAM-SHA-256")
    assert client.condition() == (None, None) and server.condition() == (None, None)
    assert opened(server) and opened(client)
    assert client.mech() == "GSSAPI" == server.mech()
    assert server.user() == "alice"


def test_gssapi_without_a_ticket_falls_back(
    sasldb: SaslDb, kdc: Kdc, pairs: list[tuple[Side, Side]]
) -> None:
    """Cyrus ranks GSSAPI first; with no ticket the bridge lets it pick again from the rest."""
    both = "GSSAPI SCRAM-SHA-256"
    client, server = make_pair(pairs, both, both, f"alice@{sasldb.realm}", PASSWORD)
    assert opened(server)
    assert client.mech() == "SCRAM-SHA-256" == server.mech()


def test_gssapi_without_a_ticket_says_why(
    sasldb: SaslDb, kdc: Kdc, pairs: list[tuple[Side, Side]]
) -> None:
    """Without a ticket and with nothing else allowed, the error carries Kerberos's reason."""
    client, server = make_pair(pairs, "GSSAPI", "GSSAPI")
    assert not opened(server)
    name, description = client.condition()
    assert name == "amqp:unauthorized-access"
    assert description is not None and "GSSAPI" in description
    assert "credentials" in description
