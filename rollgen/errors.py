"""The one error type users see, and the positioned problems bad input produces.

Every failure that reaches the command line is a :class:`RollgenError`; the CLI
prints its message (never a traceback) and exits with its ``exit_code``.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


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


class UsageError(RollgenError):
    """Bad input or a request that makes no sense in the current state."""

    exit_code = EXIT_USAGE


class SpecError(UsageError):
    """A release spec that failed validation; carries every problem found."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
