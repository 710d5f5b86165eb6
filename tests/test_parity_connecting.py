"""Connecting, as python-qpid-proton 0.40 does it (issue #13's "Connecting" part, and #18's
connect() items): ``container_id=`` and ``virtual_host=""`` in Open, ``Container.connection()``
with a ``host:port`` hostname, ``connected_address`` of accepted connections, connect.json's
defaults, ``Backoff.delay``, a list of delays as the reconnect policy, unknown keywords under
``amq_python.compat``, and connect()'s docstring.

Where python-qpid-proton can run the same code, the test runs it on both libraries (a listener
and a client in one container, on loopback) and expects the same result.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import proton.reactor
import pytest

from amq_python._reactor._container import _CONNECT_OPTIONS
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Backoff, Container
from tests.helpers import has_ipv6
from tests.peers.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
MODULES = ["proton", "amq_python"]


def open_once(
    module: str, connect: Callable[[Any, Any, int], Any], host: str = "127.0.0.1"
) -> dict[str, Any]:
    """Listen on ``host`` (a free port), call ``connect(container, client_handler, port)``,
    and return what the listener saw in the first Open it accepted: the peer's container id
    and hostname, and the accepted connection's ``connected_address``."""
    handlers = importlib.import_module(module + ".handlers")
    reactor = importlib.import_module(module + ".reactor")
    port = free_port()
    seen: dict[str, Any] = {}

    class Server(handlers.MessagingHandler):  # type: ignore[name-defined]
        def on_start(self, event: Any) -> None:
            literal = f"[{host}]" if ":" in host else host
            self.acceptor = event.container.listen(f"amqp://{literal}:{port}")
            self.timer = event.container.schedule(5.0, self)
            connect(event.container, handlers.MessagingHandler(), port)

        def on_connection_opened(self, event: Any) -> None:
            connection = event.connection
            seen.update(
                container=connection.remote_container,
                hostname=connection.remote_hostname,
                address=connection.connected_address,
            )
            connection.close()
            self.acceptor.close()
            self.timer.cancel()

        def on_timer_task(self, event: Any) -> None:
            seen["timed out"] = True
            event.container.stop()

    reactor.Container(Server()).run()
    return seen


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def canon(seen: dict[str, Any]) -> dict[str, Any]:
    """What ``open_once`` saw, with what differs between runs made comparable: port numbers
    become ``N`` and a generated container id ``<uuid>``."""
    return {
        key: re.sub(r":\d+$", ":N", UUID.sub("<uuid>", value)) if isinstance(value, str) else value
        for key, value in seen.items()
    }


def both(connect: Callable[[Any, Any, int], Any], *ignore: str) -> dict[str, Any]:
    """``open_once`` on both libraries; asserts they saw the same (``canon``), but for the
    ``ignore`` keys, and returns ours."""
    theirs, ours = (canon(open_once(module, connect)) for module in MODULES)
    assert {k: v for k, v in ours.items() if k not in ignore} == {
        k: v for k, v in theirs.items() if k not in ignore
    }
    return ours


def test_container_id_sets_the_open_container_id() -> None:
    """``connect(..., container_id=)`` sends that id in this connection's Open."""
    seen = both(
        lambda c, h, port: c.connect(
            f"amqp://127.0.0.1:{port}", handler=h, container_id="per-connection-id"
        )
    )
    assert seen["container"] == "per-connection-id"
    plain = open_once("amq_python", lambda c, h, port: c.connect(f"amqp://127.0.0.1:{port}"))
    assert plain["container"] != "per-connection-id"  # the container's own id otherwise


def test_container_id_must_be_text() -> None:
    with pytest.raises(TypeError, match="container_id must be a str"):
        Container().connect("amqp://127.0.0.1:1", container_id=5)


@pytest.mark.parametrize(("virtual_host", "expected"), [("", None), ("vhost", "vhost")])
def test_virtual_host_in_open(virtual_host: str, expected: str | None) -> None:
    """An empty virtual_host sends no hostname at all; a non-empty one is sent as given."""
    seen = both(
        lambda c, h, port: c.connect(
            f"amqp://127.0.0.1:{port}", handler=h, virtual_host=virtual_host
        )
    )
    assert seen["hostname"] == expected


def test_connection_with_host_port_hostname_connects_when_opened() -> None:
    """``Container.connection(handler)`` whose hostname is ``host:port`` connects there on
    ``open()``, and sends that hostname, as given, in Open."""

    def connect(container: Any, handler: Any, port: int) -> None:
        connection = container.connection(handler)
        connection.hostname = f"127.0.0.1:{port}"
        connection.open()

    # python-qpid-proton's connection() sends an empty container id; ours, the container's.
    seen = both(connect, "container")
    assert seen["hostname"] == "127.0.0.1:N"
    assert seen["container"] == "<uuid>"


def test_accepted_connection_has_the_peer_address() -> None:
    """An accepted connection's ``connected_address`` is its peer's address as a URL."""
    seen = both(lambda c, h, port: c.connect(f"amqp://127.0.0.1:{port}", handler=h))
    assert seen["address"] == "amqp://127.0.0.1:N"


