"""The ``strategy`` of every Deployment rollgen renders (Kustomize overlays and rollgen-app alike).

Kubernetes replaces a Deployment's pods itself whenever its pod template
changes (a rolling update's single Deployment, an adopted Deployment getting
rollgen's labels). Without a ``strategy`` it uses 25% surge and 25%
unavailable, which is not what the plan table promises; so every rendered
Deployment states its own.
"""

from __future__ import annotations

from rollgen.errors import UsageError
from rollgen.replicas import resolve_bounds
from rollgen.spec.model import Canary, Recreate, Release, RollingUpdate


def deployment_strategy(release: Release) -> dict[str, object]:
    """The ``strategy`` every rendered Deployment carries, so Kubernetes' 25%/25% defaults never apply.

    A rolling update and a replica-ratio canary use the plan's pod bounds
    (absolute counts: the same numbers the plan table prints); recreate stops
    every pod first. Blue/green and routed canaries never change a running
    Deployment's pods (each revision has its own Deployment), so should one
    change anyway it loses no pod: one extra at a time, none unavailable.
    """
    strategy = release.strategy
    if isinstance(strategy, Recreate):
        return {"type": "Recreate"}
    if isinstance(strategy, RollingUpdate) or (isinstance(strategy, Canary) and strategy.traffic == "replicas"):
        try:
            bounds = resolve_bounds(release.replicas, strategy.max_surge, strategy.max_unavailable)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        surge, unavailable = bounds.surge, bounds.unavailable
    else:
        surge, unavailable = 1, 0
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}
