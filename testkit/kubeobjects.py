"""Kubernetes objects in the shapes the real controllers write, for the fake API to serve.

``tests/gates/test_servers.py`` validates the custom resources against the
Argo CD and Flux CRDs in shared/data, so these stay real shapes.
"""

from __future__ import annotations

from typing import Any

from testkit.gates import COMMIT

SYNCED_AT = "2024-05-01T10:00:00Z"
RECONCILED_AT = "2024-05-01T10:00:05Z"


def application(
    name: str = "podinfo-prod",
    *,
    revision: str = COMMIT,
    sync: str = "Synced",
    health: str = "Healthy",
    operation: str | None = "Succeeded",
    finished_at: str = SYNCED_AT,
    reconciled_at: str = RECONCILED_AT,
    conditions: list[dict[str, Any]] | None = None,
    multi_source: bool = False,
) -> dict[str, Any]:
    """An Argo CD Application as the application controller leaves it after a sync."""
    status: dict[str, Any] = {
        "sync": {
            "status": sync,
            "comparedTo": {
                "source": {
                    "repoURL": "https://git.example/deploy.git",
                    "path": "overlays/podinfo/prod",
                    "targetRevision": "main",
                },
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "prod"},
            },
        },
        "health": {"status": health},
        "reconciledAt": reconciled_at,
        "sourceType": "Kustomize",
        "summary": {"images": ["ghcr.io/stefanprodan/podinfo:6.5.0"]},
    }
    if multi_source:
        status["sync"]["revisions"] = ["1" * 40, revision]
    else:
        status["sync"]["revision"] = revision
    if operation is not None:
        status["operationState"] = {
            "phase": operation,
            "message": "successfully synced (all tasks run)"
            if operation == "Succeeded"
            else "one or more objects failed to apply",
            "startedAt": "2024-05-01T09:59:58Z",
            "finishedAt": finished_at if operation not in ("Running", "Terminating") else None,
            "operation": {"sync": {"revision": revision}, "initiatedBy": {"automated": True}},
            "syncResult": {
                "revision": revision,
                "source": {"repoURL": "https://git.example/deploy.git"},
                "resources": [],
            },
        }
        if status["operationState"]["finishedAt"] is None:
            del status["operationState"]["finishedAt"]
    if conditions:
        status["conditions"] = conditions
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "generation": 7},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://git.example/deploy.git",
                "path": "overlays/podinfo/prod",
                "targetRevision": "main",
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "prod"},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
        "status": status,
    }


def _ready(status: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": RECONCILED_AT,
        "observedGeneration": 3,
    }


def kustomization(
    name: str = "apps",
    *,
    applied: str | None = COMMIT,
    attempted: str | None = None,
    ready: str = "True",
    reason: str = "ReconciliationSucceeded",
    generation: int = 3,
    observed: int = 3,
    stalled: bool = False,
    annotations: dict[str, str] | None = None,
    handled: str | None = None,
) -> dict[str, Any]:
    """A Flux Kustomization as kustomize-controller writes it (revision as ``main@sha1:<sha>``)."""
    attempted = attempted if attempted is not None else applied
    conditions = [
        _ready(ready, reason, f"Applied revision: main@sha1:{applied}" if ready == "True" else "kustomize build failed")
    ]
    if stalled:
        conditions.append(
            {
                "type": "Stalled",
                "status": "True",
                "reason": "BuildFailed",
                "message": "kustomization path not found",
                "lastTransitionTime": RECONCILED_AT,
            }
        )
    status: dict[str, Any] = {"observedGeneration": observed, "conditions": conditions}
    if applied is not None:
        status["lastAppliedRevision"] = f"main@sha1:{applied}"
    if attempted is not None:
        status["lastAttemptedRevision"] = f"main@sha1:{attempted}"
    if handled is not None:
        status["lastHandledReconcileAt"] = handled
    metadata: dict[str, Any] = {"name": name, "namespace": "flux-system", "generation": generation}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": metadata,
        "spec": {
            "interval": "10m",
            "path": "./overlays/podinfo/prod",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "deploy"},
        },
        "status": status,
    }