def test_accepted_connection_address_is_the_client_socket() -> None:
    """The port in ``connected_address`` is the client socket's own (not the listener's)."""
    port = free_port()
    seen: dict[str, Any] = {}

    class Server(MessagingHandler):
        def on_start(self, event: Any) -> None:
            self.acceptor = event.container.listen(f"127.0.0.1:{port}")
            self.client = event.container.connect(
                f"amqp://127.0.0.1:{port}", handler=MessagingHandler()
            )

        def on_connection_opened(self, event: Any) -> None:
            seen["address"] = event.connection.connected_address
            seen["client"] = self.client._channel.sock.getsockname()[1]
            event.connection.close()
            self.acceptor.close()

    Container(Server()).run()
    assert seen["address"] == f"amqp://127.0.0.1:{seen['client']}"
    assert seen["client"] != port


@pytest.mark.skipif(not has_ipv6(), reason="this machine cannot listen on ::1")
def test_accepted_ipv6_connection_address() -> None:
    """IPv6 peers are bracketed (python-qpid-proton listens on IPv4 only)."""
    seen = open_once(
        "amq_python", lambda c, h, port: c.connect(f"amqp://[::1]:{port}", handler=h), "::1"
    )
    assert re.fullmatch(r"amqp://\[::1\]:\d+", seen["address"])


# ----- connect.json -----


@pytest.fixture
def connect_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A connect.json named by MESSAGING_CONNECT_FILE, for both libraries."""
    path = tmp_path / "connect.json"
    monkeypatch.setenv("MESSAGING_CONNECT_FILE", str(path))
    monkeypatch.chdir(tmp_path)
    yield path


def from_file(module: str, allow_insecure_default: bool) -> tuple[str, bool]:
    """The URL and allow_insecure_mechs a file-configured connect() uses, with the
    container's ``allow_insecure_mechs`` set to ``allow_insecure_default`` (read from each
    library's connector: nothing is connected)."""
    reactor = importlib.import_module(module + ".reactor")
    container = reactor.Container()
    container.allow_insecure_mechs = allow_insecure_default
    connection = container.connect()
    if module == "proton":
        overrides = connection._overrides
        return str(overrides.address.values[0]), overrides.allow_insecure_mechs
    connector = connection._connector
    allow = connector.options.get("allow_insecure_mechs", container.allow_insecure_mechs)
    return str(connector.urls[0]), allow


@pytest.mark.parametrize("allow_insecure_default", [True, False])
def test_connect_file_amqp_without_port(connect_file: Path, allow_insecure_default: bool) -> None:
    """``"scheme": "amqp"`` with no port is port 5672; with no ``sasl.allow_insecure`` the
    container's allow_insecure_mechs stays in force."""
    connect_file.write_text(json.dumps({"scheme": "amqp", "host": "127.0.0.1"}))
    theirs = from_file("proton", allow_insecure_default)
    ours = from_file("amq_python", allow_insecure_default)
    assert ours == theirs == ("amqp://127.0.0.1:5672", allow_insecure_default)


def test_connect_file_allow_insecure_is_honoured(connect_file: Path) -> None:
    """``sasl.allow_insecure`` (documented for the AMQ clients) overrides the container's."""
    connect_file.write_text(
        json.dumps({"scheme": "amqp", "host": "127.0.0.1", "sasl": {"allow_insecure": False}})
    )
    assert from_file("amq_python", True) == ("amqp://127.0.0.1:5672", False)


# ----- reconnect policies -----


