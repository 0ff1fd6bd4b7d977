"""What one commit does to a directory: a plain value, built by the rollout's rules and written by :mod:`rollgen.gitops.repo`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from rollgen.gitops.paths import check_path
from rollgen.gitops.trailers import StepRecord


@dataclass(frozen=True, kw_only=True)
class Change:
    """What one commit does: directory ``root`` holds exactly ``files`` afterwards.

    ``files`` maps paths relative to ``root`` to their bytes; files under
    ``root`` that are not listed are deleted (a step's stale files vanish),
    and an empty mapping removes ``root``. ``message`` is the subject line,
    optionally a blank line and a body; the record's trailers are appended.
    A change without a record (``rollgen detect`` writing a spec) carries no
    trailers, so no rollout reads it as one of its steps.
    """

    root: str
    files: Mapping[str, bytes]
    message: str
    record: StepRecord | None

    def __post_init__(self) -> None:
        check_path(self.root)
        for path in self.files:
            check_path(path)
        # Frozen means frozen: a caller mutating its dict later must not change this Change.
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
