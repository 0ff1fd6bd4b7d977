"""Reading the user's Kustomize base: one ``kubectl kustomize`` build, the facts the renderer needs."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from rollgen.errors import UsageError
from rollgen.render.userbase import Container, ObjectKind, ServicePort, parse_base, read_base
from rollgen.spec.helmsource import HelmSource
from rollgen.spec.model import Canary, KustomizeSource, Release
from testkit.tools import require_tool

RELEASE = Release(
    "podinfo",
    "prod",
    4,
    "ghcr.io/stefanprodan/podinfo",
    "6.4.0",
    "6.5.0",
    KustomizeSource("podinfo/kustomize"),
    "out",
    Canary(),
)


def test_reads_the_real_podinfo_base(shared: Path) -> None:
    require_tool("kubectl")
    base = read_base(shared, RELEASE)
    assert base.deployment == "podinfo"
    assert base.containers == (Container("podinfod", "ghcr.io/stefanprodan/podinfo:6.14.1"),)
    assert base.pod_labels == (("app", "podinfo"),)
    assert base.deployment_replicas is None
    assert (base.service, base.service_selector) == ("podinfo", (("app", "podinfo"),))
    assert base.service_ports == (ServicePort(9898, "http", "http", "TCP"), ServicePort(9999, "grpc", "grpc", "TCP"))
    assert base.autoscaler == "podinfo"
    assert (base.per_version, base.shared) == ((), ())


def test_sorts_other_objects_into_per_version_and_shared_kinds(tmp_path: Path, shared: Path) -> None:
    require_tool("kubectl")
    shutil.copytree(shared / "podinfo" / "kustomize", tmp_path / "base")
    (tmp_path / "base" / "more.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: podinfo}\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: podinfo}\nrules: []\n"
    )
    kustomization = tmp_path / "base" / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text() + "  - more.yaml\nconfigMapGenerator:\n  - name: env\n    literals: [A=1]\n"
    )
    base = read_base(tmp_path, dataclasses.replace(RELEASE, source=KustomizeSource("base")))
    assert base.per_version == (ObjectKind("v1", "ConfigMap"),)
    assert base.shared == (ObjectKind("rbac.authorization.k8s.io/v1", "Role"), ObjectKind("v1", "ServiceAccount"))
    assert ObjectKind("rbac.authorization.k8s.io/v1", "Role").target() == {
        "group": "rbac.authorization.k8s.io",
        "version": "v1",
        "kind": "Role",
    }


def test_a_broken_base_reports_kustomize_errors(tmp_path: Path) -> None:
    require_tool("kubectl")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    with pytest.raises(UsageError, match=r"kubectl kustomize base failed:\n.*missing\.yaml"):
        read_base(tmp_path, dataclasses.replace(RELEASE, source=KustomizeSource("base")))


def test_a_missing_base_or_a_helm_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not a directory"):
        read_base(tmp_path, dataclasses.replace(RELEASE, source=KustomizeSource("nowhere")))
    with pytest.raises(UsageError, match="Helm"):
        read_base(tmp_path, dataclasses.replace(RELEASE, source=HelmSource("chart")))


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: %s}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}
"""
SERVICE = "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {%s}}\n"
HPA = "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec: {scaleTargetRef: {kind: Deployment, name: %s}, maxReplicas: 3}\n"


@pytest.mark.parametrize(
    ("built", "message"),
    [
        (
            DEPLOYMENT % "web" + "---" + DEPLOYMENT % "api" + SERVICE % "app: web",
            "exactly one Deployment; it has 2 \\(web, api\\)",
        ),
        (DEPLOYMENT % "web", "exactly one Service; it has 0 \\(none\\)"),
        (
            DEPLOYMENT % "web" + SERVICE % "app: api",
            "Service web selects {'app': 'api'} but Deployment web's pods are labelled {'app': 'web'}",
        ),
        (DEPLOYMENT % "web" + SERVICE % "app: web" + HPA % "api", "HPA web scales Deployment api, not Deployment web"),
        (DEPLOYMENT % "web" + SERVICE % "app: web" + HPA % "web" + HPA % "web", "at most one HorizontalPodAutoscaler"),
    ],
)
def test_bases_rollgen_cannot_split_are_refused(built: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_base(built, "apps/web/base")
