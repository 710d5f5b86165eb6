"""The real test peers work: each fixture is proved with python-qpid-proton as the client.

amq_python's own tests use the same fixtures; these show that a failure there is not the peer's.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable

import pytest
from proton import ConnectionException, Delivery, Message, SSLDomain
from proton.utils import BlockingConnection

from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import *  # noqa: F403
from tests.peers.kdc import Kdc
from tests.peers.rabbitmq import RabbitMQ
from tests.peers.rhea import RheaServer

COUNT = 100


def client_tls(ca: str) -> SSLDomain:
    """A client TLS domain trusting `ca` and checking the server's host name."""
    domain = SSLDomain(SSLDomain.MODE_CLIENT)
    domain.set_trusted_ca_db(ca)
    domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME)
    return domain


def exchange(connection: BlockingConnection, address: str, count: int = COUNT) -> None:
    """Send `count` messages, each acknowledged, then receive and accept them all in order.

    The links get distinct names, since rhea matches links by name only.
    """
    sender = connection.create_sender(address, name=f"{address}-sender")
    for i in range(count):
        delivery = sender.send(Message(body=f"message {i}", properties={"i": i}))
        assert delivery.remote_state == Delivery.ACCEPTED
    receiver = connection.create_receiver(address, name=f"{address}-receiver", credit=10)
    for i in range(count):
        message = receiver.receive(timeout=10)
        assert message.body == f"message {i}"
        assert message.properties == {"i": i}
        receiver.accept()
    connection.close()


def queue() -> str:
    """A fresh queue address, so tests sharing a node do not see each other's messages."""
    return f"/queue/smoke-{uuid.uuid4().hex[:8]}"


def test_rabbitmq_plain(rabbitmq: RabbitMQ) -> None:
    """100 acknowledged messages through RabbitMQ over plain TCP with SASL PLAIN."""
    connection = BlockingConnection(
        rabbitmq.url, timeout=20, user=rabbitmq.user, password=rabbitmq.password
    )
    exchange(connection, queue())


def test_rabbitmq_tls_verified(rabbitmq: RabbitMQ, certs: Certs) -> None:
    """100 messages over TLS to `localhost`, the server verified against the test CA."""
    connection = BlockingConnection(
        rabbitmq.tls_url, timeout=20, ssl_domain=client_tls(str(certs.ca_cert))
    )
    exchange(connection, queue())


def test_rabbitmq_tls_wrong_ca_refused(rabbitmq: RabbitMQ, certs: Certs) -> None:
    """Verification is real: a client trusting another CA cannot connect."""
    with pytest.raises(ConnectionException):
        BlockingConnection(
            rabbitmq.tls_url, timeout=20, ssl_domain=client_tls(str(certs.wrong_ca_cert))
        )


def test_rabbitmq_wrong_password_refused(rabbitmq: RabbitMQ) -> None:
    """A wrong PLAIN password is refused."""
    with pytest.raises(ConnectionException):
        BlockingConnection(rabbitmq.url, timeout=20, user="guest", password="wrong")


def test_rabbitmq_kill_restart_same_port(rabbitmq: RabbitMQ) -> None:
    """After SIGKILL the node is gone; restart() brings it back on the same port."""
    port, tls_port = rabbitmq.port, rabbitmq.tls_port
    rabbitmq.kill()
    with pytest.raises(ConnectionException):
        BlockingConnection(rabbitmq.url, timeout=5)
    rabbitmq.restart()
    print(f"RabbitMQ restart after SIGKILL: {rabbitmq.start_seconds:.1f} s")
    assert (rabbitmq.port, rabbitmq.tls_port) == (port, tls_port)
    exchange(BlockingConnection(rabbitmq.url, timeout=20), queue())


def test_rabbitmq_pair(rabbitmq_pair: tuple[RabbitMQ, RabbitMQ]) -> None:
    """Two nodes side by side, each serving its own clients."""
    first, second = rabbitmq_pair
    print(f"RabbitMQ pair start: {first.start_seconds:.1f} s, {second.start_seconds:.1f} s")
    assert first.nodename != second.nodename and first.port != second.port
    for node in rabbitmq_pair:
        exchange(BlockingConnection(node.url, timeout=20), queue(), count=10)


def test_rabbitmq_external(rabbitmq_factory: Callable[..., RabbitMQ], certs: Certs) -> None:
    """SASL EXTERNAL with the client certificate (its key encrypted) logs in as its CN."""
    node = rabbitmq_factory(external=True)
    print(f"RabbitMQ (EXTERNAL) start: {node.start_seconds:.1f} s")
    domain = client_tls(str(certs.ca_cert))
    domain.set_credentials(
        str(certs.client_cert), str(certs.client_key_encrypted), certs.client_key_password
    )
    connection = BlockingConnection(
        node.tls_url, timeout=20, ssl_domain=domain, allowed_mechs="EXTERNAL"
    )
    exchange(connection, queue(), count=10)
    assert f"user '{certs.client_cn}' authenticated" in node.log.read_text()


def test_rhea_plain(rhea_server: RheaServer) -> None:
    """100 acknowledged messages through the rhea broker, with SASL PLAIN as alice."""
    connection = BlockingConnection(
        rhea_server.url,
        timeout=20,
        user="alice",
        password=rhea_server.users["alice"],
        allowed_mechs="PLAIN",
    )
    exchange(connection, "smoke")


def test_rhea_anonymous(rhea_server: RheaServer) -> None:
    """SASL ANONYMOUS is offered by default."""
    exchange(BlockingConnection(rhea_server.url, timeout=20), "smoke", count=10)


def test_rhea_tls(rhea_factory: Callable[..., RheaServer], certs: Certs) -> None:
    """rhea over TLS, server verified by name; PLAIN only: a wrong password is refused."""
    server = rhea_factory(tls=True, mechanisms=["PLAIN"])
    domain = client_tls(str(certs.ca_cert))
    with pytest.raises(ConnectionException):
        BlockingConnection(server.url, timeout=20, ssl_domain=domain, user="alice", password="no")
    connection = BlockingConnection(
        server.url, timeout=20, ssl_domain=domain, user="alice", password=server.users["alice"]
    )
    exchange(connection, "smoke")


def test_kdc_kinit(kdc: Kdc) -> None:
    """alice gets a ticket with her password and a service ticket for amqp/localhost; a wrong
    password is refused."""
    refused = kdc.kinit(password="wrong")
    assert refused.returncode != 0
    assert "Password incorrect" in refused.stderr
    started = time.monotonic()
    granted = kdc.kinit()
    assert granted.returncode == 0, granted.stderr
    print(f"kinit: {time.monotonic() - started:.2f} s")
    kvno = subprocess.run(
        ["kvno", kdc.service],
        env={**os.environ, **kdc.client_env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert kvno.returncode == 0, kvno.stderr
    keytab = subprocess.run(
        ["klist", "-k", str(kdc.keytab)], capture_output=True, text=True, check=True
    )
    assert f"{kdc.service}@{kdc.realm}" in keytab.stdout
