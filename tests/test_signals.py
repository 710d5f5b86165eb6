"""SIGINT and SIGTERM: the broker stops cleanly however many arrive; the tools exit 130 with a
one-line summary. Every program runs as a real process."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.broker_process import ROOT, BrokerProcess, running_broker

ROUNDS = 20
PROGRAMS = {"sender": "amq-send", "receiver": "amq-receive"}


@pytest.mark.parametrize("first, second", [("TERM", "TERM"), ("INT", "TERM")])
def test_broker_survives_a_second_signal_during_shutdown(first: str, second: str) -> None:
    """FIRST then SECOND 10 ms later, 20 rounds, each with a sender and a receiver busy: the
    broker always exits 0 with nothing on stderr (no "EventInjector is closed"), and both
    clients say the broker closed the connection (status 1). See tests/signal_rounds.py."""
    done = subprocess.run([sys.executable, "-m", "tests.signal_rounds", first, second,
                           str(ROUNDS)], cwd=ROOT, capture_output=True, text=True, timeout=110,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    rounds = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rounds) == ROUNDS
    for result in rounds:
        assert result["flowed"], result
        assert (result["broker"], result["broker_stderr"]) == (0, ""), result
        for name in ("sender", "receiver"):
            assert result[name] == 1, result
            assert result[f"{name}_stderr"] == \
                f"{PROGRAMS[name]}: the broker closed the connection: no condition given\n", result


def test_broker_help_says_what_further_signals_do() -> None:
    """--help: the first signal stops with status 0, later ones are ignored."""
    done = subprocess.run([sys.executable, "-m", "amq_python.broker", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    assert "Further SIGINT/SIGTERM during that\n  shutdown are ignored." in done.stdout
    assert "0  stopped by SIGINT/SIGTERM" in done.stdout


# ----- the tools -----


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    """One broker for the module: tests use distinct addresses."""
    with running_broker() as process:
        yield process


def start(name: str, *args: str) -> subprocess.Popen[str]:
    """Start amq-NAME with pipes for stdout and stderr."""
    return subprocess.Popen([sys.executable, "-m", f"amq_python.tools.{name}", *args], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for the end: the status and stderr (killed and failed if it hangs)."""
    try:
        _out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("the tool did not end after the signal")
    return proc.returncode, err


SENT = re.compile(r"amq-send: interrupted: [\d,]+ of 2,000,000 sent, [\d,]+ accepted\n")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_send_interrupted_mid_run(broker: BrokerProcess, sig: signal.Signals) -> None:
    """A signal while sending: the bar's line ends, then one summary line; status 130."""
    sender = start("send", "--url", broker.url, f"int-send-{sig.name}", "-c", "2000000",
                   "--progress")
    assert sender.stderr is not None
    assert sender.stderr.read(1) in "\r\n"  # the bar (text mode reads \r as \n) is drawn:
    # messages are being settled
    sender.send_signal(sig)
    status, err = finish(sender)
    assert status == 130
    assert "Traceback" not in err
    assert SENT.fullmatch(err.splitlines(keepends=True)[-1]), err[-300:]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_receive_interrupted_mid_run(broker: BrokerProcess, sig: signal.Signals) -> None:
    """A signal while receiving: one summary line, status 130 (with -c 0 as with -c N)."""
    address = f"int-receive-{sig.name}"
    assert subprocess.run([sys.executable, "-m", "amq_python.tools.send", "--url", broker.url,
                           address, "-c", "3"], cwd=ROOT, timeout=30).returncode == 0
    for count, summary in (("0", "3 received"), ("10", "3 of 10 received")):
        if count == "10":
            assert subprocess.run([sys.executable, "-m", "amq_python.tools.send", "--url",
                                   broker.url, address, "-c", "3"], cwd=ROOT,
                                  timeout=30).returncode == 0
        receiver = start("receive", "--url", broker.url, address, "-c", count)
        assert receiver.stdout is not None
        lines = [receiver.stdout.readline() for _ in range(3)]
        assert lines == ["message 0\n", "message 1\n", "message 2\n"]
        receiver.send_signal(sig)
        assert finish(receiver) == (130, f"amq-receive: interrupted: {summary}\n")


def test_second_signal_stops_at_once(broker: BrokerProcess) -> None:
    """Two signals back to back: still one summary line and 130, never a traceback."""
    sender = start("send", "--url", broker.url, "int-twice", "-c", "2000000", "--progress")
    assert sender.stderr is not None
    assert sender.stderr.read(1) in "\r\n"
    sender.send_signal(signal.SIGINT)
    sender.send_signal(signal.SIGINT)
    status, err = finish(sender)
    assert status == 130 and "Traceback" not in err
    assert SENT.fullmatch(err.splitlines(keepends=True)[-1]), err[-300:]


@pytest.mark.parametrize("name", ["send", "receive"])
def test_interrupted_with_a_silent_peer(name: str) -> None:
    """A peer that accepts the socket and never answers: one SIGTERM still ends the tool (it
    waits a bounded time for the close), 130 with the summary."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(20)
        tool = start(name, "--url", f"amqp://127.0.0.1:{listener.getsockname()[1]}", "silent")
        accepted, _ = listener.accept()  # the tool is in its loop: it connects from on_start
        with accepted:
            tool.send_signal(signal.SIGTERM)
            status, err = finish(tool)
    summary = "0 of 1 sent, 0 accepted" if name == "send" else "0 of 1 received"
    assert (status, err) == (130, f"amq-{name}: interrupted: {summary}\n")


def test_interrupted_at_the_password_prompt(broker: BrokerProcess) -> None:
    """Ctrl-C while asking for the password: one line, 130."""
    sender = start("send", "--url", broker.url, "q", "--user", "u", "--password-prompt")
    assert sender.stderr is not None
    prompt = ""
    while not prompt.endswith("password for u: "):  # after getpass's "input may be echoed"
        char = sender.stderr.read(1)
        assert char, prompt
        prompt += char
    sender.send_signal(signal.SIGINT)
    status, err = finish(sender)
    assert (status, err.strip()) == (130, "amq-send: interrupted before connecting")


def test_both_tools_show_the_same_exit_table() -> None:
    """The exit-status table in --help is the same for both, 130 included."""
    tables = []
    for name in ("send", "receive"):
        done = subprocess.run([sys.executable, "-m", f"amq_python.tools.{name}", "--help"],
                              cwd=ROOT, capture_output=True, text=True, timeout=30)
        tables.append(done.stdout[done.stdout.index("exit status ("):])
    assert tables[0] == tables[1]
    assert "130  interrupted: SIGINT (Ctrl-C) or SIGTERM" in tables[0]
