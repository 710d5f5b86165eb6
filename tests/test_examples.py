"""Every example script, run as a user would, against the embedded broker; outputs checked.

The TLS and SASL examples run against brokers started with the matching options: TLS with the
test CA's server certificate (and one that requires client certificates), and Cyrus SASL
checking passwords against a sasldb. reconnect.py and failover.py watch a broker get killed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.broker_process import ROOT, BrokerProcess, running_broker
from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import certs  # noqa: F401 (a fixture)
from tests.peers.ports import free_port
from tests.peers.sasldb import SaslDb

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    """One broker for the module: tests use distinct addresses."""
    with running_broker() as process:
        yield process


def example(name: str, *args: str, timeout: float = 20, status: int = 0) -> str:
    """Run examples/NAME.py with ARGS; its stdout (it must exit with ``status``: 1 when the
    example reports a failure)."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )
    assert done.returncode == status, (done.stdout, done.stderr)
    return done.stdout


def test_hello_world(broker: BrokerProcess) -> None:
    """The demo's hello world: send, then receive through the broker, and print the message."""
    assert example("hello_world", "--url", broker.url) == "Hello World!\n"


def test_handling_events(broker: BrokerProcess) -> None:
    """on_start, then on_sendable, then on_message."""
    lines = example("seed_handling_events", "--url", broker.url, "--address", "ex-events")
    lines_list = lines.splitlines()
    assert lines_list[0] == "The container event loop has started"
    assert "A message can be sent" in lines_list
    assert lines_list[-1] == "A message is received"


def test_event_objects(broker: BrokerProcess) -> None:
    """Attributes that do not apply to an event are None."""
    out = example("seed_event_objects", "--url", broker.url, "--address", "ex-objects")
    assert out.splitlines() == [
        "on_sendable: container=set connection=set session=set sender=set receiver=None "
        "delivery=None message=None",
        "on_message: container=set connection=set session=set sender=None receiver=set "
        "delivery=set message=set",
    ]


def test_container_id(broker: BrokerProcess) -> None:
    """The identity given to Container is the one the connection carries."""
    out = example("seed_container_id", "--url", broker.url, "--id", "job-processor-3")
    assert out.splitlines() == ["container id: job-processor-3",
                                "connection opened with container id: job-processor-3"]


def test_connection_urls() -> None:
    """Default ports by scheme, explicit ports, IPv6 in brackets."""
    out = example("seed_connection_urls", "--url", "amqp://localhost:1234")
    assert out.splitlines() == [
        "amqps://example.com: scheme=amqps host=example.com port=5671",
        "amqps://example.net:56720: scheme=amqps host=example.net port=56720",
        "amqp://127.0.0.1: scheme=amqp host=127.0.0.1 port=5672",
        "amqp://[::1]:2000: scheme=amqp host=::1 port=2000",
        "amqp://localhost:1234: scheme=amqp host=localhost port=1234",
    ]


def test_connect(broker: BrokerProcess) -> None:
    """The connection opens and is printed."""
    out = example("seed_connect", "--url", broker.url)
    assert out.startswith("Connection ") and out.endswith(" is open\n")


def test_reconnect_waits_for_the_broker() -> None:
    """Started before any broker: it retries with growing delays, then connects."""
    port = free_port()
    client = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "seed_reconnect.py"), "--url", f"amqp://127.0.0.1:{port}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert client.stdout is not None
        assert client.stdout.readline() == "retrying in 0.1 s\n"
        assert client.stdout.readline() == "retrying in 0.2 s\n"
        with running_broker(port=port):
            out, err = client.communicate(timeout=20)
        assert client.returncode == 0, err
        assert out.splitlines()[-1] == "connected"
    finally:
        if client.poll() is None:
            client.kill()
        client.communicate()


def test_failover_skips_a_dead_url(broker: BrokerProcess) -> None:
    """The first URL refuses; the second (the broker) is used."""
    dead = f"amqp://127.0.0.1:{free_port()}"
    out = example("seed_failover", "--url", dead, "--url", broker.url)
    assert out.strip().startswith("connected to ") and str(broker.port) in out


def test_send_then_receive(broker: BrokerProcess) -> None:
    """seed_send puts jobs on a queue; seed_receive takes them off in order."""
    assert example("seed_send", "--url", broker.url, "--address", "ex-jobs", "--count", "5") \
        == "sent 5 messages to ex-jobs\n"
    out = example("seed_receive", "--url", broker.url, "--address", "ex-jobs", "--count", "5")
    assert out.splitlines() == [f"Received message job {i} from ex-jobs" for i in range(5)]


