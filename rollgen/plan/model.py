"""The plan's values: a :class:`Plan` is what rollgen will commit, one :class:`Step` per commit.

Each step names the complete desired :class:`State` after its commit (every
versioned Deployment with its replicas, what the Services select, traffic
weights) and what must happen after the commit is live before the next one
(``after``: gates to judge, pauses). Renderers turn a State into files; the
controller walks the steps. :mod:`rollgen.plan.steps` makes them.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, fields, is_dataclass
from typing import TypeAlias

from rollgen.spec.model import Analysis, Pause

Wait: TypeAlias = Pause | Analysis


@dataclass(frozen=True)
class Workload:
    """One Deployment of one version: its name, labels app=<app>, version=<version>."""

    version: str
    name: str
    replicas: int


@dataclass(frozen=True)
class State:
    """The desired cluster state after one commit.

    ``service_version`` is the version the main Service selects, or ``None``
    when it selects every pod of the app (a replica-ratio canary: traffic
    follows pods). ``preview_version`` is what the preview Service selects
    (blue/green), ``None`` when there is no preview Service. ``weights`` are
    the traffic shares per version (percent, summing to 100) for a mesh or
    Gateway API route, empty when traffic follows pods.
    """

    workloads: tuple[Workload, ...]
    service_version: str | None = None
    preview_version: str | None = None
    weights: tuple[tuple[str, int], ...] = ()

    def replicas(self, version: str) -> int:
        return sum(w.replicas for w in self.workloads if w.version == version)

    @property
    def total_pods(self) -> int:
        return sum(w.replicas for w in self.workloads)


@dataclass(frozen=True)
class Step:
    """One commit: the state it sets and what happens once it is live.

    ``index`` counts from 1. ``action`` names the kind of move (for commit
    subjects and tables). ``set_weight`` is the weight the spec asked for
    (``None`` for moves the planner inserted or strategies without weights);
    ``weight`` the share of traffic the new version actually gets.
    ``min_available`` is the number of pods that stay available while the
    cluster moves from the previous state to this one.
    """

    index: int
    action: str
    state: State
    weight: float
    min_available: int
    set_weight: int | None = None
    after: tuple[Wait, ...] = ()
    note: str = ""


class StrategyKind(enum.StrEnum):
    """A strategy by its spec key (a ``str``: what plans print and what their digests hash)."""

    CANARY = "canary"
    BLUE_GREEN = "blueGreen"
    ROLLING_UPDATE = "rollingUpdate"
    RECREATE = "recreate"


@dataclass(frozen=True)
class Plan:
    """Every commit of one rollout, from ``initial`` (before the rollout) to the last step.

    ``strategy`` is the spec's key (``canary``, ``blueGreen``, ``rollingUpdate``,
    ``recreate``) and ``traffic`` the canary's traffic mode (``None`` for the
    others). ``max_surge`` and ``max_unavailable`` are the resolved pod bounds
    every transition keeps to, ``None`` where the strategy is not bounded that
    way: a routed canary keeps the stable at full size beside the canary,
    blue/green runs both colours in full, recreate stops everything.
    """

    release: str
    namespace: str
    stable: str
    version: str
    strategy: StrategyKind
    replicas: int
    initial: State
    steps: tuple[Step, ...]
    warnings: tuple[str, ...] = ()
    traffic: str | None = None
    max_surge: int | None = None
    max_unavailable: int | None = None

    def digest(self) -> str:
        """A short, stable fingerprint of the plan; commits record it so a changed spec is noticed.

        The JSON of :func:`dataclasses.asdict` (what every recorded digest was
        made from), built without asdict's deep copies: a pass reads a
        thousand plans.
        """
        canonical = json.dumps(_plain(self), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _plain(value: object) -> object:
    """``value`` as :func:`dataclasses.asdict` gives it to JSON: dataclasses as dicts, sequences as lists."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
