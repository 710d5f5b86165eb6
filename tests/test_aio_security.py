"""TLS and SASL through ``amq_python.aio``: the options are ``Container.connect``'s, passed
through. Against the embedded broker with TLS (the test CA, host name checked) and with a Cyrus
sasldb (SCRAM-SHA-256 and PLAIN, anonymous refused)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amq_python import ConnectionException, Message, SSLDomain, aio
from tests.broker_process import BrokerProcess, running_broker
from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import certs  # noqa: F401 (a fixture)
from tests.peers.sasldb import SaslDb
from tests.test_aio_container import run_on

PASSWORD = "alice-secret"


@pytest.fixture(scope="module")
def tls_broker(certs: Certs) -> Iterator[BrokerProcess]:  # noqa: F811
    with running_broker("--tls-cert", str(certs.server_cert),
                        "--tls-key", str(certs.server_key)) as process:
        yield process


@pytest.fixture(scope="module")
def sasl_broker() -> Iterator[tuple[BrokerProcess, str]]:
    with SaslDb() as db:
        login = db.add_user("alice", PASSWORD)
        with running_broker("--sasl-config-dir", str(db.dir), "--sasl-config-name", db.app,
                            "--sasl-mechanisms", "SCRAM-SHA-256 PLAIN",
                            "--require-auth") as process:
            yield process, login


def domain(ca: object) -> SSLDomain:
    result = SSLDomain(SSLDomain.MODE_CLIENT)
    result.set_trusted_ca_db(str(ca))
    result.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME)
    return result


async def round_trip(conn: aio.Connection, address: str) -> str:
    sender = await conn.open_sender(address)
    await sender.send(Message(body="secret hello"), timeout=5)
    receiver = await conn.open_receiver(address)
    delivery = await receiver.receive(timeout=5)
    delivery.accept()
    return str(delivery.message.body)


def test_tls_with_verification(
    tls_broker: BrokerProcess, certs: Certs, loop: str,  # noqa: F811
) -> None:
    async def main() -> str:
        # 127.0.0.1, checked as "localhost" (the certificate's name), whichever address
        # /etc/hosts gives localhost first.
        url = f"amqps://127.0.0.1:{tls_broker.port}"
        async with await aio.connect(
            url, ssl_domain=domain(certs.ca_cert), sni="localhost", reconnect=False
        ) as conn:
            return await round_trip(conn, "tls")

    assert run_on(loop, main) == "secret hello"


def test_tls_untrusted_server_fails(
    tls_broker: BrokerProcess, certs: Certs, loop: str,  # noqa: F811
) -> None:
    async def main() -> None:
        url = f"amqps://127.0.0.1:{tls_broker.port}"
        # The server's own certificate is not a CA: verification fails, and is not retried.
        with pytest.raises(ConnectionException, match="certificate verify failed"):
            await aio.connect(url, ssl_domain=domain(certs.server_cert), sni="localhost")

    run_on(loop, main)


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "PLAIN"])
def test_sasl_login(sasl_broker: tuple[BrokerProcess, str], mech: str, loop: str) -> None:
    broker, login = sasl_broker

    async def main() -> tuple[str | None, str]:
        async with await aio.connect(
            broker.url, user=login, password=PASSWORD, allowed_mechs=mech
        ) as conn:
            used = conn.connection.transport.sasl().mech  # through the Cyrus bridge
            return used, await round_trip(conn, f"sasl-{mech}")

    assert run_on(loop, main) == (mech, "secret hello")


def test_sasl_wrong_password_fails(sasl_broker: tuple[BrokerProcess, str], loop: str) -> None:
    broker, login = sasl_broker

    async def main() -> None:
        with pytest.raises(ConnectionException, match="unauthorized|auth"):
            await aio.connect(
                broker.url, user=login, password="wrong", allowed_mechs="SCRAM-SHA-256"
            )

    run_on(loop, main)


def test_tls_default_domain_is_shared_and_checks_the_system_cas(
    tls_broker: BrokerProcess,
    loop: str,
) -> None:
    async def main() -> None:
        url = f"amqps://127.0.0.1:{tls_broker.port}"
        conns = [aio.connect(url, sni="localhost") for _ in range(2)]
        for conn in conns:
            # The test CA is not among the system's: verification fails (and is not retried).
            with pytest.raises(ConnectionException, match="certificate verify failed"):
                await conn
        first, second = (conn.container.ssl.client for conn in conns)
        assert first is second  # loaded once, off the loop, for every aio connection

    run_on(loop, main)
