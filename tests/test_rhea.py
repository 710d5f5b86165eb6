"""Interop with rhea (Node.js), an AMQP 1.0 implementation that shares no code with Proton.

Both directions, 1,000 acknowledged messages each, with ANONYMOUS, PLAIN and TLS:

- our client to the rhea broker script (tests/peers/rhea/server.js, started by ``rhea_factory``);
- rhea's client (tests/peers/rhea/client.js) to our embedded broker, started with the matching
  TLS and SASL options (PLAIN is checked against a Cyrus sasldb).

rhea is installed from the npm registry on first use; node missing fails the tests, naming the
package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from amq_python import SSLDomain
from tests.broker_clients import Api, run
from tests.broker_process import running_broker
from tests.peers.certs import Certs
from tests.peers.conftest_fixtures import certs, rhea_factory, rhea_server  # noqa: F401
from tests.peers.rhea import RheaServer, run_client
from tests.peers.sasldb import SaslDb

API = Api("amq_python")
COUNT = 1000
PASSWORD = "alice-secret"


@pytest.fixture(scope="module")
def sasldb() -> Iterator[tuple[SaslDb, str]]:
    """A Cyrus config dir offering PLAIN with alice's password; the login name (alice@REALM)."""
    with SaslDb(mechs=("PLAIN",)) as db:
        yield db, db.add_user("alice", PASSWORD)


def client_tls(certs: Certs) -> SSLDomain:  # noqa: F811
    """Our client's TLS settings: the server certificate checked against the test CA."""
    domain = SSLDomain(SSLDomain.MODE_CLIENT)
    domain.set_trusted_ca_db(str(certs.ca_cert))
    domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME)
    return domain


def exchange(url: str, address: str, **options: Any) -> None:
    """Send COUNT messages (each accepted), then receive and accept them all, in order."""
    messages = [API.Message(body=f"m{i}", id=i) for i in range(COUNT)]
    sender = API.Client(url, "ours-p", target=address, messages=messages, credit=100,
                        connect_options=options)
    receiver = API.Client(url, "ours-c", source=address, count=COUNT, credit=100,
                          connect_options=options)
    run(API, [sender], [receiver], timeout=30)
    assert sender.outcomes == ["accepted"] * COUNT
    assert [body for body, _ in receiver.received] == [f"m{i}" for i in range(COUNT)]
    assert [m.id for m in receiver.received_messages] == list(range(COUNT))


@pytest.mark.parametrize("mech", ["ANONYMOUS", "PLAIN"])
def test_our_client_to_rhea(rhea_factory: Callable[..., RheaServer], mech: str) -> None:  # noqa: F811
    """1,000 messages through the rhea broker, logged in with ANONYMOUS or PLAIN."""
    server = rhea_factory(mechanisms=[mech])
    options: dict[str, Any] = {"allowed_mechs": mech}
    if mech == "PLAIN":
        options.update(user="alice", password="alice-secret")
    exchange(server.url, f"to-rhea-{mech}", **options)


def test_our_client_to_rhea_tls(rhea_factory: Callable[..., RheaServer],  # noqa: F811
                                certs: Certs) -> None:  # noqa: F811
    """1,000 messages over TLS (server verified against the test CA), with PLAIN."""
    server = rhea_factory(tls=True)
    exchange(server.url, "to-rhea-tls", ssl_domain=client_tls(certs), user="alice",
             password="alice-secret", allowed_mechs="PLAIN")


def test_our_client_to_rhea_wrong_password(rhea_server: RheaServer) -> None:  # noqa: F811
    """rhea refuses a wrong PLAIN password; our client reports amqp:unauthorized-access."""
    client = API.Client(rhea_server.url, "p", target="refused", messages=[API.Message(body=1)],
                        connect_options={"user": "alice", "password": "wrong",
                                         "allowed_mechs": "PLAIN"})
    with pytest.raises(AssertionError, match="unauthorized-access"):
        run(API, [client], timeout=20)


def check(report: dict[str, object]) -> None:
    """The rhea client's report: every message accepted, every one received in order."""
    assert report["errors"] == []
    assert report["accepted"] == COUNT
    assert report["bodies"] == [f"m{i}" for i in range(COUNT)]


def test_rhea_client_to_our_broker_anonymous() -> None:
    """rhea sends and receives 1,000 messages through our broker, with ANONYMOUS."""
    with running_broker() as broker:
        check(run_client(broker.port, "from-rhea-anon", COUNT, username="anonymous"))


def test_rhea_client_to_our_broker_plain(sasldb: tuple[SaslDb, str]) -> None:
    """rhea logs in with PLAIN (checked against a sasldb by a broker that requires it)."""
    db, user = sasldb
    with running_broker("--sasl-config-dir", str(db.dir), "--sasl-config-name", db.app,
                        "--sasl-mechanisms", "PLAIN", "--require-auth") as broker:
        check(run_client(broker.port, "from-rhea-plain", COUNT, username=user,
                         password=PASSWORD))
        refused = run_client(broker.port, "from-rhea-refused", 1, username=user,
                             password="wrong", timeout=10)
        assert refused["errors"] and refused["accepted"] == 0


def test_rhea_client_to_our_broker_tls(sasldb: tuple[SaslDb, str], certs: Certs) -> None:  # noqa: F811
    """rhea over TLS (verifying our broker's certificate), logging in with PLAIN."""
    db, user = sasldb
    with running_broker("--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key),
                        "--sasl-config-dir", str(db.dir), "--sasl-config-name", db.app,
                        "--sasl-mechanisms", "PLAIN") as broker:
        check(run_client(broker.port, "from-rhea-tls", COUNT, username=user, password=PASSWORD,
                         certs=certs))
