"""The freeze record committed: ``rollgen freeze`` writes :data:`rollgen.freeze.FREEZE_FILE`, ``rollgen unfreeze`` removes it.

Each is one :func:`~rollgen.gitops.repo.commit_change` on the branch (pushed
to its remote when the repository has it), so a freeze is reviewable,
revertible and seen by every process that reads the branch. The commits
carry ``Rollgen-Freeze: begin|end`` and ``Rollgen-Reason`` trailers in their
message for ``git log``; no rollout reads them as one of its steps.
"""

from __future__ import annotations

from rollgen.errors import NothingToDo
from rollgen.freeze import FREEZE_DIR, FREEZE_FILE, FREEZE_NAME, TRAILER, Freeze, parse_freeze, render_freeze
from rollgen.gitops.change import Change
from rollgen.gitops.remote import fetch_branch, tracking_ref
from rollgen.gitops.repo import CommitResult, Repo, commit_change
from rollgen.gitops.snapshot import Snapshot, read_file_at
from rollgen.gitops.trailers import one_line


def freeze(repo: Repo, branch: str, remote: str | None, record: Freeze) -> CommitResult | None:
    """Commit ``record`` as the branch's freeze (replacing a standing one)."""
    until = "" if record.until is None else f" until {record.to_data()['until']}"
    message = (
        f"rollgen: freeze {branch}{until}: {one_line(record.reason)}\n\n"
        f"While {FREEZE_FILE} is on {branch}, rollgen advance, run, detect and pipeline advance commit nothing "
        "but aborts; rollgen unfreeze ends it.\n\n"
        f"{TRAILER}: begin\nRollgen-Reason: {one_line(record.reason)}"
    )

    def decide(tip: Snapshot) -> Change:
        files = tip.files(FREEZE_DIR)
        files[FREEZE_NAME] = render_freeze(record)
        return Change(root=FREEZE_DIR, files=files, message=message, record=None)

    return commit_change(repo, branch, decide, remote=remote)


def unfreeze(repo: Repo, branch: str, remote: str | None, reason: str) -> CommitResult:
    """Commit the end of the branch's freeze; NothingToDo when none is on the branch."""
    said = one_line(reason or "the freeze is over (rollgen unfreeze)")
    message = f"rollgen: unfreeze {branch}: {said}\n\n{TRAILER}: end\nRollgen-Reason: {said}"

    def decide(tip: Snapshot) -> Change | None:
        files = tip.files(FREEZE_DIR)
        if files.pop(FREEZE_NAME, None) is None:
            return None
        return Change(root=FREEZE_DIR, files=files, message=message, record=None)

    done = commit_change(repo, branch, decide, remote=remote)
    if done is None:
        raise NothingToDo(f"{branch} is not frozen: no {FREEZE_FILE} on it")
    return done


def read_freeze(repo: Repo, branch: str, remote: str | None) -> Freeze | None:
    """The freeze record on ``branch`` (fetched from ``remote`` first when given), standing or lapsed."""
    ref = f"refs/heads/{branch}"
    if remote is not None and fetch_branch(repo.git, remote, branch) is not False:
        ref = tracking_ref(remote, branch)
    return parse_freeze(read_file_at(repo.git, ref, FREEZE_FILE))
