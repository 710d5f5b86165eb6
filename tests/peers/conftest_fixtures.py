"""Pytest fixtures for the real test peers: RabbitMQ nodes, a Kerberos KDC, certificates, rhea.

Use from a test module or conftest with `from tests.peers.conftest_fixtures import *` or
`pytest_plugins = ["tests.peers.conftest_fixtures"]` (the latter only in the rootdir conftest).
Every fixture starts its peer itself and stops it (process group, SIGKILL as a last resort) and
removes its files, whether the test passed or failed. A missing binary fails the test with a
message naming the Debian package: these tests never skip.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .certs import Certs, make_certs
from .kdc import Kdc
from .rabbitmq import RabbitMQ
from .rhea import RheaServer

__all__ = [
    "certs",
    "kdc",
    "rabbitmq",
    "rabbitmq_factory",
    "rabbitmq_pair",
    "rhea_factory",
    "rhea_server",
]


@pytest.fixture(scope="session")
def certs() -> Iterator[Certs]:
    """A CA, server (CN=localhost) and client certificates and a wrong CA, for the whole run."""
    with tempfile.TemporaryDirectory(prefix="amqpy-certs-") as directory:
        yield make_certs(Path(directory))


@pytest.fixture(scope="module")
def rabbitmq(certs: Certs) -> Iterator[RabbitMQ]:
    """A running RabbitMQ node shared by one test module (start about 3-5 s).

    Tests in the module share its queues: use distinct queue names. A test that kill()s it
    restart()s it before it ends.
    """
    with RabbitMQ(certs) as node:
        yield node


@pytest.fixture(scope="module")
def rabbitmq_pair(certs: Certs) -> Iterator[tuple[RabbitMQ, RabbitMQ]]:
    """Two independent running RabbitMQ nodes (for failover), started in parallel, per module."""
    nodes: list[RabbitMQ] = []
    try:
        nodes += [RabbitMQ(certs), RabbitMQ(certs)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            for started in [pool.submit(node.start) for node in nodes]:
                started.result()
        yield nodes[0], nodes[1]
    finally:
        for node in nodes:
            node.close()


@pytest.fixture
def rabbitmq_factory(certs: Certs) -> Iterator[Callable[..., RabbitMQ]]:
    """A function making started RabbitMQ nodes with RabbitMQ's keyword arguments
    (e.g. external=True); all are closed after the test."""
    nodes: list[RabbitMQ] = []

    def make(**kwargs: Any) -> RabbitMQ:
        node = RabbitMQ(certs, **kwargs)
        nodes.append(node)
        node.start()
        return node

    try:
        yield make
    finally:
        for node in nodes:
            node.close()


@pytest.fixture
def kdc() -> Iterator[Kdc]:
    """A running KDC for realm EXAMPLE.TEST with alice and amqp/localhost (start about 0.1 s).

    Point processes at it with `kdc.client_env` / `kdc.server_env` / `kdc.env` (e.g. through
    monkeypatch.setenv); `kdc.kinit()` gets alice a ticket.
    """
    with Kdc() as server:
        yield server


@pytest.fixture
def rhea_server() -> Iterator[RheaServer]:
    """A running rhea broker on plain TCP offering ANONYMOUS and PLAIN (alice / alice-secret)."""
    with RheaServer() as server:
        yield server


@pytest.fixture
def rhea_factory(certs: Certs) -> Iterator[Callable[..., RheaServer]]:
    """A function making started rhea brokers with RheaServer's keyword arguments; `tls=True`
    passes the test certificates. All are closed after the test."""
    servers: list[RheaServer] = []

    def make(tls: bool = False, **kwargs: Any) -> RheaServer:
        server = RheaServer(certs=certs if tls else None, **kwargs)
        servers.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.close()
