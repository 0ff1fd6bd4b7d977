"""Adoption: the explicit first commit that makes a release's output rollgen's, reproducing what runs.

Before rollgen changes anything, the output path holds either manifests
rollgen did not write (a team that applied its base as is: one unversioned
Deployment), or nothing. :func:`adopt` commits, in one commit without a
rollout record:

- manifests rollgen did not write: the adopted state (:meth:`rollgen.render.renderer.Renderer.adopt`),
  which keeps the running Deployment's name and selector, its image tag the
  adopted revision's version (a published Helm chart: the running Helm
  release keeps its name and namespace, so Helm upgrades it in place);
- nothing at all: the spec's ``version`` as the release's first revision, at
  full size (a release that did not run before: this commit deploys it).

From then on the output names what runs, so ``rollgen advance`` compares the
spec with it and rolls every change out; a first rollout's abort restores
these adopted files, never nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rollgen.errors import NothingToDo, NotSoError
from rollgen.gitops.change import Change
from rollgen.gitops.repo import Identity, Repo, commit_change
from rollgen.gitops.snapshot import Snapshot
from rollgen.plan.steps import initial_state
from rollgen.render.desired import desired_revision
from rollgen.render.renderer import Renderer
from rollgen.render.revision import live_revisions
from rollgen.rollout.ownership import refuse_other_owner
from rollgen.rollout.reading import read_state, revisions_at
from rollgen.rollout.state import release_key
from rollgen.spec.helmsource import HelmSource
from rollgen.spec.model import Release


@dataclass(frozen=True, kw_only=True)
class Adopted:
    """What :func:`adopt` did: the commit (None when it had been done already) and what it runs."""

    commit: str | None
    label: str
    first_run: bool
    # The Helm release (namespace/name) adoption kept running as it was, when the output takes one over.
    helm_release: str | None = None


def adopt(repo: Repo, release: Release, *, remote: str | None = None) -> Adopted:
    """Commit the adopted state of ``release`` to its output path; refuses once rollgen manages it."""
    key = release_key(release)
    result: list[Adopted] = []

    def decide(tip: Snapshot) -> Change | None:
        result.clear()
        refuse_other_owner(repo.git, tip, key, release.output_path)
        if read_state(tip, release) is not None:
            raise NotSoError(
                f"{key}: rollgen already rolls this release out (its history has rollouts); nothing to adopt"
            )
        revisions = revisions_at(tip, release)
        if revisions:
            raise NothingToDo(f"{key}: already adopted: {release.output_path} runs {list(revisions)[-1]}")
        renderer = Renderer(repo.root(), release)
        if tip.list(release.output_path):
            files = renderer.adopt()
            found = live_revisions(files)
            name = list(found)[-1]
            kept = _helm_release(release)
            result.append(Adopted(commit=None, label=name, first_run=False, helm_release=kept))
            what = (
                f"the same Helm release {kept}, chart version and values: Helm upgrades it in place and never "
                "uninstalls or reinstalls it"
                if kept
                else "the same Deployment, image and configuration"
            )
            message = (
                f"{key}: adopt what runs, {name}\n\n"
                f"{release.output_path} held manifests rollgen did not write. This commit reproduces what runs "
                f"({what}) in rollgen's layout; from now on every change to the spec is rolled out step by step, "
                "and an abort returns here."
            )
        else:
            first = dataclasses.replace(release, stable=release.version)
            desired = desired_revision(repo.root(), release, None)
            files = Renderer(repo.root(), first).render(initial_state(first), revisions={release.version: desired})
            result.append(Adopted(commit=None, label=release.version, first_run=True))
            message = (
                f"{key}: first revision, {release.version}\n\n"
                f"{release.output_path} held nothing: the release did not run before. This commit deploys "
                f"{release.version} at full size as its first revision, with no rollout (there is nothing to "
                "roll out from); every later change to the spec is rolled out step by step."
            )
        return Change(root=release.output_path, files=files, message=message, record=None)

    author = release.git.author
    identity = Identity(author.name, author.email) if author is not None else None
    done = commit_change(repo, release.git.branch, decide, remote=remote, author=identity, committer=identity)
    return dataclasses.replace(result[0], commit=done.commit if done is not None else None)


def _helm_release(release: Release) -> str | None:
    """``namespace/name`` of the Helm release a published chart's adoption keeps (None for other sources)."""
    source = release.source
    if not isinstance(source, HelmSource) or source.remote is None:
        return None
    return f"{release.namespace}/{source.release_name or release.name}"