class CountingListener:
    """A plain TCP listener on 127.0.0.1 that accepts and at once closes every connection,
    counting them: each reconnect attempt is one."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


def attempts_with(module: str, reconnect: Any) -> int:
    """How many connections a client with this reconnect policy makes before it gives up."""
    reactor = importlib.import_module(module + ".reactor")
    handlers = importlib.import_module(module + ".handlers")
    listener = CountingListener()

    class Client(handlers.MessagingHandler):  # type: ignore[name-defined]
        """No timer of its own: a timer would keep run() going after the client gives up
        (pytest's timeout ends a run that never does)."""

        def on_start(self, event: Any) -> None:
            event.container.connect(f"amqp://127.0.0.1:{listener.port}", reconnect=reconnect)

        def on_transport_error(self, event: Any) -> None:
            pass  # expected on every attempt

    try:
        reactor.Container(Client()).run()
    finally:
        listener.close()
    return listener.accepted


def test_a_list_of_delays_is_a_reconnect_policy() -> None:
    """Both libraries take a plain list of delays and give up at its end. We take one delay
    per attempt (the first attempt needs none: 1 + len(delays) attempts); python-qpid-proton
    spends the first delay on the first attempt (len(delays) attempts, with one URL)."""
    delays = [0, 0.01, 0.02]
    assert attempts_with("proton", delays) == len(delays)
    assert attempts_with("amq_python", delays) == len(delays) + 1
    assert attempts_with("amq_python", (d for d in delays)) == len(delays) + 1
    assert attempts_with("amq_python", tuple(delays)) == len(delays) + 1


@pytest.mark.parametrize(
    ("reconnect", "error", "match"),
    [
        ("0.1", TypeError, "reconnect must be False, a Backoff, a list of delays"),
        ([0.1, "1"], TypeError, "reconnect delays must be numbers of seconds, not str"),
        ([0.1, -1], ValueError, "reconnect delays must be >= 0 seconds"),
    ],
)
def test_bad_reconnect_values_are_refused(reconnect: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Container().connect("amqp://127.0.0.1:1", reconnect=reconnect)


def test_backoff_has_a_public_delay() -> None:
    """``delay`` is the next delay ``next()`` gives: 0 at the start of each outage."""
    backoff = Backoff(initial=0.5, factor=3, max_delay=2)
    assert backoff.delay == 0
    assert [backoff.next() for _ in range(4)] == [0, 0.5, 1.5, 2]
    assert backoff.delay == 2
    backoff.reset()
    assert backoff.delay == 0


class FixedInterval(Backoff):
    """A subclass in the style of older python-qpid-proton programs (cli-proton-python's
    CustomBackoff): it calls the base ``__init__``/``reset()`` and keeps its own schedule in
    the inherited ``delay``, giving up after ``limit`` attempts."""

    def __init__(self, interval: float, limit: int) -> None:
        super().__init__()
        self.interval = interval
        self.limit = limit
        self.given: list[float] = []

    def reset(self) -> None:
        self.given = []
        super().reset()

    def next(self) -> float:
        current = self.delay
        self.delay = self.interval
        if len(self.given) == self.limit:
            raise StopIteration
        self.given.append(current)
        return current


def test_a_backoff_subclass_reading_delay_drives_reconnect() -> None:
    policy = FixedInterval(0.01, limit=3)
    assert attempts_with("amq_python", policy) == 4
    assert policy.given == [0, 0.01, 0.01]


def test_proton_backoff_has_no_delay() -> None:
    """Why the subclass above is ours only: python-qpid-proton 0.40's Backoff lost ``delay``
    and ``reset()`` (its older releases had them, which such subclasses rely on)."""
    assert not hasattr(proton.reactor.Backoff(), "delay")
    assert not hasattr(proton.reactor.Backoff, "reset")


# ----- unknown keywords -----

UNKNOWN_KEYWORD_PROGRAM = """
import sys
from proton.handlers import MessagingHandler
from proton.reactor import Container

class Client(MessagingHandler):
    def on_start(self, event):
        self.acceptor = event.container.listen("127.0.0.1:{port}")
        for _ in range(2):
            event.container.connect(
                "amqp://127.0.0.1:{port}", handler=MessagingHandler(), no_such_option=1
            )
        self.opened = 0

    def on_connection_opened(self, event):
        self.opened += 1
        event.connection.close()
        if self.opened == 2:
            self.acceptor.close()
            print("both connections opened")

Container(Client()).run()
"""


@pytest.mark.parametrize("runner", ["proton", "compat"])
def test_unknown_keyword_in_a_proton_program(runner: str, tmp_path: Path) -> None:
    """An unmodified python-qpid-proton program passing a keyword connect() does not know
    runs on both: python-qpid-proton ignores it silently, ``python -m amq_python.compat``
    warns once (naming it) and ignores it."""
    program = tmp_path / "program.py"
    program.write_text(UNKNOWN_KEYWORD_PROGRAM.format(port=free_port()))
    argv = [sys.executable, str(program)]
    if runner == "compat":
        argv[1:1] = ["-m", "amq_python.compat"]
    done = subprocess.run(
        argv, capture_output=True, text=True, cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "both connections opened\n"
    warnings = [line for line in done.stderr.splitlines() if "Warning:" in line]
    if runner == "proton":
        assert done.stderr == ""
    else:
        assert len(warnings) == 1, done.stderr  # two calls, one warning
        assert "RuntimeWarning: connect() ignores the unknown option 'no_such_option'" in (
            warnings[0]
        )


def test_unknown_keyword_in_new_code_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['no_such_option'\]"):
        Container().connect("amqp://127.0.0.1:1", no_such_option=1)


# ----- the docstring -----


def test_connect_docstring_names_every_keyword() -> None:
    """``help(Container.connect)`` documents each keyword connect() accepts: its named
    parameters and the options it takes through ``**kwargs`` (read from the code)."""
    parameters = inspect.signature(Container.connect).parameters.values()
    named = {p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD} - {"self"}
    assert {"url", "urls", "reconnect", "ssl_domain"} <= named
    doc = inspect.getdoc(Container.connect) or ""
    missing = sorted(name for name in named | _CONNECT_OPTIONS if f"``{name}``" not in doc)
    assert not missing, f"connect() docstring does not name: {missing}"
    for topic in ("connect.json", "MESSAGING_CONNECT_FILE", "unauthorized-access", "resolve"):
        assert topic in doc
