"""Fixtures every test directory can use: git identity isolation, the shared data, real servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.gateservers import FakeKubeAPI, MetricsApp, PrometheusServer
from testkit.gitservers import GitDaemon, git_daemon
from testkit.helm import helm_sdk
from testkit.tools import require_tool, shared_data


@pytest.fixture
def shared() -> Path:
    return shared_data()


@pytest.fixture(scope="module")
def helm() -> Any:
    """Real Helm: helm-python-sdk's module."""
    return helm_sdk()


@pytest.fixture(autouse=True)
def _isolated_git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Git in tests never reads the developer's global config or signs with their keys."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "rollgen-test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@rollgen.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "rollgen-test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@rollgen.invalid")


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitDaemon]:
    """A real ``git daemon`` on loopback serving bare repositories (push enabled)."""
    require_tool("git")
    with git_daemon(tmp_path_factory.mktemp("served")) as served:
        yield served


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first (in their order, then the rest in theirs).

    Under pytest-xdist a long test started last leaves one core idle until it ends; started first,
    the other workers take the short tests meanwhile.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
