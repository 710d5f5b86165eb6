"""amq-send and amq-receive against the embedded broker: messages, JSON lines, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.broker_process import ROOT, BrokerProcess, running_broker
from tests.peers.ports import free_port


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    """One broker for the module: tests use distinct addresses."""
    with running_broker() as process:
        yield process


def tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m amq_python.tools.NAME ARGS`` (what the console script runs)."""
    return subprocess.run(
        [sys.executable, "-m", f"amq_python.tools.{name}", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )


def test_send_100_then_receive_100_as_json(broker: BrokerProcess) -> None:
    """100 messages with typed properties go through; each JSON line parses."""
    sent = tool("send", "--url", broker.url, "tools-json", "--count", "100",
                "--body", "hello {i}", "-P", "n=7", "-P", "kind=test", "--timeout", "20")
    assert sent.returncode == 0, sent.stderr
    received = tool("receive", "--url", broker.url, "tools-json", "--count", "100", "--json",
                    "--timeout", "10")
    assert received.returncode == 0, received.stderr
    records = [json.loads(line) for line in received.stdout.splitlines()]
    assert [r["body"] for r in records] == [f"hello {i}" for i in range(100)]
    assert all(r["properties"] == {"n": 7, "kind": "test"} for r in records)


def test_receive_prints_readably(broker: BrokerProcess) -> None:
    """Without --json: the body and the properties on one line."""
    assert tool("send", "--url", broker.url, "tools-text", "-b", "hi", "-P", "k=v").returncode == 0
    received = tool("receive", "--url", broker.url, "tools-text")
    assert received.returncode == 0, received.stderr
    assert received.stdout == "hi  properties={'k': 'v'}\n"


def test_progress_bar_with_rate(broker: BrokerProcess) -> None:
    """--progress draws the bar on stderr, ending at 100% with a rate."""
    sent = tool("send", "--url", broker.url, "tools-progress", "--count", "50", "--progress")
    assert sent.returncode == 0, sent.stderr
    last = sent.stderr.splitlines()[-1]  # text mode reads each \r as a line end
    assert last.startswith("[" + "#" * 30 + "] 50/50 100% ") and last.endswith(" msg/s")
    assert sent.stdout == ""
    drained = tool("receive", "--url", broker.url, "tools-progress", "--count", "50")
    assert drained.returncode == 0


def test_receive_timeout_exits_3(broker: BrokerProcess) -> None:
    """Fewer messages than asked for within the idle timeout: status 3 and a message."""
    received = tool("receive", "--url", broker.url, "tools-empty", "--timeout", "0.3")
    assert received.returncode == 3
    assert received.stderr == "amq-receive: idle for 0.3 s: 0 of 1 received\n"


def test_receive_forever_ends_on_idle_timeout_with_0(broker: BrokerProcess) -> None:
    """--count 0 receives until idle for --timeout seconds, then exits 0."""
    assert tool("send", "--url", broker.url, "tools-forever", "-c", "3").returncode == 0
    received = tool("receive", "--url", broker.url, "tools-forever", "-c", "0",
                    "--timeout", "0.5")
    assert received.returncode == 0, received.stderr
    assert received.stdout.splitlines() == ["message 0", "message 1", "message 2"]


def test_connection_refused_exits_1() -> None:
    """Nobody listening: status 1 and the reason on stderr."""
    url = f"amqp://127.0.0.1:{free_port()}"
    for name in ("send", "receive"):
        done = tool(name, "--url", url, "q", "--timeout", "5")
        assert done.returncode == 1, (name, done.stderr)
        assert f"amq-{name}:" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args", [["send"], ["send", "q", "--count", "0"], ["receive", "q", "--timeout", "-1"],
             ["send", "q", "-P", "novalue"], ["receive", "q", "--bogus"]],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    """A wrong command line: status 2, one line saying what (more in tests/test_tools_cli.py)."""
    done = tool(*args)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "--help" in done.stderr, done.stderr


@pytest.mark.parametrize("name", ["send", "receive"])
def test_help_documents_exit_codes(name: str) -> None:
    """--help lists the exit statuses."""
    done = tool(name, "--help")
    assert done.returncode == 0
    for line in ("0  done", "1  error", "2  usage", "3  timeout"):
        assert line in done.stdout
