"""A rollout as a sequence of committed states.

A :class:`Plan` is what rollgen will commit, one :class:`Step` per commit. Each
step names the complete desired :class:`State` after its commit (every
versioned Deployment with its replicas, what the Services select, traffic
weights) and what must happen after the commit is live before the next one
(``after``: gates to judge, pauses). Renderers turn a State into files; the
controller walks the steps.

Everything here is pure: values in, values out.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Union

from rollgen.spec.model import Analysis, Pause

Wait = Union[Pause, Analysis]


def slug(version: str) -> str:
    """The DNS-safe form of a version used in object names.

    >>> slug("6.5.0")
    '6-5-0'
    >>> slug("v2_RC.1")
    'v2-rc-1'
    """
    return re.sub(r"[^a-z0-9]+", "-", version.lower()).strip("-")


def workload_name(app: str, version: str) -> str:
    """Name of the Deployment running ``version`` of ``app``: ``podinfo-6-5-0``."""
    return f"{app}-{slug(version)}"


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


@dataclass(frozen=True)
class Plan:
    """Every commit of one rollout, from ``initial`` (before the rollout) to the last step."""

    release: str
    namespace: str
    stable: str
    version: str
    strategy: str
    replicas: int
    initial: State
    steps: tuple[Step, ...]
    warnings: tuple[str, ...] = ()

    def digest(self) -> str:
        """A short, stable fingerprint of the plan; commits record it so a changed spec is noticed."""
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
