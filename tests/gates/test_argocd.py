"""The argocd gate through the official Kubernetes client, a kubeconfig and a loopback API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rollgen.gates.analysis import Phase
from rollgen.gates.registry import measure
from testkit.gates import COMMIT, OLD_COMMIT, context, gate
from testkit.gateservers import FakeKubeAPI, refused_url
from testkit.kubeobjects import application

APP_PATH = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/podinfo-prod"


def check(kubeconfig: Path, **config: Any) -> Any:
    return measure(gate("argocd", {"application": "podinfo-prod", "kubeconfig": str(kubeconfig), **config}), context())


@pytest.mark.parametrize(
    ("app", "phase", "message"),
    [
        (application(), Phase.SUCCESSFUL, "synced and Healthy"),
        (application(multi_source=True), Phase.SUCCESSFUL, "synced and Healthy"),
        # not there yet: keep waiting
        (application(revision=OLD_COMMIT), Phase.PENDING, f"at {OLD_COMMIT[:12]}, waiting for {COMMIT[:12]}"),
        (application(operation="Running"), Phase.PENDING, "sync operation Running"),
        (application(operation="Terminating"), Phase.PENDING, "sync operation Terminating"),
        (application(sync="OutOfSync"), Phase.PENDING, "is OutOfSync"),
        (application(health="Progressing"), Phase.PENDING, "health Progressing"),
        (application(health="Missing"), Phase.PENDING, "health Missing"),
        (application(reconciled_at="2024-05-01T09:59:00Z"), Phase.PENDING, "waiting for Argo CD to reconcile"),
        (application(operation=None), Phase.SUCCESSFUL, ""),  # never synced by an operation: judged on status
        # the commit broke something
        (application(health="Degraded"), Phase.FAILED, "is Degraded"),
        (application(operation="Failed"), Phase.FAILED, "Failed: one or more objects failed to apply"),
        (application(operation="Error"), Phase.FAILED, "Error"),
        # an old commit's failed sync is not this step's failure
        (application(operation="Failed", revision=OLD_COMMIT), Phase.PENDING, "waiting for"),
        (application(revision=OLD_COMMIT, health="Degraded"), Phase.PENDING, "waiting for"),
        # Argo CD cannot render the desired state at all
        (
            application(conditions=[{"type": "ComparisonError", "message": "kustomize build failed: no such file"}]),
            Phase.ERROR,
            "ComparisonError: kustomize build failed",
        ),
        (application(conditions=[{"type": "SharedResourceWarning", "message": "shared"}]), Phase.SUCCESSFUL, ""),
    ],
)
def test_application_states(
    kube: FakeKubeAPI, kubeconfig: Path, app: dict[str, Any], phase: Phase, message: str
) -> None:
    kube.put(app)
    result = check(kubeconfig)
    assert result.phase is phase, result.message
    assert message in result.message
    assert kube.requests == [("GET", APP_PATH)]  # read through the real API path, nothing written


def test_refresh_is_requested_once_while_the_commit_is_not_seen(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    kube.put(application(revision=OLD_COMMIT))
    assert check(kubeconfig, refresh=True).phase is Phase.PENDING
    assert kube.patches == [(APP_PATH, {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}})]
    assert check(kubeconfig, refresh=True).phase is Phase.PENDING  # Argo CD has not refreshed yet
    assert len(kube.patches) == 1
    kube.put(application())  # Argo CD refreshed (and dropped the annotation), synced and is healthy
    assert check(kubeconfig, refresh=True).phase is Phase.SUCCESSFUL
    assert len(kube.patches) == 1


def test_no_refresh_unless_asked(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    kube.put(application(revision=OLD_COMMIT))
    check(kubeconfig)
    assert kube.patches == []


def test_a_missing_application_is_an_error(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    result = check(kubeconfig)
    assert result.phase is Phase.ERROR
    assert "Application argocd/podinfo-prod not found" in result.message


def test_the_kubeconfig_context_is_honoured(kube: FakeKubeAPI, tmp_path: Path) -> None:
    kube.put(application())
    config = kube.write_kubeconfig(tmp_path / "config", context="staging")
    assert check(config, context="staging").phase is Phase.SUCCESSFUL
    missing = check(config, context="prod")
    assert missing.phase is Phase.ERROR
    assert "cannot load kubeconfig" in missing.message


def test_kubeconfig_from_the_environment(kube: FakeKubeAPI, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kube.put(application())
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    result = measure(gate("argocd", {"application": "podinfo-prod"}), context())
    assert result.phase is Phase.SUCCESSFUL, result.message


def test_wrong_credentials_are_an_error(kube: FakeKubeAPI, tmp_path: Path) -> None:
    kube.put(application())
    result = check(kube.write_kubeconfig(tmp_path / "config", token="stolen"))
    assert result.phase is Phase.ERROR
    assert "HTTP 401" in result.message


def test_an_unreachable_api_is_an_error(tmp_path: Path) -> None:
    dead = FakeKubeAPI()
    dead.url = refused_url()
    result = check(dead.write_kubeconfig(tmp_path / "config"))
    assert result.phase is Phase.ERROR
    assert "cannot reach the Kubernetes API" in result.message


def test_a_stalled_api_is_an_error_at_the_timeout(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    kube.put(application())
    kube.stall = 2.0
    result = measure(
        gate("argocd", {"application": "podinfo-prod", "kubeconfig": str(kubeconfig)}, timeout=0.5), context()
    )
    assert result.phase is Phase.ERROR
    assert "did not answer within the gate's timeout" in result.message


def test_no_credentials_at_all_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    result = measure(gate("argocd", {"application": "podinfo-prod"}), context())
    assert result.phase is Phase.ERROR
    assert "cannot load in-cluster credentials" in result.message


LATER = "b" * 40  # a commit the branch gained on top of the step's (another release, a PR's merge commit)


def test_a_sync_of_a_later_commit_carries_the_step(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    kube.put(application(revision=LATER))
    config = {"application": "podinfo-prod", "kubeconfig": str(kubeconfig)}
    carried = measure(gate("argocd", config), context(later_commits=(LATER,)))
    assert carried.phase is Phase.SUCCESSFUL, carried.message
    unrelated = measure(gate("argocd", config), context(later_commits=("c" * 40,)))
    assert unrelated.phase is Phase.PENDING and f"waiting for {COMMIT[:12]}" in unrelated.message


def test_a_failed_sync_of_a_later_commit_fails_the_step(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    kube.put(application(revision=LATER, operation="Failed"))
    config = {"application": "podinfo-prod", "kubeconfig": str(kubeconfig)}
    assert measure(gate("argocd", config), context(later_commits=(LATER,))).phase is Phase.FAILED
