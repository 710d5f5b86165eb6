"""A throwaway RabbitMQ 3.10 node with the AMQP 1.0 plugin, run as a plain process on loopback.

Each node has its own name, ports, data directory and epmd (on its own port), so two nodes, or
two test runs, live side by side; nothing is written outside the node's directory.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .certs import Certs
from .ports import free_port, wait_for_port
from .procs import ManagedPeer, require_binary, start_group, stop_group, tail

RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
PACKAGE = "rabbitmq-server"
AMQP_HEADERS = (b"AMQP\x03\x01\x00\x00", b"AMQP\x00\x01\x00\x00")
DIST_ARGS = "-kernel inet_dist_use_interface {127,0,0,1}"


def _answers_amqp(port: int) -> bool:
    """Whether 127.0.0.1:port answers an AMQP 1.0 SASL protocol header with an AMQP header.

    The plain port accepts TCP before the AMQP 1.0 plugin is serving, so ready means answered.
    """
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(AMQP_HEADERS[0])
            return sock.recv(8) in AMQP_HEADERS
    except OSError:
        return False


class RabbitMQ(ManagedPeer):
    """One RabbitMQ node: start(), kill() (SIGKILL), restart() on the same ports, stop().

    Attributes of use to tests: `port` (plain AMQP), `tls_port`, `url`, `tls_url`
    (amqps://localhost:PORT, matching the server certificate), `user`/`password` (guest/guest),
    `directory` (data, config and `rabbitmq.log`), `start_seconds` (the last start's duration).
    With `external=True` the TLS listener asks for a client certificate (not required) and offers
    SASL EXTERNAL, mapping the certificate's CN to a user of that name created at boot.
    """

    user = "guest"
    password = "guest"

    def __init__(
        self, certs: Certs, name: str | None = None, external: bool = False, timeout: float = 60
    ) -> None:
        self.server = require_binary(RABBITMQ_SERVER, PACKAGE)
        self.epmd_binary = require_binary("epmd", "erlang-base (a dependency of rabbitmq-server)")
        self.certs = certs
        self.external = external
        self.timeout = timeout
        self.nodename = f"{name or 'amqpy-' + secrets.token_hex(4)}@localhost"
        self.port = free_port()
        self.tls_port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="amqpy-rabbitmq-"))
        self.log = self.directory / "rabbitmq.log"
        self.start_seconds = 0.0
        self._node: subprocess.Popen[bytes] | None = None
        self._epmd: subprocess.Popen[bytes] | None = None
        self._write_config()

    @property
    def url(self) -> str:
        """amqp://127.0.0.1:PORT, the plain listener."""
        return f"amqp://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        """amqps://localhost:TLS_PORT: `localhost` so that host-name verification succeeds."""
        return f"amqps://localhost:{self.tls_port}"

    def _write_config(self) -> None:
        """rabbitmq.conf, the enabled-plugins file and the empty env file in the node directory."""
        d = self.directory
        lines = [
            f"listeners.tcp.1 = 127.0.0.1:{self.port}",
            f"listeners.ssl.1 = 127.0.0.1:{self.tls_port}",
            f"ssl_options.cacertfile = {self.certs.ca_cert}",
            f"ssl_options.certfile = {self.certs.server_cert}",
            f"ssl_options.keyfile = {self.certs.server_key}",
            "log.console = true",
            "log.console.level = info",
            "log.file = false",
            "amqp1_0.default_user = guest",
        ]
        plugins = "rabbitmq_amqp1_0"
        if self.external:
            plugins += ", rabbitmq_auth_mechanism_ssl"
            lines += [
                "ssl_options.verify = verify_peer",
                "ssl_options.fail_if_no_peer_cert = false",
                "ssl_cert_login_from = common_name",
                "auth_mechanisms.1 = PLAIN",
                "auth_mechanisms.2 = AMQPLAIN",
                "auth_mechanisms.3 = ANONYMOUS",
                "auth_mechanisms.4 = EXTERNAL",
                f"load_definitions = {d / 'definitions.json'}",
            ]
            (d / "definitions.json").write_text(self._definitions())
        else:
            lines.append("ssl_options.verify = verify_none")
        (d / "rabbitmq.conf").write_text("\n".join(lines) + "\n")
        (d / "enabled_plugins").write_text(f"[{plugins}].\n")
        (d / "rabbitmq-env.conf").write_text("")

    def _definitions(self) -> str:
        """Boot definitions: vhost /, guest and the client certificate's CN with full rights."""
        users = [self.user, self.certs.client_cn]
        return json.dumps(
            {
                "vhosts": [{"name": "/"}],
                "users": [
                    {"name": u, "password": self.password, "tags": "administrator"} for u in users
                ],
                "permissions": [
                    {"user": u, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
                    for u in users
                ],
            }
        )

    def _env(self) -> dict[str, str]:
        """The environment that keeps the node, its CLI and epmd inside the node directory."""
        d = str(self.directory)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            HOME=d,
            RABBITMQ_NODENAME=self.nodename,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=f"{d}/mnesia",
            RABBITMQ_LOG_BASE=f"{d}/log",
            RABBITMQ_CONFIG_FILE=f"{d}/rabbitmq.conf",
            RABBITMQ_ADVANCED_CONFIG_FILE=f"{d}/advanced.config",
            RABBITMQ_ENABLED_PLUGINS_FILE=f"{d}/enabled_plugins",
            RABBITMQ_PID_FILE=f"{d}/rabbit.pid",
            RABBITMQ_CONF_ENV_FILE=f"{d}/rabbitmq-env.conf",
            ERL_EPMD_ADDRESS="127.0.0.1",
            ERL_EPMD_PORT=str(self.epmd_port),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=DIST_ARGS,
            RABBITMQ_CTL_ERL_ARGS=DIST_ARGS,
        )
        return env

    def start(self) -> None:
        """Start epmd (once) and the node; return when the AMQP 1.0 listener answers."""
        if self._node is not None:
            raise RuntimeError(f"RabbitMQ {self.nodename} is already running")
        began = time.monotonic()
        env = self._env()
        if self._epmd is None or self._epmd.poll() is not None:
            self._epmd = start_group(
                [self.epmd_binary, "-address", "127.0.0.1", "-port", str(self.epmd_port)],
                env,
                self.directory / "epmd.log",
            )
            if not wait_for_port(self.epmd_port, 10):
                raise RuntimeError(f"epmd did not listen: {tail(self.directory / 'epmd.log')}")
        self._node = start_group([self.server], env, self.log, cwd=self.directory)
        deadline = began + self.timeout
        while not _answers_amqp(self.port):
            if self._node.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"RabbitMQ {self.nodename} did not start:\n{tail(self.log)}")
            time.sleep(0.1)
        if not wait_for_port(self.tls_port, max(1.0, deadline - time.monotonic())):
            self.stop()
            raise RuntimeError(f"RabbitMQ TLS listener did not open:\n{tail(self.log)}")
        self.start_seconds = time.monotonic() - began

    def kill(self) -> None:
        """SIGKILL the node's processes at once, as in a crash; epmd stays up."""
        if self._node is not None:
            stop_group(self._node, grace=0)
            self._node = None

    def restart(self) -> None:
        """Kill the node if it runs and start it again with the same data, name and ports."""
        self.kill()
        self.start()

    def stop(self) -> None:
        """Stop the node and its epmd (SIGTERM, then SIGKILL after 10 s)."""
        if self._node is not None:
            stop_group(self._node)
            self._node = None
        if self._epmd is not None:
            stop_group(self._epmd, grace=1)
            self._epmd = None
