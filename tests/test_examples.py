"""Every example script, run as a user would, against the embedded broker; outputs checked.

seed_tls.py and seed_user_password.py need a broker with TLS and PLAIN: they run against
RabbitMQ in test_rabbitmq.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.broker_process import ROOT, BrokerProcess, running_broker
from tests.peers.ports import free_port

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    """One broker for the module: tests use distinct addresses."""
    with running_broker() as process:
        yield process


def example(name: str, *args: str, timeout: float = 20) -> str:
    """Run examples/NAME.py with ARGS; its stdout (it must exit with status 0)."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
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
