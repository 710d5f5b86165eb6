"""SASL through the Cyrus bridge as python-qpid-proton 0.40 does it (issue #13).

A bare server ``Transport(Transport.SERVER)`` (no Container) honours ``PN_SASL_CONFIG_PATH``,
``SASL.config_path`` and ``SASL.config_name``; the server's ``SASL.authorization`` is the user
when the client asked for no other authorization id; ``allowed_mechs="ANONYMOUS"`` makes a
client with a user name log in anonymously; an authorization id other than the user is allowed
as python-qpid-proton allows it, and refused when the server's Cyrus configuration says
``amqp_authz_policy: same`` (README, "Security notes").

Cyrus fixes its server configuration once per process, so each scenario runs in a fresh Python
process (``python -m tests.test_parity_sasl MODULE SPECS``): a client and a server transport of
one library joined in memory, real Cyrus and a real sasldb behind the server. Each test runs the
same scenarios on python-qpid-proton and on amq_python and expects the same answers.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers.certs import make_certs
from tests.peers.proton_broker import ProtonBroker
from tests.peers.sasldb import SaslDb

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Parity-s3cret"
LIBS = ("proton", "amq_python")


# ---- the scenario, run in a child process ----------------------------------------------------


def _pump(a: Any, b: Any) -> None:
    """Move bytes both ways between two in-memory transports until neither has any to send."""
    moved = True
    while moved:
        moved = False
        for src, dst in ((a, b), (b, a)):
            n = src.pending()
            if n > 0:
                dst.push(bytes(src.peek(n)))
                src.pop(n)
                moved = True


def _tls(m: Any, server: Any, client: Any, pem: dict[str, str]) -> None:
    """TLS on both transports: the server verifies the client's certificate (for EXTERNAL)."""
    domain = m.SSLDomain(m.SSLDomain.MODE_SERVER)
    domain.set_credentials(pem["server_cert"], pem["server_key"], None)
    domain.set_trusted_ca_db(pem["ca"])
    domain.set_peer_authentication(m.SSLDomain.VERIFY_PEER, pem["ca"])
    m.SSL(server, domain)
    domain = m.SSLDomain(m.SSLDomain.MODE_CLIENT)
    domain.set_credentials(pem["client_cert"], pem["client_key"], None)
    domain.set_trusted_ca_db(pem["ca"])
    domain.set_peer_authentication(m.SSLDomain.VERIFY_PEER_NAME)
    m.SSL(client, domain)


