"""Fetching a branch tip and pushing a commit as a compare-and-swap.

A plain (never forced) push of ``NEW:refs/heads/BRANCH`` succeeds only when
the remote branch is still an ancestor of ``NEW``: since ``NEW``'s parent is
the tip rollgen fetched, the push succeeds exactly when nobody else pushed
in between. A rejection is therefore not an error but a lost race, reported
as ``False`` so the caller can fetch again and re-decide.
"""

from __future__ import annotations

import re

from rollgen.errors import UsageError
from rollgen.gitops.errors import GitError, RemoteUnavailableError
from rollgen.gitops.git import Git, GitResult

_REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

# Messages of a remote that could not be reached or broke off (a network or server outage).
_UNREACHABLE = (
    "could not read from remote repository",
    "unable to connect",
    "connection refused",
    "connection timed out",
    "connection reset",
    "could not resolve host",
    "the remote end hung up",
    "early eof",
    "rpc failed",
    "failed to connect",
    "operation timed out",
    "network is unreachable",
    "temporary failure in name resolution",
    "the requested url returned error: 50",
)

# Messages of a ref another writer is updating at this very moment (local or remote side).
_RACES = ("cannot lock ref", "failed to update ref", "incorrect old value", "unable to update local ref")


def tracking_ref(remote: str, branch: str) -> str:
    """Where the remote's branch tip is kept locally, as ``git fetch`` would (``refs/remotes/origin/main``)."""
    if not _REMOTE_NAME.fullmatch(remote):
        raise UsageError(f"remote must be the name of a configured remote (like 'origin'), got {remote!r}")
    return f"refs/remotes/{remote}/{branch}"


def fetch_branch(git: Git, remote: str, branch: str) -> bool | None:
    """Fetch ``branch`` into its tracking ref.

    True when fetched, False when the remote has no such branch yet (a new
    repository), None when another process was updating the tracking ref at
    the same moment (fetch again).
    """
    result = git.run(
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-auto-maintenance",
        "--no-recurse-submodules",
        remote,
        f"+refs/heads/{branch}:{tracking_ref(remote, branch)}",
        ok=(0, 1, 128),
    )
    if result.returncode == 0:
        return True
    if "couldn't find remote ref" in result.stderr:
        return False
    if any(race in result.stderr for race in _RACES):
        return None
    raise remote_error(git, git.argv("fetch", remote, branch), result)


def push(git: Git, remote: str, commit: str, branch: str) -> bool:
    """Push ``commit`` to ``branch`` without force; False when the branch moved meanwhile."""
    refspec = f"{commit}:refs/heads/{branch}"
    result = git.run("push", "--porcelain", "--quiet", remote, refspec, ok=(0, 1))
    if result.returncode == 0:
        return True
    rejected = [line for line in result.text.splitlines() if line.startswith("!")]
    if rejected and all(
        "[rejected]" in line or ("[remote rejected]" in line and any(r in line for r in _RACES)) for line in rejected
    ):
        return False
    raise remote_error(git, git.argv("push", remote, refspec), result)


def unreachable(stderr: str) -> bool:
    """Whether git's ``stderr`` says the remote could not be reached (rather than refused what was asked)."""
    said = stderr.lower()
    return any(message in said for message in _UNREACHABLE)


def remote_error(git: Git, argv: tuple[str, ...], result: GitResult) -> GitError:
    """The error of a failed fetch or push: :class:`RemoteUnavailableError` when the remote was not reached."""
    error = git.error(argv, result)
    if unreachable(result.stderr):
        return RemoteUnavailableError(error.argv, error.returncode, error.stderr)
    return error


def remote_named(git: Git, name: str) -> str | None:
    """``name`` when the repository has that remote, else None (work locally)."""
    return name if name in git.text("remote").split() else None
