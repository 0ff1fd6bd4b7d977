"""A Helm repository's ``index.yaml``: which archive holds a chart's version, and its digest (pure).

>>> text = b'''apiVersion: v1
... entries:
...   web:
...   - {version: 1.1.0, urls: [charts/web-1.1.0.tgz], digest: ab12}
...   - {version: 1.0.0, urls: ["https://cdn.example.com/web-1.0.0.tgz"]}
... '''
>>> entry("https://charts.example.com/team", text, "web", "1.1.0")
IndexEntry(url='https://charts.example.com/team/charts/web-1.1.0.tgz', digest='sha256:ab12')
>>> versions(text, "web")
['1.1.0', '1.0.0']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from rollgen import yamlload
from rollgen.errors import RollgenError


class ChartIndexError(RollgenError):
    """The index is not a Helm repository index, or lacks the chart or version asked for."""


@dataclass(frozen=True)
class IndexEntry:
    """Where one chart version's archive is (absolute URL) and its ``sha256:`` digest when the index gives one."""

    url: str
    digest: str | None


def entry(repository: str, text: bytes, chart: str, version: str) -> IndexEntry:
    """The archive of ``chart`` at exactly ``version`` in the index ``text`` of ``repository``."""
    for item in _entries(repository, text, chart):
        if str(item.get("version")) == version:
            urls = item.get("urls")
            if not isinstance(urls, list) or not urls or not isinstance(urls[0], str):
                raise ChartIndexError(f"{repository}: chart {chart} {version} has no archive URL in index.yaml")
            digest = item.get("digest")
            # Relative URLs are relative to the repository (Helm joins them the same way).
            url = urljoin(repository.rstrip("/") + "/", urls[0])
            return IndexEntry(url, f"sha256:{digest}" if isinstance(digest, str) and digest else None)
    known = ", ".join(versions(text, chart)[:10])
    raise ChartIndexError(f"{repository}: chart {chart} has no version {version} (it has {known or 'none'})")


def versions(text: bytes, chart: str, repository: str = "the repository") -> list[str]:
    """Every version of ``chart`` the index lists, in its order."""
    return [str(item.get("version")) for item in _entries(repository, text, chart)]


def _entries(repository: str, text: bytes, chart: str) -> list[dict[str, Any]]:
    try:
        data: Any = yamlload.load(text)
    except yamlload.YAMLError:
        raise ChartIndexError(f"{repository}: index.yaml is not valid YAML") from None
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ChartIndexError(f"{repository}: index.yaml has no entries: is this a Helm repository?")
    found = entries.get(chart)
    if not isinstance(found, list):
        raise ChartIndexError(f"{repository}: no chart {chart} in index.yaml")
    return [item for item in found if isinstance(item, dict)]
