"""amq-send, amq-receive and amq-broker command lines: one-line usage errors, passwords, addresses,
the broker's reasons, binary bodies, idle timeouts, a broker that closes, SASL start-up checks.

Every test runs the real programs as processes (``python -m``, what the console scripts run).
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.broker_process import ROOT, BrokerProcess, running_broker
from tests.peers.ports import free_port, wait_for_port
from tests.peers.sasldb import SaslDb

MODULES = {"send": "amq_python.tools.send", "receive": "amq_python.tools.receive",
           "broker": "amq_python.broker"}


def run(name: str, *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
        timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a tool (``send``, ``receive``, ``broker``) to its end, without a terminal."""
    return subprocess.run(
        [sys.executable, "-m", MODULES[name], *args], cwd=ROOT, capture_output=True, text=True,
        timeout=timeout, input=stdin if stdin is not None else "",
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, start_new_session=True,
    )


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerProcess]:
    """One broker for the module: tests use distinct addresses."""
    with running_broker() as process:
        yield process


# ----- bad command lines: one line, status 2, never a traceback -----

SECRET = "hunter2-secret"
BAD = {
    "send": [
        (["--url", "amqp://bad:url:x", "q"], "more than one ':'"),
        (["--url", "", "q"], "the URL is empty"),
        (["--url", "foo://h", "q"], "unknown scheme 'foo'"),
        (["--url", f"amqp://alice:{SECRET}@h:abc", "q"], "'abc' is not a port number"),
        (["--url", "amqp://h:99999", "q"], "out of range"),
        (["-c", "abc", "q"], "'abc' is not a whole number"),
        (["-c", "0", "q"], "must be at least 1, not 0"),
        (["-c", "-5", "q"], "must be at least 1, not -5"),
        (["-c", "1.5", "q"], "'1.5' is not a whole number"),
        (["--timeout", "soon", "q"], "'soon' is not a number of seconds"),
        (["--timeout", "0", "q"], "above zero"),
        (["--timeout", "nan", "q"], "above zero"),
        (["--timeout", "inf", "q"], "above zero"),
        (["--bogus", "q"], "unrecognized arguments: --bogus"),
        (["q", "extra"], "unrecognized arguments: extra"),
        ([], "the following arguments are required: address"),
        ([""], "the address must not be empty"),
        (["  "], "the address must not be empty"),
        (["topic://"], "topic:// needs a topic name"),
        (["q", "-P", "novalue"], "a property is KEY=VALUE"),
        (["q", "-P", "=x"], "a property is KEY=VALUE"),
        (["q", "--password", "x", "--password-prompt"], "not allowed with argument"),
        (["q", "--password-prompt"], "--password-prompt needs a user"),
        (["q", "-c"], "expected one argument"),
    ],
    "receive": [
        (["--url", "amqp://bad:url:x", "q"], "more than one ':'"),
        (["--url", "amqp://[::1", "q"], "unclosed '['"),
        (["-c", "many", "q"], "'many' is not a whole number"),
        (["-c", "-1", "q"], "must be at least 0, not -1"),
        (["--timeout", "-1", "q"], "above zero"),
        (["--json=yes", "q"], "ignored explicit argument"),
        (["--bogus", "q"], "unrecognized arguments: --bogus"),
        ([""], "the address must not be empty"),
        (["topic://"], "topic:// needs a topic name"),
        (["q", "--password-prompt", "--password", "x"], "not allowed with argument"),
    ],
    "broker": [
        (["--port", "abc"], "'abc' is not a port number"),
        (["--host", "bad host"], "'bad host' is not a host name or address"),
        (["--port", "70000"], "out of range"),
        (["--tls-cert", "/no/such.pem", "--tls-key", "/no/such.key"], "no such file"),
        (["--sasl-config-dir", "/no/such/dir"], "no such directory"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["-v", "x"], "unrecognized arguments: x"),
    ],
}
CASES = [(name, args, text) for name, cases in BAD.items() for args, text in cases]