def test_tracking(broker: BrokerProcess) -> None:
    """Each delivery's outcome is reported."""
    out = example("seed_tracking", "--url", broker.url, "--address", "ex-track", "--count", "3")
    assert out.splitlines() == [f"Delivery {i} is accepted" for i in range(3)]


def test_acknowledge(broker: BrokerProcess) -> None:
    """A message the application cannot process is rejected (and not redelivered)."""
    send = [sys.executable, "-m", "amq_python.tools.send", "--url", broker.url, "ex-ack"]
    for body in ("good 1", "bad 2", "good 3"):
        subprocess.run([*send, "--body", body], cwd=ROOT, check=True, timeout=20)
    out = example("seed_acknowledge", "--url", broker.url, "--address", "ex-ack", "--count", "3")
    assert out.splitlines() == ["processed good 1", "rejected: cannot process 'bad 2'",
                                "processed good 3"]


def test_sasl_mechanisms(broker: BrokerProcess) -> None:
    """allowed_mechs=ANONYMOUS is what is used."""
    assert example("seed_sasl_mechanisms", "--url", broker.url) == \
        "authenticated with ANONYMOUS\n"


def test_sasl_disabled(broker: BrokerProcess) -> None:
    """sasl_enabled=False connects without the SASL layer."""
    assert example("seed_sasl_disabled", "--url", broker.url) == "connected without SASL\n"


def test_request_response(broker: BrokerProcess) -> None:
    """The server answers on each request's dynamic reply queue; the client prints pairs."""
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "server.py"), "--url", broker.url,
         "--address", "ex-requests", "--count", "4"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline() == "server listening on ex-requests\n"
        started = time.monotonic()
        out = example("client", "--url", broker.url, "--address", "ex-requests")
        assert time.monotonic() - started < 10
        lines = out.splitlines()
        assert len(lines) == 4
        for line in lines:
            request, response = line.split(" => ")
            assert response == request.upper()
        _, err = server.communicate(timeout=10)
        assert server.returncode == 0, err
    finally:
        if server.poll() is None:
            server.kill()
        server.communicate()


@pytest.fixture(scope="module")
def tls_broker(certs: Certs) -> Iterator[BrokerProcess]:  # noqa: F811
    """A broker speaking TLS only, with the test CA's certificate for localhost."""
    with running_broker("--tls-cert", str(certs.server_cert),
                        "--tls-key", str(certs.server_key)) as process:
        yield process


@pytest.fixture(scope="module")
def sasl_login() -> Iterator[tuple[SaslDb, str]]:
    """A Cyrus sasldb with alice (password "alice-secret"); her login name."""
    with SaslDb() as db:
        yield db, db.add_user("alice", "alice-secret")


@pytest.fixture(scope="module")
def sasl_broker(sasl_login: tuple[SaslDb, str]) -> Iterator[BrokerProcess]:
    """A broker that checks SCRAM-SHA-256 and PLAIN logins against the sasldb, no anonymous."""
    db, _ = sasl_login
    with running_broker("--sasl-config-dir", str(db.dir), "--sasl-mechanisms",
                        "SCRAM-SHA-256 PLAIN", "--require-auth") as process:
        yield process


def tls_url(broker: BrokerProcess) -> str:
    """amqps://localhost:PORT: the host name the server certificate carries."""
    return f"amqps://localhost:{broker.port}"


