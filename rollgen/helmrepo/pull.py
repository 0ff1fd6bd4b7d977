"""Pulling a published chart: from a Helm repository (``index.yaml``) or an OCI registry, bounded and cached.

- **Helm repository**: ``<repository>/index.yaml`` (at most 32 MiB) names the
  archive of the exact version and its digest; the archive (at most 8 MiB)
  must match it. Credentials go to the repository's own host only (as Helm
  without ``--pass-credentials``): an archive served from another host is
  fetched without them.
- **OCI**: the manifest of ``<repository>/<chart>:<version>``, then its one
  layer of media type ``application/vnd.cncf.helm.chart.content.v1.tar+gzip``,
  checked against the layer's digest (the archive's digest, the one a Helm
  repository's index gives too). Without credentials in the spec, the
  registry's are looked up as for images (:mod:`rollgen.registry.credentials`).

Every pull shares one deadline (60 s by default) for all its requests. The
cache (``$ROLLGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/rollgen``, else
``~/.cache/rollgen``; ``charts/`` below it) keeps each archive under its
digest and each (repository, chart, version) the digest it had, so a chart
version is pulled once per machine; an archive read back is checked against
its digest again. It holds at most 512 MiB: the archives used least recently
go first.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from rollgen.errors import RollgenError, UsageError
from rollgen.helmrepo.index import entry, versions
from rollgen.helmrepo.pin import HELM_CHART_LAYER, ChartPin
from rollgen.registry.client import ImageName, RegistryClient, RegistryError
from rollgen.registry.credentials import Credentials, lookup
from rollgen.spec.helmsource import ChartCredentials, SecretRef
from rollgen.web import WebError, fetch

PULL_TIMEOUT = 60.0
MAX_INDEX = 32 << 20
MAX_ARCHIVE = 8 << 20
CACHE_LIMIT = 512 << 20


class PullError(RollgenError):
    """The chart could not be pulled: unreachable, refused, missing, too large, or not what its digest says."""


def pull(
    pin: ChartPin,
    credentials: ChartCredentials | None = None,
    *,
    cache: ChartCache | None = None,
    timeout: float = PULL_TIMEOUT,
    env: Mapping[str, str] | None = None,
) -> tuple[ChartPin, bytes]:
    """The chart archive ``pin`` names and the pin with its digest; from the cache when it holds it."""
    cache = cache if cache is not None else ChartCache.default(env)
    digest = pin.digest or cache.digest_of(pin)
    if digest is not None and (data := cache.archive(digest)) is not None:
        return ChartPin(pin.repository, pin.chart, pin.version, digest), data
    login = _login(credentials, env if env is not None else os.environ)
    deadline = time.monotonic() + timeout
    try:
        if pin.repository.startswith("oci://"):
            found, data = _pull_oci(pin, login, deadline)
        else:
            found, data = _pull_index(pin, login, deadline)
    except (WebError, RegistryError) as error:
        raise PullError(f"{_shown(pin)}: {error}") from None
    if pin.digest is not None and found != pin.digest:
        raise PullError(
            f"{_shown(pin)}: the repository's archive has digest {found}, not {pin.digest} as frozen: the chart "
            "version was published again with other content"
        )
    cache.store(pin, found, data)
    return ChartPin(pin.repository, pin.chart, pin.version, found), data


def available_versions(repository: str, chart: str, *, timeout: float = PULL_TIMEOUT) -> list[str]:
    """Every version of ``chart`` the repository publishes (the index's entries, or the OCI repository's tags)."""
    deadline = time.monotonic() + timeout
    pin = ChartPin(repository, chart, "*")
    try:
        if repository.startswith("oci://"):
            host, _, path = repository.removeprefix("oci://").rstrip("/").partition("/")
            name = f"{path}/{chart}" if path else chart
            client = RegistryClient(ImageName(host, name), lookup(host), deadline=deadline)
            try:
                # OCI tags cannot hold "+": Helm pushes 1.0.0+build as 1.0.0_build.
                return [tag.replace("_", "+") for tag in client.tags(name)]
            finally:
                client.close()
        return versions(_get(repository.rstrip("/") + "/index.yaml", {}, MAX_INDEX, deadline, pin), chart, repository)
    except (WebError, RegistryError) as error:
        raise PullError(f"chart {chart} from {repository}: {error}") from None


def _pull_index(pin: ChartPin, login: Credentials | None, deadline: float) -> tuple[str, bytes]:
    index_url = pin.repository.rstrip("/") + "/index.yaml"
    headers = {"Authorization": login.basic()} if login is not None else {}
    index = _get(index_url, headers, MAX_INDEX, deadline, pin)
    found = entry(pin.repository, index, pin.chart, pin.version)
    same_host = urlsplit(found.url)[:2] == urlsplit(pin.repository)[:2]
    data = _get(found.url, headers if same_host else {}, MAX_ARCHIVE, deadline, pin)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if found.digest is not None and found.digest != digest:
        raise PullError(f"{_shown(pin)}: the archive's digest is {digest}, the index says {found.digest}")
    return digest, data


def _get(url: str, headers: dict[str, str], limit: int, deadline: float, pin: ChartPin) -> bytes:
    left = deadline - time.monotonic()
    if left <= 0:
        raise PullError(f"{_shown(pin)}: the pull ran out of time")
    answer = fetch(url, timeout=left, headers=headers, limit=limit)
    if answer.status != 200:
        hint = " (check source.helm.credentials)" if answer.status in (401, 403) else ""
        raise PullError(f"{_shown(pin)}: GET {url} answered HTTP {answer.status}{hint}")
    return answer.body


def _pull_oci(pin: ChartPin, login: Credentials | None, deadline: float) -> tuple[str, bytes]:
    host, _, path = pin.repository.removeprefix("oci://").rstrip("/").partition("/")
    repository = f"{path}/{pin.chart}" if path else pin.chart
    name = ImageName(host, repository)
    client = RegistryClient(name, login if login is not None else lookup(host), deadline=deadline)
    try:
        manifest, _ = client.manifest(repository, pin.version.replace("+", "_"))
        try:
            layers = json.loads(manifest).get("layers") or []
            (layer,) = [item for item in layers if item.get("mediaType") == HELM_CHART_LAYER]
        except (ValueError, AttributeError, TypeError):
            raise PullError(f"{_shown(pin)}: the artifact is not a Helm chart (no single chart layer)") from None
        if int(layer.get("size", 0)) > MAX_ARCHIVE:
            raise PullError(f"{_shown(pin)}: the chart archive is larger than {MAX_ARCHIVE} bytes")
        digest = str(layer.get("digest"))
        return digest, client.blob(repository, digest)
    finally:
        client.close()


def _login(credentials: ChartCredentials | None, env: Mapping[str, str]) -> Credentials | None:
    if credentials is None or credentials.username is None or credentials.password is None:
        return None
    return Credentials(_secret(credentials.username, env, "username"), _secret(credentials.password, env, "password"))


def _secret(ref: SecretRef, env: Mapping[str, str], what: str) -> str:
    if ref.env is not None:
        value = env.get(ref.env)
        if not value:
            raise UsageError(f"source.helm.credentials.{what}: the environment variable {ref.env} is not set")
        return value
    assert ref.file is not None  # the schema asks for one of env and file
    try:
        lines = Path(ref.file).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UsageError(f"source.helm.credentials.{what}: cannot read {ref.file} ({error.strerror})") from None
    if not lines or not lines[0]:
        raise UsageError(f"source.helm.credentials.{what}: {ref.file} is empty")
    return lines[0]


def _shown(pin: ChartPin) -> str:
    return f"chart {pin.chart} {pin.version} from {pin.repository}"


class ChartCache:
    """Archives by digest and the digest of each pinned chart, under ``root``, within ``limit`` bytes."""

    def __init__(self, root: Path, limit: int = CACHE_LIMIT) -> None:
        self.root = root
        self.limit = limit

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> ChartCache:
        env = os.environ if env is None else env
        base = env.get("ROLLGEN_CACHE_DIR") or (
            str(Path(env["XDG_CACHE_HOME"]) / "rollgen") if env.get("XDG_CACHE_HOME") else None
        )
        return cls(Path(base) if base else Path.home() / ".cache" / "rollgen")

    def digest_of(self, pin: ChartPin) -> str | None:
        try:
            return (self.root / "charts" / "pins" / _key(pin)).read_text().strip() or None
        except OSError:
            return None

    def archive(self, digest: str) -> bytes | None:
        path = self._archive_path(digest)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            return None  # a damaged file: pulled again, and overwritten
        path.touch()  # recently used: evicted last
        return data

    def store(self, pin: ChartPin, digest: str, data: bytes) -> None:
        self._write(self._archive_path(digest), data)
        self._write(self.root / "charts" / "pins" / _key(pin), digest.encode())
        self._evict()

    def _archive_path(self, digest: str) -> Path:
        return self.root / "charts" / "archives" / digest.replace(":", "-")

    def _write(self, path: Path, data: bytes) -> None:
        # Written aside, then renamed: a reader (another pass) never sees half an archive.
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as out:
            out.write(data)
        Path(out.name).replace(path)

    def _evict(self) -> None:
        archives = sorted(
            ((p.stat().st_mtime, p) for p in (self.root / "charts" / "archives").iterdir() if p.is_file()),
            reverse=True,
        )
        total = 0
        for _, path in archives:
            total += path.stat().st_size
            if total > self.limit:
                path.unlink(missing_ok=True)


def _key(pin: ChartPin) -> str:
    return hashlib.sha256(f"{pin.repository}\n{pin.chart}\n{pin.version}".encode()).hexdigest()
