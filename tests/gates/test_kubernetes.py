"""The kubernetes gate: Deployments at their planned replicas, restarts under the limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rollgen.gates.analysis import Phase
from rollgen.gates.registry import measure
from testkit.gates import context, gate
from testkit.gateservers import FakeKubeAPI
from testkit.kubeobjects import deployment, pod

CANARY, STABLE = "podinfo-6-5-0", "podinfo-6-4-0"
PLAN = ((CANARY, 1), (STABLE, 3))


def check(kubeconfig: Path, deployments: tuple[tuple[str, int], ...] = PLAN, **config: Any) -> Any:
    return measure(gate("kubernetes", {"kubeconfig": str(kubeconfig), **config}), context(deployments=deployments))


def healthy(kube: FakeKubeAPI, canary_restarts: int = 0) -> None:
    kube.put(
        deployment(CANARY, 1),
        deployment(STABLE, 3),
        pod(CANARY, 0, canary_restarts),
        *(pod(STABLE, i, restarts=1) for i in range(3)),
    )


def test_every_deployment_at_plan_passes(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    healthy(kube)
    result = check(kubeconfig)
    assert result.phase is Phase.SUCCESSFUL, result.message
    # restarts are counted per Deployment through its own selector: the stable pods' are not the canary's
    assert result.value == {CANARY: 0, STABLE: 3}
    assert ("GET", "/api/v1/namespaces/prod/pods") in kube.requests
    assert ("GET", f"/apis/apps/v1/namespaces/prod/deployments/{CANARY}") in kube.requests


@pytest.mark.parametrize(
    ("canary", "message"),
    [
        (deployment(CANARY, 1, ready=0), "0 readyReplicas"),
        (deployment(CANARY, 1, updated=0), "0 updatedReplicas"),
        (deployment(CANARY, 1, total=2), "2 replicas"),  # an old ReplicaSet's pod is still there
        (deployment(CANARY, 2), "spec.replicas is 2, planned 1"),  # Argo CD has not applied the step yet
        (deployment(CANARY, 1, generation=3, observed=2), "generation 3 not observed yet"),
    ],
)
def test_short_of_the_plan_is_pending(
    kube: FakeKubeAPI, kubeconfig: Path, canary: dict[str, Any], message: str
) -> None:
    healthy(kube)
    kube.put(canary)
    result = check(kubeconfig)
    assert result.phase is Phase.PENDING
    assert f"{CANARY}: " in result.message and message in result.message


def test_a_deployment_not_created_yet_is_pending(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    kube.put(deployment(STABLE, 3))
    result = check(kubeconfig)
    assert result.phase is Phase.PENDING
    assert f"{CANARY}: not created yet" in result.message


def test_planned_zero_means_gone_or_scaled_to_zero(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    kube.put(deployment(CANARY, 4))
    plan = ((CANARY, 4), (STABLE, 0))
    assert check(kubeconfig, plan).phase is Phase.SUCCESSFUL  # the stable Deployment is gone
    kube.put(deployment(STABLE, 0))
    assert check(kubeconfig, plan).phase is Phase.SUCCESSFUL  # ... or scaled to zero
    kube.put(deployment(STABLE, 0, total=1, ready=0))
    draining = check(kubeconfig, plan)
    assert draining.phase is Phase.PENDING and "1 replicas (planned 0)" in draining.message


def test_restarts_over_the_limit_fail_even_before_ready(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    healthy(kube, canary_restarts=4)
    kube.put(deployment(CANARY, 1, ready=0))
    result = check(kubeconfig, restartLimit=3)
    assert result.phase is Phase.FAILED
    assert f"{CANARY}: 4 container restarts > restartLimit 3" in result.message
    assert check(kubeconfig, restartLimit=4).phase is Phase.PENDING


def test_the_default_restart_limit_is_three(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    healthy(kube, canary_restarts=3)
    assert check(kubeconfig).phase is Phase.SUCCESSFUL
    healthy(kube, canary_restarts=4)
    assert check(kubeconfig).phase is Phase.FAILED


def test_a_progress_deadline_exceeded_fails(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    healthy(kube)
    kube.put(deployment(CANARY, 1, ready=0, deadline_exceeded=True))
    result = check(kubeconfig)
    assert result.phase is Phase.FAILED
    assert "has timed out progressing" in result.message


def test_other_namespaces_do_not_count(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    healthy(kube)
    kube.put(pod(CANARY, 9, restarts=50, namespace="staging"))
    assert check(kubeconfig).phase is Phase.SUCCESSFUL


def test_a_step_without_deployments_is_an_error(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    result = check(kubeconfig, ())
    assert result.phase is Phase.ERROR
    assert "names no Deployments" in result.message
