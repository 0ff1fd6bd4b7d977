"""An environment of a pipeline as Git records it: what runs there, what it completed last, what it aborted.

Each environment's branch is fetched from its remote and its tip read once
(:func:`rollgen.rollout.reading.branch_tip`): the spec's version lines as the
branch holds them, the rollout's state, the newest rollgen commits of its
release (its last completion and the versions whose latest rollout aborted),
and the branch's freeze record (:mod:`rollgen.freeze`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rollgen import yamlload
from rollgen.freeze import FREEZE_FILE, Freeze, parse_freeze
from rollgen.gates.analysis import Phase
from rollgen.gitops.notes import fetch_notes, load_records
from rollgen.gitops.remote import remote_named
from rollgen.gitops.repo import Repo
from rollgen.gitops.snapshot import Snapshot, history
from rollgen.gitops.specfile import locate
from rollgen.gitops.trailers import Action, HistoryEntry
from rollgen.pipeline.promotion import Completed
from rollgen.render.revision import live_revisions
from rollgen.rollout.reading import branch_tip, read_state, revisions_at
from rollgen.rollout.state import RolloutState, release_key
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
    state: RolloutState | None
    completed: Completed | None
    aborted: dict[str, str] = field(default_factory=dict)
    """Versions whose latest rollout here was aborted, with the abort's commit."""
    stopped: str = ""
    """Why the last rollout stopped, when it was aborted."""
    adopted: str | None = None
    """The revision the output runs when no rollout is recorded yet (``rollgen adopt`` wrote it)."""
    freeze: Freeze | None = None
    """The freeze record on the environment's branch (standing or lapsed: :meth:`Freeze.standing` tells)."""

    @property
    def running(self) -> str | None:
        return self.state.running if self.state is not None else self.adopted


def read_environments(pipeline: Pipeline) -> dict[str, EnvironmentView]:
    """Every environment of ``pipeline`` as Git records it (each branch fetched first from its remote), by name."""
    return {
        environment.name: _read(environment, release)
        for environment, release in zip(pipeline.environments, pipeline.releases, strict=True)
    }


def _read(environment: Environment, release: Release) -> EnvironmentView:
    repo, spec = locate(environment.spec, "pipeline")
    remote = remote_named(repo.git, release.git.remote)
    with branch_tip(repo, release.git.branch, remote) as tip:
        # The branch is the desired state: its spec's version lines count, not a working copy's (a merged
        # promotion the checkout has not pulled yet).
        named = spec_named(tip.read(spec))
        if named is not None:
            release = replace(release, version=named[0], digest=named[1])
        state = read_state(tip, release)
        # No rollout recorded yet: what runs is the adopted revision.
        adopted = next(reversed(revisions_at(tip, release)), None) if state is None else None
        entries = history(repo.git, tip.tip, release_key(release), limit=HISTORY) if tip.tip else ()
        completed = next(
            (_completed(tip, e, release, spec) for e in entries if e.record.action == Action.COMPLETE), None
        )
        aborted: dict[str, str] = {}
        seen: set[str] = set()
        for entry in entries:  # newest first: a version's newest record says how its latest rollout ended
            version = entry.record.to_label
            if version not in seen:
                seen.add(version)
                if entry.record.action == Action.ABORT:
                    aborted[version] = entry.sha
        freeze = parse_freeze(tip.read(FREEZE_FILE))
    stopped = ""
    if state is not None and state.action == Action.ABORT:
        if remote is not None:
            fetch_notes(repo, remote)
        stopped = _abort_reason(repo, entries, state)
    return EnvironmentView(
        environment, release, repo, spec, remote, state, completed, aborted, stopped, adopted, freeze
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


def _abort_reason(repo: Repo, entries: tuple[HistoryEntry, ...], state: RolloutState) -> str:
    """The failed gate measurements kept on the aborted rollout's commits, else who aborted."""
    failures = []
    for entry in rollout_entries(entries, state.rollout):
        for key, measurements in sorted(load_records(repo, entry.sha).items()):
            bad = [m for m in measurements if m.phase in (Phase.FAILED, Phase.ERROR)]
            if bad:
                gate = key.rpartition("/")[2]  # the key is <stage>/<gate>
                failures.append(f"gate {gate} {bad[-1].phase.lower()} at step {entry.record.step}: {bad[-1].message}")
    if failures:
        return "; ".join(failures)
    return f"aborted by commit {state.commit[:12]} with no failed gate recorded (rollgen abort by hand?)"


def rollout_entries(entries: tuple[HistoryEntry, ...], rollout: str) -> list[HistoryEntry]:
    """The commits of one rollout, oldest first."""
    return [e for e in reversed(entries) if e.record.rollout == rollout]
