"""One reading of a release on its branch: the tip, the state, what runs, what the spec asks, the rollout's records.

:func:`branch_tip` is the one reader of a branch's tip (fetched first from
the remote when there is one), used by the operations, the controller and
``rollgen status`` alike. :func:`read` takes everything a pass needs about
one release from that tip once, as a :class:`Reading`, which the decision
and the operation share; an operation reads again only when its
compare-and-swap push lost to another commit.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rollgen.gitops.depth import ensure_history
from rollgen.gitops.git import ObjectReader
from rollgen.gitops.remote import fetch_branch, tracking_ref
from rollgen.gitops.repo import Repo
from rollgen.gitops.snapshot import Snapshot
from rollgen.gitops.trailers import HistoryEntry
from rollgen.plan.model import Plan, State
from rollgen.render.desired import desired_revision
from rollgen.render.revision import Revision, listed_revision_files, live_revisions
from rollgen.rollout import transitions
from rollgen.rollout.drift import next_action
from rollgen.rollout.history import RolloutHistory
from rollgen.rollout.ownership import refuse_foreign_revisions
from rollgen.rollout.state import RolloutState, release_key, state_from, state_of
from rollgen.rollout.transitions import Seen
from rollgen.spec.model import Release


@dataclass(frozen=True, kw_only=True)
class Reading:
    """What one look at a branch tip found for one release; ``history`` reads the rollout's records on first use."""

    release: Release
    snapshot: Snapshot
    state: RolloutState | None
    last: HistoryEntry | None
    """The release's newest commit (a pause or resume included)."""
    seen: Seen
    history: RolloutHistory

    @property
    def key(self) -> str:
        return release_key(self.release)

    @property
    def tip(self) -> str | None:
        return self.snapshot.tip

    def live_state(self) -> State | None:
        """The State the newest commit put live (:func:`rollgen.rollout.transitions.live_state`)."""
        if self.state is None:
            return None
        return transitions.live_state(self.release, self.state, self.history.aborts_done())

    def is_rollback(self) -> bool:
        """Whether the rollout goes back to the revision that ran before (the rollback window)."""
        if self.state is None:
            return False
        first = self.history.first().record.action if transitions.needs_first(self.state) else None
        return transitions.is_rollback(self.state, first)

    def on(self, snapshot: Snapshot) -> Reading:
        """This reading, through ``snapshot`` (another reader of the same commit)."""
        assert snapshot.tip == self.snapshot.tip
        return Reading(
            release=self.release,
            snapshot=snapshot,
            state=self.state,
            last=self.last,
            seen=self.seen,
            history=self.history,
        )


def read(repo: Repo, release: Release, snapshot: Snapshot) -> Reading:
    """Everything about ``release`` at ``snapshot``, compared with its spec (:func:`rollgen.rollout.drift.next_action`).

    Cheap when nothing changed: the configuration's inputs are fingerprinted
    against the revision they would match (the one rolling out, else the one
    running), and nothing is built unless they differ.
    """
    key = release_key(release)
    last, step = _records(snapshot, key)
    state = state_from(last, step, release)
    live = revisions_at(snapshot, release)
    if state is None:
        basis = list(live.values())[-1] if live else None
    else:
        basis = live.get(state.to_label if state.phase.unfinished else state.running)
    desired = desired_revision(_root(repo), release, basis)
    return Reading(
        release=release,
        snapshot=snapshot,
        state=state,
        last=last,
        seen=Seen(live=live, desired=desired, trigger=next_action(desired, live, state)),
        history=RolloutHistory(repo.git, key, state, snapshot.tip),
    )


def read_state(snapshot: Snapshot, release: Release) -> RolloutState | None:
    """The rollout of ``release`` as the history behind ``snapshot`` records it; None when none ever began."""
    return state_from(*_records(snapshot, release_key(release)), release)


