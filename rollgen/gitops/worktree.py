"""Keeping a checked-out working copy in step with commits made behind its back.

rollgen builds commits without the index and moves the branch ref directly
(see :mod:`rollgen.gitops.repo`). When that branch is checked out, the
working copy must then follow, exactly as ``git checkout`` would when
switching from the old commit to the new one: a two-tree
``git read-tree -m -u OLD NEW`` updates only the paths that differ between
the two commits and keeps every other uncommitted change of the user.

Crash safety: before the ref moves, a marker ``<git dir>/rollgen/pending/<new>``
records ``OLD``; it is removed once the working copy is updated. A process
killed in between leaves the marker, and the next :func:`repair` (run at the
start of every commit) finishes the update. Re-running the two-tree merge is
harmless: entries already at the new state are kept.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from rollgen.gitops.errors import DirtyWorktreeError, GitError
from rollgen.gitops.git import Git, GitResult

# Another git process (ours or the user's) holding the index lock: wait for it, briefly.
_LOCK_RETRIES = 100
_LOCK_WAIT = 0.02


@dataclass(frozen=True)
class Worktree:
    """The working copy of a non-bare repository."""

    git: Git
    git_dir: Path

    def branch(self) -> str | None:
        """The checked-out branch (``main``), or None when HEAD is detached."""
        ref = self.git.run("symbolic-ref", "-q", "HEAD", ok=(0, 1)).text
        return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None

    def check(self, old: str, new: str) -> None:
        """Refuse (before anything is written) when moving ``old`` -> ``new`` would hit local changes."""
        result = self._merge(old, new, dry_run=True)
        if result.returncode != 0:
            # Stat data can be stale (a file touched but unchanged): refresh once and look again.
            self.git.run("update-index", "-q", "--refresh", ok=(0, 1))
            result = self._merge(old, new, dry_run=True)
        if result.returncode != 0:
            raise DirtyWorktreeError(
                "the working copy has uncommitted changes where this commit writes; "
                f"commit or stash them, then run again:\n{_reasons(result)}"
            )

    def begin(self, branch: str, old: str, new: str) -> Path:
        """Record that the working copy must go from ``old`` to ``new`` (before the ref moves)."""
        marker = self._pending() / new
        marker.parent.mkdir(parents=True, exist_ok=True)
        temp = marker.with_name(f".{new}.{os.getpid()}")
        temp.write_text(f"{branch}\n{old}\n")
        temp.replace(marker)  # atomic: a marker is whole or absent
        return marker

    def finish(self, old: str, new: str, marker: Path) -> None:
        """Bring the working copy from ``old`` to ``new``, then drop the marker."""
        result = self._merge(old, new, dry_run=False)
        if result.returncode != 0:
            raise DirtyWorktreeError(
                "the commit was made but the working copy could not follow it; "
                f"resolve this, then run again to finish the update:\n{_reasons(result)}"
            )
        marker.unlink(missing_ok=True)

    def repair(self, branch: str, tip: str | None) -> None:
        """Finish working-copy updates a killed process left behind on ``branch``.

        A marker whose old commit is still the tip means the ref never moved:
        there is nothing to finish. Otherwise merging old -> tip updates the
        paths still at the old state and keeps the rest.
        """
        pending = self._pending()
        if not pending.is_dir():
            return
        for marker in sorted(pending.iterdir()):
            if marker.name.startswith("."):
                continue
            try:
                marked_branch, old = marker.read_text().split("\n")[:2]
            except (OSError, ValueError):
                marker.unlink(missing_ok=True)  # unreadable or half-removed: nothing to act on
                continue
            if marked_branch != branch:
                continue
            if tip is None or tip == old:
                marker.unlink(missing_ok=True)
            else:
                self.finish(old, tip, marker)

    def _pending(self) -> Path:
        return self.git_dir / "rollgen" / "pending"

    def _merge(self, old: str, new: str, *, dry_run: bool) -> GitResult:
        args = ("read-tree", "-m", "-u", *(("-n",) if dry_run else ()), old, new)
        for _ in range(_LOCK_RETRIES):
            result = self.git.run(*args, ok=(0, 128))
            if result.returncode == 0 or "index.lock" not in result.stderr:
                return result
            time.sleep(_LOCK_WAIT)
        raise GitError(self.git.argv(*args), result.returncode, result.stderr)


def _reasons(result: GitResult) -> str:
    return (
        "\n".join(line for line in result.stderr.splitlines() if line.strip() and not line.startswith("fatal:"))
        or result.stderr.strip()
    )
