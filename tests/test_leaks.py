"""Leaks: a thousand connections (plain, TLS, SASL PLAIN) and a thousand EventInjectors.

Each test warms up first (a few rounds, so caches, the TLS context and Cyrus are loaded), takes
the baseline of open file descriptors and live wrappers (``tests.helpers.new_wrappers``),
runs 1,000 rounds, and requires both back at the baseline. The listener is our own
(``tests/peers/secure_listener.py`` on amq_python) in a subprocess, so only the client's
resources are counted. (1,000 BlockingConnections are in ``tests/test_blocking.py``.)
"""

from __future__ import annotations

import gc
import os
import resource
from pathlib import Path
from typing import Any

import pytest

from amq_python import SSLDomain
from amq_python.handlers import MessagingHandler
from amq_python.reactor import ApplicationEvent, Container, EventInjector
from tests.helpers import live_wrappers, new_wrappers, run
from tests.peers.certs import make_certs
from tests.peers.sasldb import SaslDb
from tests.peers.secure_listener import SecureListener

ROUNDS = 1000
WARM_UP = 10


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def max_rss_mib() -> float:
    """Peak resident memory so far, in MiB (printed, for the record)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Churn(MessagingHandler):
    """Opens ``total`` connections, ``parallel`` at a time; closes each once it is open."""

    def __init__(self, url: str, total: int, parallel: int = 8, **options: Any) -> None:
        super().__init__()
        self.url = url
        self.total = total
        self.parallel = parallel
        self.options = options
        self.started = 0
        self.closed = 0
        self.errors: list[Any] = []

    def on_start(self, event: Any) -> None:
        """Start the first ``parallel`` connections."""
        for _ in range(self.parallel):
            self.next(event.container)

    def next(self, container: Container) -> None:
        """One more connection, until ``total``."""
        if self.started < self.total:
            self.started += 1
            container.connect(self.url, reconnect=False, **self.options)

    def on_connection_opened(self, event: Any) -> None:
        """Open: close it at once."""
        event.connection.close()

    def on_connection_closed(self, event: Any) -> None:
        """Closed by both ends: start the next one."""
        self.closed += 1
        self.next(event.container)

    def on_transport_error(self, event: Any) -> None:
        """Any failure fails the test."""
        self.errors.append(event.transport.condition)
        event.container.stop()


def churn(url: str, **options: Any) -> None:
    """Warm up, then 1,000 connections; fds and live wrappers must be back at the baseline."""
    warm = Churn(url, WARM_UP, **options)
    run(Container(warm), 30)
    assert warm.errors == [] and warm.closed == WARM_UP
    del warm
    gc.collect()
    fds, wrappers, rss = open_fds(), live_wrappers(), max_rss_mib()
    handler = Churn(url, ROUNDS, **options)
    run(Container(handler), 90)
    assert handler.errors == []
    assert handler.closed == ROUNDS
    del handler
    gc.collect()
    print(f"{ROUNDS} connections: fds {fds} -> {open_fds()}, wrappers {len(wrappers)} -> "
          f"{len(new_wrappers(wrappers))} new, peak RSS {rss:.1f} -> {max_rss_mib():.1f} MiB")
    assert open_fds() == fds
    assert new_wrappers(wrappers) == []


def test_thousand_plain_connections() -> None:
    """1,000 plain connections (SASL ANONYMOUS) to our listener."""
    with SecureListener("amq_python") as listener:
        churn(f"amqp://127.0.0.1:{listener.port}")


def test_thousand_tls_connections(tmp_path: Path) -> None:
    """1,000 TLS connections, the server's certificate verified against our CA."""
    certs = make_certs(tmp_path)
    domain = SSLDomain(SSLDomain.MODE_CLIENT)
    domain.set_trusted_ca_db(str(certs.ca_cert))
    domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME)
    with SecureListener("amq_python", cert=str(certs.server_cert),
                        key=str(certs.server_key)) as listener:
        churn(f"amqps://localhost:{listener.port}", ssl_domain=domain)


def test_thousand_sasl_plain_connections() -> None:
    """1,000 connections authenticated with SASL PLAIN against a sasldb."""
    with SaslDb(mechs=("PLAIN",)) as db:
        user = db.add_user("leaky", "leak-test-pw")
        with SecureListener("amq_python", sasl_dir=str(db.dir), sasl_name=db.app,
                            mechs="PLAIN") as listener:
            churn(f"amqp://127.0.0.1:{listener.port}", user=user, password="leak-test-pw",
                  allowed_mechs="PLAIN", allow_insecure_mechs=True)


class Injectors(MessagingHandler):
    """Makes ``total`` EventInjectors one after another: each is watched, triggered from
    ``on_start`` or the previous one's event, and closed when its event arrives."""

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total
        self.made = 0
        self.pings = 0
        self.injector: EventInjector | None = None

    def on_start(self, event: Any) -> None:
        """The first injector."""
        self.next(event.container)

    def next(self, container: Container) -> None:
        """A new injector, watched and triggered."""
        if self.made < self.total:
            self.made += 1
            self.injector = EventInjector()
            container.selectable(self.injector)
            self.injector.trigger(ApplicationEvent("ping", subject=self.made))

    def on_ping(self, event: Any) -> None:
        """Close this injector; make the next."""
        self.pings += 1
        assert self.injector is not None
        self.injector.close()
        self.next(event.container)


@pytest.mark.parametrize("total", [ROUNDS])
def test_thousand_event_injectors(total: int) -> None:
    """1,000 EventInjectors: every wake-up socket pair closed, no wrapper left."""
    run(Container(Injectors(WARM_UP)), 10)
    gc.collect()
    fds, wrappers = open_fds(), live_wrappers()
    handler = Injectors(total)
    run(Container(handler), 30)
    assert handler.pings == total
    handler.injector = None
    gc.collect()
    assert open_fds() == fds
    assert new_wrappers(wrappers) == []
