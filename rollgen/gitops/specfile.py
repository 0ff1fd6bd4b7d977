"""A release spec's version lines, committed: where a spec sits in its repository, and the change that edits it.

``rollgen detect`` (a new image) and ``rollgen pipeline advance`` (a version
promoted from the previous environment) both write a version into a spec on
its branch. The edit is made on the spec as the branch tip holds it (not the
working copy), with :func:`rollgen.spec.edit.set_version`, so comments and
every other byte stay as the user wrote them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from rollgen.errors import UsageError
from rollgen.gitops.change import Change
from rollgen.gitops.repo import Repo
from rollgen.gitops.snapshot import Snapshot
from rollgen.spec.edit import set_version


def locate(path: Path, command: str) -> tuple[Repo, str]:
    """The repository holding the spec ``path`` (opened at its top) and the spec's path inside it."""
    top = Repo.open(path.resolve().parent).root()
    relative = path.resolve().relative_to(top).as_posix()
    if "/" not in relative:
        raise UsageError(f"{path}: rollgen {command} edits specs in a directory of the repository, not at its top")
    # Opened at its top, so that paths given to git (a diff's pathspec) are relative to the top, as ``relative``.
    return Repo.open(top), relative


def version_change(
    relative: str, branch: str, version: str, digest: str | None, message: str
) -> Callable[[Snapshot], Change | None]:
    """The commit's ``decide``: the spec at ``relative`` as the tip holds it, naming ``version`` (and ``digest``).

    None when the tip's spec already names them (another pass, a human, or a merged pull request).
    """
    return versions_change(((relative, version, digest),), branch, message)


def versions_change(
    edits: Sequence[tuple[str, str, str | None]], branch: str, message: str
) -> Callable[[Snapshot], Change | None]:
    """One commit writing each ``(spec, version, digest)`` of ``edits``, specs of one directory (a wave's).

    None when the tip's specs already name them all.
    """
    directories = {relative.rpartition("/")[0] for relative, _, _ in edits}
    if len(directories) != 1:
        raise ValueError(f"one commit edits specs of one directory, got {sorted(directories)}")
    [directory] = directories

    def decide(tip: Snapshot) -> Change | None:
        files = tip.files(directory)
        changed = False
        for relative, version, digest in edits:
            text = tip.read(relative)
            if text is None:
                raise UsageError(f"{relative} is not on branch {branch}: commit the spec first")
            edited = set_version(text.decode(), version, digest).encode()
            changed = changed or edited != text
            files[relative.rpartition("/")[2]] = edited
        return Change(root=directory, files=files, message=message, record=None) if changed else None

    return decide
