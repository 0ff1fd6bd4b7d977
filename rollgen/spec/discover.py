"""Which files are release specs: the files named, and every release spec under a directory named.

A release spec is a YAML file whose top level says ``apiVersion: rollgen.io/...``
and ``kind: Release`` (a pipeline spec: ``kind: Pipeline``). Recognised from the text, without parsing YAML, so a
directory of a thousand manifests is sorted out quickly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

_API = re.compile(rb"^apiVersion:[ \t]*[\"']?rollgen\.io/", re.MULTILINE)
_KIND = re.compile(rb"^kind:[ \t]*[\"']?Release[\"']?[ \t]*(#.*)?$", re.MULTILINE)
_PIPELINE = re.compile(rb"^kind:[ \t]*[\"']?Pipeline[\"']?[ \t]*(#.*)?$", re.MULTILINE)


def is_release_spec(path: Path, *, pipelines: bool = False) -> bool:
    """Whether ``path`` holds a release spec (with ``pipelines``, or a pipeline spec)."""
    try:
        text = path.read_bytes()
    except OSError:
        return False
    return bool(_API.search(text) and (_KIND.search(text) or (pipelines and _PIPELINE.search(text))))


def is_pipeline_spec(path: Path) -> bool:
    try:
        text = path.read_bytes()
    except OSError:
        return False
    return bool(_API.search(text) and _PIPELINE.search(text))


def release_specs(paths: Iterable[Path], *, pipelines: bool = False) -> list[Path]:
    """Files as given (a named file is checked whatever it holds); directories expanded to their release specs.

    Hidden directories (``.git``) are skipped; the result keeps the order given,
    each directory's specs sorted, and no file twice. With ``pipelines``,
    pipeline specs (``kind: Pipeline``) are found too.
    """
    found: dict[Path, None] = {}
    for path in paths:
        if not path.is_dir():
            found.setdefault(path)
            continue
        for candidate in sorted(path.rglob("*")):
            relative = candidate.relative_to(path).parts
            if any(part.startswith(".") for part in relative[:-1]):
                continue
            if (
                candidate.suffix in (".yaml", ".yml")
                and candidate.is_file()
                and is_release_spec(candidate, pipelines=pipelines)
            ):
                found.setdefault(candidate)
    return list(found)
