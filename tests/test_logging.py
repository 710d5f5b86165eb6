"""Logging and protocol tracing.

- ``PN_TRACE_FRM=1`` prints every frame to stderr exactly as python-qpid-proton does: the same
  program (``tests/proton_programs/loopback_hello.py``) under both prints the same kinds of
  lines (``[0x...]: AMQP:FRAME:0 -> @open(16) [...]``), the same number of each.
- ``Transport.tracer`` receives the trace lines proton's tracer receives; an exception raised
  by it comes out of the call that made the engine trace (in memory, and out of
  ``Container.run()``), never swallowed.
- The ``logging`` module: ``amq_python.connection`` logs connections opened and closed,
  transports lost and reconnects; ``amq_python.container`` logs listeners; never a password.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import proton
import pytest

import amq_python
from amq_python.handlers import MessagingHandler
from amq_python.reactor import Container
from tests.helpers import run
from tests.peers.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "tests" / "proton_programs" / "loopback_hello.py"
FRAME_LINE = re.compile(r"^\[0x[0-9a-f]+\]: +(\S+:FRAME:\S* +\S+ +(@[\w-]+\(\d+\)|\S+))")


def _frame_kinds(stderr: str) -> collections.Counter[str]:
    """Each trace line reduced to its kind ("AMQP:FRAME:0 -> @open(16)"), counted."""
    kinds: collections.Counter[str] = collections.Counter()
    for line in stderr.splitlines():
        found = FRAME_LINE.match(line)
        assert found, f"not a frame trace line: {line!r}"
        kinds[" ".join(found.group(1).split())] += 1
    return kinds


def test_pn_trace_frm_prints_frames_as_proton_does() -> None:
    """The same program under proton and under the compat runner, with PN_TRACE_FRM=1."""
    traces = {}
    for mode, runner in (("proton", []), ("compat", ["-m", "amq_python.compat"])):
        done = subprocess.run(
            [sys.executable, *runner, str(PROGRAM), str(free_port())],
            capture_output=True, text=True, timeout=30, cwd=ROOT,
            env={**os.environ, "PN_TRACE_FRM": "1", "PYTHONPATH": str(ROOT)},
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == "Hello World!\n"
        traces[mode] = _frame_kinds(done.stderr)
    assert traces["compat"] == traces["proton"]
    assert traces["compat"]["AMQP:FRAME:0 -> @transfer(20)"] == 1


def _pair(module: Any) -> tuple[Any, Any, Any, list[str]]:
    """A client and a server transport (module's classes), the client tracing into a list."""
    lines: list[str] = []
    client, server = module.Transport(), module.Transport(module.Transport.SERVER)
    connection = module.Connection()
    client.bind(connection)
    server.bind(module.Connection())
    client.trace(module.Transport.TRACE_FRM)
    client.tracer = lambda transport, line: lines.append(line)
    return client, server, connection, lines


def test_tracer_receives_what_protons_receives() -> None:
    """An in-memory open: both tracers get the same lines (container ids aside); the tracer
    is called with our Transport object itself."""
    got = {}
    for module in (proton, amq_python):
        client, server, connection, lines = _pair(module)
        connection.container = "tracing"
        connection.open()
        server.push(client.peek(4096) or b"")
        got[module.__name__] = [re.sub(r", max-frame-size=0x8000", "", line) for line in lines]
    assert got["amq_python"] == got["proton"]
    assert got["amq_python"][-1].startswith('FRAME: 0 -> @open(16) [container-id="tracing"')

    client = amq_python.Transport()
    seen: list[Any] = []
    client.tracer = lambda transport, line: seen.append(transport)
    client.trace(amq_python.Transport.TRACE_FRM)
    client.log("a line")
    assert seen == [client]
    assert client.tracer is not None


def test_tracer_exception_is_reraised() -> None:
    """An exception in the tracer comes out of the Transport call that traced."""
    client, _server, connection, _lines = _pair(amq_python)

    def broken(transport: Any, line: str) -> None:
        raise LookupError(f"tracer failed on {line.split()[0]}")

    client.tracer = broken
    connection.open()
    with pytest.raises(LookupError, match="tracer failed on FRAME"):
        client.pending()
    assert client.capacity() > 0  # the error was raised once, not left pending
    with pytest.raises(LookupError, match="tracer failed on TRACE"):
        client.log("a line")


def test_tracer_exception_ends_run() -> None:
    """A tracer set from a handler that raises: run() ends with its exception."""

    class Tracing(MessagingHandler):
        def on_start(self, event: Any) -> None:
            self.acceptor = event.container.listen("127.0.0.1:0")
            event.container.connect(f"127.0.0.1:{self.acceptor.port}")

        def on_connection_bound(self, event: Any) -> None:
            if event.connection.container == event.container.container_id:
                event.transport.trace(amq_python.Transport.TRACE_FRM)
                event.transport.tracer = self.trace

        def trace(self, transport: Any, line: str) -> None:
            raise RuntimeError("tracer broke")

    container = Container(Tracing())
    with pytest.raises(RuntimeError, match="tracer broke"):
        run(container, timeout=10)


def test_connection_logging(caplog: pytest.LogCaptureFixture) -> None:
    """Listening, connecting, accepting, opened and closed are logged, for both ends."""

    class Hello(MessagingHandler):
        def on_start(self, event: Any) -> None:
            self.acceptor = event.container.listen("127.0.0.1:0")
            event.container.connect(f"amqp://127.0.0.1:{self.acceptor.port}")

        def on_connection_opened(self, event: Any) -> None:
            event.connection.close()

        def on_connection_closed(self, event: Any) -> None:
            self.acceptor.close()

    caplog.set_level(logging.DEBUG, logger="amq_python")
    run(Container(Hello()), timeout=10)
    text = "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records)
    for pattern in (
        r"amq_python.container INFO listening on 127.0.0.1:\d+",
        r"amq_python.connection DEBUG connecting to amqp://127.0.0.1:\d+ \(attempt 1\)",
        r"amq_python.container DEBUG accepted a connection from 127.0.0.1:\d+ on port \d+",
        r"amq_python.connection INFO connection to amqp://127.0.0.1:\d+ opened",
        r"amq_python.connection INFO connection to amqp://127.0.0.1:\d+ closed",
        r"amq_python.connection INFO incoming connection from 127.0.0.1:\d+ closed",
    ):
        assert re.search(pattern, text), f"{pattern} not in\n{text}"


def test_password_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A URL with a user and password that the listener refuses: the failure is a WARNING
    that names the error, and the password appears in no log record."""

    class Refused(MessagingHandler):
        def on_start(self, event: Any) -> None:
            self.acceptor = event.container.listen("127.0.0.1:0")
            event.container.connect(f"amqp://someone:s3cret-pw@127.0.0.1:{self.acceptor.port}")

        def on_transport_error(self, event: Any) -> None:
            self.acceptor.close()

    caplog.set_level(logging.DEBUG, logger="amq_python")
    run(Container(Refused()), timeout=10)
    text = "\n".join(f"{r.levelname} {r.getMessage()}" for r in caplog.records)
    assert "s3cret-pw" not in text
    assert re.search(r"WARNING connection to amqp://127.0.0.1:\d+ lost: "
                     r"amqp:unauthorized-access", text), text


def test_lost_transport_and_reconnect_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens: each failed attempt is a WARNING with the error, each retry an INFO,
    and giving up an ERROR."""
    port = free_port()

    class Refused(MessagingHandler):
        def on_start(self, event: Any) -> None:
            event.container.connect(
                f"127.0.0.1:{port}", reconnect=amq_python.reactor.Backoff(
                    initial=0.01, max_delay=0.02, max_tries=2)
            )

        def on_transport_error(self, event: Any) -> None:
            pass

    caplog.set_level(logging.INFO, logger="amq_python")
    run(Container(Refused()), timeout=10)
    records = [(r.levelname, r.getMessage()) for r in caplog.records
               if r.name == "amq_python.connection"]
    lost = [m for level, m in records if level == "WARNING"]
    assert len(lost) == 3, records
    assert all(f"connection to amqp://127.0.0.1:{port} lost: proton:io" in m for m in lost)
    retries = [m for level, m in records if level == "INFO"]
    assert len(retries) == 2, records
    for attempt, message in enumerate(retries, 1):
        assert re.fullmatch(
            rf"reconnecting to amqp://127.0.0.1:{port} in [\d.]+ s \(attempt {attempt}\)",
            message,
        ), message
    assert records[-1] == (
        "ERROR", f"gave up reconnecting to amqp://127.0.0.1:{port} after 2 attempts"
    )
