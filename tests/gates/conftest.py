"""The loopback HTTP endpoints the http and metric provider gate tests query (the shared servers are in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.gateservers import HealthApp
from testkit.providerservers import FakeCloudWatch, FakeDatadog, FakeNerdGraph


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


@pytest.fixture(scope="session")
def _datadog() -> Iterator[FakeDatadog]:
    with FakeDatadog() as app:
        yield app


@pytest.fixture
def datadog(_datadog: FakeDatadog) -> FakeDatadog:
    """Datadog's query APIs on loopback, well-behaved and measuring nothing until the test says."""
    _datadog.fresh()
    _datadog.grouped = False
    return _datadog


@pytest.fixture(scope="session")
def _nerdgraph() -> Iterator[FakeNerdGraph]:
    with FakeNerdGraph() as app:
        yield app


@pytest.fixture
def nerdgraph(_nerdgraph: FakeNerdGraph) -> FakeNerdGraph:
    """New Relic's NerdGraph on loopback."""
    _nerdgraph.fresh()
    _nerdgraph.rows = 1
    return _nerdgraph


@pytest.fixture(scope="session")
def _cloudwatch() -> Iterator[FakeCloudWatch]:
    with FakeCloudWatch() as app:
        yield app


@pytest.fixture
def cloudwatch(_cloudwatch: FakeCloudWatch) -> FakeCloudWatch:
    """CloudWatch's GetMetricData on loopback, checking every request's signature."""
    _cloudwatch.fresh()
    _cloudwatch.token = None
    return _cloudwatch
