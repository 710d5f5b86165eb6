"""SASL through the Container: every way a user names credentials and mechanisms (seed 5.4.2,
5.4.3), against our own listener and python-qpid-proton's, both authenticating with Cyrus SASL
and a real sasldb made by saslpasswd2.

Cyrus keeps one server configuration per process and pytest runs every file in one process, so
the listeners run as subprocesses (tests/peers/secure_listener.py), one per library and per
transport (plain TCP, TLS), started once for the module. The client is amq_python, in this
process; each test checks what the client's handler saw and what the listener recorded for that
connection (found by the client's container id).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from amq_python import SSLDomain, UnavailableError, Url
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.helpers import run
from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import certs  # noqa: F401  (a fixture)
from tests.peers.sasldb import SaslDb
from tests.peers.secure_client import Outcome, attempt
from tests.peers.secure_listener import SecureListener

PASSWORD = "Pa55-w0rd-in-sasldb"
WRONG = "not-her-Pa55word"
MECHS = ("SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5", "PLAIN", "ANONYMOUS")
LIBRARIES = ("amq_python", "proton")


@pytest.fixture(scope="module")
def sasldb() -> Iterator[SaslDb]:
    """The listeners' Cyrus configuration (app proton-server) with alice in realm AMQX.TEST."""
    with SaslDb(mechs=MECHS) as db:
        db.add_user("alice", PASSWORD)
        yield db


@pytest.fixture(scope="module")
def login(sasldb: SaslDb) -> str:
    """alice's login name."""
    return f"alice@{sasldb.realm}"


@pytest.fixture(scope="module")
def listeners(sasldb: SaslDb, certs: Certs) -> Iterator[dict[tuple[str, str], SecureListener]]:  # noqa: F811
    """A listener per (library, "amqp" or "amqps"), all reading the module's sasldb."""
    started: dict[tuple[str, str], SecureListener] = {}
    try:
        for library in LIBRARIES:
            started[library, "amqp"] = SecureListener(
                library, sasl_dir=str(sasldb.dir), sasl_name=sasldb.app
            )
            started[library, "amqps"] = SecureListener(
                library, cert=str(certs.server_cert), key=str(certs.server_key),
                sasl_dir=str(sasldb.dir), sasl_name=sasldb.app,
            )
        yield started
    finally:
        for listener in started.values():
            listener.close()
    for listener in started.values():
        output = "".join(listener.output)
        assert PASSWORD not in output and WRONG not in output


@pytest.fixture
def trust(certs: Certs) -> SSLDomain:  # noqa: F811
    """A client domain trusting the test CA (host name checked: connect to localhost)."""
    domain = SSLDomain(SSLDomain.MODE_CLIENT)
    domain.set_trusted_ca_db(str(certs.ca_cert))
    return domain


def url_of(listeners: dict[tuple[str, str], SecureListener], library: str, scheme: str) -> str:
    """The URL of one listener."""
    return f"{scheme}://{listeners[library, scheme].address}"


def assert_no_secret(outcome: Outcome, *more: str) -> None:
    """Neither password appears in anything the client saw."""
    for text in outcome.texts() + list(more):
        assert PASSWORD not in text and WRONG not in text, text


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "PLAIN"])
def test_mechanism_authenticates(
    listeners: dict[tuple[str, str], SecureListener], trust: SSLDomain, login: str,
    library: str, mech: str,
) -> None:
    """Each password mechanism logs alice in, on ours and on python-qpid-proton's listener.

    PLAIN sends the password itself, so it goes over TLS (python-qpid-proton's listener does not
    offer it on plain TCP); the others run on plain TCP.
    """
    scheme = "amqps" if mech == "PLAIN" else "amqp"
    outcome = attempt(url_of(listeners, library, scheme), user=login, password=PASSWORD,
                      allowed_mechs=mech, ssl_domain=trust)
    assert outcome.errors == [] and outcome.opened
    assert outcome.mech == mech
    seen = listeners[library, scheme].opened(outcome.container_id)
    assert seen is not None
    assert (seen["user"], seen["mech"], seen["authenticated"]) == (login, mech, True)
    assert_no_secret(outcome)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "DIGEST-MD5", "PLAIN"])
