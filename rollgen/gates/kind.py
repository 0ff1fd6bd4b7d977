"""What every gate kind is and what it is given: the GateKind protocol and the GateContext.

A kind is one module under ``rollgen.gates`` holding one object that meets
:class:`GateKind`; ``rollgen.gates.registry.KINDS`` lists them all by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rollgen.errors import RollgenError
from rollgen.gates.analysis import CheckResult


class GateError(RollgenError):
    """A check that could not be carried out; the gate reports it as an Error measurement."""


@dataclass(frozen=True, kw_only=True)
class GateContext:
    """The step being judged, as a gate sees it.

    ``commit`` is the full SHA of the step's commit; ``later_commits`` the
    commits the branch gained on top of it (other releases' commits, or the
    merge commit of the step's pull request). Argo CD and Flux sync the branch
    tip, so a sync of any of these carries the step (:attr:`carriers`).
    ``deployments`` are the versioned Deployments of the step with the replicas
    the plan gives each (0: it must be gone or scaled to zero). ``root`` is the
    repository's working copy, where the spec's relative paths start (None on a
    bare repository).
    """

    release: str
    namespace: str
    version: str
    stable: str
    commit: str
    step: int
    deployments: tuple[tuple[str, int], ...] = ()
    later_commits: tuple[str, ...] = ()
    root: str | None = None

    @property
    def carriers(self) -> frozenset[str]:
        """Every commit whose sync puts this step's files live."""
        return frozenset((self.commit, *self.later_commits))

    def template_values(self) -> dict[str, str]:
        """The names ``{{ ... }}`` may use in queries, URLs and arguments."""
        return {
            "release": self.release,
            "namespace": self.namespace,
            "version": self.version,
            "stable": self.stable,
            "commit": self.commit,
            "step": str(self.step),
        }


class GateKind(Protocol):
    """One kind of gate: its name, the defaults of its settings and its check.

    ``check`` gets ``config``: the kind's settings from the spec laid over
    ``defaults``, plus ``timeout`` (seconds one check may take, from the gate)
    and, when ``conditions`` is true, the gate's ``successCondition`` and
    ``failureCondition`` (absent when unset). It returns Successful, Failed,
    Inconclusive, Error or Pending ("not there yet, look again") and must not
    take longer than ``timeout``; raising GateError is the same as returning
    Error with its message.
    """

    @property
    def name(self) -> str: ...

    @property
    def defaults(self) -> Mapping[str, Any]: ...

    @property
    def conditions(self) -> bool: ...

    def check(self, config: Mapping[str, Any], context: GateContext) -> CheckResult: ...
