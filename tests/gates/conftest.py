"""The loopback HTTP endpoints the http and metric provider gate tests query (the shared servers are in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
    return _datadog.fresh()


@pytest.fixture(scope="session")
def _nerdgraph() -> Iterator[FakeNerdGraph]:
    with FakeNerdGraph() as app:
        yield app


@pytest.fixture
def nerdgraph(_nerdgraph: FakeNerdGraph) -> FakeNerdGraph:
    """New Relic's NerdGraph on loopback."""
    return _nerdgraph.fresh()


@pytest.fixture(scope="session")
def _cloudwatch() -> Iterator[FakeCloudWatch]:
    with FakeCloudWatch() as app:
        yield app


@pytest.fixture
def cloudwatch(_cloudwatch: FakeCloudWatch) -> FakeCloudWatch:
    """CloudWatch's GetMetricData on loopback, checking every request's signature."""
    return _cloudwatch.fresh()


AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_CLOUDWATCH",
)  # fmt: skip


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No AWS setting of the machine's, no instance metadata: each test gives its own."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch
