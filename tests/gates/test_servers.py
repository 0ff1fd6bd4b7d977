"""The test servers themselves: the fake API's objects are real shapes, its selectors real semantics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from testkit.gateservers import merge_patch, selector_matches
from testkit.kubeobjects import application, git_repository, helm_release, kustomization

CRDS = {
    "Application": ("argo-cd/application-crd.yaml", "v1alpha1"),
    "Kustomization": ("flux/kustomize.toolkit.fluxcd.io_kustomizations.yaml", "v1"),
    "HelmRelease": ("flux/helm.toolkit.fluxcd.io_helmreleases.yaml", "v2"),
    "GitRepository": ("flux/source.toolkit.fluxcd.io_gitrepositories.yaml", "v1"),
}


def crd_schema(shared: Path, kind: str) -> dict[str, Any]:
    path, version = CRDS[kind]
    documents = [d for d in yaml.safe_load_all((shared / "crds" / path).read_text()) if d]
    crd = next(d for d in documents if d["spec"]["names"]["kind"] == kind)
    schema: dict[str, Any] = next(v for v in crd["spec"]["versions"] if v["name"] == version)["schema"][
        "openAPIV3Schema"
    ]
    return schema


@pytest.mark.parametrize(
    "obj",
    [
        application(),
        application(operation="Running", multi_source=True),
        application(operation=None),
        kustomization(),
        kustomization(stalled=True, applied=None),
        helm_release(),
        git_repository(),
    ],
)
def test_fixture_objects_match_the_real_crds(shared: Path, obj: dict[str, Any]) -> None:
    schema = crd_schema(shared, obj["kind"])
    jsonschema.Draft7Validator(schema).validate(obj)
    # and the parts the gates read are declared by the CRD, not invented here
    assert set(obj["status"]) <= set(schema["properties"]["status"]["properties"])


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ("app=podinfo,version=6.5.0", {"app": "podinfo", "version": "6.5.0"}, True),
        ("app=podinfo,version=6.5.0", {"app": "podinfo", "version": "6.4.0"}, False),
        ("app==podinfo", {"app": "podinfo"}, True),
        ("version!=6.5.0", {"version": "6.4.0"}, True),
        ("version!=6.5.0", {}, True),
        ("tier in (a,b)", {"tier": "b"}, True),
        ("tier notin (a,b)", {"tier": "b"}, False),
        ("canary", {"canary": ""}, True),
        ("!canary", {"canary": ""}, False),
        ("", {"anything": "x"}, True),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], matches: bool) -> None:
    assert selector_matches(selector, labels) is matches


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": {"b": 1, "c": 2}, "d": [1]}
    assert merge_patch(target, {"a": {"b": None, "e": 3}, "d": [2]}) == {"a": {"c": 2, "e": 3}, "d": [2]}
