"""The directories a Kustomize build reads, found by walking the kustomization graph.

Plain filesystem reads, no ``kubectl``: ``rollgen validate`` uses the list to
keep an output path away from everything a release reads, and
:func:`fingerprint` hashes exactly what a build reads, so an unchanged base
needs no build to tell that it is unchanged.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for d, text in (("base", "resources: [deploy.yaml]"), ("env/prod", "resources: [../../base]")):
    ...     (root / d).mkdir(parents=True)
    ...     _ = (root / d / "kustomization.yaml").write_text(text)
    >>> [str(p) for p in inputs(root, "env/prod")]
    ['base', 'env/prod']
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollgen import yamlload

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Entries that name files or directories relative to the kustomization.
_PATH_LISTS = ("resources", "components", "bases", "crds", "patchesStrategicMerge", "configurations", "transformers")
_GENERATORS = ("configMapGenerator", "secretGenerator")


def kustomization_file(directory: Path) -> Path | None:
    """The kustomization file of ``directory``, if it has one."""
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


def reads(repo_root: Path, base: str) -> tuple[str, ...]:
    """What the build of ``base`` reads, relative to ``repo_root``, sorted: directories read whole, and files.

    A file a kustomization names (a patch, a generator source) is listed alone,
    not its directory. Remote resources (URLs) are left out; entries that do
    not exist are left to ``kubectl kustomize`` to report; a path leaving
    ``repo_root`` is kept as written (``../x``) so a caller can see it.
    """
    walked = _walk(repo_root, base)
    files = walked.manifests | walked.data
    loose = {f for f in files if not any(f.startswith(f"{d}/") or d == "." for d in walked.directories)}
    return tuple(sorted(walked.directories | loose))


def parsed(repo_root: Path, base: str) -> tuple[str, ...]:
    """The files the build of ``base`` parses as YAML, relative to ``repo_root``, sorted.

    Every kustomization file on the way and every file they name as a resource,
    patch or configuration; not the sources of generators (their bytes are data).
    """
    walked = _walk(repo_root, base)
    return tuple(sorted(walked.kustomizations | walked.manifests))


@dataclass(frozen=True, kw_only=True)
class _Walked:
    directories: set[str]
    kustomizations: set[str]
    manifests: set[str]  # files named as resources, patches, configurations: parsed as YAML
    data: set[str]  # generator sources


def _walk(repo_root: Path, base: str) -> _Walked:
    walked = _Walked(directories=set(), kustomizations=set(), manifests=set(), data=set())
    pending = [posixpath.normpath(base)]
    while pending:
        directory = pending.pop()
        if directory in walked.directories:
            continue
        walked.directories.add(directory)
        found = kustomization_file(repo_root / directory)
        if found is None:
            continue
        walked.kustomizations.add(posixpath.join(directory, found.name))
        data = _load(found)
        for entries, named in ((_manifest_entries(data), walked.manifests), (_generator_sources(data), walked.data)):
            for entry in entries:
                if "://" in entry or entry.startswith(("github.com/", "git@")):
                    continue
                target = posixpath.normpath(posixpath.join(directory, entry))
                if (repo_root / target).is_dir():
                    pending.append(target)
                elif (repo_root / target).exists():
                    named.add(target)
    return walked


def inputs(repo_root: Path, base: str) -> tuple[Path, ...]:
    """Every directory (relative to ``repo_root``, sorted) the build of ``base`` reads files from."""
    found = {p if (repo_root / p).is_dir() else (posixpath.dirname(p) or ".") for p in reads(repo_root, base)}
    return tuple(Path(d) for d in sorted(found))


def fingerprint(repo_root: Path, paths: Iterable[str]) -> str:
    """A digest of the names (relative to ``repo_root``, so any clone agrees) and bytes of every file under ``paths``.

    Two equal fingerprints of a base's :func:`reads` mean ``kubectl kustomize``
    would build the same thing, so an unchanged repository needs no build.
    """
    digest = hashlib.sha256()
    root = repo_root.resolve()
    for path in sorted(set(_files(root, paths))):
        data = path.read_bytes()
        for part in (path.relative_to(root).as_posix().encode() if path.is_relative_to(root) else b"", data):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()[:16]


def _files(root: Path, paths: Iterable[str]) -> Iterator[Path]:
    for name in paths:
        path = (root / name).resolve()
        if path.is_dir():
            yield from (p for p in path.rglob("*") if p.is_file() and ".git" not in p.relative_to(path).parts)
        elif path.is_file():
            yield path


def _load(path: Path) -> Any:
    try:
        return yamlload.load(path.read_bytes())
    except (OSError, yamlload.YAMLError, UnicodeDecodeError):
        return None  # the build reports a malformed kustomization with its own words


def _manifest_entries(data: Any) -> Iterator[str]:
    if not isinstance(data, dict):
        return
    for key in _PATH_LISTS:
        for item in data.get(key) or ():
            if isinstance(item, str):
                yield item
    for patch in data.get("patches") or ():
        if isinstance(patch, dict) and isinstance(patch.get("path"), str):
            yield patch["path"]


def _generator_sources(data: Any) -> Iterator[str]:
    if not isinstance(data, dict):
        return
    for key in _GENERATORS:
        for generator in data.get(key) or ():
            if not isinstance(generator, dict):
                continue
            for item in (*(generator.get("files") or ()), *(generator.get("envs") or ()), generator.get("env")):
                if isinstance(item, str):
                    yield item.split("=", 1)[-1]  # "key=path" names the key