def test_wrong_password_is_unauthorized_and_final(
    listeners: dict[tuple[str, str], SecureListener], trust: SSLDomain, login: str,
    library: str, mech: str, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
) -> None:
    """A wrong password reaches on_transport_error as amqp:unauthorized-access with the reason,
    once: with reconnect on (the default), the client does not try again. No password shows in
    the condition, the logs, stderr or the connection's repr."""
    caplog.set_level(logging.DEBUG)
    scheme = "amqps" if mech == "PLAIN" else "amqp"
    outcome = attempt(url_of(listeners, library, scheme), user=login, password=WRONG,
                      allowed_mechs=mech, ssl_domain=trust, reconnect=None)
    assert not outcome.opened
    assert outcome.transports == 1
    assert len(outcome.errors) == 1
    name, description = outcome.errors[0]
    assert name == "amqp:unauthorized-access"
    assert description is not None and mech in description and login in description
    captured = capfd.readouterr()
    assert_no_secret(outcome, caplog.text, captured.out, captured.err)


def test_unknown_user_is_unauthorized(listeners: dict[tuple[str, str], SecureListener]) -> None:
    """A user missing from the sasldb fails like a wrong password; the listener says so too."""
    listener = listeners["amq_python", "amqp"]
    outcome = attempt(url_of(listeners, "amq_python", "amqp"), user="carol@AMQX.TEST",
                      password=PASSWORD)
    assert [name for name, _ in outcome.errors] == ["amqp:unauthorized-access"]
    assert any(error["name"] == "amqp:unauthorized-access" for error in listener.errors())


def test_credentials_in_the_url(
    listeners: dict[tuple[str, str], SecureListener], login: str
) -> None:
    """``user:password@`` in the URL (the @ of the login percent-encoded) authenticates, and the
    password shows neither in repr(Url) nor repr(connection)."""
    address = listeners["amq_python", "amqp"].address
    url = f"amqp://{login.replace('@', '%40')}:{PASSWORD}@{address}"
    outcome = attempt(url)
    assert outcome.opened and outcome.mech == "SCRAM-SHA-256"
    seen = listeners["amq_python", "amqp"].opened(outcome.container_id)
    assert seen is not None and seen["user"] == login
    assert PASSWORD not in repr(Url(url))
    assert_no_secret(outcome, repr(Url(url)))


def test_container_wide_credentials(
    listeners: dict[tuple[str, str], SecureListener], login: str
) -> None:
    """``container.user`` / ``container.password`` apply when connect() names none."""

    def setup(container: Container) -> None:
        container.user = login
        container.password = PASSWORD

    outcome = attempt(url_of(listeners, "amq_python", "amqp"), setup=setup)
    assert outcome.opened and outcome.mech == "SCRAM-SHA-256"


@pytest.mark.parametrize("library", LIBRARIES)
def test_strongest_common_mechanism_is_chosen(
    listeners: dict[tuple[str, str], SecureListener], login: str, library: str
) -> None:
    """With no allowed_mechs the strongest mechanism both ends have is used (SCRAM-SHA-256:
    the listeners offer nothing stronger); allowing fewer picks the strongest of those."""
    url = url_of(listeners, library, "amqp")
    assert attempt(url, user=login, password=PASSWORD).mech == "SCRAM-SHA-256"
    as_list = attempt(url, user=login, password=PASSWORD,
                      allowed_mechs=["PLAIN", "DIGEST-MD5", "SCRAM-SHA-1"])
    assert as_list.mech == "SCRAM-SHA-1"
    as_string = attempt(url, user=login, password=PASSWORD, allowed_mechs="CRAM-MD5 DIGEST-MD5")
    assert as_string.mech == "DIGEST-MD5"


@pytest.mark.parametrize("library", LIBRARIES)
def test_allowed_mechs_anonymous_forces_anonymous(
    listeners: dict[tuple[str, str], SecureListener], library: str
) -> None:
    """The seed's example: allowed_mechs="ANONYMOUS" although the server offers SCRAM and more."""
    outcome = attempt(url_of(listeners, library, "amqp"), allowed_mechs="ANONYMOUS")
    assert outcome.opened and outcome.mech == "ANONYMOUS"
    seen = listeners[library, "amqp"].opened(outcome.container_id)
    assert seen is not None and (seen["mech"], seen["user"]) == ("ANONYMOUS", "anonymous")


