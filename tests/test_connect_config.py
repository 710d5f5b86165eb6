"""connect.json: where it is found, what it means, clear errors, and real connections with it.

The connection tests hand ``load_connect_config``'s options to a BlockingConnection (they are
``Container.connect`` keywords) against a python-qpid-proton broker, over TCP and over TLS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from amq_python import Message, SSLDomain
from amq_python._core._connect_config import (
    ConnectConfigError,
    find_connect_file,
    load_connect_config,
    strip_comments,
)
from amq_python.utils import BlockingConnection
from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import certs  # noqa: F401
from tests.peers.proton_broker import ProtonBroker


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory and an empty home, so no real connect.json is seen."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    home = tmp_path / "home"
    home.mkdir()
    yield home


def write(path: Path, content: object) -> Path:
    """Write ``content`` (JSON-encoded unless it is a string) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def env_for(home: Path, file: Path | None = None) -> dict[str, str]:
    """An environment with this HOME and, when given, MESSAGING_CONNECT_FILE."""
    env = {"HOME": str(home)}
    if file is not None:
        env["MESSAGING_CONNECT_FILE"] = str(file)
    return env


def test_defaults_without_a_file(home: Path) -> None:
    """No file anywhere: amqps to localhost on the amqps port, SASL on, insecure mechanisms
    left to the container's default, a TLS domain that verifies the server's name."""
    assert not Path("/etc/messaging/connect.json").exists(), "the test machine has one"
    options = load_connect_config(env_for(home))
    assert options["url"] == "amqps://localhost:5671"
    assert options["sasl_enabled"] is True
    assert "allow_insecure_mechs" not in options
    assert "user" not in options and "password" not in options
    assert "allowed_mechs" not in options
    assert isinstance(options["ssl_domain"], SSLDomain)
    assert "VERIFY_PEER_NAME" in repr(options["ssl_domain"])


def test_search_order(home: Path, tmp_path: Path) -> None:
    """MESSAGING_CONNECT_FILE first, then ./connect.json, then ~/.config/messaging."""
    in_home = write(home / ".config" / "messaging" / "connect.json", {"host": "home"})
    assert find_connect_file(env_for(home)) == in_home
    local = write(Path("connect.json"), {"host": "local"})
    assert find_connect_file(env_for(home)) == local
    named = write(tmp_path / "named.json", {"host": "named"})
    assert find_connect_file(env_for(home, named)) == named
    assert load_connect_config(env_for(home, named))["url"] == "amqps://named:5671"
    assert load_connect_config(env_for(home))["url"] == "amqps://local:5671"


def test_every_option(home: Path, certs: Certs) -> None:  # noqa: F811
    """All documented keys, with comments in the file; mechanisms as a list or a string."""
    text = """
    // the broker
    {
        "scheme": "amqp", /* cleartext */ "host": "example.com", "port": 5673,
        "user": "alice", "password": "se//cr/*et",
        "sasl": {"enabled": true, "mechanisms": ["SCRAM-SHA-256", "PLAIN"],
                 "allow_insecure": true},
        "tls": {"ca": "CA_FILE", "verify": false}
    }
    """.replace("CA_FILE", str(certs.ca_cert))
    file = write(home / "c.json", text)
    options = load_connect_config(env_for(home, file))
    assert options == {
        "url": "amqp://example.com:5673",
        "user": "alice",
        "password": "se//cr/*et",
        "sasl_enabled": True,
        "allowed_mechs": "SCRAM-SHA-256 PLAIN",
        "allow_insecure_mechs": True,
    }
    write(file, {"port": "amqp", "sasl": {"mechanisms": "EXTERNAL", "enabled": False}})
    options = load_connect_config(env_for(home, file))
    assert options["url"] == "amqps://localhost:5672"
    assert options["allowed_mechs"] == "EXTERNAL"
    assert options["sasl_enabled"] is False
    write(file, {"host": "::1", "port": "6000"})
    assert load_connect_config(env_for(home, file))["url"] == "amqps://[::1]:6000"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"host": "x",}', "not valid JSON"),
        ("[1, 2]", "the file must be a JSON object"),
        ({"hostname": "x"}, "unknown key(s) hostname"),
        ({"scheme": "http"}, '"scheme" must be "amqp" or "amqps"'),
        ({"port": "web"}, '"port" \'web\' is neither a number nor a port name'),
        ({"port": 70000}, '"port" 70000 is not between 1 and 65535'),
        ({"port": True}, '"port" must be a number or a port name'),
        ({"host": ""}, '"host" must not be empty'),
        ({"user": 7}, '"user" must be a string, not a number'),
        ({"sasl": {"enabled": "yes"}}, '"sasl.enabled" must be true or false'),
        ({"sasl": {"mechanisms": [1]}}, '"sasl.mechanisms" must be a string or a list'),
        ({"sasl": []}, '"sasl" must be a JSON object'),
        ({"tls": {"verfiy": False}}, 'unknown key(s) verfiy in "tls"'),
        ({"tls": {"ca": "/no/such/ca.pem"}}, '"tls.ca" names /no/such/ca.pem, which is not'),
        ('{"host": "x" /* never closed', "comment is never closed"),
    ],
)
def test_malformed_file_names_file_and_problem(
    home: Path, content: object, problem: str
) -> None:
    """Each mistake gives a ConnectConfigError (a ValueError) naming the file and the key."""
    file = write(home / "bad.json", content)
    with pytest.raises(ConnectConfigError) as info:
        load_connect_config(env_for(home, file))
    message = str(info.value)
    assert message.startswith(f"{file}: ")
    assert problem in message
    assert isinstance(info.value, ValueError)


