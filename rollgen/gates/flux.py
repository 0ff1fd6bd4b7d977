"""The ``flux`` gate: a Kustomization or HelmRelease is Ready at the step's commit.

- **Kustomization** (``kustomize.toolkit.fluxcd.io/v1``): Ready=True, the spec's
  generation observed, and ``status.lastAppliedRevision`` naming the commit. Flux
  writes it as ``main@sha1:<sha>`` (older releases: ``main/<sha>``).
- **HelmRelease** (``helm.toolkit.fluxcd.io/v2``): a HelmRelease records no Git
  revision of its own, only the chart version it installed. A chart built from
  a GitRepository with ``reconcileStrategy: Revision`` carries the commit as build
  metadata (``1.2.3+<first 12 hex of the sha>``) in ``status.lastAttemptedRevision``
  and ``status.history[0].chartVersion``; that is what the gate matches. Without it
  the gate reports an Error that says so (gate on the Kustomization that applies
  the HelmRelease instead).

Ready=False or Stalled=True once Flux has attempted the commit is Failed;
anything short of the commit is Pending. ``reconcile: true`` asks Flux to
reconcile now (annotation ``reconcile.fluxcd.io/requestedAt``, also on the
GitRepository source so the new commit is fetched), once per request.

    spec: {kind: Kustomization, name: apps, namespace: flux-system, reconcile: false}
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from rollgen.gates.analysis import CheckResult, Phase
from rollgen.gates.kind import GateContext, GateError
from rollgen.gates.kube import Access, Kube, connect

# kind -> (group, version, plural)
RESOURCES = MappingProxyType(
    {
        "Kustomization": ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations"),
        "HelmRelease": ("helm.toolkit.fluxcd.io", "v2", "helmreleases"),
        "GitRepository": ("source.toolkit.fluxcd.io", "v1", "gitrepositories"),
    }
)
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
# What the gate does through the Kubernetes API: read the object; with reconcile: true,
# also read its GitRepository and annotate both.
ACCESS = frozenset(Access(RESOURCES[kind][0], RESOURCES[kind][2], "get") for kind in ("Kustomization", "HelmRelease"))
RECONCILE_ACCESS = frozenset(
    {Access(RESOURCES["GitRepository"][0], RESOURCES["GitRepository"][2], "get")}
    | {Access(group, plural, "patch") for group, _, plural in RESOURCES.values()}
)
_BUILD_METADATA = re.compile(r"\+([0-9a-f]{7,40})$")


def names_commit(revision: Any, commits: Collection[str]) -> bool:
    """Whether a Flux source revision names one of ``commits``.

    >>> sha = "0123456789abcdef0123456789abcdef01234567"
    >>> names_commit(f"main@sha1:{sha}", {sha}), names_commit(f"main/{sha}", {sha}), names_commit("main@sha1:0123", {sha})
    (True, True, False)
    """
    if not isinstance(revision, str) or not revision:
        return False
    digest = revision.rsplit(":", 1)[-1] if "@" in revision else revision.rsplit("/", 1)[-1]
    return digest in commits


def chart_names_commit(chart_version: Any, commits: Collection[str]) -> bool | None:
    """Whether a chart version's build metadata names one of ``commits``; None when it has none.

    >>> chart_names_commit("0.1.0+0123456789ab", {"0123456789abcdef"}), chart_names_commit("0.1.0", {"01"})
    (True, None)
    """
    if not isinstance(chart_version, str):
        return None
    found = _BUILD_METADATA.search(chart_version)
    return None if found is None else any(commit.startswith(found.group(1)) for commit in commits)


def _condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return {}


def judge_object(obj: Mapping[str, Any], kind: str, commit: str, carriers: Collection[str] = ()) -> CheckResult:
    """The phase of a Kustomization or HelmRelease (as the API returns it) for ``commit``.

    ``carriers`` are the commits whose sync also puts the step live (the
    commit itself and what the branch gained on top of it).
    """
    accepted = {commit, *carriers}
    status = obj.get("status") or {}
    short = commit[:12]
    if kind == "Kustomization":
        applied = names_commit(status.get("lastAppliedRevision"), accepted)
        attempted = names_commit(status.get("lastAttemptedRevision"), accepted)
        at = status.get("lastAppliedRevision") or "nothing applied"
    else:
        history = status.get("history") or []
        chart_version = history[0].get("chartVersion") if history else None
        named = chart_names_commit(status.get("lastAttemptedRevision") or chart_version, accepted)
        if named is None:
            return CheckResult(
                Phase.ERROR,
                None,
                (
                    f"HelmRelease records chart {status.get('lastAttemptedRevision') or chart_version!r}, not a Git "
                    "revision: set spec.chart.spec.reconcileStrategy: Revision, or gate on the Kustomization"
                ),
            )
        attempted = bool(named)
        applied = (
            attempted and chart_names_commit(chart_version, accepted) is True and history[0].get("status") == "deployed"
        )
        at = chart_version or "nothing installed"
    ready, stalled = _condition(obj, "Ready"), _condition(obj, "Stalled")
    generation = (obj.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if stalled.get("status") == "True":
        return CheckResult(Phase.FAILED, None, f"{kind} Stalled: {stalled.get('message', '')}")
    if attempted and ready.get("status") == "False":
        return CheckResult(
            Phase.FAILED, None, f"{kind} not Ready at {short}: {ready.get('reason', '')}: {ready.get('message', '')}"
        )
    if not applied:
        return CheckResult(Phase.PENDING, None, f"{kind} at {at}, waiting for {short}")
    if generation is not None and (observed is None or observed < generation):
        return CheckResult(Phase.PENDING, None, f"{kind} generation {generation} not observed yet")
    if ready.get("status") != "True":
        return CheckResult(
            Phase.PENDING,
            None,
            f"{kind} at {short}, Ready {ready.get('status', 'unknown')}: {ready.get('message', '')}",
        )
    return CheckResult(Phase.SUCCESSFUL, None, f"{kind} Ready at {short}")


def _request_reconcile(kube: Kube, obj: Mapping[str, Any], kind: str, namespace: str, name: str, now: str) -> None:
    """Annotate the object and its GitRepository, unless Flux has not handled the last request yet."""
    spec = obj.get("spec") or {}
    source = (
        spec.get("sourceRef")
        if kind == "Kustomization"
        else ((spec.get("chart") or {}).get("spec") or {}).get("sourceRef")
    )
    targets = [(kind, namespace, name, obj)]
    if source and source.get("kind") == "GitRepository":
        source_namespace = source.get("namespace") or namespace
        group, version, plural = RESOURCES["GitRepository"]
        repo = kube.custom_object(group, version, source_namespace, plural, source["name"])
        if repo is not None:
            targets.append(("GitRepository", source_namespace, source["name"], repo))
    for target_kind, target_namespace, target_name, target in targets:
        requested = ((target.get("metadata") or {}).get("annotations") or {}).get(REQUESTED_AT)
        handled = (target.get("status") or {}).get("lastHandledReconcileAt")
        if requested is None or requested == handled:
            group, version, plural = RESOURCES[target_kind]
            kube.annotate_custom_object(group, version, target_namespace, plural, target_name, {REQUESTED_AT: now})


@dataclass(frozen=True)
class Flux:
    name: str = "flux"
    defaults: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType(
            {"kind": "Kustomization", "namespace": "flux-system", "reconcile": False}
        )
    )
    conditions: bool = False

    def check(self, config: Mapping[str, Any], context: GateContext) -> CheckResult:
        kind, namespace, name = config["kind"], config["namespace"], config["name"]
        if kind not in ("Kustomization", "HelmRelease"):
            raise GateError(f"flux kind must be Kustomization or HelmRelease, not {kind!r}")
        group, version, plural = RESOURCES[kind]
        with connect(config, ACCESS | (RECONCILE_ACCESS if config["reconcile"] else frozenset())) as kube:
            obj = kube.custom_object(group, version, namespace, plural, name)
            if obj is None:
                return CheckResult(Phase.ERROR, None, f"{kind} {namespace}/{name} not found")
            result = judge_object(obj, kind, context.commit, context.carriers)
            if config["reconcile"] and result.phase is Phase.PENDING:
                now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                _request_reconcile(kube, obj, kind, namespace, name, now)
        return result


KIND = Flux()
