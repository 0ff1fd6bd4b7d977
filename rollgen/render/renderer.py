"""Renderers: a plan's State as the files one commit writes under the release's output path.

:class:`Renderer` picks the renderer for the release's source (a Kustomize base
or a Helm chart) and reads what it needs from the repository; rendering a
state is then pure and deterministic.

The state's versions are revision labels (:mod:`rollgen.render.revision`). A label
whose revision is frozen in the output directory as committed (``frozen``:
its files at the branch tip) renders from that frozen build; any other label
is a new revision, built from the user's base as it is now; the spec's own
``version`` among them runs pinned to ``spec.digest`` when the release pins
digests (:attr:`~rollgen.spec.model.Release.pinned_digest`). A frozen label
keeps the image text frozen with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from rollgen.errors import UsageError
from rollgen.kustomize_inputs import fingerprint, reads
from rollgen.plan.model import State
from rollgen.render import helm, kustomize
from rollgen.render.adopt import render_adopted
from rollgen.render.desired import desired_revision
from rollgen.render.kustomize import Frozen
from rollgen.render.published import adopt_published, render_published
from rollgen.render.revision import Revision
from rollgen.render.userbase import KustomizeBase, read_base
from rollgen.spec.helmsource import HelmSource
from rollgen.spec.model import KustomizeSource, Release

Files = dict[str, bytes]
_EMPTY: Mapping[str, bytes] = MappingProxyType({})
_NO_REVISIONS: Mapping[str, Revision] = MappingProxyType({})

# Built bases by (repository root, base path), with the fingerprint of the files they were
# built from: a build costs a `kubectl kustomize` run (~0.3 s), and a controller renders
# the same base at every step and abort.
_BASES: dict[tuple[Path, str], tuple[str, KustomizeBase]] = {}


class Renderer:
    """Renders states of one release found in the GitOps repository at ``repo_root``."""

    def __init__(self, repo_root: Path, release: Release) -> None:
        self.repo_root = repo_root
        self.release = release

    def render(
        self, state: State, frozen: Mapping[str, bytes] = _EMPTY, revisions: Mapping[str, Revision] = _NO_REVISIONS
    ) -> Files:
        """The files of ``state``.

        ``frozen`` holds the output directory's files as committed, by path
        relative to it; ``revisions`` names the new revision(s) by label
        (their version and digest; the configuration is checked against the
        base as built now). A label found in neither is a new revision whose
        version is the label.
        """
        if isinstance(self.release.source, KustomizeSource):
            inputs, base = self._base(self.release.source)
            sources = kustomize.frozen_revisions(frozen, self.release.output_path)
            for workload in state.workloads:
                if workload.version not in sources:
                    sources[workload.version] = self._new(workload.version, base, inputs, revisions)
            return kustomize.render_overlay(self.release, state, base, sources)
        return self._render_chart(state, frozen, revisions)

    def _render_chart(self, state: State, frozen: Mapping[str, bytes], revisions: Mapping[str, Revision]) -> Files:
        source = self.release.source
        assert isinstance(source, HelmSource)  # not a Kustomize release
        if source.remote is not None:
            return render_published(self.repo_root, self.release, state, frozen, revisions)
        chart = helm.read_chart(self.repo_root, self.release)
        sources = helm.frozen_chart_revisions(frozen)
        new = [w.version for w in state.workloads if w.version not in sources]
        # A user's own chart (per_version) takes no frozen values: its releases are not revisions yet.
        if new and source.per_version is None:
            values = helm.frozen_values(self.repo_root, self.release, chart)
            # A chart is not built to compute its configuration: desired_revision digests its files.
            now = desired_revision(self.repo_root, self.release, None)
            for name in new:
                pinned = self.release.pinned_digest if name == self.release.version else None
                wanted = revisions.get(name, Revision(name, now.config, pinned))
                if wanted.config != now.config:
                    raise UsageError(
                        f"release {self.release.name}: revision {name} was computed from configuration "
                        f"{wanted.config}, but the chart and values files give {now.config} now: they changed "
                        "meanwhile; run again"
                    )
                revision = Revision(wanted.version, now.config, wanted.digest, now.inputs)
                sources[name] = helm.ChartRevision(revision, values)
        return helm.render_state(self.release, state, chart, sources)

    def adopt(self) -> Files:
        """The files that adopt what runs today (see :mod:`rollgen.render.adopt`)."""
        source = self.release.source
        if isinstance(source, HelmSource) and source.remote is not None:
            return adopt_published(self.repo_root, self.release)
        if not isinstance(source, KustomizeSource):
            raise UsageError(
                f"release {self.release.name}: adopting a running Helm release needs its chart from a repository "
                "(source.helm.repository)"
            )
        inputs, base = self._base(source)
        return render_adopted(self.release, base, inputs)

    def _new(self, name: str, base: KustomizeBase, inputs: str, revisions: Mapping[str, Revision]) -> Frozen:
        assert isinstance(self.release.source, KustomizeSource)  # only Kustomize releases get here
        built = kustomize.live(base, name, inputs)
        wanted = revisions.get(name)
        if wanted is None:
            if name != self.release.version or self.release.pinned_digest is None:
                return built
            # The spec's new version, pinned: its image names the digest (a moved tag never changes what runs).
            return kustomize.Frozen(dataclasses.replace(built.revision, digest=self.release.pinned_digest), base)
        if wanted.config != built.revision.config:
            raise UsageError(
                f"release {self.release.name}: revision {name} was computed from configuration {wanted.config}, but "
                f"{self.release.source.base} builds to {built.revision.config} now: the base changed meanwhile; run again"
            )
        return kustomize.Frozen(Revision(wanted.version, wanted.config, wanted.digest, inputs), base)

    def _base(self, source: KustomizeSource) -> tuple[str, KustomizeBase]:
        key = (self.repo_root.resolve(), source.base)
        current = fingerprint(self.repo_root, reads(self.repo_root, source.base))
        cached = _BASES.get(key)
        if cached is None or cached[0] != current:
            cached = (current, read_base(self.repo_root, self.release))
            _BASES[key] = cached
        return cached
