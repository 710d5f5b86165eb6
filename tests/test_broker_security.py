"""The embedded broker's TLS and SASL options, with amq_python and python-qpid-proton clients.

Three brokers serve the module: one with TLS (the server certificate from the test CA, clients
verify it and the host name ``localhost``), one that also requires a client certificate, and one
that checks PLAIN and SCRAM-SHA-256 logins against a Cyrus sasldb and refuses anonymous clients.
Every scenario that should work runs with both client libraries.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.broker_clients import LIBRARIES, Api, run
from tests.broker_process import ROOT, BrokerProcess, running_broker
from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import certs  # noqa: F401 (a fixture)
from tests.peers.sasldb import SaslDb

PASSWORD = "alice-secret"


@pytest.fixture(params=LIBRARIES)
def api(request: pytest.FixtureRequest) -> Api:
    """The client library: amq_python, then python-qpid-proton."""
    return Api(request.param)


@pytest.fixture(scope="module")
def tls_broker(certs: Certs) -> Iterator[BrokerProcess]:  # noqa: F811
    """A broker listening with TLS only; client certificates are not asked for."""
    with running_broker("--tls-cert", str(certs.server_cert),
                        "--tls-key", str(certs.server_key)) as process:
        yield process


@pytest.fixture(scope="module")
def mutual_tls_broker(certs: Certs) -> Iterator[BrokerProcess]:  # noqa: F811
    """A TLS broker that refuses clients without a certificate signed by the test CA."""
    with running_broker("--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key),
                        "--tls-ca", str(certs.ca_cert), "--tls-verify-client") as process:
        yield process


@pytest.fixture(scope="module")
def sasldb() -> Iterator[tuple[SaslDb, str]]:
    """A Cyrus config dir with alice's password; the login name (alice@REALM)."""
    with SaslDb() as db:
        yield db, db.add_user("alice", PASSWORD)


@pytest.fixture(scope="module")
def sasl_broker(sasldb: tuple[SaslDb, str]) -> Iterator[BrokerProcess]:
    """A broker checking PLAIN and SCRAM-SHA-256 against the sasldb; anonymous clients refused."""
    db, _ = sasldb
    with running_broker("--sasl-config-dir", str(db.dir), "--sasl-config-name", db.app,
                        "--sasl-mechanisms", "SCRAM-SHA-256 PLAIN", "--require-auth") as process:
        yield process


def tls_url(broker: BrokerProcess) -> str:
    """amqps://localhost:PORT: the name the server certificate carries."""
    return f"amqps://localhost:{broker.port}"


def client_domain(api: Api, ca: object, cert: object = None, key: object = None) -> Any:
    """A client TLS domain of ``api`` trusting ``ca`` and checking the host name, presenting
    ``cert``/``key`` when given."""
    domain = api.core.SSLDomain(api.core.SSLDomain.MODE_CLIENT)
    domain.set_trusted_ca_db(str(ca))
    domain.set_peer_authentication(api.core.SSLDomain.VERIFY_PEER_NAME)
    if cert is not None:
        domain.set_credentials(str(cert), str(key), None)
    return domain


def exchange(api: Api, url: str, address: str, count: int, **options: Any) -> None:
    """Send ``count`` messages (each accepted), then receive and accept them in order."""
    messages = [api.Message(body=f"m{i}") for i in range(count)]
    sender = api.Client(url, "p", target=address, messages=messages, connect_options=options)
    receiver = api.Client(url, "c", source=address, count=count, connect_options=options)
    run(api, [sender], [receiver], timeout=20)
    assert sender.outcomes == ["accepted"] * count
    assert [body for body, _ in receiver.received] == [f"m{i}" for i in range(count)]


def refused(api: Api, url: str, **options: Any) -> str:
    """Try to send one message; the errors the client saw (it must see some)."""
    client = api.Client(url, "p", target="refused", messages=[api.Message(body=1)],
                        connect_options=options)
    with pytest.raises(AssertionError) as failure:
        run(api, [client], timeout=20)
    return str(failure.value)


