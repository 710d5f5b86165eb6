"""TLS (seed 5.4.1): amqps with verification on by default, SSLDomain, client certificates and
SASL EXTERNAL, against our listener, python-qpid-proton's and RabbitMQ.

Certificates are made at test time (tests/peers/certs.py): a CA, a server certificate for
localhost (DNS:localhost, IP:127.0.0.1), a client certificate CN=amqp-client with a plain and a
password-protected key, and an unrelated CA. Listeners that authenticate run as subprocesses
(tests/peers/secure_listener.py: Cyrus's server side is per process); listeners without SASL
run in the test's own container.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from amq_python import SSLDomain, SSLException
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.helpers import run
from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import certs  # noqa: F401  (a fixture)
from tests.peers.ports import free_port
from tests.peers.rabbitmq import RabbitMQ
from tests.peers.sasldb import SaslDb
from tests.peers.secure_client import attempt
from tests.peers.secure_listener import SecureListener

PASSWORD = "tls-test-Pa55"
MECHS = ("SCRAM-SHA-256", "PLAIN", "ANONYMOUS", "EXTERNAL")


def client_domain(ca: Path | None = None, verify: int | None = None) -> SSLDomain:
    """A client domain trusting ``ca`` (if given), with ``verify`` mode (if given)."""
    domain = SSLDomain(SSLDomain.MODE_CLIENT)
    if ca is not None:
        domain.set_trusted_ca_db(str(ca))
    if verify is not None:
        domain.set_peer_authentication(verify, str(ca) if ca else None)
    return domain


@pytest.fixture(scope="module")
def sasldb() -> Iterator[SaslDb]:
    """The listeners' Cyrus configuration, with alice."""
    with SaslDb(mechs=MECHS) as db:
        db.add_user("alice", PASSWORD)
        yield db


@pytest.fixture(scope="module")
def listener(sasldb: SaslDb, certs: Certs) -> Iterator[SecureListener]:  # noqa: F811
    """Our TLS listener with the server certificate; it does not ask for client certificates."""
    with SecureListener(cert=str(certs.server_cert), key=str(certs.server_key),
                        sasl_dir=str(sasldb.dir), sasl_name=sasldb.app) as started:
        yield started


@pytest.fixture(scope="module")
def verifying_listeners(
    sasldb: SaslDb, certs: Certs  # noqa: F811
) -> Iterator[dict[str, SecureListener]]:
    """Ours and python-qpid-proton's TLS listener requiring client certificates signed by the
    test CA (VERIFY_PEER)."""
    started: dict[str, SecureListener] = {}
    try:
        for library in ("amq_python", "proton"):
            started[library] = SecureListener(
                library, cert=str(certs.server_cert), key=str(certs.server_key),
                ca=str(certs.ca_cert), sasl_dir=str(sasldb.dir), sasl_name=sasldb.app,
            )
        yield started
    finally:
        for listener in started.values():
            listener.close()


@pytest.fixture
def verifying(verifying_listeners: dict[str, SecureListener]) -> SecureListener:
    """Our verifying listener."""
    return verifying_listeners["amq_python"]


@pytest.fixture(scope="module")
def expired_cert(certs: Certs) -> tuple[Path, Path]:  # noqa: F811
    """A localhost certificate signed by the test CA that expired yesterday, and its key."""
    directory = certs.directory
    key, csr, cert = (directory / name for name in ("old-key.pem", "old.csr", "old.pem"))
    ext = directory / "old.ext"
    ext.write_text("subjectAltName=DNS:localhost\n")
    for argv in (
        ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr)],
        ["x509", "-req", "-in", str(csr), "-CA", str(certs.ca_cert), "-CAkey", str(certs.ca_key),
         "-set_serial", "9", "-days", "-1", "-extfile", str(ext), "-out", str(cert)],
    ):
        subprocess.run(["openssl", *argv], check=True, capture_output=True, timeout=30)
    return cert, key


def test_default_domain_verifies_against_system_cas(listener: SecureListener) -> None:
    """amqps with no ssl_domain uses the container's client domain: the system CAs do not
    know the test CA, so verification fails, and the error says what to do."""
    outcome = attempt(f"amqps://{listener.address}")
    assert not outcome.opened
    [(name, description)] = outcome.errors
    assert name == "amqp:connection:framing-error"
    assert description is not None and "certificate verify failed" in description
    assert "set_trusted_ca_db" in description and "system CAs" in description


def test_trusted_ca_connects_encrypted(listener: SecureListener, certs: Certs) -> None:  # noqa: F811
    """Trusting the test CA, amqps connects; both ends see an encrypted transport and the
    client sees the server certificate's subject."""
    outcome = attempt(f"amqps://{listener.address}", ssl_domain=client_domain(certs.ca_cert))
    assert outcome.errors == [] and outcome.opened and outcome.encrypted
    assert outcome.peer_subject == "CN=localhost"
    seen = listener.opened(outcome.container_id)
    assert seen is not None and seen["encrypted"]