@pytest.mark.parametrize("name", list(BAD))
def test_bad_command_lines_say_what_in_one_line(name: str) -> None:
    """Each malformed option: status 2 and one line ``amq-NAME: ... (see amq-NAME --help)``
    naming the problem; a password in a bad URL is not echoed. Run concurrently (one process
    each)."""
    cases = BAD[name]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda case: run(name, *case[0]), cases))
    prog = f"amq-{name}"
    for (args, text), done in zip(cases, results):
        lines = done.stderr.splitlines()
        assert done.returncode == 2, (args, done.stderr)
        assert len(lines) == 1, (args, done.stderr)
        assert lines[0].startswith(f"{prog}: ") and lines[0].endswith(f"(see {prog} --help)")
        assert text in lines[0], (args, lines[0])
        assert SECRET not in done.stderr and done.stdout == ""


# ----- passwords: the environment or a prompt, not only the command line -----


@pytest.fixture(scope="module")
def sasl_broker() -> Iterator[tuple[BrokerProcess, str]]:
    """A broker checking PLAIN against a sasldb (alice / wonderland), anonymous refused."""
    with SaslDb(mechs=("PLAIN",)) as db:
        user = db.add_user("alice", "wonderland")
        with running_broker("--sasl-config-dir", str(db.dir), "--sasl-config-name", db.app,
                            "--sasl-mechanisms", "PLAIN", "--require-auth") as process:
            yield process, user


def test_password_from_the_environment(sasl_broker: tuple[BrokerProcess, str]) -> None:
    """AMQ_PASSWORD logs in --user, or the URL's user; a wrong one fails with what the server
    said."""
    broker, user = sasl_broker
    done = run("send", "--url", broker.url, "--user", user, "pw-env",
               env={"AMQ_PASSWORD": "wonderland"})
    assert done.returncode == 0, done.stderr
    wrong = run("send", "--url", broker.url, "--user", user, "pw-env",
                env={"AMQ_PASSWORD": "looking-glass"})
    assert wrong.returncode == 1
    assert "server rejected the credentials" in wrong.stderr, wrong.stderr
    assert "looking-glass" not in wrong.stderr and "Traceback" not in wrong.stderr
    at = broker.url.replace("amqp://", f"amqp://{user.replace('@', '%40')}@")
    received = run("receive", "--url", at, "pw-env", env={"AMQ_PASSWORD": "wonderland"})
    assert (received.returncode, received.stdout) == (0, "message 0\n"), received.stderr


def test_password_prompt(sasl_broker: tuple[BrokerProcess, str]) -> None:
    """--password-prompt reads it with getpass (standard input without a terminal); nothing
    typed is a usage error; --password on the command line wins over AMQ_PASSWORD."""
    broker, user = sasl_broker
    done = run("send", "--url", broker.url, "--user", user, "pw-prompt", "--password-prompt",
               stdin="wonderland\n", env={"AMQ_PASSWORD": "not-this"})
    assert done.returncode == 0, done.stderr
    assert f"password for {user}" in done.stderr and "wonderland" not in done.stderr
    empty = run("receive", "--url", broker.url, "--user", user, "pw-prompt", "--password-prompt")
    assert empty.returncode == 2
    assert empty.stderr.splitlines()[-1].startswith("amq-receive: --password-prompt: no password")
    given = run("receive", "--url", broker.url, "--user", user, "--password", "wonderland",
                "pw-prompt", env={"AMQ_PASSWORD": "not-this"})
    assert (given.returncode, given.stdout) == (0, "message 0\n"), given.stderr


@pytest.mark.parametrize("name", ["send", "receive"])
def test_help_documents_passwords_json_and_exit_codes(name: str) -> None:
    """--help names AMQ_PASSWORD, --password-prompt, -q, the idle timeout and status 130."""
    done = run(name, "--help")
    assert done.returncode == 0
    for text in ("AMQ_PASSWORD", "--password-prompt", "-q, --quiet", "idle for --timeout",
                 "130  interrupted"):
        assert text in done.stdout, text
    assert ('{"$binary": "<base64>"}' in done.stdout) == (name == "receive")


# ----- what the broker says -----

