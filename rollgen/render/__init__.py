"""Renderers: a plan's State as the files one commit writes under the release's output path.

:class:`Renderer` picks the renderer for the release's source (a Kustomize base
or a Helm chart) and reads what it needs from the repository once; rendering a
state is then pure and deterministic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rollgen.plan import State
from rollgen.spec.model import KustomizeSource, Release

Files = dict[str, bytes]


class Renderer:
    """Renders states of one release found in the GitOps repository at ``repo_root``."""

    def __init__(self, repo_root: Path, release: Release) -> None:
        self.repo_root = repo_root
        self.release = release
        self._source: Any = None

    def render(self, state: State) -> Files:
        if isinstance(self.release.source, KustomizeSource):
            from rollgen.render import base, kustomize

            if self._source is None:
                self._source = base.read_base(self.repo_root, self.release)
            return kustomize.render_state(self.release, state, self._source)
        from rollgen.render import helm

        if self._source is None:
            self._source = helm.read_chart(self.repo_root, self.release)
        return helm.render_state(self.release, state, self._source)
