"""Which files are release specs: the files named, and every release spec under a directory named.

A release spec is a YAML file whose top level says ``apiVersion: rollgen.io/...``
and ``kind: Release`` (a pipeline spec: ``kind: Pipeline``). Recognised from the text, without parsing YAML, so a
directory of a thousand manifests is sorted out quickly.
"""

from __future__ import annotations

import re
import subprocess
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


def repository_specs(root: Path) -> list[Path]:
    """Every release spec in the repository at ``root``, sorted.

    In a git work tree, among the YAML files git lists (tracked, or untracked
    and not ignored: what ``git add -A`` would commit), so an ignored directory
    costs nothing; elsewhere among every file under ``root``, as
    :func:`release_specs` finds them.
    """
    if not (root / ".git").exists():
        return sorted(release_specs([root]))
    argv = [
        "git",
        "-C",
        str(root),
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
        "--",
        "*.yaml",
        "*.yml",
    ]
    try:
        listed = subprocess.run(argv, capture_output=True, check=False)
    except OSError:  # no git: the tree is all there is to go by
        return sorted(release_specs([root]))
    if listed.returncode != 0:  # a .git git cannot read (a worktree's file pointing nowhere): walk the tree
        return sorted(release_specs([root]))
    names = sorted(set(listed.stdout.decode("utf-8", "surrogateescape").split("\0")) - {""})
    return [root / name for name in names if is_release_spec(root / name)]
