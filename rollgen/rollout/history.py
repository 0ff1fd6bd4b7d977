"""The current rollout's own records, read once: its first commit, its aborts so far, the files before it.

A rollout's records lie together in the history: from its newest commit back
to its first (a start, retry or undo). :class:`RolloutHistory` takes them from
the tip's record index (:mod:`rollgen.gitops.records`), or reads them in one
walk that stops at that first commit, and only when something asks (an idle
release reads nothing).
The rules that read the records (:func:`first_of`, :func:`aborts_done`) are
pure; this module's class is their I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rollgen.errors import RollgenError
from rollgen.gitops.depth import ShallowHistoryError, is_boundary
from rollgen.gitops.git import Git
from rollgen.gitops.records import index_at
from rollgen.gitops.snapshot import Snapshot, walk_records
from rollgen.gitops.trailers import Action, HistoryEntry
from rollgen.rollout.state import RolloutState

# The actions that begin a rollout: the parent of its first commit holds the pre-rollout files.
_FIRST = frozenset({Action.START, Action.RETRY, Action.UNDO})


def first_of(records: Iterable[HistoryEntry]) -> HistoryEntry | None:
    """The rollout's first commit among its records (newest first), or None when they do not reach it."""
    return next((entry for entry in records if entry.record.action in _FIRST), None)


def aborts_done(records: Iterable[HistoryEntry], rollout: str) -> int:
    """How many abort commits of ``rollout`` lead its records (newest first): how far the walk back got."""
    done = 0
    for entry in records:
        if entry.record.action != Action.ABORT or entry.record.rollout != rollout:
            break
        done += 1
    return done


class RolloutHistory:
    """The records of ``state``'s rollout, read from Git on first use and kept (one walk per pass)."""

    def __init__(self, git: Git, key: str, state: RolloutState | None, tip: str | None = None) -> None:
        self._git = git
        self._key = key
        self._state = state
        self._tip = tip
        self._records: tuple[HistoryEntry, ...] | None = None
        self._before: dict[str, dict[str, bytes]] = {}

    def records(self) -> tuple[HistoryEntry, ...]:
        """The rollout's commits, newest first, down to its first one (none without a rollout)."""
        if self._records is None:
            self._records = () if self._state is None else self._read(self._state)
        return self._records

    def first(self) -> HistoryEntry:
        """The rollout's first commit (its start, retry or undo)."""
        found = first_of(self.records())
        assert found is not None  # _read refuses a rollout whose first commit it cannot find
        return found

    def aborts_done(self) -> int:
        """How many abort commits of the rollout are already on the branch."""
        state = self._state
        if state is None or state.action != Action.ABORT:
            return 0
        return aborts_done(self.records(), state.rollout)

    def before(self, tip: Snapshot, output_path: str) -> Mapping[str, bytes]:
        """The output's files as they were before the rollout began (read once)."""
        if output_path not in self._before:
            first = self.first().sha
            self._before[output_path] = tip.at(f"{first}^").files(output_path) if self._has_parent(first) else {}
        return self._before[output_path]

    def _read(self, state: RolloutState) -> tuple[HistoryEntry, ...]:
        if self._tip is not None:
            # The tip's record index holds them, read further down only as far as the rollout's first commit.
            index = index_at(self._git, self._tip)
            while (indexed := index.since(self._key, state.commit)) is not None:
                found = _rollout(state, indexed)
                if found is not None:
                    return self._first_found(state, found)
                if not index.older(self._key):
                    break
        with walk_records(self._git, state.commit, self._key) as records:
            return self._first_found(state, _rollout(state, records))

    def _first_found(self, state: RolloutState, found: tuple[HistoryEntry, ...] | None) -> tuple[HistoryEntry, ...]:
        if not found or found[-1].record.action not in _FIRST:
            raise RollgenError(f"{self._key}: cannot find the first commit of rollout {state.rollout}")
        return found

    def _has_parent(self, sha: str) -> bool:
        """Whether ``sha`` has a parent; a shallow clone's boundary is refused, never read as a root commit."""
        if self._git.run("rev-parse", "--verify", "-q", f"{sha}^", ok=(0, 1)).returncode == 0:
            return True
        if is_boundary(self._git, sha):
            # Restoring "nothing" here would delete the application's files.
            raise ShallowHistoryError(
                f"{self._key}: the commit before rollout {sha[:12]} is missing from this shallow clone; "
                "run `git fetch --unshallow` and try again"
            )
        return False


def _rollout(state: RolloutState, records: Iterable[HistoryEntry]) -> tuple[HistoryEntry, ...] | None:
    """The records of ``state``'s rollout among ``records`` (newest first), down to its first one.

    Another rollout's commit before its first ends them there (the history is
    not what the records say); None when ``records`` end before either.
    """
    found: list[HistoryEntry] = []
    for entry in records:
        if entry.record.rollout != state.rollout:
            return tuple(found)
        found.append(entry)
        if entry.record.action in _FIRST:
            return tuple(found)
    return None
