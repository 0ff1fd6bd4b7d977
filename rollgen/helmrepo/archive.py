"""A chart archive (``.tgz``) read in memory, within bounds, without unpacking it anywhere (pure).

Helm's own limits apply: at most 100 MiB decompressed in all and 5 MiB per
file; rollgen also refuses more than 10,000 entries and any entry outside the
chart's one top-level directory (``../``, an absolute path, a link).

>>> import io, tarfile
>>> def tgz(files):
...     out = io.BytesIO()
...     with tarfile.open(fileobj=out, mode="w:gz") as tar:
...         for name, data in files.items():
...             info = tarfile.TarInfo(name); info.size = len(data); tar.addfile(info, io.BytesIO(data))
...     return out.getvalue()
>>> chart = read_archive(tgz({"web/Chart.yaml": b"name: web\\nversion: 1.0.0\\nappVersion: 2.1.0\\n",
...                           "web/values.yaml": b"image: {tag: 2.1.0}\\n",
...                           "web/templates/d.yaml": b"image: {{ .Values.image.tag }}"}))
>>> chart.name, chart.version, chart.app_version, dict(chart.values), sorted(chart.used)
('web', '1.0.0', '2.1.0', {'image': {'tag': '2.1.0'}}, ['image', 'image.tag'])
>>> read_archive(tgz({"../evil": b""}))
Traceback (most recent call last):
...
rollgen.helmrepo.archive.ArchiveError: the chart archive holds '../evil', outside its chart directory
"""

from __future__ import annotations

import io
import posixpath
import re
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from rollgen import yamlload
from rollgen.errors import RollgenError

MAX_TOTAL = 100 << 20
MAX_FILE = 5 << 20
MAX_ENTRIES = 10_000
_VALUES = re.compile(r"\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")


class ArchiveError(RollgenError):
    """Not a chart archive rollgen reads: not gzip/tar, too large, an entry outside the chart, no Chart.yaml."""


@dataclass(frozen=True)
class ChartArchive:
    """What rollgen reads of a chart without Helm: its metadata and default values."""

    name: str
    version: str
    app_version: str | None
    values: Mapping[str, Any]
    # Every value path the templates read (``.Values.image.tag`` -> ``image.tag``), prefixes included.
    used: frozenset[str] = frozenset()


def read_archive(data: bytes) -> ChartArchive:
    """The chart in ``data`` (the bytes of a ``.tgz``)."""
    files = _files(data)
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) != 1:
        raise ArchiveError(f"the chart archive must hold one chart directory, it holds {sorted(tops) or 'nothing'}")
    (top,) = tops
    metadata = _yaml(files.get(f"{top}/Chart.yaml"), "Chart.yaml")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or "version" not in metadata:
        raise ArchiveError("the chart archive has no Chart.yaml with a name and a version")
    values = _yaml(files.get(f"{top}/values.yaml"), "values.yaml") or {}
    if not isinstance(values, dict):
        raise ArchiveError("the chart's values.yaml is not a map of values")
    app = metadata.get("appVersion")
    used = {
        ".".join(parts[:n])
        for path, text in files.items()
        if path.startswith(f"{top}/templates/")
        for found in _VALUES.findall(text.decode("utf-8", errors="replace"))
        for parts in [found.split(".")]
        for n in range(1, len(parts) + 1)
    }
    return ChartArchive(
        metadata["name"],
        str(metadata["version"]),
        None if app is None else str(app),
        MappingProxyType(values),
        frozenset(used),
    )


def _files(data: bytes) -> dict[str, bytes]:
    """The archive's regular files by path, read up to the bounds (Chart.yaml, values.yaml and templates kept)."""
    kept: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for count, member in enumerate(tar, start=1):
                if count > MAX_ENTRIES:
                    raise ArchiveError(f"the chart archive has more than {MAX_ENTRIES} entries")
                name = member.name
                if name.startswith("/") or ".." in name.split("/") or posixpath.normpath(name) != name:
                    raise ArchiveError(f"the chart archive holds {name!r}, outside its chart directory")
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ArchiveError(f"the chart archive holds {name!r}, which is not a regular file")
                if member.size > MAX_FILE:
                    raise ArchiveError(f"{name} in the chart archive is larger than {MAX_FILE} bytes")
                total += member.size
                if total > MAX_TOTAL:
                    raise ArchiveError(f"the chart archive holds more than {MAX_TOTAL} bytes")
                kept[name] = b""
                top_level = name.count("/") == 1 and posixpath.basename(name) in ("Chart.yaml", "values.yaml")
                if top_level or name.split("/")[1:2] == ["templates"]:
                    extracted = tar.extractfile(member)
                    kept[name] = extracted.read() if extracted is not None else b""
    except (tarfile.TarError, zlib.error, EOFError, OSError) as error:
        raise ArchiveError(f"not a chart archive (a gzipped tar): {error}") from None
    return kept


def _yaml(data: bytes | None, name: str) -> Any:
    if data is None:
        return None
    try:
        return yamlload.load(data)
    except yamlload.YAMLError:
        raise ArchiveError(f"the chart's {name} is not valid YAML") from None
