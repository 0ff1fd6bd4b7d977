"""The directories a Kustomize build reads, found by walking the kustomization graph.

Plain filesystem reads, no ``kubectl``: ``rollgen validate`` uses the list to
keep an output path away from everything a release reads, and a cheap
fingerprint of a base can hash exactly these directories.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for d, text in (("base", "resources: [deploy.yaml]"), ("env/prod", "resources: [../../base]")):
    ...     (root / d).mkdir(parents=True)
    ...     _ = (root / d / "kustomization.yaml").write_text(text)
    >>> [str(p) for p in inputs(root, "env/prod")]
    ['base', 'env/prod']
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def inputs(repo_root: Path, base: str) -> tuple[Path, ...]:
    """Every directory (relative to ``repo_root``, sorted) the build of ``base`` reads files from.

    Remote resources (URLs) are left out; entries that do not exist are left to
    ``kubectl kustomize`` to report; a path leaving ``repo_root`` is kept as
    written (``../x``) so a caller can see it.
    """
    seen: set[str] = set()
    pending = [posixpath.normpath(base)]
    while pending:
        directory = pending.pop()
        if directory in seen:
            continue
        seen.add(directory)
        found = kustomization_file(repo_root / directory)
        if found is None:
            continue
        for entry in _entries(_load(found)):
            if "://" in entry or entry.startswith(("github.com/", "git@")):
                continue
            target = posixpath.normpath(posixpath.join(directory, entry))
            if (repo_root / target).is_dir():
                pending.append(target)
            else:
                seen.add(posixpath.dirname(target) or ".")
    return tuple(Path(d) for d in sorted(seen))


def _load(path: Path) -> Any:
    import yaml

    try:
        return yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None  # the build reports a malformed kustomization with its own words


def _entries(data: Any) -> Iterator[str]:
    if not isinstance(data, dict):
        return
    for key in _PATH_LISTS:
        for item in data.get(key) or ():
            if isinstance(item, str):
                yield item
    for patch in data.get("patches") or ():
        if isinstance(patch, dict) and isinstance(patch.get("path"), str):
            yield patch["path"]
    for key in _GENERATORS:
        for generator in data.get(key) or ():
            if not isinstance(generator, dict):
                continue
            for item in (*(generator.get("files") or ()), *(generator.get("envs") or ()), generator.get("env")):
                if isinstance(item, str):
                    yield item.split("=", 1)[-1]  # "key=path" names the key
