"""amq_python against RabbitMQ 3.10 with its AMQP 1.0 plugin (a broker nobody here wrote).

The node is started once for the module by the ``rabbitmq`` fixture (tests/peers); a missing
rabbitmq-server fails these tests with the package to install, never skips them. Queues are
``/queue/NAME`` with a name unique to each test.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from amq_python import SSLDomain
from tests.broker_clients import Api, run
from tests.broker_process import ROOT
from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import *  # noqa: F403
from tests.peers.rabbitmq import RabbitMQ

API = Api("amq_python")


def queue(name: str) -> str:
    """A fresh queue address on the shared node."""
    return f"/queue/{name}-{uuid.uuid4().hex[:8]}"


def plain(node: RabbitMQ) -> dict[str, str]:
    """Connection options for SASL PLAIN as guest."""
    return {"user": node.user, "password": node.password, "allowed_mechs": "PLAIN"}


def client_tls(ca: str) -> SSLDomain:
    """A client TLS domain trusting ``ca`` and checking the server's host name."""
    domain = SSLDomain(SSLDomain.MODE_CLIENT)
    domain.set_trusted_ca_db(ca)
    domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME)
    return domain


def example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run examples/NAME.py with ARGS."""
    return subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py"), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)


def exchange(url: str, address: str, count: int, **options: object) -> None:
    """Send ``count`` messages (each accepted), then receive and accept them in order."""
    messages = [API.Message(body=f"m{i}", properties={"i": i}) for i in range(count)]
    sender = API.Client(url, "p", target=address, messages=messages, connect_options=options)
    run(API, [sender], timeout=20)
    assert sender.outcomes == ["accepted"] * count
    receiver = API.Client(url, "c", source=address, count=count, connect_options=options)
    run(API, [receiver], timeout=20)
    assert [body for body, _ in receiver.received] == [f"m{i}" for i in range(count)]
    assert [m.properties for m in receiver.received_messages] == [{"i": i} for i in range(count)]


def test_send_and_receive_with_acks(rabbitmq: RabbitMQ) -> None:
    """100 messages, each accepted by RabbitMQ, received and accepted in order (PLAIN)."""
    exchange(rabbitmq.url, queue("acks"), 100, **plain(rabbitmq))


def test_release_and_reject(rabbitmq: RabbitMQ) -> None:
    """Released: RabbitMQ delivers it again; rejected: it is gone."""
    address = queue("outcomes")
    plan = {"a": ["release", "accept"], "b": ["reject"]}

    def decide(body: str, count: int, index: int) -> str:
        return plan[body].pop(0) if plan.get(body) else "accept"

    sender = API.Client(rabbitmq.url, "p", target=address,
                        messages=[API.Message(body=b) for b in ("a", "b", "end")])
    run(API, [sender], timeout=20)
    receiver = API.Client(rabbitmq.url, "c", source=address, count=4, credit=1, decide=decide)
    run(API, [receiver], timeout=20)
    assert sorted(body for body, _ in receiver.received) == ["a", "a", "b", "end"]
    probe = API.Client(rabbitmq.url, "probe", target=address,
                       messages=[API.Message(body="probe")])
    check = API.Client(rabbitmq.url, "check", source=address, count=1)
    run(API, [probe], [check], timeout=20)
    assert check.received == [("probe", 0)]


def test_plain(rabbitmq: RabbitMQ) -> None:
    """The seed's user/password example logs in with PLAIN."""
    done = example("seed_user_password", "--url", rabbitmq.url, "--user", "guest",
                   "--password", "guest")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "authenticated as guest with PLAIN\n"


def test_plain_wrong_password_refused(rabbitmq: RabbitMQ) -> None:
    """A wrong password: RabbitMQ refuses, the client reports unauthorized-access."""
    client = API.Client(rabbitmq.url, "p", target=queue("refused"),
                        messages=[API.Message(body=1)],
                        connect_options={"user": "guest", "password": "wrong"})
    with pytest.raises(AssertionError, match="unauthorized-access"):
        run(API, [client], timeout=20)


def test_anonymous(rabbitmq: RabbitMQ) -> None:
    """The seed's allowed_mechs example uses ANONYMOUS; messages flow with it."""
    done = example("seed_sasl_mechanisms", "--url", rabbitmq.url, "--mechs", "ANONYMOUS")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "authenticated with ANONYMOUS\n"
    exchange(rabbitmq.url, queue("anonymous"), 10, allowed_mechs="ANONYMOUS")


def test_tls_verified(rabbitmq: RabbitMQ, certs: Certs) -> None:
    """TLS to amqps://localhost with the server's certificate verified against the test CA."""
    exchange(rabbitmq.tls_url, queue("tls"), 20, ssl_domain=client_tls(str(certs.ca_cert)))
    done = example("seed_tls", "--url", rabbitmq.tls_url, "--ca", str(certs.ca_cert))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("TLS connection open: TLSv1.")


def test_tls_wrong_ca_refused(rabbitmq: RabbitMQ, certs: Certs) -> None:
    """Verification is real: trusting another CA, the connection fails."""
    client = API.Client(rabbitmq.tls_url, "p", target=queue("tls-wrong"),
                        messages=[API.Message(body=1)],
                        connect_options={"ssl_domain": client_tls(str(certs.wrong_ca_cert))})
    with pytest.raises(AssertionError, match="transport"):
        run(API, [client], timeout=20)