def git_repository(name: str = "deploy") -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": "flux-system", "generation": 1},
        "spec": {"interval": "1m", "url": "https://git.example/deploy.git", "ref": {"branch": "main"}},
        "status": {
            "observedGeneration": 1,
            "artifact": {
                "revision": f"main@sha1:{COMMIT}",
                "path": "x",
                "url": "http://x",
                "digest": "sha256:00",
                "lastUpdateTime": RECONCILED_AT,
            },
        },
    }


def helm_release(
    name: str = "podinfo",
    *,
    chart_version: str = f"6.5.0+{COMMIT[:12]}",
    ready: str = "True",
    release_status: str = "deployed",
) -> dict[str, Any]:
    """A Flux HelmRelease whose chart comes from a GitRepository with reconcileStrategy: Revision."""
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "flux-system", "generation": 2},
        "spec": {
            "interval": "5m",
            "chart": {
                "spec": {
                    "chart": "./charts/podinfo",
                    "reconcileStrategy": "Revision",
                    "sourceRef": {"kind": "GitRepository", "name": "deploy"},
                }
            },
        },
        "status": {
            "observedGeneration": 2,
            "lastAttemptedRevision": chart_version,
            "lastAttemptedGeneration": 2,
            "conditions": [
                _ready(ready, "UpgradeSucceeded" if ready == "True" else "UpgradeFailed", "Helm upgrade succeeded")
            ],
            "history": [
                {
                    "name": name,
                    "namespace": "prod",
                    "version": 4,
                    "status": release_status,
                    "chartName": "podinfo",
                    "chartVersion": chart_version,
                    "appVersion": "6.5.0",
                    "configDigest": "sha256:00",
                    "digest": "sha256:11",
                    "firstDeployed": SYNCED_AT,
                    "lastDeployed": RECONCILED_AT,
                }
            ],
        },
    }


def deployment(
    name: str,
    replicas: int,
    *,
    ready: int | None = None,
    updated: int | None = None,
    total: int | None = None,
    generation: int = 2,
    observed: int = 2,
    deadline_exceeded: bool = False,
    namespace: str = "prod",
) -> dict[str, Any]:
    """A Deployment of a versioned release (``podinfo-6-5-0`` selects app + version)."""
    ready = replicas if ready is None else ready
    version = name.removeprefix("podinfo-").replace("-", ".")
    labels = {"app": "podinfo", "version": version}
    progressing = (
        {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": f'ReplicaSet "{name}-5d4f" has timed out progressing.',
        }
        if deadline_exceeded
        else {
            "type": "Progressing",
            "status": "True",
            "reason": "NewReplicaSetAvailable",
            "message": f'ReplicaSet "{name}-5d4f" has successfully progressed.',
        }
    )
    status: dict[str, Any] = {
        "observedGeneration": observed,
        "replicas": replicas if total is None else total,
        "updatedReplicas": replicas if updated is None else updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}, progressing],
    }
    # The API server omits zero counts.
    status = {key: value for key, value in status.items() if value != 0}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "generation": generation, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "podinfo", "image": f"ghcr.io/stefanprodan/podinfo:{version}"}]},
            },
        },
        "status": status,
    }


def pod(deployment_name: str, index: int, restarts: int = 0, *, namespace: str = "prod") -> dict[str, Any]:
    version = deployment_name.removeprefix("podinfo-").replace("-", ".")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{deployment_name}-5d4f-{index}",
            "namespace": namespace,
            "labels": {"app": "podinfo", "version": version, "pod-template-hash": "5d4f"},
        },
        "spec": {"containers": [{"name": "podinfo", "image": f"ghcr.io/stefanprodan/podinfo:{version}"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "podinfo",
                    "ready": True,
                    "restartCount": restarts,
                    "image": f"ghcr.io/stefanprodan/podinfo:{version}",
                    "imageID": "",
                    "started": True,
                    "state": {"running": {"startedAt": SYNCED_AT}},
                }
            ],
        },
    }
