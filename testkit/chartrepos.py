"""Published charts for tests: podinfo's chart packaged by real Helm, served as a Helm repository and from OCI.

- :func:`package_podinfo` packages the shared podinfo chart at the versions a
  test names (chart version = appVersion, like podinfo's own releases), with
  helm-python-sdk's ``package``;
- :func:`chart_repository` serves a directory of archives on loopback as a Helm
  repository: ``index.yaml`` written by Helm's own ``repo index`` for the
  server's URL, the archives beside it (a stdlib ``http.server``); optional
  basic auth;
- :func:`push_oci` pushes archives to a registry (Debian's docker-registry,
  :mod:`testkit.registryservers`) with Helm's own ``push``.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

from testkit.gateservers import serving, url_of
from testkit.registryservers import Registry
from testkit.tools import shared_data


@dataclass
class ChartRepository:
    """A served Helm repository: its ``url`` and every request path it answered (to prove what was fetched)."""

    url: str = ""
    directory: Path = Path()
    requests: list[str] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)


def package_podinfo(helm: Any, directory: Path, versions: list[str], *, changed: dict[str, str] | None = None) -> Path:
    """podinfo's chart packaged into ``directory`` at each version; ``changed`` edits a version's values.yaml text.

    ``changed`` maps a version to a line appended to its ``values.yaml`` (a chart
    upgrade that changes what the templates render).
    """
    directory.mkdir(parents=True, exist_ok=True)
    for version in versions:
        work = directory.parent / f".src-{version}"
        shutil.copytree(shared_data() / "podinfo" / "charts" / "podinfo", work / "podinfo")
        if changed and version in changed:
            with (work / "podinfo" / "values.yaml").open("a") as values:
                values.write(changed[version] + "\n")
        helm.package(str(work / "podinfo"), destination=str(directory), version=version, app_version=version)
        shutil.rmtree(work)
    return directory


@contextmanager
def chart_repository(
    helm: Any, directory: Path, *, user: str | None = None, password: str = ""
) -> Iterator[ChartRepository]:
    """Serve ``directory`` (chart archives) as a Helm repository on loopback until the block ends."""
    served = ChartRepository(directory=directory)
    expected = None if user is None else "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)

        def do_GET(self) -> None:
            served.requests.append(self.path)
            served.authorizations.append(self.headers.get("Authorization", ""))
            if expected is not None and self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="charts"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as server:
        served.url = url_of(server)
        helm.repo_index_generate(str(directory), base_url=served.url)
        yield served


def push_oci(helm: Any, registry: Registry, archives: Path, path: str = "charts") -> str:
    """Push every archive of ``archives`` to ``oci://<registry>/<path>``; the repository URL a spec names."""
    remote = f"oci://{registry.host}/{path}"
    for archive in sorted(archives.glob("*.tgz")):
        helm.push(str(archive), remote, plain_http=True)
    return remote
