"""Kerberos through GSSAPI, as in seed 5.4.4, with a real MIT KDC on loopback.

The flow is the seed's: a realm exists (tests/peers/kdc.py: EXAMPLE.TEST, user alice, service
amqp/localhost with its keytab), the user runs ``kinit alice@EXAMPLE.TEST``, and the client
connects with ``allowed_mechs="GSSAPI"`` to ``localhost`` (the service principal's host). No
password goes to the client. The listener (ours, or python-qpid-proton's) runs as a subprocess
with the service's Kerberos environment and a Cyrus configuration offering GSSAPI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.peers.kdc import Kdc
from tests.peers.sasldb import SaslDb
from tests.peers.secure_client import attempt
from tests.peers.secure_listener import SecureListener

LIBRARIES = ("amq_python", "proton")


@pytest.fixture(scope="module")
def realm() -> Iterator[Kdc]:
    """The KDC, for the whole module."""
    with Kdc() as kdc:
        yield kdc


@pytest.fixture(scope="module")
def listeners(realm: Kdc) -> Iterator[dict[str, SecureListener]]:
    """Our listener and python-qpid-proton's, each with the service keytab, offering GSSAPI
    (and SCRAM-SHA-256, which nobody here has a password for)."""
    started: dict[str, SecureListener] = {}
    with SaslDb(mechs=("GSSAPI", "SCRAM-SHA-256")) as config:
        try:
            for library in LIBRARIES:
                started[library] = SecureListener(
                    library, env={**os.environ, **realm.server_env},
                    sasl_dir=str(config.dir), sasl_name=config.app,
                )
            yield started
        finally:
            for listener in started.values():
                listener.close()


@pytest.fixture
def client_env(realm: Kdc, monkeypatch: pytest.MonkeyPatch) -> Kdc:
    """This process is the user's: the realm's krb5.conf and a private credentials cache,
    emptied before the test (kdestroy's effect), so each test decides whether to kinit."""
    for name, value in realm.client_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("KRB5_KTNAME", raising=False)
    (realm.dir / "ccache").unlink(missing_ok=True)
    return realm


@pytest.mark.parametrize("library", LIBRARIES)
def test_kinit_then_gssapi(
    listeners: dict[str, SecureListener], client_env: Kdc, library: str
) -> None:
    """After kinit, allowed_mechs="GSSAPI" logs alice in; the server knows her principal."""
    granted = client_env.kinit("alice")
    assert granted.returncode == 0, granted.stderr
    listener = listeners[library]
    outcome = attempt(f"amqp://{listener.address}", allowed_mechs="GSSAPI")
    assert outcome.errors == [] and outcome.opened and outcome.mech == "GSSAPI"
    seen = listener.opened(outcome.container_id)
    assert seen is not None and seen["mech"] == "GSSAPI"
    assert seen["user"] in ("alice", f"alice@{client_env.realm}")


def test_without_a_ticket_says_why(
    listeners: dict[str, SecureListener], client_env: Kdc
) -> None:
    """Without kinit the connection fails at once with amqp:unauthorized-access, naming GSSAPI
    and the missing credentials, and does not reconnect (reconnect left on)."""
    outcome = attempt(f"amqp://{listeners['amq_python'].address}", allowed_mechs="GSSAPI",
                      reconnect=None)
    assert not outcome.opened and outcome.transports == 1
    [(name, description)] = outcome.errors
    assert name == "amqp:unauthorized-access"
    assert description is not None and "GSSAPI" in description and "credentials" in description


def test_proton_client_to_our_listener(
    listeners: dict[str, SecureListener], client_env: Kdc
) -> None:
    """python-qpid-proton's client, with the same ticket, logs in to our listener by GSSAPI."""
    from proton.handlers import MessagingHandler
    from proton.reactor import Container

    assert client_env.kinit("alice").returncode == 0
    url = f"amqp://{listeners['amq_python'].address}"

    class Once(MessagingHandler):
        def on_start(self, event: object) -> None:
            event.container.connect(url, allowed_mechs="GSSAPI",  # type: ignore[attr-defined]
                                    reconnect=False)

        def on_connection_opened(self, event: object) -> None:
            event.connection.close()  # type: ignore[attr-defined]

    container = Container(Once(), container_id="proton-gssapi-client")
    container.timeout = 5.0
    container.run()
    seen = listeners["amq_python"].opened("proton-gssapi-client")
    assert seen is not None and seen["mech"] == "GSSAPI"
