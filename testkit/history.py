"""Long histories made fast: ``git fast-import`` commits that keep the tree (so a working copy stays clean)."""

from __future__ import annotations

from pathlib import Path

from testkit.git import git


def append_commits(repo: Path, count: int, *, quoting: str | None = None, every: int = 1, branch: str = "main") -> None:
    """Append ``count`` empty commits to ``branch``; every ``every``-th quotes ``quoting``'s trailer line.

    A quoting message is what a revert or a cherry-pick of a rollgen commit
    carries: a ``Rollgen-Release:`` line that is not a whole record.
    """
    stream = [f"reset refs/heads/{branch}", f"from refs/heads/{branch}^0"]
    for i in range(count):
        message = f"other change {i}"
        if quoting is not None and i % every == 0:
            message = f'Revert "a step"\n\nThis reverts a commit.\n\nRollgen-Release: {quoting}\n'
        data = message.encode()
        stream += [
            f"commit refs/heads/{branch}",
            f"committer A <a@b> {1_700_000_000 + i} +0000",
            f"data {len(data)}",
            message,
        ]
    git(repo, "fast-import", "--quiet", input=("\n".join(stream) + "\n").encode())
