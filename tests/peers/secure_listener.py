"""A listener with SASL and TLS settings, run as a subprocess on either library.

Cyrus SASL keeps one server configuration per process, fixed by the first server connection, and
pytest runs every test file in one process. So each listener that authenticates against its own
sasldb runs in a process of its own: this script, started by ``SecureListener``.

``python -m tests.peers.secure_listener --module amq_python|proton --port PORT [options]`` makes a
Container of that library, applies the options (Cyrus config directory and name, allowed
mechanisms, insecure mechanisms, SASL off, a TLS server domain), listens and prints one JSON line
per happening:

- ``{"ready": true}`` once it listens;
- ``{"opened": {...}}`` when a client's connection is open: the client's container id, the
  authenticated user, the SASL mechanism, whether TLS protects it and the client certificate's
  subject;
- ``{"error": {...}}`` when a transport fails: the condition's name and description.

It runs until killed. ``SecureListener`` reads the lines in a thread and lets a test wait for the
record of its own client (found by container id).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from .ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def _emit(record: dict[str, Any]) -> None:
    """One JSON line on stdout, flushed at once (the test is waiting for it)."""
    print(json.dumps(record), flush=True)


def _server_domain(module: ModuleType, args: argparse.Namespace) -> Any:
    """The TLS server domain the options ask for, or None for a cleartext listener."""
    if not args.cert:
        return None
    domain = module.SSLDomain(module.SSLDomain.MODE_SERVER)
    domain.set_credentials(args.cert, args.key, None)
    if args.ca:
        domain.set_trusted_ca_db(args.ca)
        domain.set_peer_authentication(module.SSLDomain.VERIFY_PEER, args.ca)
    else:
        domain.set_peer_authentication(module.SSLDomain.ANONYMOUS_PEER)
    if args.allow_unsecured:
        domain.allow_unsecured_client()
    return domain


def _handler_class(module: ModuleType) -> type:
    """A MessagingHandler subclass of `module` that reports each connection and failure."""
    handlers = importlib.import_module(f"{module.__name__}.handlers")

    class Reporter(handlers.MessagingHandler):  # type: ignore[name-defined]
        def __init__(self, args: argparse.Namespace) -> None:
            """Keep the parsed options."""
            super().__init__()
            self.args = args

        def on_start(self, event: Any) -> None:
            """Apply the SASL options to the container and listen."""
            container = event.container
            container.sasl_enabled = not self.args.no_sasl
            container.allow_insecure_mechs = not self.args.no_insecure
            if self.args.mechs:
                container.allowed_mechs = self.args.mechs
            if self.args.sasl_dir:
                container.sasl_config_path = self.args.sasl_dir
                container.sasl_config_name = self.args.sasl_name
            scheme = "amqps" if self.args.cert else "amqp"
            container.listen(
                f"{scheme}://127.0.0.1:{self.args.port}",
                ssl_domain=_server_domain(module, self.args),
            )
            _emit({"ready": True})

        def on_connection_opened(self, event: Any) -> None:
            """Report who connected, how they authenticated, whether TLS protects them."""
            transport = event.transport
            sasl = transport.sasl() if not self.args.no_sasl else None
            subject = None
            if self.args.cert and transport.encrypted:
                subject = transport.ssl().get_cert_subject()
            _emit({"opened": {
                "container": event.connection.remote_container,
                "user": transport.user,
                "mech": sasl.mech if sasl is not None else None,
                "encrypted": transport.encrypted,
                "authenticated": transport.authenticated,
                "subject": subject,
            }})

        def on_transport_error(self, event: Any) -> None:
            """Report the failure's condition."""
            condition = event.transport.condition
            _emit({"error": {
                "name": condition.name if condition else None,
                "description": condition.description if condition else None,
            }})

    return Reporter


def main() -> None:
    """Parse the options, listen, report until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--module", default="amq_python", choices=["amq_python", "proton"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sasl-dir")
    parser.add_argument("--sasl-name")
    parser.add_argument("--mechs")
    parser.add_argument("--no-insecure", action="store_true")
    parser.add_argument("--no-sasl", action="store_true")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--ca", help="verify client certificates against this CA")
    parser.add_argument("--allow-unsecured", action="store_true")
    args = parser.parse_args()
    if args.module == "proton" and args.sasl_dir:
        # python-qpid-proton's Container has no sasl_config_path: its Cyrus reads the directory
        # from this variable, and the configuration NAME is always proton-server.
        os.environ["PN_SASL_CONFIG_PATH"] = args.sasl_dir
    module = importlib.import_module(args.module)
    reactor = importlib.import_module(f"{args.module}.reactor")
    reactor.Container(_handler_class(module)(args), "secure-listener").run()


class SecureListener:
    """The script as a child process on a free port; ``opened(container_id)`` waits for the record
    of one client's connection; ``close()`` kills it. ``output`` keeps every line it wrote."""

    def __init__(self, module: str = "amq_python", env: dict[str, str] | None = None,
                 **options: str | bool | None) -> None:
        """Start the listener with ``options`` (``sasl_dir="..."``, ``no_sasl=True``, ...) and
        wait for its ready line."""
        self.port = free_port()
        argv = [sys.executable, "-m", "tests.peers.secure_listener", "--module", module,
                "--port", str(self.port)]
        for name, value in options.items():
            flag = "--" + name.replace("_", "-")
            if value is True:
                argv.append(flag)
            elif value not in (None, False):
                argv += [flag, str(value)]
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.output: list[str] = []
        self._records: queue.Queue[dict[str, Any]] = queue.Queue()
        self._seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()
        ready = self._next(10.0)
        if ready is None or not ready.get("ready"):
            self.close()
            raise RuntimeError(f"listener did not start: {''.join(self.output)}")

    def _read(self) -> None:
        """Reader thread: keep every line; queue the JSON records."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if line.startswith("{"):
                self._records.put(json.loads(line))

    def _next(self, timeout: float) -> dict[str, Any] | None:
        """The next record, or None after ``timeout`` seconds."""
        try:
            return self._records.get(timeout=timeout)
        except queue.Empty:
            return None

    def opened(self, container_id: str, timeout: float = 5.0) -> dict[str, Any] | None:
        """The record of the connection from client ``container_id`` (None if none comes)."""
        deadline = time.monotonic() + timeout
        while True:
            for record in self._seen:
                opened = record.get("opened")
                if opened is not None and opened["container"] == container_id:
                    return dict(opened)
            found = self._next(max(0.0, deadline - time.monotonic()))
            if found is None:
                return None
            self._seen.append(found)

    def errors(self) -> list[dict[str, Any]]:
        """The transport errors reported so far."""
        while True:
            record = self._next(0.0)
            if record is None:
                break
            self._seen.append(record)
        return [record["error"] for record in self._seen if "error" in record]

    @property
    def address(self) -> str:
        """``localhost:PORT``: a test puts the scheme it needs (amqp://, amqps://) in front."""
        return f"localhost:{self.port}"

    def close(self) -> None:
        """Kill the process and wait for it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def __enter__(self) -> SecureListener:
        """Enter: the listener itself."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Leave: kill it."""
        self.close()


if __name__ == "__main__":
    main()