def test_container_client_domain(listener: SecureListener, certs: Certs) -> None:  # noqa: F811
    """Configuring ``container.ssl.client`` once serves every amqps connect()."""

    def setup(container: Container) -> None:
        container.ssl.client.set_trusted_ca_db(str(certs.ca_cert))

    assert attempt(f"amqps://{listener.address}", setup=setup).opened


def test_wrong_ca_fails(listener: SecureListener, certs: Certs) -> None:  # noqa: F811
    """A server certificate from a CA we do not trust fails verification."""
    outcome = attempt(f"amqps://{listener.address}", ssl_domain=client_domain(certs.wrong_ca_cert))
    [(_, description)] = outcome.errors
    assert description is not None and "certificate verify failed" in description
    assert str(certs.wrong_ca_cert) in description


def test_host_name_is_checked(listener: SecureListener, certs: Certs) -> None:  # noqa: F811
    """By IP address (not a name in the certificate for Proton) VERIFY_PEER_NAME fails and says
    so; VERIFY_PEER (CA only) connects; sni / virtual_host name the host to check."""
    by_ip = f"amqps://127.0.0.1:{listener.port}"
    failed = attempt(by_ip, ssl_domain=client_domain(certs.ca_cert, SSLDomain.VERIFY_PEER_NAME))
    [(_, description)] = failed.errors
    assert description is not None and "'127.0.0.1'" in description
    assert "IP addresses" in description and "VERIFY_PEER" in description
    assert attempt(by_ip, ssl_domain=client_domain(certs.ca_cert, SSLDomain.VERIFY_PEER)).opened
    named = client_domain(certs.ca_cert, SSLDomain.VERIFY_PEER_NAME)
    assert attempt(by_ip, ssl_domain=named, sni="localhost").opened
    assert attempt(by_ip, ssl_domain=named, virtual_host="localhost").opened
    wrong_name = attempt(f"amqps://{listener.address}", ssl_domain=named, sni="elsewhere.test")
    assert not wrong_name.opened and "'elsewhere.test'" in str(wrong_name.errors)


def test_expired_certificate_fails(
    certs: Certs, expired_cert: tuple[Path, Path]  # noqa: F811
) -> None:
    """A certificate past its end date fails verification even though the CA is trusted."""
    cert, key = expired_cert
    with SecureListener(cert=str(cert), key=str(key), no_sasl=True) as expired:
        outcome = attempt(f"amqps://{expired.address}", ssl_domain=client_domain(certs.ca_cert),
                          sasl_enabled=False)
    assert not outcome.opened
    assert "certificate verify failed" in str(outcome.errors)


def test_plain_port_with_amqps_says_so(certs: Certs) -> None:  # noqa: F811
    """amqps to a plain AMQP port: the error says the peer does not speak TLS there."""
    with SecureListener(no_sasl=True) as plain:
        outcome = attempt(f"amqps://{plain.address}", ssl_domain=client_domain(certs.ca_cert),
                          sasl_enabled=False)
    assert not outcome.opened
    assert "may not speak TLS" in str(outcome.errors)


@pytest.mark.parametrize("library", ["amq_python", "proton"])
@pytest.mark.parametrize("key_kind", ["plain", "encrypted"])
def test_client_certificate_and_external(
    verifying_listeners: dict[str, SecureListener], certs: Certs,  # noqa: F811
    key_kind: str, library: str,
) -> None:
    """A client certificate (its key plain or password-protected) passes a VERIFY_PEER
    listener (ours, python-qpid-proton's); with allowed_mechs="EXTERNAL" the authenticated user
    is the certificate's subject, CN=amqp-client. With no restriction EXTERNAL is chosen too."""
    verifying = verifying_listeners[library]
    domain = client_domain(certs.ca_cert)
    if key_kind == "plain":
        domain.set_credentials(str(certs.client_cert), str(certs.client_key), None)
    else:
        domain.set_credentials(str(certs.client_cert), str(certs.client_key_encrypted),
                               certs.client_key_password)
    for mechs in ("EXTERNAL", None):
        outcome = attempt(f"amqps://{verifying.address}", ssl_domain=domain, allowed_mechs=mechs)
        assert outcome.errors == [] and outcome.opened and outcome.mech == "EXTERNAL"
        seen = verifying.opened(outcome.container_id)
        assert seen is not None
        assert (seen["user"], seen["mech"]) == (f"CN={certs.client_cn}", "EXTERNAL")
        assert seen["subject"] == f"CN={certs.client_cn}"


def test_no_client_certificate_is_refused(verifying: SecureListener, certs: Certs) -> None:  # noqa: F811
    """Without a client certificate the verifying listener refuses the handshake; both ends'
    errors say a client certificate is the likely fix."""
    outcome = attempt(f"amqps://{verifying.address}", ssl_domain=client_domain(certs.ca_cert))
    assert not outcome.opened
    assert "client certificate: set_credentials" in str(outcome.errors)
    errors = [error["description"] for error in verifying.errors()]
    assert any("must present a certificate" in (text or "") for text in errors)


