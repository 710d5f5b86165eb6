"""``python -m amq_python.diagnose``: run as a user would, in its own process (it initialises
Cyrus's process-wide server side), plus the in-memory TLS check proved able to fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from amq_python import SSLDomain
from amq_python.diagnose import _handshake
from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import certs  # noqa: F401  (a fixture)
from tests.peers.sasldb import SaslDb

ROOT = Path(__file__).resolve().parent.parent


def diagnose(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the tool; bounded."""
    return subprocess.run([sys.executable, "-m", "amq_python.diagnose", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=30, check=False)


def test_text_report() -> None:
    """The text report names the versions, says TLS works and lists the mechanisms."""
    done = diagnose()
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Qpid Proton C" in out and "libqpid-proton-core" in out
    assert "OpenSSL 3" in out and "Cyrus SASL 2." in out
    assert "TLS                  works" in out
    client = next(line for line in out.splitlines() if line.startswith("SASL client offers"))
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "PLAIN", "ANONYMOUS", "EXTERNAL",
                 "GSSAPI"):
        assert mech in client.split()


def test_json_report_follows_the_server_config() -> None:
    """With a Cyrus configuration the server list is its mech_list; nothing common is missing
    here (the test command installs the plug-ins)."""
    with SaslDb(app="diagnose", mechs=("SCRAM-SHA-256", "PLAIN")) as config:
        done = diagnose("--json", "--sasl-config-path", str(config.dir),
                        "--sasl-config-name", "diagnose")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert sorted(report["server_mechanisms"]) == ["PLAIN", "SCRAM-SHA-256"]
    assert report["missing"] == [] and report["problems"] == []
    assert report["openssl"].startswith("OpenSSL ")


def test_handshake_check_detects_untrusted_certificate(certs: Certs) -> None:  # noqa: F811
    """The TLS check is real: a client that trusts another CA makes it report the failure."""
    server = SSLDomain(SSLDomain.MODE_SERVER)
    server.set_credentials(str(certs.server_cert), str(certs.server_key), None)
    good, bad = SSLDomain(SSLDomain.MODE_CLIENT), SSLDomain(SSLDomain.MODE_CLIENT)
    good.set_trusted_ca_db(str(certs.ca_cert))
    bad.set_trusted_ca_db(str(certs.wrong_ca_cert))
    assert _handshake(server, good) is None
    failure = _handshake(server, bad)
    assert failure is not None and "certificate verify failed" in failure
