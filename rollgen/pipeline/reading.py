"""An environment of a pipeline as Git records it: what runs there, what it completed last, what it aborted.

Each environment's branch is fetched from its remote and its tip read once
(:func:`rollgen.rollout.reading.branch_tip`): the spec's version lines as the
branch holds them, the rollout's state, the newest rollgen commits of its
release (its last completion and the versions whose latest rollout aborted),
and the branch's freeze record (:mod:`rollgen.freeze`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from rollgen import yamlload
from rollgen.freeze import FREEZE_FILE, Freeze, parse_freeze
from rollgen.gates.analysis import Phase
from rollgen.gitops.depth import ensure_history
from rollgen.gitops.git import ObjectReader
from rollgen.gitops.notes import fetch_notes, load_records
from rollgen.gitops.remote import fetch_branch, remote_named, tracking_ref
from rollgen.gitops.repo import Repo
from rollgen.gitops.snapshot import Snapshot, histories
from rollgen.gitops.specfile import locate
from rollgen.gitops.trailers import Action, HistoryEntry
from rollgen.pipeline.promotion import Completed
from rollgen.render.revision import live_revisions
from rollgen.rollout.reading import revisions_at
from rollgen.rollout.state import RolloutState, release_key, state_from
from rollgen.spec.model import Release
from rollgen.spec.pipeline import Environment, Pipeline

HISTORY = 500
"""How many of an environment's rollgen commits are read back to find its last completion and its aborts."""


@dataclass(frozen=True)
class EnvironmentView:
    """One environment as its branch records it."""

    environment: Environment
    release: Release
    repo: Repo
    spec: str
    """The release spec's path in its repository."""
    remote: str | None
    last: HistoryEntry | None
    """The release's newest record on the branch (None: no rollout ever began)."""
    step: HistoryEntry | None
    """When ``last`` is a pause or resume, the newest step record before it."""
    completed: Completed | None
    aborted: dict[str, str] = field(default_factory=dict)
    """Versions whose latest rollout here was aborted, with the abort's commit."""
    stopped: str = ""
    """Why the last rollout stopped, when it was aborted."""
    adopted: str | None = None
    """The revision the output runs when no rollout is recorded yet (``rollgen adopt`` wrote it)."""
    freeze: Freeze | None = None
    """The freeze record on the environment's branch (standing or lapsed: :meth:`Freeze.standing` tells)."""

    @functools.cached_property
    def state(self) -> RolloutState | None:
        """Where the rollout stands, its plan step included (planned on first use: a pass needs it for status only)."""
        return state_from(self.last, self.step, self.release)

    @property
    def running(self) -> str | None:
        labels = state_from(self.last, self.step, None)  # what runs is in the record's labels: no plan needed
        return labels.running if labels is not None else self.adopted


def read_environments(pipeline: Pipeline) -> dict[str, EnvironmentView]:
    """Every environment of ``pipeline`` as Git records it, by name."""
    return read_pipelines([pipeline])[0]


def read_pipelines(pipelines: Sequence[Pipeline]) -> list[dict[str, EnvironmentView]]:
    """Every environment of each pipeline as Git records it, by name, one mapping per pipeline.

    Environments on one branch of one repository, of all the pipelines,
    share one fetch, one object reader and one walk of the history: a pass
    over a thousand environments costs a few git processes per branch, not
    per environment.
    """
    repos: dict[Path, tuple[Repo, Path]] = {}
    remotes: dict[tuple[Path, str], str | None] = {}
    groups: dict[tuple[Path, str, str | None], list[tuple[int, Environment, Release, str]]] = {}
    for index, pipeline in enumerate(pipelines):
        for environment, release in zip(pipeline.environments, pipeline.releases, strict=True):
            folder = environment.spec.resolve().parent
            if folder not in repos:
                repo, _ = locate(environment.spec, "pipeline")
                repos[folder] = (repo, Path(repo.root()))
            repo, top = repos[folder]
            spec = environment.spec.resolve().relative_to(top).as_posix()
            if (top, release.git.remote) not in remotes:
                remotes[(top, release.git.remote)] = remote_named(repo.git, release.git.remote)
            remote = remotes[(top, release.git.remote)]
            groups.setdefault((top, release.git.branch, remote), []).append((index, environment, release, spec))
    views: list[dict[str, EnvironmentView]] = [{} for _ in pipelines]
    for (top, branch, remote), members in groups.items():
        repo = next(r for r, t in repos.values() if t == top)
        keys = sorted({release_key(release) for _, _, release, _ in members})
        with _branch(repo, branch, remote, keys) as (tip, found):
            freeze = parse_freeze(tip.read(FREEZE_FILE))  # one record for the branch
            for index, environment, release, spec in members:
                entries = found[release_key(release)]
                views[index][environment.name] = _read(environment, release, repo, spec, remote, tip, entries, freeze)
    return [{e.name: views[i][e.name] for e in pipeline.environments} for i, pipeline in enumerate(pipelines)]


