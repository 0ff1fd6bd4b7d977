"""The one error type users see, the exit-code contract, and the positioned problems bad input produces.

Every failure that reaches the command line is a :class:`RollgenError`; the CLI
prints its message (never a traceback) and exits with its ``exit_code``:

==== ======================================================================
0    success, or nothing to do (:class:`NothingToDo`)
1    the thing asked for is not so: an invalid spec, a rollout aborted,
     nothing to roll back (:class:`NotSoError`, :class:`SpecError`)
2    usage or unreadable input (:class:`UsageError`)
3    an unexpected error (a bug): one line on stderr, the traceback with ``--debug``
4    a wait timed out (``status --watch --timeout``) before the rollout ended (:class:`TimedOut`)
130  interrupted
==== ======================================================================

A pass over many releases (:mod:`rollgen.controller.fleet`) exits with the worst of
its releases' codes (3 over 2 over 1 over 0): one failing release never
hides behind the others' success.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_TIMEOUT = 4
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
Exit codes: 0 success or nothing to do; 1 the thing asked for is not so (invalid spec, rollout aborted,
nothing to roll back); 2 usage or unreadable input; 3 unexpected error (--debug shows the traceback);
4 timed out (status --watch --timeout); 130 interrupted."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, at a 1-based line and column.

    >>> str(Problem("release.yaml", 3, 5, "replicas must be >= 1"))
    'release.yaml:3:5: replicas must be >= 1'
    """

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "column": self.col, "message": self.message}


class RollgenError(Exception):
    """A failure with a message fit for a user; the CLI exits with ``exit_code``."""

    exit_code = EXIT_FAILURE


class NotSoError(RollgenError):
    """The thing asked for is not so: nothing in progress to promote, nothing to retry or roll back."""

    exit_code = EXIT_FAILURE


class NothingToDo(RollgenError):
    """What was asked for already holds (no rollout to advance, a rollout already aborted): success."""

    exit_code = EXIT_OK


class TimedOut(RollgenError):
    """A wait ran out of time before what it waited for happened (``status --watch --timeout``)."""

    exit_code = EXIT_TIMEOUT


class UsageError(RollgenError):
    """Bad input: a command line, a file or a setting that cannot be used as given."""

    exit_code = EXIT_USAGE


class SpecError(UsageError):
    """A release spec that failed validation; carries every problem found (exit 1, as ``validate``)."""

    exit_code = EXIT_FAILURE

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
