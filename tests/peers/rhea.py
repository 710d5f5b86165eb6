"""A broker-like AMQP 1.0 server on rhea (Node.js): an implementation independent of Proton.

The node script is tests/peers/rhea/server.js; rhea itself is installed with npm into
tests/peers/rhea/node_modules on first use (rhea@3 from package.json).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .certs import Certs
from .procs import ManagedPeer, require_binary, start_group, stop_group, tail

RHEA_DIR = Path(__file__).resolve().parent / "rhea"


def ensure_rhea() -> None:
    """Install rhea into RHEA_DIR/node_modules unless it is there (locked against parallel runs)."""
    if (RHEA_DIR / "node_modules" / "rhea" / "package.json").exists():
        return
    npm = require_binary("npm", "npm")
    with open(RHEA_DIR / "package.json", "rb") as manifest:
        fcntl.flock(manifest, fcntl.LOCK_EX)
        if (RHEA_DIR / "node_modules" / "rhea" / "package.json").exists():
            return
        done = subprocess.run(
            [npm, "install", "--no-package-lock", "--no-audit", "--no-fund"],
            cwd=RHEA_DIR,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm install in {RHEA_DIR} failed:\n{done.stdout}{done.stderr}")


class RheaServer(ManagedPeer):
    """The rhea broker script as a process: start() / stop(), or use as a context manager.

    `mechanisms` are the SASL mechanisms offered (ANONYMOUS and PLAIN by default; empty: no SASL
    layer), `users` the PLAIN name/password pairs; with `certs` it listens with TLS using the
    server certificate, and `external=True` also asks for a client certificate and offers
    EXTERNAL. After start(): `port`, `url` (amqps://localhost:PORT with TLS, so host-name checks
    pass), `log` (the script's output).
    """

    def __init__(
        self,
        mechanisms: Sequence[str] = ("ANONYMOUS", "PLAIN"),
        users: Mapping[str, str] | None = None,
        certs: Certs | None = None,
        external: bool = False,
        container_id: str = "rhea-test-broker",
        timeout: float = 30,
    ) -> None:
        self.node = require_binary("node", "nodejs")
        self.users = dict(users if users is not None else {"alice": "alice-secret"})
        self.certs = certs
        self.timeout = timeout
        self.directory = Path(tempfile.mkdtemp(prefix="amqpy-rhea-"))
        self.log = self.directory / "rhea.log"
        self.port = 0
        self.config: dict[str, object] = {
            "mechanisms": list(mechanisms),
            "users": self.users,
            "container_id": container_id,
            "port_file": str(self.directory / "port.json"),
        }
        if certs is not None:
            self.config["tls"] = {
                "key": str(certs.server_key),
                "cert": str(certs.server_cert),
                "ca": str(certs.ca_cert),
                "external": external,
            }
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """amqp://127.0.0.1:PORT, or amqps://localhost:PORT with TLS."""
        if self.certs is not None:
            return f"amqps://localhost:{self.port}"
        return f"amqp://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Install rhea if needed, start the script, wait for the port it listens on."""
        ensure_rhea()
        port_file = self.directory / "port.json"
        port_file.unlink(missing_ok=True)
        self._proc = start_group(
            [self.node, str(RHEA_DIR / "server.js"), json.dumps(self.config)],
            os.environ,
            self.log,
            cwd=RHEA_DIR,
        )
        deadline = time.monotonic() + self.timeout
        while not port_file.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"rhea server did not start:\n{tail(self.log)}")
            time.sleep(0.02)
        self.port = int(json.loads(port_file.read_text())["port"])

    def stop(self) -> None:
        """Stop the script's process group."""
        if self._proc is not None:
            stop_group(self._proc, grace=5)
            self._proc = None


def run_client(
    port: int,
    address: str,
    count: int,
    username: str | None = None,
    password: str | None = None,
    certs: Certs | None = None,
    timeout: float = 30,
) -> dict[str, object]:
    """Run tests/peers/rhea/client.js against 127.0.0.1:port (localhost with TLS): it sends
    `count` messages to `address` and receives `count` back, accepting each.

    `username` "anonymous" without a password logs in with ANONYMOUS, with a password PLAIN;
    `certs` turns TLS on, verifying the server against the test CA. Returns the script's report:
    ``accepted`` (how many of ours the peer accepted), ``bodies`` (received, in order),
    ``errors``. The process is killed if it outlives `timeout` (plus a margin).
    """
    ensure_rhea()
    config: dict[str, object] = {"port": port, "address": address, "count": count,
                                 "timeout": timeout}
    if username is not None:
        config["username"] = username
    if password is not None:
        config["password"] = password
    if certs is not None:
        config.update(host="localhost", tls={"ca": str(certs.ca_cert), "servername": "localhost"})
    done = subprocess.run(
        [require_binary("node", "nodejs"), str(RHEA_DIR / "client.js"), json.dumps(config)],
        cwd=RHEA_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout + 10,
    )
    if not done.stdout.strip():
        raise RuntimeError(f"rhea client printed nothing (status {done.returncode}):\n"
                           f"{done.stderr}")
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report
