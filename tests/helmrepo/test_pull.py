"""Pulling published charts from a loopback Helm repository and from Debian's docker-registry (OCI).

The archives are packaged, indexed and pushed by real Helm (helm-python-sdk);
what rollgen pulls must be byte for byte what Helm's own ``pull`` gets, and
match the digest both the index and the OCI layer give. Bounds in time and
size, the cache and credentials by reference are proved against real servers.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from rollgen.helmrepo.archive import read_archive
from rollgen.helmrepo.index import ChartIndexError
from rollgen.helmrepo.pin import ChartPin
from rollgen.helmrepo.pull import ChartCache, PullError, pull
from rollgen.spec.helmsource import ChartCredentials, SecretRef
from testkit.chartrepos import ChartRepository, chart_repository, package_podinfo, push_oci
from testkit.gateservers import serving, url_of
from testkit.registryservers import docker_registry


@pytest.fixture(scope="module")
def archives(helm: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_podinfo(helm, tmp_path_factory.mktemp("charts") / "repo", ["6.4.0", "6.5.0"])


@pytest.fixture(scope="module")
def charts(helm: Any, archives: Path) -> Iterator[ChartRepository]:
    with chart_repository(helm, archives) as served:
        yield served


@pytest.fixture(scope="module")
def oci(helm: Any, archives: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with docker_registry(tmp_path_factory.mktemp("registry")) as registry:
        yield push_oci(helm, registry, archives)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_the_exact_version_comes_as_helm_pulls_it(helm: Any, charts: ChartRepository, tmp_path: Path) -> None:
    pin, data = pull(ChartPin(charts.url, "podinfo", "6.5.0"), cache=ChartCache(tmp_path / "cache"))
    helm.pull("podinfo", repo_url=charts.url, version="6.5.0", destination=str(tmp_path), plain_http=True)
    assert data == (tmp_path / "podinfo-6.5.0.tgz").read_bytes()
    assert pin.digest == sha256(data) == helm.digest(str(tmp_path / "podinfo-6.5.0.tgz"))
    chart = read_archive(data)
    assert (chart.name, chart.version, chart.app_version) == ("podinfo", "6.5.0", "6.5.0")
    assert chart.values["image"]["repository"] == "ghcr.io/stefanprodan/podinfo"


def test_oci_gives_the_same_archive_as_the_helm_repository(charts: ChartRepository, oci: str, tmp_path: Path) -> None:
    https, from_index = pull(ChartPin(charts.url, "podinfo", "6.4.0"), cache=ChartCache(tmp_path / "a"))
    registry, from_oci = pull(ChartPin(oci, "podinfo", "6.4.0"), cache=ChartCache(tmp_path / "b"))
    assert from_oci == from_index and registry.digest == https.digest


def test_a_version_is_pulled_once_and_a_damaged_copy_again(charts: ChartRepository, tmp_path: Path) -> None:
    cache = ChartCache(tmp_path / "cache")
    asked = ChartPin(charts.url, "podinfo", "6.4.0")
    before = len(charts.requests)
    pinned, data = pull(asked, cache=cache)
    assert charts.requests[before:] == ["/index.yaml", "/podinfo-6.4.0.tgz"]
    assert pull(asked, cache=cache) == (pinned, data)  # by version
    assert pull(pinned, cache=cache) == (pinned, data)  # by digest
    assert len(charts.requests) == before + 2
    (archive,) = (tmp_path / "cache" / "charts" / "archives").iterdir()
    archive.write_bytes(b"not the chart")
    assert pull(pinned, cache=cache) == (pinned, data)
    assert len(charts.requests) == before + 4


def test_the_cache_keeps_the_most_recently_used_archives_within_its_bound(
    charts: ChartRepository, tmp_path: Path
) -> None:
    first, a = pull(ChartPin(charts.url, "podinfo", "6.4.0"), cache=ChartCache(tmp_path / "c"))
    small = ChartCache(tmp_path / "c", limit=len(a) + 10)
    second, _ = pull(ChartPin(charts.url, "podinfo", "6.5.0"), cache=small)
    assert small.archive(str(second.digest)) is not None
    assert small.archive(str(first.digest)) is None


def test_a_missing_version_or_chart_names_what_is_there(charts: ChartRepository, tmp_path: Path) -> None:
    with pytest.raises(ChartIndexError, match=r"chart podinfo has no version 9\.9\.9 \(it has 6\.5\.0, 6\.4\.0\)"):
        pull(ChartPin(charts.url, "podinfo", "9.9.9"), cache=ChartCache(tmp_path))
    with pytest.raises(ChartIndexError, match=r"no chart web in index\.yaml"):
        pull(ChartPin(charts.url, "web", "1.0.0"), cache=ChartCache(tmp_path))


def test_a_digest_that_disagrees_is_refused(charts: ChartRepository, oci: str, tmp_path: Path) -> None:
    index = charts.directory / "index.yaml"
    text = index.read_text()
    real = hashlib.sha256((charts.directory / "podinfo-6.5.0.tgz").read_bytes()).hexdigest()
    try:
        index.write_text(text.replace(real, "f" * 64))
        with pytest.raises(PullError, match="the index says sha256:ffff"):
            pull(ChartPin(charts.url, "podinfo", "6.5.0"), cache=ChartCache(tmp_path / "a"))
    finally:
        index.write_text(text)
    moved = ChartPin(oci, "podinfo", "6.5.0", "sha256:" + "1" * 64)
    with pytest.raises(PullError, match="published again with other content"):
        pull(moved, cache=ChartCache(tmp_path / "b"))


def test_credentials_by_reference_reach_the_repository_and_no_message(
    helm: Any, archives: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret-token\n")
    with chart_repository(helm, archives, user="ci", password="s3cret-token") as served:
        pin = ChartPin(served.url, "podinfo", "6.4.0")
        with pytest.raises(PullError, match=r"HTTP 401 \(check source.helm.credentials\)") as refused:
            pull(pin, cache=ChartCache(tmp_path / "a"))
        wrong = ChartCredentials(username=SecretRef(env="CHART_USER"), password=SecretRef(env="CHART_TOKEN"))
        with pytest.raises(PullError) as denied:
            pull(pin, wrong, cache=ChartCache(tmp_path / "b"), env={"CHART_USER": "ci", "CHART_TOKEN": "guess"})
        assert "guess" not in str(denied.value) and "s3cret" not in str(refused.value)
        good = ChartCredentials(username=SecretRef(env="CHART_USER"), password=SecretRef(file=str(secret)))
        pinned, _ = pull(pin, good, cache=ChartCache(tmp_path / "c"), env={"CHART_USER": "ci"})
        assert pinned.digest is not None
        assert served.authorizations[-1].startswith("Basic ")


def test_a_pull_is_bounded_in_time(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        began = time.monotonic()
        with pytest.raises(PullError, match="no answer within"):
            pull(ChartPin(url, "podinfo", "6.4.0"), cache=ChartCache(tmp_path), timeout=0.5)
        assert time.monotonic() - began < 5


def test_a_pull_is_bounded_in_size(helm: Any, tmp_path: Path) -> None:
    directory = tmp_path / "big"
    directory.mkdir()
    (directory / "index.yaml").write_text(
        "apiVersion: v1\nentries:\n  podinfo:\n  - {version: 1.0.0, urls: [podinfo-1.0.0.tgz]}\n"
    )
    (directory / "podinfo-1.0.0.tgz").write_bytes(b"\0" * (9 << 20))

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as server, pytest.raises(PullError, match="more than the 8388608"):
        pull(ChartPin(url_of(server), "podinfo", "1.0.0"), cache=ChartCache(tmp_path / "cache"))