def revisions_at(snapshot: Snapshot, release: Release) -> dict[str, Revision]:
    """The revisions the release's output directory runs at ``snapshot``, by label (no build read).

    Read as the cluster would: the version directories its kustomization
    lists, each one's ``revision.yaml`` (a few object reads, no tree walk).
    Whose output it is comes first: revisions another release wrote there
    (the same ``output.path``) would otherwise read as this release's,
    "nothing to roll out". (An output nested in another's is refused by
    :func:`rollgen.rollout.ownership.refuse_other_owner`, before adoption and before
    every commit.)
    """
    out = release.output_path
    kustomization = snapshot.read(f"{out}/kustomization.yaml")
    texts = {} if kustomization is None else {"kustomization.yaml": kustomization}
    for path in listed_revision_files(kustomization):
        if (text := snapshot.read(f"{out}/{path}")) is not None:
            texts[path] = text
    refuse_foreign_revisions(release_key(release), out, texts, "there")
    return live_revisions(texts)


@contextmanager
def branch_tip(repo: Repo, branch: str, remote: str | None, at: str | None = None) -> Iterator[Snapshot]:
    """A view of ``branch``'s tip (fetched first from ``remote`` when given), or of commit ``at``.

    The one tip reader: every reader of a rollout's state goes through it, so
    they all see the same commit for the same branch and remote, and the whole
    history under it (a shallow clone is completed first, or refused).
    """
    if at is None and remote is not None:
        fetch_branch(repo.git, remote, branch)  # a fetch racing another process's leaves a tip just as fresh
        ref = tracking_ref(remote, branch)
    else:
        ref = at or f"refs/heads/{branch}"
    ensure_history(repo.git, ref, remote=remote, branch=branch)
    with ObjectReader(repo.git) as reader:
        tip = reader.info(f"{ref}^{{commit}}")
        yield Snapshot(repo.git, reader, tip.sha if tip else None)


def current_state(
    repo: Repo, release: Release, *, remote: str | None = None, at: str | None = None
) -> RolloutState | None:
    """The release's state on its branch (fetched first from ``remote`` when given), or at commit ``at``."""
    with branch_tip(repo, release.git.branch, remote, at) as snapshot:
        return read_state(snapshot, release)


def states_on(
    repo: Repo, branch: str, *, remote: str | None = None, at: str | None = None, limit: int = 500
) -> tuple[RolloutState, ...]:
    """Every release's state on ``branch`` (or at ref ``at``), from its newest ``limit`` rollgen commits, without specs.

    Without a spec no plan is known: each state names its step, versions and
    action, but not what the step waits for. Sorted by release.
    """
    with branch_tip(repo, branch, remote, at) as snapshot:
        if snapshot.tip is None:
            return ()
        newest: dict[str, HistoryEntry] = {}
        steps: dict[str, HistoryEntry] = {}
        for entry in itertools.islice(snapshot.index().records(), limit):
            newest.setdefault(entry.record.release, entry)
            if not entry.record.action.marks:
                steps.setdefault(entry.record.release, entry)
    return tuple(state_of(steps[key], None, hold=newest[key]) for key in sorted(steps))


def spec_against_git(repo: Repo, release: Release, *, remote: str | None = None) -> Seen:
    """The spec against what runs on the release's branch (``rollgen status`` says what the next pass does)."""
    with branch_tip(repo, release.git.branch, remote) as snapshot:
        return read(repo, release, snapshot).seen


def planned_from_git(repo: Repo, release: Release) -> tuple[Release, Plan]:
    """The rollout Git says comes next, for a spec that names no stable (:func:`rollgen.rollout.transitions.planned`).

    Read from the local branch, no fetch (``plan`` and ``render`` stay offline).
    """
    with branch_tip(repo, release.git.branch, None) as snapshot:
        reading = read(repo, release, snapshot)
    return transitions.planned(release, reading.key, reading.state, reading.seen)


def _records(snapshot: Snapshot, key: str) -> tuple[HistoryEntry | None, HistoryEntry | None]:
    """The release's newest record and, when that is a pause or resume, the newest step record before it."""
    last = snapshot.last_record(key)
    if last is None or not last.record.action.marks:
        return last, None
    return last, snapshot.last_step_record(key, last.sha)


# Working copy tops by git directory: a pass over many releases asks once, not once per release.
_ROOTS: dict[Path, Path] = {}


def _root(repo: Repo) -> Path:
    if repo.git_dir not in _ROOTS:
        _ROOTS[repo.git_dir] = repo.root()
    return _ROOTS[repo.git_dir]
