"""Each gate's declared ACCESS is exactly what it does through the API (the chart's RBAC is built from it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from rollgen.gates import argocd, flux, kubernetes
from rollgen.gates.analysis import Phase
from rollgen.gates.kind import GateError
from rollgen.gates.kube import Access, connect
from rollgen.gates.registry import measure
from testkit.gates import OLD_COMMIT, context, gate
from testkit.gateservers import FakeKubeAPI
from testkit.kubeobjects import application, deployment, git_repository, helm_release, kustomization, pod

_PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)/namespaces/[^/]+/(?P<resource>[^/]+)(?P<named>/[^/]+)?$")


def accessed(requests: list[tuple[str, str]]) -> set[Access]:
    """The RBAC permissions the recorded API requests needed."""
    found = set()
    for method, path in requests:
        match = _PATH.match(path.split("?")[0])
        assert match, path
        verb = {"GET": "get" if match["named"] else "list", "PATCH": "patch"}[method]
        found.add(Access(match["group"] or "", match["resource"], verb))
    return found


def run(gate_kind: str, kube: FakeKubeAPI, kubeconfig: Path, deployments: Any = (), **config: Any) -> Any:
    return measure(gate(gate_kind, {"kubeconfig": str(kubeconfig), **config}), context(deployments=deployments))


def test_argocd(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    kube.put(application(revision=OLD_COMMIT))
    run("argocd", kube, kubeconfig, application="podinfo-prod")
    assert accessed(kube.requests) == argocd.ACCESS
    kube.requests.clear()
    run("argocd", kube, kubeconfig, application="podinfo-prod", refresh=True)
    assert accessed(kube.requests) == argocd.ACCESS | argocd.REFRESH_ACCESS


@pytest.mark.parametrize("obj", [kustomization(applied=OLD_COMMIT), helm_release(chart_version="6.4.0+0123456789ab")])
def test_flux(kube: FakeKubeAPI, kubeconfig: Path, obj: dict[str, Any]) -> None:
    kube.put(obj, git_repository())
    name, kind = obj["metadata"]["name"], obj["kind"]
    run("flux", kube, kubeconfig, name=name, kind=kind)
    (plain,) = accessed(kube.requests)
    assert plain in flux.ACCESS and plain.verb == "get"
    kube.requests.clear()
    run("flux", kube, kubeconfig, name=name, kind=kind, reconcile=True)
    assert accessed(kube.requests) <= flux.ACCESS | flux.RECONCILE_ACCESS
    assert {a.resource for a in accessed(kube.requests) if a.verb == "patch"} == {plain.resource, "gitrepositories"}


def test_kubernetes(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    kube.put(deployment("podinfo-6-5-0", 1), pod("podinfo-6-5-0", 0))
    assert run("kubernetes", kube, kubeconfig, deployments=(("podinfo-6-5-0", 1),)).phase is Phase.SUCCESSFUL
    assert accessed(kube.requests) == kubernetes.ACCESS


def test_a_call_outside_the_declared_access_is_refused_before_any_request(kube: FakeKubeAPI, kubeconfig: Path) -> None:
    kube.put(deployment("podinfo-6-5-0", 1))
    config = {"kubeconfig": str(kubeconfig), "timeout": 5.0}
    with connect(config, argocd.ACCESS) as client, pytest.raises(GateError, match="not in the gate's declared ACCESS"):
        client.deployment("prod", "podinfo-6-5-0")
    assert kube.requests == []
