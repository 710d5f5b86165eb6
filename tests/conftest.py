"""Suite-wide test ordering.

Cyrus SASL reads its server configuration once per process: the first server-side SASL
connection in the pytest process fixes it. Tests that must choose that configuration themselves
(marked ``cyrus_server_config``) therefore run before every other test, whatever the file
order, so a test that merely accepts a connection in-process cannot fix it first.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the ``cyrus_server_config`` tests to the front, keeping every other order."""
    first = [item for item in items if item.get_closest_marker("cyrus_server_config")]
    rest = [item for item in items if not item.get_closest_marker("cyrus_server_config")]
    items[:] = first + rest


@pytest.fixture(params=["asyncio", "uvloop"])
def loop(request: pytest.FixtureRequest) -> str:
    """The event loop an ``amq_python.aio`` test runs on (``run_on``): asyncio's default, then
    uvloop. A test that parametrizes ``loop`` itself overrides this."""
    return str(request.param)
