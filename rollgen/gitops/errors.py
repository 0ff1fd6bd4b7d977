"""Errors of the Git layer, each with a message fit for a user.

All of them are :class:`rollgen.errors.RollgenError`, so the CLI prints the
message and exits non-zero; none carries a credential (see
:func:`rollgen.gitops.git.hide_url_credentials`).
"""

from __future__ import annotations

from rollgen.errors import EXIT_USAGE, RollgenError, UsageError


class GitError(RollgenError):
    """A ``git`` command failed; carries the (redacted) command and its stderr."""

    def __init__(self, argv: tuple[str, ...], returncode: int, stderr: str) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr
        detail = stderr.strip() or f"exit status {returncode}"
        super().__init__(f"git command failed: {' '.join(argv)}\n{detail}")


class TrailerError(RollgenError):
    """A step record that cannot be written as, or read back from, commit trailers."""


class DirtyWorktreeError(UsageError):
    """The working copy has uncommitted changes where a commit would write."""


class DivergedError(UsageError):
    """The local branch has commits the remote does not: rollgen will not drop them."""


class ConflictError(RollgenError):
    """The branch kept moving under us for every attempt (compare-and-swap lost)."""


class ForgeError(RollgenError):
    """A pull/merge request API call failed."""


class RemoteUnavailableError(GitError):
    """The remote could not be reached (network, server down): worth another try later, never an abort.

    Exit 2, like other input rollgen cannot read: the rollout itself is not so
    or otherwise, it was not seen.
    """

    exit_code = EXIT_USAGE
