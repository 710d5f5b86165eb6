"""Kerberos (GSSAPI) through ``amq_python.aio``, with a real MIT KDC on loopback
(tests/peers/kdc.py): the user runs kinit, then ``aio.connect(..., allowed_mechs="GSSAPI")``
logs in to the embedded broker, which runs with the service's keytab and a Cyrus configuration
offering only GSSAPI and refuses anonymous clients (the broker's log names the user it
authenticated). Without a ticket the connect fails at once and says why."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from amq_python import ConnectionException, Message, aio
from tests.broker_process import BrokerProcess, running_broker
from tests.peers.kdc import Kdc
from tests.peers.sasldb import SaslDb
from tests.test_aio_container import run_on


@pytest.fixture(scope="module")
def realm() -> Iterator[Kdc]:
    with Kdc() as kdc:
        yield kdc


@pytest.fixture(scope="module")
def kerberos_broker(realm: Kdc) -> Iterator[BrokerProcess]:
    """The embedded broker as the service amqp/localhost: its keytab, GSSAPI only."""
    with SaslDb(mechs=("GSSAPI",)) as config, pytest.MonkeyPatch.context() as env:
        for name, value in realm.server_env.items():
            env.setenv(name, value)  # the broker process inherits them
        with running_broker(
            "--host", "localhost",
            "--sasl-config-dir", str(config.dir), "--sasl-config-name", config.app,
            "--sasl-mechanisms", "GSSAPI", "--require-auth",
        ) as broker:
            env.undo()
            yield broker


@pytest.fixture
def user(realm: Kdc, monkeypatch: pytest.MonkeyPatch) -> Kdc:
    """This process is the user's: the realm's krb5.conf and a private credentials cache,
    emptied first, so each test decides whether to kinit."""
    for name, value in realm.client_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("KRB5_KTNAME", raising=False)
    (realm.dir / "ccache").unlink(missing_ok=True)
    return realm


def test_kinit_then_gssapi_round_trip(
    kerberos_broker: BrokerProcess, user: Kdc, loop: str
) -> None:
    granted = user.kinit("alice")
    assert granted.returncode == 0, granted.stderr
    # The service principal is amqp/localhost: the client names the host "localhost".
    url = f"amqp://localhost:{kerberos_broker.port}"

    async def main() -> tuple[str | None, str]:
        async with await aio.connect(
            url, allowed_mechs="GSSAPI", container_id=f"aio-gssapi-{loop}"
        ) as conn:
            transport = conn.connection.transport
            mech = transport.sasl().mech
            sender = await conn.open_sender(f"kerberos-{loop}")
            await sender.send(Message(body="signed by the KDC"), timeout=10)
            receiver = await conn.open_receiver(f"kerberos-{loop}")
            delivery = await receiver.receive(timeout=10)
            async with delivery.settle_on_exit():
                body = str(delivery.message.body)
        return mech, body

    assert run_on(loop, main) == ("GSSAPI", "signed by the KDC")
    log = kerberos_broker.log()
    opened = [line for line in log.splitlines() if f"aio-gssapi-{loop} opened" in line]
    assert len(opened) == 1, log[-2000:]
    assert "(user alice" in opened[0]


def test_without_a_ticket_the_connect_fails_and_says_why(
    kerberos_broker: BrokerProcess, user: Kdc, loop: str
) -> None:
    url = f"amqp://localhost:{kerberos_broker.port}"

    async def main() -> str:
        # reconnect is left on: a refused login is final, not retried.
        with pytest.raises(ConnectionException) as caught:
            await asyncio.wait_for(aio.connect(url, allowed_mechs="GSSAPI"), 30)
        return str(caught.value)

    text = run_on(loop, main)
    assert "unauthorized-access" in text
    assert "GSSAPI" in text and "credentials" in text
