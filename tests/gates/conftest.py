"""Session-scoped real servers for gate tests; the controller's tests can use them too.

To reuse from another test directory, import them in that directory's conftest.py:
``from tests.gates.conftest import prometheus, metrics_app, kube_api, kube, kubeconfig, health_app``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gates.servers import FakeKubeAPI, HealthApp, MetricsApp, PrometheusServer
from tests.tools import require_tool


@pytest.fixture(scope="session")
def metrics_app() -> Iterator[MetricsApp]:
    """An app exposing http_requests_total{app="podinfo",version=...}; set error rates per version."""
    with MetricsApp() as app:
        yield app


@pytest.fixture(scope="session")
def prometheus(metrics_app: MetricsApp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """Debian's prometheus on loopback, scraping ``metrics_app`` every second, ready and with samples."""
    binary = require_tool("prometheus")
    target = metrics_app.url.removeprefix("http://")
    with PrometheusServer(binary, tmp_path_factory.mktemp("prometheus"), [target]) as server:
        yield server


@pytest.fixture(scope="session")
def kube_api() -> Iterator[FakeKubeAPI]:
    with FakeKubeAPI() as api:
        yield api


@pytest.fixture
def kube(kube_api: FakeKubeAPI) -> FakeKubeAPI:
    """The loopback Kubernetes API, emptied for this test."""
    kube_api.clear()
    return kube_api


@pytest.fixture
def kubeconfig(kube: FakeKubeAPI, tmp_path: Path) -> Path:
    """A kubeconfig file pointing at ``kube`` with its bearer token."""
    return kube.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture(scope="session")
def _health_server() -> Iterator[HealthApp]:
    with HealthApp() as app:
        yield app


@pytest.fixture
def health_app(_health_server: HealthApp) -> HealthApp:
    """An HTTP endpoint answering 200 ``ok`` until the test says otherwise."""
    _health_server.answer()
    _health_server.seen_headers.clear()
    _health_server.seen_paths.clear()
    _health_server.seen_bodies.clear()
    return _health_server
