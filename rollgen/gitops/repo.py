"""The transactional commit: decide on the branch tip, write, compare-and-swap, retry.

This is the one primitive every rollout operation (start, promote, abort,
status...) stands on::

    def decide(tip: Snapshot) -> Change | None:
        last = tip.last_record("prod/podinfo")
        if last is not None and last.record.step == 2:
            return None                    # another process already did it
        return Change(root="overlays/podinfo/prod", files=render(step=2),
                      message="podinfo: step 2/5 (canary 25%)", record=record_for(step=2))

    result = commit_change(Repo.open("."), "main", decide, remote="origin")

``decide`` may be called several times: once per attempt, each time on the
newest tip, so its answer always fits the branch it lands on (other
releases' commits in between are kept, and a step another process already
committed is seen and not repeated). It must not have side effects.

How a commit is made, and why it is safe to kill the process anywhere:

1. the tip is read (after ``git fetch`` when there is a remote);
2. blobs and trees are written to the object store (unreferenced objects
   are harmless: ``git gc`` collects them) -- no index or working tree is
   touched, so the user's uncommitted work is safe;
3. ``git commit-tree`` makes the commit (signed with ``-S`` when the
   repository sets ``commit.gpgsign``);
4. the branch moves as one compare-and-swap: ``git push`` (never forced:
   the remote refuses a non-fast-forward) and/or
   ``git update-ref refs/heads/B NEW OLD``. Losing the race means going
   back to 1 after a short random pause, up to ``max_attempts`` times;
5. when ``B`` is checked out, the working copy follows, touching only the
   paths that changed (see :mod:`rollgen.gitops.worktree`, which also
   finishes this step after a crash).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rollgen.errors import RollgenError, UsageError
from rollgen.gitops.change import Change
from rollgen.gitops.depth import ensure_history
from rollgen.gitops.errors import ConflictError, DivergedError, GitError
from rollgen.gitops.git import Git, ObjectReader, TreeWriter
from rollgen.gitops.remote import fetch_branch, push, tracking_ref
from rollgen.gitops.snapshot import Snapshot
from rollgen.gitops.trailers import StepRecord, compose_message
from rollgen.gitops.trees import replace_directory, write_blobs
from rollgen.gitops.worktree import Worktree

_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*")
_IDENTITY_FORBIDDEN = re.compile(r"[<>\n\r\0]")


@dataclass(frozen=True)
class Repo:
    """An opened repository (bare or with a working copy); open with :meth:`open`."""

    git: Git
    git_dir: Path
    worktree: Worktree | None
    sign: bool

    @classmethod
    def open(cls, path: str | Path) -> Repo:
        """Open the repository at (or above) ``path``; UsageError when there is none."""
        tried = Path(path).absolute()
        if not tried.is_dir():
            raise UsageError(f"{tried}: no such directory; give the GitOps repository with --repo PATH")
        git = Git(Path(path))
        try:
            git_dir, bare = git.text("rev-parse", "--absolute-git-dir", "--is-bare-repository").split("\n")
        except GitError:
            raise UsageError(
                f"{tried} is not in a git repository (nor is any directory above it); "
                "run rollgen in the GitOps repository or give it with --repo PATH"
            ) from None
        sign = git.run("config", "--type=bool", "--get", "commit.gpgsign", ok=(0, 1)).text == "true"
        worktree = None if bare == "true" else Worktree(git, Path(git_dir))
        return cls(git, Path(git_dir), worktree, sign)

    def root(self) -> Path:
        """The working copy's top directory (a bare repository's directory): where spec paths resolve."""
        return Path(self.git.text("rev-parse", "--show-toplevel")) if self.worktree else self.git.cwd


@dataclass(frozen=True)
class Identity:
    """A commit author or committer.

    >>> Identity("rollgen bot", "bot@example.com").env("COMMITTER")["GIT_COMMITTER_EMAIL"]
    'bot@example.com'
    """

    name: str
    email: str

    def __post_init__(self) -> None:
        if not self.name.strip() or _IDENTITY_FORBIDDEN.search(self.name + self.email):
            raise UsageError(f"invalid identity {self.name!r} <{self.email!r}>: no '<', '>' or newlines")

    def env(self, role: str) -> dict[str, str]:
        return {f"GIT_{role}_NAME": self.name, f"GIT_{role}_EMAIL": self.email}


@dataclass(frozen=True)
class CommitResult:
    """A commit that landed: ``commit`` is on ``branch`` (and the remote, when given)."""

    commit: str
    parent: str | None
    branch: str
    record: StepRecord | None
    attempts: int
    worktree_updated: bool = field(default=False)


@dataclass(frozen=True)
class StepBranch:
    """A step pushed to its own branch for a pull request (``base`` is the tip it builds on)."""

    name: str
    commit: str
    base: str | None


Decide = Callable[[Snapshot], Change | None]


def commit_change(
    repo: Repo,
    branch: str,
    decide: Decide,
    *,
    remote: str | None = None,
    author: Identity | None = None,
    committer: Identity | None = None,
    max_attempts: int = 8,
    allow_empty: bool = False,
) -> CommitResult | None:
    """Commit ``decide``'s change on top of ``branch`` (pushed to ``remote`` when given).

    Returns None when ``decide`` returns None or a change that leaves the
    tree as it is (nothing to commit) -- unless ``allow_empty``: a rollout
    records every step, even one whose files equal the step before. Raises :class:`ConflictError` when the
    branch moved under every attempt, :class:`DirtyWorktreeError` (before
    anything is written) when the checked-out branch has uncommitted changes
    where the commit writes, :class:`DivergedError` when the local branch has
    commits the remote lacks.
    """
    _check_branch(branch)
    if max_attempts < 1:
        raise UsageError(f"max_attempts must be >= 1, got {max_attempts}")
    local_ref = f"refs/heads/{branch}"
    worktree = repo.worktree if repo.worktree is not None and repo.worktree.branch() == branch else None
    with ObjectReader(repo.git) as reader:
        if worktree is not None:
            worktree.repair(branch, _resolve(reader, local_ref))
        writer: TreeWriter | None = None
        # The first attempt trusts the tracking ref from the last fetch or push instead of
        # fetching (a fetch costs as much as the push): the push is the compare-and-swap,
        # so a stale tip can only make it fail, never commit twice. Any other outcome of a
        # stale look (nothing to do, a refusal) is confirmed against a fresh fetch first.
        stale = remote is not None and _resolve(reader, tracking_ref(remote, branch)) is not None
        try:
            for attempt in range(1, max_attempts + 1):
                if attempt > 1 and not stale:
                    _pause(attempt)
                if attempt > 1:
                    stale = False
                if remote is None:
                    base = local = _resolve(reader, local_ref)
                else:
                    if not stale:
                        fetched = fetch_branch(repo.git, remote, branch)
                        if fetched is None:
                            continue
                    base = _resolve(reader, tracking_ref(remote, branch))
                    local = _resolve(reader, local_ref)
                    if local is not None and local != base:
                        _check_behind(repo.git, local, base, branch, remote)
                # decide reads history (a rollout's first commit, the commit before it): never a cut one.
                ensure_history(repo.git, base or local_ref, remote=remote, branch=branch)
                try:
                    change = decide(Snapshot(repo.git, reader, base))
                except RollgenError:
                    if stale:
                        continue
                    raise
                if change is None:
                    if stale:
                        continue
                    return None
                writer = writer or TreeWriter(repo.git)
                commit = _build(repo, reader, writer, base, change, author, committer, allow_empty)
                if commit is None:
                    if stale:
                        continue
                    return None
                old_state = local or writer.write(())  # an unborn branch starts from the empty tree
                if worktree is not None:
                    worktree.check(old_state, commit)
                if remote is not None and not push(repo.git, remote, commit, branch):
                    continue
                if remote is not None and local is None and worktree is None:
                    # No local branch to keep in step: the remote is the only copy.
                    return CommitResult(commit, base, branch, change.record, attempt)
                marker = worktree.begin(branch, old_state, commit) if worktree is not None else None
                if not _move(repo.git, local_ref, commit, local, change.message):
                    if marker is not None:
                        marker.unlink(missing_ok=True)
                    if remote is None:
                        continue
                    # Pushed; a local process moved the local branch meanwhile. It stays where that
                    # process put it and catches up (fast-forward) at the next commit.
                    return CommitResult(commit, base, branch, change.record, attempt)
                if worktree is not None and marker is not None:
                    worktree.finish(old_state, commit, marker)
                return CommitResult(commit, base, branch, change.record, attempt, worktree is not None)
        finally:
            if writer is not None:
                writer.close()
    raise ConflictError(
        f"branch {branch} kept moving: gave up after {max_attempts} attempts (another process is committing)"
    )


def step_branch(record: StepRecord) -> str:
    """The branch a pull-request step is pushed to.

    >>> from rollgen.gitops.trailers import Action
    >>> step_branch(StepRecord("prod/podinfo", "3f2a9c1d0b7e", 2, 5, "d", Action.ADVANCE, "1", "2"))
    'rollgen/prod/podinfo/3f2a9c1d0b7e/step-2'
    """
    return f"rollgen/{record.release}/{record.rollout}/step-{record.step}"


def push_step_branch(
    repo: Repo,
    remote: str,
    base_branch: str,
    change: Change,
    *,
    author: Identity | None = None,
    committer: Identity | None = None,
    max_attempts: int = 8,
    name: str | None = None,
) -> StepBranch:
    """Commit ``change`` on the remote ``base_branch`` tip and push it to ``name`` (default :func:`step_branch`).

    Re-running after a crash is safe: when the step branch already holds
    the same files under ``change.root``, that branch is returned as is.
    A change that writes nothing new is refused (a pull request needs a diff).
    """
    _check_branch(base_branch)
    if name is None:
        if change.record is None:
            raise UsageError("a change without a record needs a branch name to be proposed")
        name = step_branch(change.record)
    _check_branch(name)
    with ObjectReader(repo.git) as reader, TreeWriter(repo.git) as writer:
        for attempt in range(1, max_attempts + 1):
            if attempt > 1:
                _pause(attempt)
            fetched = fetch_branch(repo.git, remote, base_branch)
            if fetched is not None:
                break
        else:
            raise ConflictError(f"could not fetch {remote}/{base_branch}: the tracking ref stayed locked")
        base = _resolve(reader, tracking_ref(remote, base_branch)) if fetched else None
        commit = _build(repo, reader, writer, base, change, author, committer)
        if commit is None:
            raise UsageError(f"{change.root} already holds these files on {base_branch}: nothing to propose")
        if push(repo.git, remote, commit, name):
            return StepBranch(name, commit, base)
        if fetch_branch(repo.git, remote, name):
            existing = _resolve(reader, tracking_ref(remote, name))
            if existing is not None and _same(reader, existing, commit, change.root):
                parent = reader.info(f"{existing}^")
                return StepBranch(name, existing, parent.sha if parent else None)
    raise ConflictError(f"branch {name} already exists on {remote} with other content; delete it or start again")


def _build(
    repo: Repo,
    reader: ObjectReader,
    writer: TreeWriter,
    base: str | None,
    change: Change,
    author: Identity | None,
    committer: Identity | None,
    allow_empty: bool = False,
) -> str | None:
    """Write the commit ``change`` makes on ``base``; None when the tree would not change (unless allowed)."""
    base_info = reader.info(f"{base}^{{tree}}") if base else None
    base_tree = base_info.sha if base_info else None
    tree = replace_directory(reader, writer, base_tree, change.root, write_blobs(repo.git, change.files))
    if tree == base_tree and not allow_empty:
        return None
    env: dict[str, str] = {}
    for role, who in (("AUTHOR", author), ("COMMITTER", committer)):
        if who is not None:
            env.update(who.env(role))
    args = ["commit-tree", tree, *(("-p", base) if base else ()), *(("-S",) if repo.sign else ()), "-F", "-"]
    message = change.message if change.record is None else compose_message(change.message, change.record)
    return repo.git.run(*args, input=message.encode(), env=env).text


def _move(git: Git, ref: str, new: str, old: str | None, message: str) -> bool:
    """Compare-and-swap ``ref`` from ``old`` (None: must not exist) to ``new``; False when it moved."""
    reflog = "rollgen: " + message.strip().partition("\n")[0]
    result = git.run("update-ref", "-m", reflog, ref, new, old or "", ok=(0, 1, 128))
    if result.returncode == 0:
        return True
    if "cannot lock ref" in result.stderr:
        return False
    raise git.error(git.argv("update-ref", ref, new, old or ""), result)


def _check_behind(git: Git, local: str, base: str | None, branch: str, remote: str) -> None:
    """Refuse when the local branch holds commits the remote lacks: moving it would drop them."""
    if base is not None and git.run("merge-base", "--is-ancestor", local, base, ok=(0, 1)).returncode == 0:
        return
    raise DivergedError(
        f"local branch {branch} has commits that are not on {remote}/{branch}; push or drop them, then run again"
    )


def _same(reader: ObjectReader, a: str, b: str, root: str) -> bool:
    tree_a, tree_b = reader.info(f"{a}:{root}"), reader.info(f"{b}:{root}")
    return tree_a is not None and tree_b is not None and tree_a.sha == tree_b.sha


def _resolve(reader: ObjectReader, ref: str) -> str | None:
    info = reader.info(ref)
    return info.sha if info else None


def _pause(attempt: int) -> None:
    """Random pause before another attempt, so racing processes spread out (at most 0.5 s)."""
    time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))


def _check_branch(branch: str) -> None:
    if (
        not _BRANCH.fullmatch(branch)
        or ".." in branch
        or "//" in branch
        or branch.endswith(("/", ".", ".lock"))
        or "/." in branch
    ):
        raise UsageError(f"invalid branch name {branch!r}")
