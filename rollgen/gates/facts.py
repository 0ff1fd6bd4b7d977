"""Every gate kind, by name, in one explicit table: what each kind is, known without loading it.

Each kind declares its facts here and nowhere else: whether it tells that a
step's commit is live (liveness: the controller measures it after every
commit, before the step's own waits), whether it takes
``successCondition``/``failureCondition``, and whether it reads the cluster.
The spec checks and the decision read these facts without loading any
implementation (:mod:`rollgen.gates.registry` has those).

    >>> sorted(FACTS)
    ['argocd', 'cloudWatch', 'command', 'datadog', 'flux', 'http', 'kubernetes', 'newRelic', 'prometheus']
    >>> [name for name, facts in FACTS.items() if facts.liveness]
    ['argocd', 'flux', 'kubernetes']

Importing this module is cheap (``rollgen validate`` does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True, kw_only=True)
class KindFacts:
    """What a gate kind is, known without loading its implementation."""

    name: str
    liveness: bool = False
    """Whether it tells that a step's commit is live (synced and healthy), given the commit."""
    conditions: bool = False
    """Whether it takes ``successCondition`` and ``failureCondition``."""
    cluster: bool = False
    """Whether it reads the cluster, with the official Kubernetes client (the ``kubernetes`` extra)."""

    @property
    def module(self) -> str:
        """The module whose ``KIND`` implements it (module names are lower case: ``newRelic`` in ``newrelic``)."""
        return f"rollgen.gates.{self.name.lower()}"


FACTS: Final[Mapping[str, KindFacts]] = MappingProxyType(
    {
        facts.name: facts
        for facts in (
            KindFacts(name="argocd", liveness=True, cluster=True),
            KindFacts(name="flux", liveness=True, cluster=True),
            KindFacts(name="kubernetes", liveness=True, cluster=True),
            KindFacts(name="prometheus", conditions=True),
            KindFacts(name="http", conditions=True),
            KindFacts(name="datadog", conditions=True),
            KindFacts(name="newRelic", conditions=True),
            KindFacts(name="cloudWatch", conditions=True),
            KindFacts(name="command"),
        )
    }
)


def is_liveness(kind: str) -> bool:
    """Whether gates of ``kind`` tell that a commit is live (False for an unknown kind)."""
    facts = FACTS.get(kind)
    return facts is not None and facts.liveness


def condition_kinds() -> tuple[str, ...]:
    """The kinds that take ``successCondition``/``failureCondition``, in table order."""
    return tuple(name for name, facts in FACTS.items() if facts.conditions)