REFUSER = """
import sys
from proton import Condition, Delivery
from proton.handlers import MessagingHandler
from proton.reactor import Container

class Refuser(MessagingHandler):
    def __init__(self):
        super().__init__(auto_accept=False)
    def on_start(self, event):
        event.container.listen("127.0.0.1:" + sys.argv[1])
    def on_message(self, event):
        if event.link.remote_target.address == "release":
            self.settle(event.delivery, Delivery.RELEASED)
            return
        event.delivery.local.condition = Condition("amqp:resource-limit-exceeded",
                                                   "queue full")
        self.settle(event.delivery, Delivery.REJECTED)

Container(Refuser()).run()
"""


@pytest.fixture(scope="module")
def refuser() -> Iterator[str]:
    """A python-qpid-proton peer that rejects every message with a condition (releases those
    sent to ``release``); its URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", REFUSER, str(port)], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, 15)
        yield f"amqp://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stderr is not None
        proc.stderr.close()


def test_rejection_prints_the_brokers_condition(refuser: str) -> None:
    """Rejected: the count and the broker's condition (name and description), status 1."""
    done = run("send", "--url", refuser, "full", "-c", "3", "-q")
    assert done.returncode == 1
    assert done.stderr == ("amq-send: 3 message(s) rejected by the broker: "
                           "amqp:resource-limit-exceeded: queue full\n")


def test_release_says_the_broker_gave_no_reason(refuser: str) -> None:
    """Released: the count, and that a release carries no reason; status 1."""
    done = run("send", "--url", refuser, "release", "-c", "2")
    assert done.returncode == 1
    assert done.stderr == ("amq-send: 2 message(s) released by the broker "
                           "(not taken; a release carries no reason)\n")


# ----- what amq-receive prints -----


def _send_raw(url: str, address: str, *messages: object) -> None:
    """Put messages with any body (bytes included) on a queue with amq_python itself."""
    script = ("import sys, pickle; from amq_python import Message; "
              "from amq_python.utils import BlockingConnection; "
              "c = BlockingConnection(sys.argv[1]); s = c.create_sender(sys.argv[2]); "
              "[s.send(Message(body=b, properties=p)) "
              "for b, p in pickle.load(sys.stdin.buffer)]; c.close()")
    subprocess.run([sys.executable, "-c", script, url, address], cwd=ROOT, check=True,
                   input=pickle.dumps(list(messages)), timeout=30)


def test_binary_bodies_in_json_and_controls_escaped_in_text(broker: BrokerProcess) -> None:
    """--json: bytes are {"$binary": base64} (bodies and properties), a string stays a string;
    text mode escapes control characters, so one message is one line and no ESC is printed."""
    raw = b"ab\x00\x1b[31mX\xff"
    for address in ("bin-json", "bin-text"):
        _send_raw(broker.url, address, (raw, {"k": b"\x01"}), ("a\x1b[2J\nb\tc", None), ("x", None))
    received = run("receive", "--url", broker.url, "bin-json", "-c", "3", "--json")
    assert received.returncode == 0, received.stderr
    first, second, third = (json.loads(line) for line in received.stdout.splitlines())
    assert base64.b64decode(first["body"]["$binary"]) == raw
    assert first["properties"] == {"k": {"$binary": base64.b64encode(b"\x01").decode()}}
    assert second["body"] == "a\x1b[2J\nb\tc" and third["body"] == "x"
    text = run("receive", "--url", broker.url, "bin-text", "-c", "3")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines() == [
        "ab\\x00\\x1b[31mX\\xff  properties={'k': b'\\x01'}", "a\\x1b[2J\\nb\\tc", "x"]


def test_receive_quiet_prints_nothing(broker: BrokerProcess) -> None:
    """-q (as in amq-send): the messages are received but not printed."""
    assert run("send", "--url", broker.url, "quiet", "-c", "4").returncode == 0
    done = run("receive", "--url", broker.url, "quiet", "-c", "4", "-q")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    left = run("receive", "--url", broker.url, "quiet", "-c", "0", "--timeout", "0.3")
    assert (left.returncode, left.stdout) == (0, "")


