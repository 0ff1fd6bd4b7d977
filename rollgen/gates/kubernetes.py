"""The ``kubernetes`` gate: every Deployment of the step runs its planned replicas, without crashing.

For each (Deployment, planned replicas) of the step, in the release's namespace:

- planned 0: the Deployment is gone, or scaled to 0 with no pods left;
- otherwise the controller has observed the latest spec (``observedGeneration >=
  generation``) and ``replicas``, ``updatedReplicas``, ``readyReplicas`` and
  ``availableReplicas`` all equal the plan (so no pod of an old ReplicaSet is left);
- container restarts, summed over the Deployment's pods (found with its own
  ``spec.selector``), stay at or under ``restartLimit``; more is Failed, even
  before the pods are ready, since a crash-looping version never gets ready;
- a Deployment whose Progressing condition reports ProgressDeadlineExceeded is Failed.

Anything short of the plan is Pending.

    spec: {restartLimit: 3}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rollgen.gates.analysis import CheckResult, Phase
from rollgen.gates.kind import GateContext, GateError
from rollgen.gates.kube import Access, connect

# What the gate does through the Kubernetes API.
ACCESS = frozenset({Access("apps", "deployments", "get"), Access("", "pods", "list")})


def label_selector(selector: Mapping[str, Any]) -> str:
    """A Deployment's ``spec.selector`` in the API's query syntax.

    >>> label_selector({"matchLabels": {"app": "podinfo", "version": "6.5.0"},
    ...                 "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
    ...                                      {"key": "canary", "operator": "DoesNotExist"}]})
    'app=podinfo,version=6.5.0,tier in (a,b),!canary'
    """
    parts = [f"{key}={value}" for key, value in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        parts.append(
            {
                "In": f"{key} in ({','.join(values)})",
                "NotIn": f"{key} notin ({','.join(values)})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }[operator]
        )
    if not parts:
        raise GateError("the Deployment has an empty selector")
    return ",".join(parts)


def restarts(pods: list[dict[str, Any]]) -> int:
    """Container restarts (init containers included) over ``pods``."""
    return sum(
        int(status.get("restartCount") or 0)
        for pod in pods
        for key in ("initContainerStatuses", "containerStatuses")
        for status in (pod.get("status") or {}).get(key) or []
    )


def shortfall(deployment: Mapping[str, Any], planned: int) -> str | None:
    """Why ``deployment`` does not run ``planned`` replicas yet, or None if it does."""
    meta, spec, status = deployment.get("metadata") or {}, deployment.get("spec") or {}, deployment.get("status") or {}
    if (status.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        return f"generation {meta.get('generation')} not observed yet"
    if spec.get("replicas", 1) != planned:
        return f"spec.replicas is {spec.get('replicas', 1)}, planned {planned}"
    counts = {
        key: int(status.get(key) or 0) for key in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    }
    if planned == 0:
        counts = {"replicas": counts["replicas"]}
    if any(count != planned for count in counts.values()):
        return ", ".join(f"{count} {key}" for key, count in counts.items()) + f" (planned {planned})"
    return None


def _deadline_exceeded(deployment: Mapping[str, Any]) -> str | None:
    for condition in (deployment.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return str(condition.get("message") or "ProgressDeadlineExceeded")
    return None


@dataclass(frozen=True)
class Kubernetes:
    name: str = "kubernetes"
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({"restartLimit": 3}))
    conditions: bool = False

    def check(self, config: Mapping[str, Any], context: GateContext) -> CheckResult:
        if not context.deployments:
            raise GateError("the step names no Deployments to check")
        limit = int(config["restartLimit"])
        waiting: list[str] = []
        seen: dict[str, int] = {}
        with connect(config, ACCESS) as kube:
            for name, planned in context.deployments:
                deployment = kube.deployment(context.namespace, name)
                if deployment is None:
                    if planned:
                        waiting.append(f"{name}: not created yet")
                    continue
                pods = kube.pods(
                    context.namespace, label_selector((deployment.get("spec") or {}).get("selector") or {})
                )
                seen[name] = restarts(pods)
                if seen[name] > limit:
                    return CheckResult(
                        Phase.FAILED, seen, f"{name}: {seen[name]} container restarts > restartLimit {limit}"
                    )
                if planned and (exceeded := _deadline_exceeded(deployment)):
                    return CheckResult(Phase.FAILED, seen, f"{name}: {exceeded}")
                if (why := shortfall(deployment, planned)) is not None:
                    waiting.append(f"{name}: {why}")
        if waiting:
            return CheckResult(Phase.PENDING, seen, "; ".join(waiting))
        plan = ", ".join(f"{name}={planned}" for name, planned in context.deployments)
        return CheckResult(Phase.SUCCESSFUL, seen, f"all Deployments at plan ({plan}), restarts {seen}")


KIND = Kubernetes()