def test_wrong_key_password_is_an_error_without_the_password(certs: Certs) -> None:  # noqa: F811
    """A wrong password for the client key fails at set_credentials, naming the files, not the
    password; no password at all for an encrypted key fails the same way."""
    domain = SSLDomain(SSLDomain.MODE_CLIENT)
    with pytest.raises(SSLException) as raised:
        domain.set_credentials(str(certs.client_cert), str(certs.client_key_encrypted),
                               "wrong-key-password")
    assert "wrong-key-password" not in str(raised.value)
    assert str(certs.client_key_encrypted) in str(raised.value)
    assert "password" in str(raised.value)
    assert "wrong-key-password" not in repr(domain)


class _SelfServe(MessagingHandler):
    """Listens with the container's default server domain and connects to itself."""

    def __init__(self, client_url: str, listen_url: str, ssl_domain: SSLDomain | None) -> None:
        super().__init__()
        self.client_url = client_url
        self.listen_url = listen_url
        self.ssl_domain = ssl_domain
        self.encrypted: list[bool] = []

    def on_start(self, event: object) -> None:
        container = event.container  # type: ignore[attr-defined]
        self.acceptor = container.listen(self.listen_url)
        container.connect(self.client_url, ssl_domain=self.ssl_domain, sasl_enabled=False,
                          reconnect=False)

    def on_connection_opened(self, event: object) -> None:
        self.encrypted.append(event.transport.encrypted)  # type: ignore[attr-defined]
        if len(self.encrypted) == 1:
            event.connection.close()  # type: ignore[attr-defined]

    def on_connection_closed(self, event: object) -> None:
        self.acceptor.close()


@pytest.mark.parametrize("client_scheme", ["amqps", "amqp"])
def test_listen_amqps_uses_container_server_domain(
    certs: Certs, client_scheme: str  # noqa: F811
) -> None:
    """listen("amqps://...") takes ``container.ssl.server``; with allow_unsecured_client() a
    plain client is let in too. No SASL on either end, so this runs in-process."""
    port = free_port()
    domain = client_domain(certs.ca_cert) if client_scheme == "amqps" else None
    handler = _SelfServe(f"{client_scheme}://localhost:{port}", f"amqps://127.0.0.1:{port}",
                         domain)
    container = Container(handler)
    container.sasl_enabled = False
    container.ssl.server.set_credentials(str(certs.server_cert), str(certs.server_key), None)
    container.ssl.server.allow_unsecured_client()
    run(container, 5)
    assert handler.encrypted == [client_scheme == "amqps"] * 2


@pytest.mark.parametrize("library", ["amq_python", "proton"])
def test_scram_over_tls(sasldb: SaslDb, certs: Certs, library: str) -> None:  # noqa: F811
    """SCRAM-SHA-256 inside TLS, on our listener and python-qpid-proton's."""
    with SecureListener(library, cert=str(certs.server_cert), key=str(certs.server_key),
                        sasl_dir=str(sasldb.dir), sasl_name=sasldb.app) as server:
        outcome = attempt(f"amqps://{server.address}", ssl_domain=client_domain(certs.ca_cert),
                          user=f"alice@{sasldb.realm}", password=PASSWORD)
        assert outcome.opened and outcome.encrypted and outcome.mech == "SCRAM-SHA-256"
        seen = server.opened(outcome.container_id)
        assert seen is not None and seen["encrypted"] and seen["user"] == f"alice@{sasldb.realm}"


@pytest.fixture(scope="module")
def rabbit(certs: Certs) -> Iterator[RabbitMQ]:  # noqa: F811
    """A RabbitMQ node whose TLS port verifies client certificates if sent and offers EXTERNAL."""
    with RabbitMQ(certs, external=True) as node:
        yield node


def test_rabbitmq_tls_verified(rabbit: RabbitMQ, certs: Certs) -> None:  # noqa: F811
    """RabbitMQ's TLS port with the server verified (CA and host name); PLAIN inside TLS."""
    outcome = attempt(rabbit.tls_url, ssl_domain=client_domain(certs.ca_cert), timeout=15,
                      user=rabbit.user, password=rabbit.password, allowed_mechs="PLAIN")
    assert outcome.errors == [] and outcome.opened and outcome.encrypted
    assert outcome.peer_subject == "CN=localhost"
    refused = attempt(rabbit.tls_url, ssl_domain=client_domain(certs.wrong_ca_cert), timeout=15)
    assert "certificate verify failed" in str(refused.errors)


def test_rabbitmq_external(rabbit: RabbitMQ, certs: Certs) -> None:  # noqa: F811
    """SASL EXTERNAL with our client certificate: RabbitMQ logs us in as its CN."""
    domain = client_domain(certs.ca_cert)
    domain.set_credentials(str(certs.client_cert), str(certs.client_key_encrypted),
                           certs.client_key_password)
    outcome = attempt(rabbit.tls_url, ssl_domain=domain, allowed_mechs="EXTERNAL", timeout=15)
    assert outcome.errors == [] and outcome.opened and outcome.mech == "EXTERNAL"
