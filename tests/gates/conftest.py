"""The loopback HTTP endpoint the http gate tests query (the shared servers are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.gateservers import HealthApp


@pytest.fixture(scope="session")
def _health_server() -> Iterator[HealthApp]:
    with HealthApp() as app:
        yield app


@pytest.fixture
def health_app(_health_server: HealthApp) -> HealthApp:
    """An HTTP endpoint answering 200 ``ok`` until the test says otherwise."""
    return _health_server.fresh()


@pytest.fixture(scope="session")
def _other_server() -> Iterator[HealthApp]:
    with HealthApp() as app:
        yield app


@pytest.fixture
def other_app(_other_server: HealthApp) -> HealthApp:
    """A second endpoint, on another port than ``health_app``: another origin."""
    return _other_server.fresh()
