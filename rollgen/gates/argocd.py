"""The ``argocd`` gate: the Application has synced exactly the step's commit and is Healthy.

Read through the Kubernetes API (``argoproj.io/v1alpha1`` Applications). The
step counts as live only when all of these hold, judged after the sync that
brought the commit finished:

- no ComparisonError condition (else Error: Argo CD cannot even render the commit);
- no operation running (``status.operationState.phase`` not Running/Terminating);
- ``status.sync.revision`` (or one of ``revisions`` for multi-source apps) is the commit;
- ``status.sync.status`` is Synced;
- ``status.reconciledAt`` is not older than ``status.operationState.finishedAt``;
- ``status.health.status`` is Healthy.

A sync of the commit that Failed/Errored, or health Degraded at the commit, is
Failed. Anything else missing is Pending: "not synced yet" is waiting, not
failing; the release's progressDeadline bounds the wait. With ``refresh: true``
the gate asks Argo CD to look at Git now (annotation
``argocd.argoproj.io/refresh: normal``) while the Application is not at the commit.

    spec: {application: podinfo-prod, namespace: argocd, refresh: false}
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from rollgen.gates.analysis import CheckResult, Phase
from rollgen.gates.kind import GateContext
from rollgen.gates.kube import Access, connect

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"
REFRESH = "argocd.argoproj.io/refresh"
# What the gate does through the Kubernetes API; patch only with refresh: true.
ACCESS = frozenset({Access(GROUP, PLURAL, "get")})
REFRESH_ACCESS = frozenset({Access(GROUP, PLURAL, "patch")})


def _time(text: Any) -> datetime | None:
    # Kubernetes timestamps are RFC 3339 ("2024-05-01T10:00:00Z").
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def revisions(status: Mapping[str, Any]) -> tuple[str, ...]:
    """The Git revisions the Application is synced to (one per source).

    >>> revisions({"sync": {"revision": "abc"}}), revisions({"sync": {"revisions": ["abc", "def"]}})
    (('abc',), ('abc', 'def'))
    """
    sync = status.get("sync") or {}
    if sync.get("revisions"):
        return tuple(str(r) for r in sync["revisions"])
    return (str(sync["revision"]),) if sync.get("revision") else ()


def judge_application(app: Mapping[str, Any], commit: str, carriers: Collection[str] = ()) -> CheckResult:
    """The phase of an Application (as the API returns it) for the step's ``commit``.

    ``carriers`` are the commits whose sync also puts the step live (the
    commit itself and what the branch gained on top of it).
    """
    accepted = {commit, *carriers}
    status = app.get("status") or {}
    short = commit[:12]
    for condition in status.get("conditions") or []:
        if condition.get("type") == "ComparisonError":
            return CheckResult(Phase.ERROR, None, f"ComparisonError: {condition.get('message', '')}")
    operation = status.get("operationState") or {}
    op_phase = operation.get("phase")
    op_revision = (operation.get("syncResult") or {}).get("revision") or (operation.get("operation") or {}).get(
        "sync", {}
    ).get("revision")
    if op_phase in ("Running", "Terminating"):
        return CheckResult(Phase.PENDING, None, f"sync operation {op_phase}")
    if op_phase in ("Failed", "Error") and op_revision in accepted:
        return CheckResult(Phase.FAILED, None, f"sync of {short} {op_phase}: {operation.get('message', '')}")
    synced_to = revisions(status)
    if accepted.isdisjoint(synced_to):
        at = ", ".join(r[:12] for r in synced_to) or "no revision"
        return CheckResult(Phase.PENDING, None, f"Application at {at}, waiting for {short}")
    sync_status = (status.get("sync") or {}).get("status")
    health = (status.get("health") or {}).get("status")
    health_message = (status.get("health") or {}).get("message") or ""
    if health == "Degraded":
        return CheckResult(Phase.FAILED, health, f"{short} is Degraded {health_message}".rstrip())
    if sync_status != "Synced":
        return CheckResult(Phase.PENDING, None, f"{short} is {sync_status or 'not compared yet'}")
    finished, reconciled = _time(operation.get("finishedAt")), _time(status.get("reconciledAt"))
    if finished is not None and (reconciled is None or reconciled < finished):
        return CheckResult(Phase.PENDING, None, f"{short} synced; waiting for Argo CD to reconcile after the sync")
    if health != "Healthy":
        return CheckResult(
            Phase.PENDING, health, f"{short} synced, health {health or 'unknown'} {health_message}".rstrip()
        )
    return CheckResult(Phase.SUCCESSFUL, health, f"{short} synced and Healthy")


@dataclass(frozen=True)
class ArgoCD:
    name: str = "argocd"
    defaults: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({"namespace": "argocd", "refresh": False})
    )
    conditions: bool = False

    def check(self, config: Mapping[str, Any], context: GateContext) -> CheckResult:
        namespace, name = config["namespace"], config["application"]
        with connect(config, ACCESS | (REFRESH_ACCESS if config["refresh"] else frozenset())) as kube:
            app = kube.custom_object(GROUP, VERSION, namespace, PLURAL, name)
            if app is None:
                return CheckResult(Phase.ERROR, None, f"Application {namespace}/{name} not found")
            result = judge_application(app, context.commit, context.carriers)
            annotations = (app.get("metadata") or {}).get("annotations") or {}
            # Ask for a refresh only while Argo CD has not seen the commit, and only once:
            # Argo CD removes the annotation when it has refreshed.
            seen = not context.carriers.isdisjoint(revisions(app.get("status") or {}))
            if config["refresh"] and not seen and REFRESH not in annotations:
                kube.annotate_custom_object(GROUP, VERSION, namespace, PLURAL, name, {REFRESH: "normal"})
        return result


KIND = ArgoCD()