def test_tls_verified(tls_broker: BrokerProcess, certs: Certs, api: Api) -> None:  # noqa: F811
    """amqps with the server certificate checked against the test CA and the host name."""
    exchange(api, tls_url(tls_broker), f"tls-{api.name}", 20,
             ssl_domain=client_domain(api, certs.ca_cert))


def test_tls_wrong_ca_refused(tls_broker: BrokerProcess, certs: Certs) -> None:  # noqa: F811
    """Verification is real: trusting another CA, the handshake fails."""
    api = Api("amq_python")
    errors = refused(api, tls_url(tls_broker), ssl_domain=client_domain(api, certs.wrong_ca_cert))
    assert "transport" in errors and "certificate verify failed" in errors


def test_tls_plain_client_refused(tls_broker: BrokerProcess) -> None:
    """The TLS port does not serve clients that skip TLS."""
    assert "transport" in refused(Api("amq_python"), tls_broker.url)


def test_client_certificate_required(mutual_tls_broker: BrokerProcess, certs: Certs,  # noqa: F811
                                     api: Api) -> None:
    """With --tls-verify-client, a client certificate signed by the CA gets in."""
    domain = client_domain(api, certs.ca_cert, certs.client_cert, certs.client_key)
    exchange(api, tls_url(mutual_tls_broker), f"mtls-{api.name}", 5, ssl_domain=domain)


def test_missing_client_certificate_refused(mutual_tls_broker: BrokerProcess,
                                            certs: Certs) -> None:  # noqa: F811
    """Without a client certificate the handshake fails."""
    api = Api("amq_python")
    errors = refused(api, tls_url(mutual_tls_broker), ssl_domain=client_domain(api, certs.ca_cert))
    assert "transport" in errors


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-256"])
def test_sasldb_login(sasl_broker: BrokerProcess, sasldb: tuple[SaslDb, str], api: Api,
                      mech: str) -> None:
    """alice logs in from the sasldb with PLAIN and with SCRAM-SHA-256; messages flow."""
    exchange(api, sasl_broker.url, f"sasl-{mech}-{api.name}", 5, user=sasldb[1],
             password=PASSWORD, allowed_mechs=mech)


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-256"])
def test_sasldb_wrong_password(sasl_broker: BrokerProcess, sasldb: tuple[SaslDb, str],
                               mech: str) -> None:
    """A wrong password: amqp:unauthorized-access."""
    errors = refused(Api("amq_python"), sasl_broker.url, user=sasldb[1], password="wrong",
                     allowed_mechs=mech)
    assert "amqp:unauthorized-access" in errors


def test_require_auth_refuses_anonymous(sasl_broker: BrokerProcess, api: Api) -> None:
    """--require-auth: an ANONYMOUS login is refused."""
    assert "amqp:unauthorized-access" in refused(api, sasl_broker.url, allowed_mechs="ANONYMOUS")


def test_require_auth_refuses_no_sasl(sasl_broker: BrokerProcess) -> None:
    """--require-auth: a client that skips SASL is cut off with a policy error.

    (Only with amq_python: python-qpid-proton's client reports nothing when the server hangs up
    after the AMQP header, so the test would just time out.)"""
    errors = refused(Api("amq_python"), sasl_broker.url, sasl_enabled=False)
    assert "transport" in errors


def test_bad_options_refused(certs: Certs) -> None:  # noqa: F811
    """Options that cannot work end the broker at once with a message, status not 0."""
    for args, message in [
        (["--tls-cert", str(certs.server_cert)], "--tls-cert and --tls-key go together"),
        (["--tls-ca", str(certs.ca_cert)], "need --tls-cert"),
        (["--require-auth", "--sasl-mechanisms", "PLAIN ANONYMOUS"], "refuses ANONYMOUS"),
        (["--tls-cert", str(certs.ca_key), "--tls-key", str(certs.server_key)], "certificate"),
    ]:
        done = subprocess.run([sys.executable, "-m", "amq_python.broker", "--port", "0", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=20)
        assert done.returncode != 0 and message in done.stderr, (args, done.stderr)
