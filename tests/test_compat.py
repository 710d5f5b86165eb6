"""``python -m amq_python.compat``: programs written for python-qpid-proton run unmodified.

Each program in ``tests/proton_programs/`` runs twice against the same broker (our embedded
broker, ``python -m amq_python.broker``, in a subprocess): once under the real
python-qpid-proton, once under the compat runner (``proton`` resolved to amq_python). Both runs
must succeed and print the same lines. Each run uses its own addresses (suffixed with the run's
name), so neither sees the other's messages; the suffix is taken out of the output before
comparing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.broker_process import BrokerProcess, running_broker

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "proton_programs"
RUNNERS = {
    "proton": [sys.executable],
    "compat": [sys.executable, "-m", "amq_python.compat"],
}
TIMEOUT = 30


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    with running_broker() as running:
        yield running


def run(mode: str, program: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a program under ``mode`` (proton or compat); fail the test on a non-zero exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PN_TRACE_FRM", None)
    done = subprocess.run(
        [*RUNNERS[mode], str(PROGRAMS / program), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{program} under {mode}: {done.stderr}"
    return done


def both(run_one: Callable[[str], str]) -> str:
    """Run a scenario under proton and under compat; their outputs must agree."""
    outputs = {mode: run_one(mode).replace(mode, "MODE") for mode in RUNNERS}
    assert outputs["compat"] == outputs["proton"]
    assert outputs["proton"].strip(), "the scenario printed nothing"
    return outputs["proton"]


def test_helloworld(broker: BrokerProcess) -> None:
    """Send one message and receive it back."""
    address = f"127.0.0.1:{broker.port}"
    out = both(lambda mode: run(mode, "helloworld.py", address, f"hello-{mode}").stdout)
    assert out == "Hello World!\n"


def test_simple_send_and_receive(broker: BrokerProcess) -> None:
    """simple_send confirms every message; simple_recv prints them in order."""
    url = f"127.0.0.1:{broker.port}"

    def scenario(mode: str) -> str:
        sent = run(mode, "simple_send.py", "-a", f"{url}/simple-{mode}", "-m", "10").stdout
        received = run(mode, "simple_recv.py", "-a", f"{url}/simple-{mode}", "-m", "10").stdout
        return sent + received

    out = both(scenario)
    assert out.splitlines()[0] == "all messages confirmed"
    assert out.splitlines()[-1] == "{'sequence': 10}"


def test_client_server_and_blocking_client(broker: BrokerProcess) -> None:
    """The server answers the event-driven client and the blocking (proton.utils) client."""
    url = f"127.0.0.1:{broker.port}"

    def scenario(mode: str) -> str:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [*RUNNERS[mode], str(PROGRAMS / "server.py"), "-a", f"{url}/service-{mode}",
             "-m", "6"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )
        try:
            assert server.stdout is not None
            assert server.stdout.readline() == f"Listening on service-{mode}\n"
            client = run(mode, "client.py", "-a", f"{url}/service-{mode}").stdout
            blocking = run(
                mode, "sync_client.py", "-a", f"{url}/service-{mode}", "-q", f"blocking-{mode}"
            ).stdout
            rest, errors = server.communicate(timeout=TIMEOUT)
        finally:
            if server.poll() is None:
                server.kill()
                server.communicate()
        assert server.returncode == 0, errors
        return client + blocking + rest

    out = both(scenario)
    assert "And the mome raths outgrabe. => AND THE MOME RATHS OUTGRABE." in out
    assert "received blocking 2" in out
    assert out.count("Received ") == 6


def test_selected_receive(broker: BrokerProcess) -> None:
    """A receiver with a Selector option gets only the matching messages (the broker filters:
    the red and blue ones stay on the queue), under both libraries."""
    out = both(
        lambda mode: run(
            mode, "selected_recv.py", f"127.0.0.1:{broker.port}", f"selected-{mode}"
        ).stdout
    )
    assert out.splitlines() == ["message 1 green", "message 3 green"]


def test_queue_browser(broker: BrokerProcess) -> None:
    """The Copy option browses: two browsers see every message, a consumer then takes them."""
    out = both(
        lambda mode: run(mode, "queue_browser.py", f"127.0.0.1:{broker.port}", f"browse-{mode}")
        .stdout
    )
    assert out.count("browsed item") == 6
    assert out.count("taken item") == 3


def test_runner_resolves_proton_to_amq_python(tmp_path: Path) -> None:
    """Under the runner ``proton`` and its submodules are amq_python's modules (never the real
    python-qpid-proton installed beside it), the program gets its own argv, and a module with
    no equivalent fails with a clear ModuleNotFoundError."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys\n"
        "import proton, proton.reactor, proton.handlers, proton.utils, proton._message\n"
        "from proton.reactor import Container\n"
        "import amq_python\n"
        "print(proton is amq_python, Container.__module__, proton.utils.__name__)\n"
        "print(proton._message.Message is amq_python.Message, amq_python.__spec__.name)\n"
        "print(sys.argv)\n"
        "import proton.tracing, amq_python.tracing\n"
        "print(proton.tracing is amq_python.tracing)\n"
        "try:\n"
        "    import proton._io\n"
        "except ModuleNotFoundError as e:\n"
        "    print('missing', e.name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "amq_python.compat", str(probe), "one", "two"],
        capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "True amq_python._reactor._container amq_python.utils",
        "True amq_python",
        repr([str(probe), "one", "two"]),
        "True",
        "missing proton._io",
    ]


def test_runner_usage_errors() -> None:
    """No program, or a program that does not exist: exit status 2 with a message."""
    for args in ([], ["/nonexistent/program.py"]):
        done = subprocess.run(
            [sys.executable, "-m", "amq_python.compat", *args],
            capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT,
        )
        assert done.returncode == 2
        assert "amq_python.compat" in done.stderr