@contextmanager
def _branch(
    repo: Repo, branch: str, remote: str | None, keys: list[str]
) -> Iterator[tuple[Snapshot, dict[str, tuple[HistoryEntry, ...]]]]:
    """The branch's tip (fetched first from ``remote``), with each release's newest records read in one walk."""
    if remote is not None:
        fetch_branch(repo.git, remote, branch)  # a fetch racing another process's leaves a tip just as fresh
    ref = tracking_ref(remote, branch) if remote is not None else f"refs/heads/{branch}"
    ensure_history(repo.git, ref, remote=remote, branch=branch)  # a shallow clone: never a cut history
    with ObjectReader(repo.git) as reader:
        info = reader.info(f"{ref}^{{commit}}")
        sha = info.sha if info is not None else None
        found = histories(repo.git, sha, keys, HISTORY)
        yield Snapshot(repo.git, reader, sha, {key: (kept[0] if kept else None) for key, kept in found.items()}), found


def _read(
    environment: Environment,
    release: Release,
    repo: Repo,
    spec: str,
    remote: str | None,
    tip: Snapshot,
    entries: tuple[HistoryEntry, ...],
    freeze: Freeze | None,
) -> EnvironmentView:
    # The branch is the desired state: its spec's version lines count, not a working copy's (a merged
    # promotion the checkout has not pulled yet).
    named = spec_named(tip.read(spec))
    if named is not None:
        release = replace(release, version=named[0], digest=named[1])
    last = entries[0] if entries else None
    step = next((e for e in entries if not e.record.action.marks), None) if last and last.record.action.marks else None
    # No rollout recorded yet: what runs is the adopted revision.
    adopted = next(reversed(revisions_at(tip, release)), None) if last is None else None
    completed = next((_completed(tip, e, release, spec) for e in entries if e.record.action == Action.COMPLETE), None)
    aborted: dict[str, str] = {}
    seen: set[str] = set()
    for entry in entries:  # newest first: a version's newest record says how its latest rollout ended
        version = entry.record.to_label
        if version not in seen:
            seen.add(version)
            if entry.record.action == Action.ABORT:
                aborted[version] = entry.sha
    stopped = ""
    if last is not None and last.record.action == Action.ABORT:
        if remote is not None:
            fetch_notes(repo, remote)
        stopped = _abort_reason(repo, entries, last)
    return EnvironmentView(
        environment, release, repo, spec, remote, last, step, completed, aborted, stopped, adopted, freeze
    )


def _completed(tip: Snapshot, entry: HistoryEntry, release: Release, spec: str) -> Completed:
    """The version ``entry`` completed, with its digest: the revision its output recorded, else the spec's.

    The record names a revision label (a config-only revision's is
    ``<version>-<config>``): the image version is the one its ``revision.yaml`` says.
    """
    at = tip.at(entry.sha)
    revision = live_revisions(at.files(release.output_path)).get(entry.record.to_label)
    version = revision.version if revision is not None else entry.record.to_label
    digest = revision.digest if revision is not None else None
    if digest is None:
        digest = _spec_digest(at.read(spec), version)
    return Completed(version, digest, entry.sha, entry.time, entry.record.rollout)


def _spec_digest(text: bytes | None, version: str) -> str | None:
    """``spec.digest`` of a spec's text when its ``spec.version`` is ``version``."""
    named = spec_named(text)
    return named[1] if named is not None and named[0] == version else None


@functools.lru_cache(maxsize=4096)
def spec_named(text: bytes | None) -> tuple[str, str | None] | None:
    """The ``spec.version`` and ``spec.digest`` a spec's text names (None when it names no version)."""
    try:
        data = yamlload.load(text or b"")
    except yamlload.YAMLError:
        return None
    spec = data.get("spec") if isinstance(data, dict) else None
    if not isinstance(spec, dict) or not isinstance(spec.get("version"), str):
        return None
    digest = spec.get("digest")
    return spec["version"], digest if isinstance(digest, str) else None


def _abort_reason(repo: Repo, entries: tuple[HistoryEntry, ...], aborted: HistoryEntry) -> str:
    """The failed gate measurements kept on the aborted rollout's commits, else who aborted."""
    failures = []
    for entry in rollout_entries(entries, aborted.record.rollout):
        for key, measurements in sorted(load_records(repo, entry.sha).items()):
            bad = [m for m in measurements if m.phase in (Phase.FAILED, Phase.ERROR)]
            if bad:
                gate = key.rpartition("/")[2]  # the key is <stage>/<gate>
                failures.append(f"gate {gate} {bad[-1].phase.lower()} at step {entry.record.step}: {bad[-1].message}")
    if failures:
        return "; ".join(failures)
    return f"aborted by commit {aborted.sha[:12]} with no failed gate recorded (rollgen abort by hand?)"


def rollout_entries(entries: tuple[HistoryEntry, ...], rollout: str) -> list[HistoryEntry]:
    """The commits of one rollout, oldest first."""
    return [e for e in reversed(entries) if e.record.rollout == rollout]
