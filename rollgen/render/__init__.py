"""Renderers: a plan's State as the files one commit writes under the release's output path.

:class:`Renderer` picks the renderer for the release's source (a Kustomize base
or a Helm chart) and reads what it needs from the repository; rendering a
state is then pure and deterministic.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rollgen.plan import State
from rollgen.spec.model import KustomizeSource, Release

Files = dict[str, bytes]

# Built bases by (repository root, base path): a build costs a `kubectl kustomize`
# run (~0.3 s), and a controller renders the same base at every step and abort.
_BASES: dict[tuple[Path, str], tuple[tuple[int, int], Any]] = {}


def _fingerprint(directory: Path) -> tuple[int, int]:
    """Newest modification time and file count under ``directory``: changes when the base is edited.

    A base that pulls files from outside its own directory (``../components``)
    is not watched there; editing those during one process's life keeps the
    earlier build until the base directory itself changes.
    """
    newest, count = 0, 0
    for folder, _, names in os.walk(directory):
        for name in names:
            newest = max(newest, (Path(folder) / name).stat().st_mtime_ns)
            count += 1
    return newest, count


class Renderer:
    """Renders states of one release found in the GitOps repository at ``repo_root``."""

    def __init__(self, repo_root: Path, release: Release) -> None:
        self.repo_root = repo_root
        self.release = release

    def render(self, state: State) -> Files:
        if isinstance(self.release.source, KustomizeSource):
            from rollgen.render import kustomize

            return kustomize.render_state(self.release, state, self._base(self.release.source))
        from rollgen.render import helm

        return helm.render_state(self.release, state, helm.read_chart(self.repo_root, self.release))

    def _base(self, source: KustomizeSource) -> Any:
        from rollgen.render.userbase import read_base

        key = (self.repo_root.resolve(), source.base)
        fingerprint = _fingerprint(self.repo_root / source.base)
        cached = _BASES.get(key)
        if cached is None or cached[0] != fingerprint:
            cached = (fingerprint, read_base(self.repo_root, self.release))
            _BASES[key] = cached
        return cached[1]
