"""Frame traces never show a SASL PLAIN password: PN_TRACE_FRM to stderr, and Transport.tracer.

The C engine prints every frame when PN_TRACE_FRM=1; a PLAIN sasl-init carries the password in
clear. proton_ext/csrc/redact_log.c replaces the response field with <redacted>.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from amq_python import Transport

ROOT = Path(__file__).resolve().parent.parent
SECRET = "hunter2-not-in-logs"

PROGRAM = textwrap.dedent(
    f"""
    from amq_python.handlers import MessagingHandler
    from amq_python.reactor import Container

    class Plain(MessagingHandler):
        def on_start(self, event):
            self.acceptor = event.container.listen("127.0.0.1:0")
            event.container.connect(
                f"amqp://127.0.0.1:{{self.acceptor.port}}", user="bob",
                password={SECRET!r}, allowed_mechs="PLAIN", reconnect=False)

        def on_transport_error(self, event):
            self.acceptor.close()

        def on_connection_opened(self, event):
            event.connection.close()
            self.acceptor.close()

    Container(Plain()).run()
    """
)


def test_frame_trace_redacts_the_plain_password() -> None:
    env = {**os.environ, "PN_TRACE_FRM": "1"}
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=30,
    )
    assert "@sasl-init" in result.stderr, result.stderr[-2000:]
    assert "initial-response=<redacted>]" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_tracer_lines_are_redacted() -> None:
    lines: list[str] = []
    transport = Transport()
    transport.tracer = lambda _transport, line: lines.append(line)
    transport.trace(Transport.TRACE_FRM)
    transport.log('@sasl-init(65) [mechanism=:PLAIN, initial-response=b"\\x00bob\\x00pw"]')
    transport.log("an ordinary line")
    assert any(line.endswith("initial-response=<redacted>]") for line in lines), lines
    assert not any("pw" in line for line in lines)
    assert any(line.endswith("an ordinary line") for line in lines), lines
