"""Connecting to ``localhost`` with a stock Debian 12 hosts file, which lists ``::1 localhost``
before ``127.0.0.1 localhost``: a client must try every address getaddrinfo gives, in order.

Each case runs ``tests/stock_hosts_script.py`` (a listener on 127.0.0.1 only and a client
connecting to ``localhost``) in a subprocess in its own mount namespace, with the stock hosts
file bind-mounted over /etc/hosts (``unshare -m``: CI runs as root), once on
python-qpid-proton and once on amq_python, and expects the same result: plain, TLS (the
server's name verified) and a reconnect after the listener drops the first connection.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import certs  # noqa: F401
from tests.peers.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "stock_hosts_script.py"
STOCK_HOSTS = "::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\tlocalhost\n"


@pytest.fixture(scope="module")
def stock_hosts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stock Debian 12 hosts file; fails (not skips) where it cannot be mounted."""
    path = tmp_path_factory.mktemp("hosts") / "hosts"
    path.write_text(STOCK_HOSTS)
    assert shutil.which("unshare"), "unshare (util-linux) is needed"
    probe = in_stock_hosts(path, [sys.executable, "-c", "print(open('/etc/hosts').read())"])
    assert probe.returncode == 0 and probe.stdout.strip() == STOCK_HOSTS.strip(), probe.stderr
    return path


def in_stock_hosts(hosts: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with ``hosts`` mounted over /etc/hosts, in a private mount namespace."""
    command = 'mount --bind "$0" /etc/hosts && exec "$@"'
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", command, str(hosts), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def connect_localhost(hosts: Path, module: str, scenario: str, cert_dir: Path) -> dict[str, Any]:
    """The script's result for one library and scenario."""
    done = in_stock_hosts(
        hosts, [sys.executable, str(SCRIPT), module, scenario, str(free_port()), str(cert_dir)]
    )
    assert done.returncode == 0, f"{module} {scenario}: {done.stdout}\n{done.stderr}"
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("scenario", ["plain", "tls", "reconnect"])
def test_localhost_connects_through_every_address(
    stock_hosts: Path,
    scenario: str,
    certs: Certs,  # noqa: F811
) -> None:
    """``::1`` refuses (nothing listens there), ``127.0.0.1`` accepts: both libraries open
    the connection (and reopen it after the drop) with "localhost" as Open's hostname."""
    theirs = connect_localhost(stock_hosts, "proton", scenario, certs.directory)
    ours = connect_localhost(stock_hosts, "amq_python", scenario, certs.directory)
    assert ours["addresses"] == ["::1", "127.0.0.1"], "the stock hosts file is not in force"
    opens = 2 if scenario == "reconnect" else 1
    assert ours == theirs == {
        "addresses": ["::1", "127.0.0.1"],
        "opened": 1,  # a reopened connection's on_connection_opened does not come again
        "server_saw": ["localhost"] * opens,
        "error": None,
    }


def test_every_address_refused_names_each(stock_hosts: Path) -> None:
    """With nothing listening, the error names each address tried and why it failed."""
    port = free_port()
    program = (
        "from amq_python.reactor import Container\n"
        "from amq_python.handlers import MessagingHandler\n"
        "class H(MessagingHandler):\n"
        "    def on_start(self, event):\n"
        f"        event.container.connect('amqp://localhost:{port}', reconnect=False)\n"
        "    def on_transport_error(self, event):\n"
        "        print(event.transport.condition.description)\n"
        "Container(H()).run()\n"
    )
    done = in_stock_hosts(stock_hosts, [sys.executable, "-c", program])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"connect to localhost:{port} failed: [::1]:{port}: Connection refused; "
        f"127.0.0.1:{port}: Connection refused"
    )