def test_insecure_mechanism_needs_permission(
    listeners: dict[tuple[str, str], SecureListener], login: str
) -> None:
    """PLAIN on plain TCP: refused by the client with allow_insecure_mechs=False (the password
    is never sent), used when allowed (our listener allows it too)."""
    url = url_of(listeners, "amq_python", "amqp")
    refused = attempt(url, user=login, password=PASSWORD, allowed_mechs="PLAIN",
                      allow_insecure_mechs=False)
    assert not refused.opened
    assert [name for name, _ in refused.errors] == ["amqp:unauthorized-access"]
    assert_no_secret(refused)
    allowed = attempt(url, user=login, password=PASSWORD, allowed_mechs="PLAIN",
                      allow_insecure_mechs=True)
    assert allowed.opened and allowed.mech == "PLAIN" and not allowed.encrypted


def test_no_common_mechanism_says_what_to_do(
    listeners: dict[tuple[str, str], SecureListener]
) -> None:
    """Allowing only EXTERNAL (which a plain-TCP listener cannot offer): the error names the
    client's allowed mechanisms and what to change, instead of the engine's bare [mech=none]."""
    outcome = attempt(url_of(listeners, "amq_python", "amqp"), allowed_mechs="EXTERNAL")
    [(name, description)] = outcome.errors
    assert name == "amqp:unauthorized-access"
    assert description is not None and "(EXTERNAL)" in description
    assert "widen allowed_mechs" in description


def test_sasl_disabled_on_both_ends() -> None:
    """sasl_enabled=False: no SASL layer at all, against a listener with SASL off too."""
    with SecureListener("amq_python", no_sasl=True) as listener:
        outcome = attempt(f"amqp://{listener.address}", sasl_enabled=False)
        assert outcome.opened and outcome.mech is None
        seen = listener.opened(outcome.container_id)
        assert seen is not None and seen["mech"] is None and not seen["authenticated"]


def test_mechanism_without_plugin_names_the_package(
    listeners: dict[tuple[str, str], SecureListener], caplog: pytest.LogCaptureFixture
) -> None:
    """allowed_mechs naming only mechanisms with no installed Cyrus plug-in fails at connect()
    with UnavailableError naming each and its package; the password stays out of it."""
    caplog.set_level(logging.DEBUG)
    container = Container()
    with pytest.raises(UnavailableError) as raised:
        container.connect(url_of(listeners, "amq_python", "amqp"), user="alice",
                          password=PASSWORD, allowed_mechs="OTP SRP")
    message = str(raised.value)
    assert "OTP" in message and "libsasl2-modules-otp" in message and "SRP" in message
    assert PASSWORD not in message and PASSWORD not in caplog.text


def test_proton_client_to_our_listener(
    listeners: dict[tuple[str, str], SecureListener], login: str
) -> None:
    """python-qpid-proton's client (its own Cyrus) logs in to our listener with SCRAM-SHA-256."""
    from proton.handlers import MessagingHandler as ProtonHandler
    from proton.reactor import Container as ProtonContainer

    class Once(ProtonHandler):
        def __init__(self) -> None:
            super().__init__()
            self.mech: str | None = None

        def on_start(self, event: object) -> None:
            event.container.connect(  # type: ignore[attr-defined]
                url_of(listeners, "amq_python", "amqp"), user=login, password=PASSWORD,
                allowed_mechs="SCRAM-SHA-256", reconnect=False)

        def on_connection_opened(self, event: object) -> None:
            self.mech = event.transport.sasl().mech  # type: ignore[attr-defined]
            event.connection.close()  # type: ignore[attr-defined]

    handler = Once()
    container = ProtonContainer(handler, container_id="proton-client-scram")
    container.timeout = 5.0
    container.run()
    assert handler.mech == "SCRAM-SHA-256"
    seen = listeners["amq_python", "amqp"].opened("proton-client-scram")
    assert seen is not None and (seen["user"], seen["mech"]) == (login, "SCRAM-SHA-256")


def test_reprs_hide_the_password(login: str) -> None:
    """Neither a connection nor a URL shows its password in repr (str(Url) keeps it: it is the
    URL to connect to, as in python-qpid-proton)."""

    class Probe(MessagingHandler):
        def on_start(self, event: object) -> None:
            connection = event.container.connect(  # type: ignore[attr-defined]
                f"amqp://alice:{PASSWORD}@127.0.0.1:1", reconnect=False)
            self.text = repr(connection) + repr(connection.transport)
            connection.close()

    probe = Probe()
    run(Container(probe), 5)
    assert PASSWORD not in probe.text
    assert PASSWORD not in repr(Url(f"amqps://{login}:{PASSWORD}@example.com"))