def start(name: str, *args: str) -> subprocess.Popen[str]:
    """examples/NAME.py with ARGS running in the background, its output piped and unbuffered
    (-u: each line is read as printed, whether or not the caller set PYTHONUNBUFFERED)."""
    return subprocess.Popen([sys.executable, "-u", str(EXAMPLES / f"{name}.py"), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_line(process: subprocess.Popen[str]) -> str:
    """The next line the example prints (the test's timeout bounds the wait)."""
    assert process.stdout is not None
    return process.stdout.readline()


def finish(process: subprocess.Popen[str]) -> list[str]:
    """Wait (at most 20 s) for the example to exit with status 0; the rest of its output."""
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    return out.splitlines()


def crash(broker: BrokerProcess) -> None:
    """SIGKILL the broker, as in a crash: clients see the connection drop, not a close."""
    broker.proc.kill()
    broker.stop()


def test_reconnect_after_a_crash() -> None:
    """The broker dies and comes back on the same port: the connection and links return."""
    port = free_port()
    broker = BrokerProcess(port=port)
    client = start("reconnect", "--url", broker.url, "--address", "ex-reconnect", "--count", "3")
    try:
        assert read_line(client) == f"connected to {broker.url}\n"
        assert read_line(client) == "received tick 1\n"
        crash(broker)
        broker = BrokerProcess(port=port)
        lines = finish(client)
        assert lines[0].startswith("disconnected: ")
        retries = [line for line in lines if line.startswith("disconnected: ")]  # refused ones
        assert lines[len(retries):] == [f"connected to {broker.url}", "received tick 2",
                                        "received tick 3"]
    finally:
        client.kill()
        client.communicate()
        broker.stop()


def test_failover_after_a_crash() -> None:
    """The first broker dies: the example goes on through the second one."""
    first, second = BrokerProcess(), BrokerProcess()
    client = start("failover", "--url", first.url, "--url", second.url,
                   "--address", "ex-failover", "--count", "3")
    try:
        assert read_line(client).startswith(f"connected to {first.url} ")
        assert read_line(client) == "received tick 1\n"
        crash(first)
        lines = finish(client)
        assert lines[0].startswith(f"lost {first.url} - ")
        assert lines[1].startswith(f"connected to {second.url} ")
        assert lines[2:] == ["received tick 2", "received tick 3"]
    finally:
        client.kill()
        client.communicate()
        first.stop()
        second.stop()


def test_at_least_once_sender(broker: BrokerProcess) -> None:
    """Every message is accepted once; they are all on the queue afterwards."""
    assert example("at_least_once_sender", "--url", broker.url, "--address", "ex-alo",
                   "--count", "50") == "50 accepted, 0 resent after connection losses\n"
    out = example("seed_receive", "--url", broker.url, "--address", "ex-alo", "--count", "50")
    assert len(out.splitlines()) == 50


def test_seed_tls(tls_broker: BrokerProcess, certs: Certs) -> None:  # noqa: F811
    """TLS with the server verified against the test CA: the protocol is printed."""
    out = example("seed_tls", "--url", tls_url(tls_broker), "--ca", str(certs.ca_cert))
    assert out.startswith("TLS connection open: TLSv1.")


def test_tls_client(tls_broker: BrokerProcess, certs: Certs) -> None:  # noqa: F811
    """The message goes over verified TLS; trusting the wrong CA, the handshake fails."""
    lines = example("tls_client", "--url", tls_url(tls_broker), "--ca",
                    str(certs.ca_cert)).splitlines()
    assert lines[0].startswith("connected: TLSv1.") and "server CN=localhost" in lines[0]
    assert lines[1:] == ["the message was accepted"]
    out = example("tls_client", "--url", tls_url(tls_broker), "--ca", str(certs.wrong_ca_cert),
                  status=1)
    assert out.startswith("failed: ") and "certificate verify failed" in out


def test_tls_client_certificate_external(certs: Certs) -> None:  # noqa: F811
    """A broker requiring client certificates: the example logs in with SASL EXTERNAL."""
    with running_broker("--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key),
                        "--tls-ca", str(certs.ca_cert), "--tls-verify-client") as mutual:
        lines = example("tls_client", "--url", tls_url(mutual), "--ca", str(certs.ca_cert),
                        "--cert", str(certs.client_cert), "--key", str(certs.client_key),
                        "--mechs", "EXTERNAL").splitlines()
    assert lines[0].endswith("SASL EXTERNAL")
    assert lines[1:] == ["the message was accepted"]


def test_seed_user_password(sasl_broker: BrokerProcess, sasl_login: tuple[SaslDb, str]) -> None:
    """alice logs in with her sasldb password (the strongest shared mechanism: SCRAM)."""
    user = sasl_login[1]
    out = example("seed_user_password", "--url", sasl_broker.url, "--user", user,
                  "--password", "alice-secret")
    assert out == f"authenticated as {user} with SCRAM-SHA-256\n"


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "PLAIN"])
def test_sasl_client(sasl_broker: BrokerProcess, sasl_login: tuple[SaslDb, str],
                     mech: str) -> None:
    """The chosen mechanism is used; a wrong password is refused as unauthorized-access."""
    user = sasl_login[1]
    out = example("sasl_client", "--url", sasl_broker.url, "--user", user,
                  "--password", "alice-secret", "--mechs", mech)
    assert out == f"authenticated with {mech}; encrypted: False\n"
    out = example("sasl_client", "--url", sasl_broker.url, "--user", user,
                  "--password", "wrong", "--mechs", mech, status=1)
    assert out.startswith("failed: ") and "amqp:unauthorized-access" in out