def test_receive_into_a_closed_pipe(broker: BrokerProcess) -> None:
    """The reader of stdout goes away (``| head -1``): one line, status 1, no traceback; the
    message it could not print goes back to the queue."""
    assert run("send", "--url", broker.url, "pipe", "-b", "first").returncode == 0
    read, write = os.pipe()
    receiver = subprocess.Popen([sys.executable, "-m", MODULES["receive"], "--url", broker.url,
                                 "pipe", "-c", "0"], cwd=ROOT, stdout=write,
                                stderr=subprocess.PIPE, text=True)
    os.close(write)
    with os.fdopen(read) as reader:
        assert reader.readline() == "first\n"
    assert run("send", "--url", broker.url, "pipe", "-c", "2").returncode == 0
    _out, err = receiver.communicate(timeout=20)
    assert (receiver.returncode, err) == (1, "amq-receive: standard output was closed: "
                                             "1 received\n")
    left = run("receive", "--url", broker.url, "pipe", "-c", "2")
    assert left.stdout.splitlines() == ["message 0", "message 1"], left.stderr


def test_idle_timeouts_match_the_help(broker: BrokerProcess) -> None:
    """-c N short of N when idle for --timeout: status 3, "idle for N s"; -c 0: status 0."""
    short = run("receive", "--url", broker.url, "idle-q", "-c", "2", "--timeout", "0.3")
    assert (short.returncode, short.stderr) == (3, "amq-receive: idle for 0.3 s: 0 of 2 received\n")
    forever = run("receive", "--url", broker.url, "idle-q", "-c", "0", "--timeout", "0.3")
    assert (forever.returncode, forever.stderr) == (0, "")
    assert "(amq-receive -c 0 ends with 0 when idle for --timeout seconds)" in \
        run("receive", "--help").stdout


@pytest.mark.parametrize("count", ["0", "5"])
def test_receive_says_when_the_broker_closes(count: str) -> None:
    """The broker closes the connection cleanly (it stops): amq-receive says so, status 1."""
    with running_broker() as stopping:
        receiver = subprocess.Popen(
            [sys.executable, "-m", MODULES["receive"], "--url", stopping.url, "closing", "-c",
             count], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert run("send", "--url", stopping.url, "closing").returncode == 0
            assert receiver.stdout is not None
            assert receiver.stdout.readline() == "message 0\n"  # it is connected
            assert stopping.signal(signal.SIGTERM) == 0
            out, err = receiver.communicate(timeout=20)
        finally:
            if receiver.poll() is None:
                receiver.kill()
                receiver.communicate()
    assert receiver.returncode == 1
    assert err == "amq-receive: the broker closed the connection: no condition given\n"


# ----- the broker's SASL start-up check -----


def test_broker_refuses_password_mechanisms_without_a_database(tmp_path: Path) -> None:
    """PLAIN + --require-auth with no NAME.conf, or a NAME.conf naming a missing sasldb: refused
    at start-up (status 2, saying how to make one); without --require-auth, a warning."""
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"PN_SASL_CONFIG_PATH": str(empty)}
    none = run("broker", "--port", "0", "--sasl-mechanisms", "PLAIN", "--require-auth", env=env)
    assert none.returncode == 2 and none.stdout == ""
    assert len(none.stderr.splitlines()) == 1
    assert "no SASL password database is configured" in none.stderr
    assert "saslpasswd2" in none.stderr and "sasldb_path" in none.stderr
    (empty / "proton-server.conf").write_text(
        f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: {tmp_path / 'no.db'}\n")
    missing = run("broker", "--port", "0", "--sasl-config-dir", str(empty),
                  "--sasl-mechanisms", "SCRAM-SHA-256 PLAIN", "--require-auth")
    assert missing.returncode == 2
    assert f"{tmp_path / 'no.db'}, which does not exist" in missing.stderr
    with running_broker("--sasl-config-dir", str(empty), "--sasl-mechanisms",
                        "PLAIN ANONYMOUS") as warned:
        assert "amq-broker: warning: PLAIN logins will fail" in warned.log()


def test_broker_with_a_database_starts_quietly(sasl_broker: tuple[BrokerProcess, str]) -> None:
    """With a sasldb configured, no warning (and logins work: see the password tests)."""
    assert "warning" not in sasl_broker[0].log()