def test_password_never_in_errors(home: Path) -> None:
    """A wrongly typed password is reported by its type, not its value."""
    file = write(home / "bad.json", {"password": ["hunter2"]})
    with pytest.raises(ConnectConfigError) as info:
        load_connect_config(env_for(home, file))
    assert "hunter2" not in str(info.value)
    assert '"password" must be a string, not a list' in str(info.value)


def test_missing_named_file(home: Path) -> None:
    """MESSAGING_CONNECT_FILE naming a missing file is an error, not a silent fallback."""
    with pytest.raises(ConnectConfigError, match="MESSAGING_CONNECT_FILE names .*missing.json"):
        load_connect_config(env_for(home, home / "missing.json"))


def test_strip_comments_keeps_strings() -> None:
    """Comment markers inside strings (and escaped quotes) are left alone."""
    text = '{"a": "x // y", "b": "q\\" /* z */"} // end\n'
    assert json.loads(strip_comments(text)) == {"a": "x // y", "b": 'q" /* z */'}


def test_connect_with_file_over_tcp(home: Path) -> None:
    """A real connection made only from the file's options (amqp scheme, SASL ANONYMOUS)."""
    with ProtonBroker() as broker:
        file = write(
            home / "connect.json",
            {"scheme": "amqp", "host": "127.0.0.1", "port": broker.port,
             "sasl": {"mechanisms": "ANONYMOUS"}},
        )
        conn = BlockingConnection(timeout=10, **load_connect_config(env_for(home, file)))
        try:
            conn.create_sender("config").send(Message(body="from connect.json"))
            receiver = conn.create_receiver("config")
            assert receiver.receive(timeout=5).body == "from connect.json"
        finally:
            conn.close()


def test_connect_with_file_over_tls(home: Path, certs: Certs) -> None:  # noqa: F811
    """amqps with tls.ca verifies the broker's certificate and name; a wrong CA fails, unless
    verify is false."""
    with ProtonBroker(tls=(certs.server_cert, certs.server_key)) as broker:
        file = home / "connect.json"
        base = {"host": "localhost", "port": broker.port}
        write(file, {**base, "tls": {"ca": str(certs.ca_cert)}})
        conn = BlockingConnection(timeout=10, **load_connect_config(env_for(home, file)))
        try:
            assert conn.conn is not None and conn.conn.transport is not None
            assert conn.conn.transport.encrypted
            conn.create_sender("tls").send(Message(body="secret"))
        finally:
            conn.close()
        write(file, {**base, "tls": {"ca": str(certs.wrong_ca_cert)}})
        with pytest.raises(Exception, match="disconnected"):
            BlockingConnection(timeout=10, **load_connect_config(env_for(home, file)))
        write(file, {**base, "tls": {"ca": str(certs.wrong_ca_cert), "verify": False}})
        conn = BlockingConnection(timeout=10, **load_connect_config(env_for(home, file)))
        conn.close()
