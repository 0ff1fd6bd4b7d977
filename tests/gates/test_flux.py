"""The flux gate through the official Kubernetes client against the loopback API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rollgen.gates.analysis import Phase
from rollgen.gates.registry import measure
from testkit.gates import COMMIT, OLD_COMMIT, context, gate
from testkit.gateservers import FakeKubeAPI
from testkit.kubeobjects import git_repository, helm_release, kustomization

KS_PATH = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps"
REPO_PATH = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/deploy"


def check(kubeconfig: Path, **config: Any) -> Any:
    config = {"name": "apps", "kubeconfig": str(kubeconfig), **config}
    return measure(gate("flux", config), context())


@pytest.mark.parametrize(
    ("obj", "phase", "message"),
    [
        (kustomization(), Phase.SUCCESSFUL, f"Kustomization Ready at {COMMIT[:12]}"),
        (kustomization(applied=OLD_COMMIT), Phase.PENDING, f"at main@sha1:{OLD_COMMIT}, waiting for {COMMIT[:12]}"),
        (kustomization(applied=None), Phase.PENDING, "nothing applied"),
        (kustomization(ready="Unknown", reason="Progressing"), Phase.PENDING, "Ready Unknown"),
        (kustomization(generation=4, observed=3), Phase.PENDING, "generation 4 not observed yet"),
        # Flux tried the commit and it did not apply or is unhealthy
        (
            kustomization(applied=OLD_COMMIT, attempted=COMMIT, ready="False", reason="BuildFailed"),
            Phase.FAILED,
            "not Ready at 0f1e2d3c4b5a: BuildFailed",
        ),
        (kustomization(applied=OLD_COMMIT, ready="False", reason="HealthCheckFailed"), Phase.PENDING, "waiting for"),
        (kustomization(stalled=True), Phase.FAILED, "Stalled: kustomization path not found"),
    ],
)
def test_kustomization_states(
    kube: FakeKubeAPI, kubeconfig: Path, obj: dict[str, Any], phase: Phase, message: str
) -> None:
    kube.put(obj)
    result = check(kubeconfig)
    assert result.phase is phase, result.message
    assert message in result.message
    assert kube.requests == [("GET", KS_PATH)]


def test_the_older_revision_format_names_the_commit_too(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    obj = kustomization()
    obj["status"]["lastAppliedRevision"] = f"main/{COMMIT}"
    kube.put(obj)
    assert check(kubeconfig).phase is Phase.SUCCESSFUL


@pytest.mark.parametrize(
    ("obj", "phase", "message"),
    [
        (helm_release(), Phase.SUCCESSFUL, "HelmRelease Ready at"),
        (helm_release(chart_version=f"6.5.0+{OLD_COMMIT[:12]}"), Phase.PENDING, "waiting for"),
        (helm_release(ready="False", release_status="failed"), Phase.FAILED, "not Ready"),
        (helm_release(chart_version="6.5.0"), Phase.ERROR, "reconcileStrategy: Revision"),
    ],
)
def test_helm_release_states(
    kube: FakeKubeAPI, kubeconfig: Path, obj: dict[str, Any], phase: Phase, message: str
) -> None:
    kube.put(obj)
    result = check(kubeconfig, kind="HelmRelease", name="podinfo")
    assert result.phase is phase, result.message
    assert message in result.message


def test_reconcile_is_requested_on_the_kustomization_and_its_source(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    kube.put(kustomization(applied=OLD_COMMIT), git_repository())
    assert check(kubeconfig, reconcile=True).phase is Phase.PENDING
    assert [path for path, _ in kube.patches] == [KS_PATH, REPO_PATH]
    requested = kube.patches[0][1]["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
    assert kube.get(kustomization())["metadata"]["annotations"] == {"reconcile.fluxcd.io/requestedAt": requested}
    # Flux has not handled the request yet: no new request
    kube.patches.clear()
    check(kubeconfig, reconcile=True)
    assert kube.patches == []


def test_a_handled_request_may_be_followed_by_another(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    stamp = "2024-05-01T10:00:00Z"
    kube.put(kustomization(applied=OLD_COMMIT, annotations={"reconcile.fluxcd.io/requestedAt": stamp}, handled=stamp))
    check(kubeconfig, reconcile=True)
    assert [path for path, _ in kube.patches] == [KS_PATH]  # the GitRepository is absent: nothing else to annotate


def test_nothing_is_written_once_the_commit_is_applied(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    kube.put(kustomization(), git_repository())
    assert check(kubeconfig, reconcile=True).phase is Phase.SUCCESSFUL
    assert kube.patches == []


def test_a_missing_object_and_a_wrong_kind_are_errors(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    missing = check(kubeconfig)
    assert missing.phase is Phase.ERROR and "Kustomization flux-system/apps not found" in missing.message
    wrong = check(kubeconfig, kind="GitRepository")
    assert wrong.phase is Phase.ERROR and "must be Kustomization or HelmRelease" in wrong.message


def test_a_later_commit_applied_carries_the_step(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    later = "b" * 40  # the branch tip Flux applied: another release's commit on top of the step's
    kube.put(kustomization(applied=later))
    config = {"name": "apps", "kubeconfig": str(kubeconfig)}
    assert measure(gate("flux", config), context(later_commits=(later,))).phase is Phase.SUCCESSFUL
    assert measure(gate("flux", config), context()).phase is Phase.PENDING
