"""Complete history under a branch tip, in shallow clones too.

Rollgen's state is its history: a rollout's steps, the commit before its
start (what an abort restores), the release's last record. A shallow clone
(``git clone --depth 1``, the default checkout of most CI systems) cuts that
history at a boundary commit whose parents are missing, and a boundary reads
like a root commit: an abort would "restore" an empty directory. So before
any history is read for a branch, :func:`ensure_history` makes sure no shallow
boundary lies under its tip: it fetches the rest of the branch's history from
the remote (one ``git fetch --unshallow``; boundaries only come from such a
clone, so the remote holds what is missing), or refuses, before anything is
written, with what to run.
"""

from __future__ import annotations

from pathlib import Path

from rollgen.errors import UsageError
from rollgen.gitops.git import Git
from rollgen.gitops.remote import tracking_ref


class ShallowHistoryError(UsageError):
    """The branch's history is cut by a shallow clone and cannot be completed from a remote."""


def shallow_boundaries(git: Git) -> frozenset[str]:
    """The commits a shallow clone cut the history at (their parents are missing); empty when not shallow."""
    if git.text("rev-parse", "--is-shallow-repository") != "true":
        return frozenset()
    path = git.text("rev-parse", "--path-format=absolute", "--git-path", "shallow")
    return frozenset(Path(path).read_text(encoding="ascii").split())


def is_boundary(git: Git, commit: str) -> bool:
    """Whether ``commit`` only looks parentless because a shallow clone cut its parents off."""
    return commit in shallow_boundaries(git)


def ensure_history(git: Git, ref: str, *, remote: str | None, branch: str) -> None:
    """Make the whole history under ``ref`` readable, fetching it from ``remote``; refuse when it cannot be.

    Does nothing (one ``git rev-parse``) in a complete clone.
    """
    if not _cut(git, ref):
        return
    if remote is not None:
        fetched = git.run(
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-auto-maintenance",
            "--unshallow",
            remote,
            f"+refs/heads/{branch}:{tracking_ref(remote, branch)}",
            ok=(0, 1, 128),
        )
        if not _cut(git, ref):
            return
        why = f": {fetched.stderr.strip()}" if fetched.returncode else ""
        raise ShallowHistoryError(
            f"this clone is shallow and the history of {branch} could not be fetched from {remote}{why}; "
            f"rollgen reads the rollout from the history: run `git fetch --unshallow {remote}` and try again"
        )
    raise ShallowHistoryError(
        f"this clone is shallow (its history of {branch} is cut) and no remote is configured to fetch the rest from; "
        "rollgen reads the rollout from the history: clone without --depth (or run `git fetch --unshallow`) and try again"
    )


def _cut(git: Git, ref: str) -> bool:
    """Whether a shallow boundary lies under ``ref`` (an absent ref has no history to cut)."""
    boundaries = shallow_boundaries(git)
    if not boundaries:
        return False
    if git.run("rev-parse", "--verify", "-q", f"{ref}^{{commit}}", ok=(0, 1)).returncode != 0:
        return False
    return any(
        git.run("merge-base", "--is-ancestor", boundary, ref, ok=(0, 1, 128)).returncode == 0
        for boundary in sorted(boundaries)
    )