def scenario(m: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """One SASL exchange between a client and a bare server transport of module ``m``: what
    each side's SASL object says afterwards."""
    server = m.Transport(m.Transport.SERVER)
    client = m.Transport()
    if "tls" in spec:
        _tls(m, server, client, spec["tls"])
    server_sasl = server.sasl()
    server_sasl.allow_insecure_mechs = True
    if "config_path" in spec:
        server_sasl.config_path(spec["config_path"])
    if "config_name" in spec:
        server_sasl.config_name(spec["config_name"])
    if "server_mechs" in spec:
        server_sasl.allowed_mechs(spec["server_mechs"])
    server.bind(m.Connection())
    connection = m.Connection()
    connection.hostname = "localhost"
    for name in ("user", "password", "authorization"):
        if name in spec:
            setattr(connection, name, spec[name])
    client_sasl = client.sasl()
    client_sasl.allow_insecure_mechs = True
    if "client_mechs" in spec:
        client_sasl.allowed_mechs(spec["client_mechs"])
    client.bind(connection)
    connection.open()
    _pump(client, server)
    condition = server.condition
    return {
        "outcome": server_sasl.outcome,
        "mech": server_sasl.mech,
        "user": server_sasl.user,
        "authorization": server_sasl.authorization,
        "client_outcome": client_sasl.outcome,
        "refused": condition.name if condition else None,
    }


def main() -> None:
    """Child process: run each spec (JSON list on argv) on the named module; print JSON."""
    module = importlib.import_module(sys.argv[1])
    print(json.dumps([scenario(module, spec) for spec in json.loads(sys.argv[2])]))


# ---- the tests -------------------------------------------------------------------------------


def run_specs(
    module: str, specs: list[dict[str, Any]], config_path: Path | None,
    variable: str = "PN_SASL_CONFIG_PATH",
) -> Any:
    """Run ``specs`` on ``module`` in a fresh process, ``variable`` set to config_path (or
    unset)."""
    unset = ("PN_SASL_CONFIG_PATH", "SASL_CONF_PATH")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    if config_path is not None:
        env[variable] = str(config_path)
    done = subprocess.run(
        [sys.executable, "-m", "tests.test_parity_sasl", module, json.dumps(specs)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def both(specs: list[dict[str, Any]], config_path: Path | None) -> list[dict[str, Any]]:
    """Run ``specs`` on both libraries; assert they agree; return the answers."""
    theirs, ours = (run_specs(module, specs, config_path) for module in LIBS)
    assert ours == theirs
    return ours  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def sasldb() -> Iterator[SaslDb]:
    """proton-server.conf (SCRAM-SHA-256, PLAIN, ANONYMOUS), other-app.conf (PLAIN only) and
    external.conf (EXTERNAL only), over one sasldb with users alice and bob; same.conf and
    external-same.conf add ``amqp_authz_policy: same``."""
    with SaslDb(mechs=("SCRAM-SHA-256", "PLAIN", "ANONYMOUS")) as db:
        db.add_user("alice", PASSWORD)
        db.add_user("bob", PASSWORD)
        base = (db.dir / "proton-server.conf").read_text()
        (db.dir / "other-app.conf").write_text(base.replace(
            "mech_list: SCRAM-SHA-256 PLAIN ANONYMOUS", "mech_list: PLAIN"))
        (db.dir / "same.conf").write_text(base + "amqp_authz_policy: same\n")
        external = base.replace("mech_list: SCRAM-SHA-256 PLAIN ANONYMOUS", "mech_list: EXTERNAL")
        (db.dir / "external.conf").write_text(external)
        (db.dir / "external-same.conf").write_text(external + "amqp_authz_policy: same\n")
        yield db


def alice(db: SaslDb, **extra: Any) -> dict[str, Any]:
    return {"user": f"alice@{db.realm}", "password": PASSWORD, **extra}


def test_pn_sasl_config_path_reaches_a_bare_server_transport(sasldb: SaslDb) -> None:
    """With PN_SASL_CONFIG_PATH naming the sasldb's directory, a server Transport made outside
    any Container authenticates alice with the strongest mechanism of proton-server.conf.
    Without it, the same exchange fails (Cyrus's default configuration knows no alice)."""
    got = both([alice(sasldb)], sasldb.dir)
    assert got[0]["outcome"] == 0 and got[0]["mech"] == "SCRAM-SHA-256"
    assert got[0]["user"] == f"alice@{sasldb.realm}"
    without = both([alice(sasldb, client_mechs="SCRAM-SHA-256")], None)
    assert without[0]["outcome"] != 0 and without[0]["refused"] == "amqp:unauthorized-access"


def test_config_name_and_config_path_on_a_bare_server_transport(sasldb: SaslDb) -> None:
    """SASL.config_name picks other-app.conf (PLAIN only) from PN_SASL_CONFIG_PATH's directory;
    SASL.config_path alone, with no environment, finds proton-server.conf."""
    named = both([alice(sasldb, config_name="other-app")], sasldb.dir)
    assert (named[0]["outcome"], named[0]["mech"]) == (0, "PLAIN")
    pathed = both([alice(sasldb, config_path=str(sasldb.dir))], None)
    assert (pathed[0]["outcome"], pathed[0]["mech"]) == (0, "SCRAM-SHA-256")


def test_server_authorization_is_the_user_when_none_was_asked(sasldb: SaslDb) -> None:
    specs = [alice(sasldb), alice(sasldb, client_mechs="PLAIN"),
             alice(sasldb, authorization=f"alice@{sasldb.realm}")]
    for answer in both(specs, sasldb.dir):
        assert answer["outcome"] == 0
        assert answer["authorization"] == answer["user"] == f"alice@{sasldb.realm}"


def test_allowed_mechs_anonymous_wins_over_a_user_name(sasldb: SaslDb) -> None:
    """allowed_mechs="ANONYMOUS" forces the mechanism though a user and password are set
    (seed 5.4.3); naming a stronger mechanism beside it still picks the stronger one."""
    got = both([alice(sasldb, client_mechs="ANONYMOUS"),
                alice(sasldb, client_mechs="PLAIN ANONYMOUS")], sasldb.dir)
    assert [(g["outcome"], g["mech"], g["user"]) for g in got] == [
        (0, "ANONYMOUS", "anonymous"), (0, "PLAIN", f"alice@{sasldb.realm}")]


def test_a_user_name_without_allowed_mechs_never_falls_back_to_anonymous(sasldb: SaslDb) -> None:
    """Where we differ on purpose (README, Security notes): a client with a user name and no
    allowed_mechs, facing a server that offers only ANONYMOUS, fails instead of logging in
    anonymously, as python-qpid-proton would."""
    spec = alice(sasldb, server_mechs="ANONYMOUS")
    theirs, = run_specs("proton", [spec], sasldb.dir)
    ours, = run_specs("amq_python", [spec], sasldb.dir)
    assert (theirs["outcome"], theirs["mech"]) == (0, "ANONYMOUS")
    assert ours["client_outcome"] not in (None, 0) and ours["user"] is None


def test_an_other_authorization_id_is_allowed_as_in_proton(sasldb: SaslDb) -> None:
    """Under the default policy an authenticated alice may ask to act as bob (PLAIN's authzid,
    or SCRAM's); the server reports both, and a wrong password still fails."""
    bob = f"bob@{sasldb.realm}"
    got = both([alice(sasldb, client_mechs="PLAIN", authorization=bob),
                alice(sasldb, authorization=bob),
                alice(sasldb, client_mechs="PLAIN", authorization=bob, password="wrong")],
               sasldb.dir)
    assert [(g["outcome"], g["mech"], g["user"], g["authorization"]) for g in got] == [
        (0, "PLAIN", f"alice@{sasldb.realm}", bob),
        (0, "SCRAM-SHA-256", f"alice@{sasldb.realm}", bob),
        (1, "PLAIN", None, None),
    ]


def test_an_other_authorization_id_is_refused_under_the_same_policy(sasldb: SaslDb) -> None:
    """With ``amqp_authz_policy: same`` in the server's NAME.conf (our option: proton ignores
    it), alice asking to act as bob is refused, with PLAIN and with SCRAM; alice asking for her
    own id, or for none, still logs in."""
    bob = f"bob@{sasldb.realm}"
    specs = [alice(sasldb, client_mechs="PLAIN", authorization=bob),
             alice(sasldb, authorization=bob),
             alice(sasldb, authorization=f"alice@{sasldb.realm}"),
             alice(sasldb)]
    got = run_specs("amq_python", [{**s, "config_name": "same"} for s in specs], sasldb.dir)
    assert [(g["outcome"], g["refused"], g["user"]) for g in got] == [
        (1, "amqp:unauthorized-access", None),
        (1, "amqp:unauthorized-access", None),
        (0, None, f"alice@{sasldb.realm}"),
        (0, None, f"alice@{sasldb.realm}"),
    ]
    assert all(g["client_outcome"] == g["outcome"] for g in got)


def test_the_same_policy_is_read_where_cyrus_reads_its_configuration(sasldb: SaslDb) -> None:
    """The policy line is found in the NAME.conf Cyrus itself reads, here through Cyrus's own
    SASL_CONF_PATH (no PN_SASL_CONFIG_PATH): a configured refusal never silently allows."""
    bob = f"bob@{sasldb.realm}"
    specs = [alice(sasldb, config_name="same", authorization=bob),
             alice(sasldb, config_name="same")]
    got = run_specs("amq_python", specs, sasldb.dir, variable="SASL_CONF_PATH")
    assert [(g["outcome"], g["user"]) for g in got] == [(1, None), (0, f"alice@{sasldb.realm}")]


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A CA, a server certificate for localhost and a client certificate (CN=amqp-client)."""
    certs = make_certs(tmp_path_factory.mktemp("parity-sasl-certs"))
    return {"ca": str(certs.ca_cert), "server_cert": str(certs.server_cert),
            "server_key": str(certs.server_key), "client_cert": str(certs.client_cert),
            "client_key": str(certs.client_key)}


def test_external_with_an_authorization_id(sasldb: SaslDb, pem: dict[str, str]) -> None:
    """EXTERNAL over TLS: the user is the client certificate's subject; an authorization id
    the client asks for is allowed by default (as in python-qpid-proton) and refused under
    ``amqp_authz_policy: same``."""
    bob = f"bob@{sasldb.realm}"
    base = {"tls": pem, "client_mechs": "EXTERNAL", "config_name": "external"}
    got = both([base, {**base, "authorization": bob}], sasldb.dir)
    assert [(g["outcome"], g["mech"], g["user"], g["authorization"]) for g in got] == [
        (0, "EXTERNAL", "CN=amqp-client", "CN=amqp-client"),
        (0, "EXTERNAL", "CN=amqp-client", bob),
    ]
    same = {**base, "config_name": "external-same"}
    got = run_specs("amq_python", [{**same, "authorization": bob}, same], sasldb.dir)
    assert [(g["outcome"], g["refused"], g["user"]) for g in got] == [
        (1, "amqp:unauthorized-access", None), (0, None, "CN=amqp-client")]


def _connect_anonymous(module: str, url: str) -> Any:
    """Seed 5.4.3 over TCP: connect with a user and password in the URL and
    allowed_mechs="ANONYMOUS"; the mechanism the client's SASL object reports once open."""
    code = f"""
import json, {module}.handlers as h, {module}.reactor as r
seen = {{}}
class Client(h.MessagingHandler):
    def on_start(self, event):
        event.container.connect({url!r}, allowed_mechs="ANONYMOUS", reconnect=False)
    def on_connection_opened(self, event):
        seen["mech"] = event.transport.sasl().mech
        seen["outcome"] = event.transport.sasl().outcome
        event.connection.close()
    def on_transport_error(self, event):
        seen["error"] = event.transport.condition.name
r.Container(Client()).run()
print(json.dumps(seen))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_connect_with_allowed_mechs_anonymous_and_a_user_over_tcp() -> None:
    """Against python-qpid-proton's broker on loopback, both clients log in anonymously
    though the URL carries a user and password."""
    with ProtonBroker() as broker:
        url = broker.url.replace("amqp://", "amqp://alice:secret@")
        got = [_connect_anonymous(module, url) for module in LIBS]
    assert got[0] == got[1] == {"mech": "ANONYMOUS", "outcome": 0}


if __name__ == "__main__":
    main()
