"""The files a Kustomize base reads, and a fingerprint of their bytes.

A base may be layered: resources and components in other directories, patch
files, generator sources next to or above it. :func:`inputs` follows the
kustomization files (without building anything) and returns every local
directory and file they name; :func:`fingerprint` hashes the bytes of all
of them. Two equal fingerprints mean ``kubectl kustomize`` would build the
same thing, so an unchanged repository needs no build at all.

Remote resources (URLs, ``github.com/...``) are not files of the repository:
they are left out, so a change behind them is noticed only when a local file
changes too.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Fields whose values are paths relative to the kustomization (strings or lists of strings).
_PATH_LISTS = ("resources", "bases", "components", "crds", "patchesStrategicMerge", "configurations", "transformers")
_GENERATORS = ("configMapGenerator", "secretGenerator")
# The C loader when PyYAML has it: a controller pass reads every release's kustomizations.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def inputs(repo_root: Path, base: str) -> tuple[Path, ...]:
    """Every directory (read whole) and file outside them that the kustomization at ``base`` reads, sorted."""
    found: set[Path] = set()
    _visit((repo_root / base).resolve(), found)
    directories = {p for p in found if p.is_dir()}
    files = {p for p in found if p.is_file() and not any(d in p.parents for d in directories)}
    return tuple(sorted(directories | files))


def fingerprint(repo_root: Path, paths: Iterable[Path]) -> str:
    """A digest of the names (relative to ``repo_root``, so any clone agrees) and bytes of every file under ``paths``."""
    digest = hashlib.sha256()
    root = repo_root.resolve()
    for path in sorted(set(_files(paths))):
        data = path.read_bytes()
        for part in (os.path.relpath(path, root).encode(), data):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()[:16]


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from (p for p in path.rglob("*") if p.is_file() and ".git" not in p.relative_to(path).parts)
        elif path.is_file():
            yield path


def _visit(directory: Path, found: set[Path]) -> None:
    if directory in found:
        return
    found.add(directory)
    kustomization = next((directory / n for n in KUSTOMIZATION_FILES if (directory / n).is_file()), None)
    if kustomization is None:
        return
    try:
        data: Any = yaml.load(kustomization.read_bytes(), Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return  # the build reports it; the fingerprint still covers the directory's bytes
    if not isinstance(data, dict):
        return
    for name in _named_paths(data):
        if "://" in name or name.startswith(("github.com/", "git@")):
            continue
        target = (directory / name).resolve()
        if target.is_dir():
            _visit(target, found)
        elif target.exists():
            found.add(target)


def _named_paths(data: dict[str, Any]) -> Iterator[str]:
    for field in _PATH_LISTS:
        yield from _strings(data.get(field))
    for patch in data.get("patches") or ():
        if isinstance(patch, dict):
            yield from _strings(patch.get("path"))
    for field in _GENERATORS:
        for generator in data.get(field) or ():
            if isinstance(generator, dict):
                for key in ("files", "envs", "env"):
                    # A files entry may be ``key=path``.
                    yield from (s.split("=", 1)[-1] for s in _strings(generator.get(key)))
    openapi = data.get("openapi")
    if isinstance(openapi, dict):
        yield from _strings(openapi.get("path"))


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (v for v in value if isinstance(v, str))
