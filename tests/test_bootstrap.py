"""``rollgen bootstrap``: the objects it writes pass Argo CD's and Flux's CRD schemas, build with the
real kustomize, point at every release's output and are written once (running again changes nothing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgen.spec import load_release
from testkit.built import _crd_validator, kustomize_build, of_kind
from testkit.cli import rollgen
from testkit.tools import REPO_ROOT

CRDS = {
    "Application": ("crds/argo-cd/application-crd.yaml", "v1alpha1"),
    "ApplicationSet": ("crds/argo-cd/applicationset-crd.yaml", "v1alpha1"),
    "GitRepository": ("crds/flux/source.toolkit.fluxcd.io_gitrepositories.yaml", "v1"),
    "Kustomization": ("crds/flux/kustomize.toolkit.fluxcd.io_kustomizations.yaml", "v1"),
    "HelmRelease": ("crds/flux/helm.toolkit.fluxcd.io_helmreleases.yaml", "v2"),
}
REPO_URL = "https://git.example.com/platform/gitops.git"
KUSTOMIZE_SPECS = sorted((REPO_ROOT / "examples").glob("*.yaml"))
HELM_SPECS = sorted((REPO_ROOT / "examples" / "helm").glob("*.yaml"))


def bootstrap(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return rollgen("bootstrap", *map(str, args), "--repo-url", REPO_URL)


def built(out: Path) -> list[dict[str, Any]]:
    """The directory as the cluster receives it: built by kustomize, each object checked against its CRD."""
    objects = kustomize_build(out)
    for obj in objects:
        path, version = CRDS[obj["kind"]]
        assert obj["apiVersion"].endswith("/" + version)
        _crd_validator(path, version).validate(obj)
    return objects


def test_argocd_application_per_release_syncs_each_output(tmp_path: Path, shared: Path) -> None:
    done = bootstrap("argocd", REPO_ROOT / "examples", "--out", tmp_path / "argocd")  # a directory: its specs
    assert done.returncode == 2 and "already written for another release" in done.stderr  # helm/ shares names
    done = bootstrap("argocd", *KUSTOMIZE_SPECS, "--out", tmp_path / "argocd", "--revision", "prod")
    assert done.returncode == 0, done.stderr
    apps = {a["metadata"]["name"]: a for a in built(tmp_path / "argocd")}
    releases = [load_release(p) for p in KUSTOMIZE_SPECS]
    assert {a["spec"]["source"]["path"] for a in apps.values()} == {r.output_path for r in releases}
    # The canary's argocd gate watches web-prod: bootstrap names its Application so.
    assert apps["web-prod"]["spec"]["source"]["path"] == load_release(REPO_ROOT / "examples/canary.yaml").output_path
    for app in apps.values():
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert app["spec"]["source"]["repoURL"] == REPO_URL and app["spec"]["source"]["targetRevision"] == "prod"
        namespace = {r.output_path: r.namespace for r in releases}[app["spec"]["source"]["path"]]
        assert app["spec"]["destination"]["namespace"] == namespace


def test_argocd_helm_releases_reuse_the_rendered_application(tmp_path: Path, shared: Path) -> None:
    done = bootstrap("argocd", *HELM_SPECS, "--out", tmp_path / "helm")
    assert done.returncode == 0, done.stderr
    apps = built(tmp_path / "helm")
    assert len(apps) == len(HELM_SPECS)
    for app in apps:
        chart, values = app["spec"]["sources"]
        assert chart["path"] == "charts/rollgen-app" and values == {
            "repoURL": REPO_URL,
            "targetRevision": "main",
            "ref": "values",
        }
        assert chart["helm"]["valueFiles"][-1].endswith("/step-values.yaml")
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}


def test_argocd_applicationset_lists_every_output_directory(tmp_path: Path, shared: Path) -> None:
    specs = [p for p in KUSTOMIZE_SPECS if p.name != "canary.yaml"]  # its gate names web-prod, not web-canary
    done = bootstrap("argocd", *specs, "--applicationset", "--out", tmp_path / "set")
    assert done.returncode == 0, done.stderr
    (appset,) = built(tmp_path / "set")
    (generator,) = appset["spec"]["generators"]
    paths = [d["path"] for d in generator["git"]["directories"]]
    assert sorted(paths) == sorted(load_release(p).output_path for p in specs)
    assert appset["spec"]["template"]["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    refused = bootstrap("argocd", *KUSTOMIZE_SPECS, "--applicationset", "--out", tmp_path / "set2")
    assert refused.returncode == 2 and "watches web-prod" in refused.stderr


def test_flux_gitrepository_and_a_kustomization_or_helmrelease_per_release(tmp_path: Path, shared: Path) -> None:
    done = bootstrap("flux", REPO_ROOT / "examples", "--out", tmp_path / "flux", "--revision", "prod")
    assert done.returncode == 0, done.stderr
    objects = built(tmp_path / "flux")
    (source,) = [o for o in objects if o["kind"] == "GitRepository"]
    assert source["spec"]["url"] == REPO_URL and source["spec"]["ref"] == {"branch": "prod"}
    kustomizations = [o for o in objects if o["kind"] == "Kustomization"]
    assert sorted(k["spec"]["path"] for k in kustomizations) == sorted(
        "./" + load_release(p).output_path for p in KUSTOMIZE_SPECS
    )
    for k in kustomizations:
        assert k["spec"]["prune"] is True and k["spec"]["wait"] is True
        assert k["spec"]["sourceRef"] == {"kind": "GitRepository", "name": source["metadata"]["name"]}
    helm_releases = [o for o in objects if o["kind"] == "HelmRelease"]
    assert len(helm_releases) == len(HELM_SPECS)
    for release in helm_releases:
        assert release["spec"]["chart"]["spec"]["sourceRef"]["name"] == source["metadata"]["name"]


def test_running_again_changes_nothing_and_stale_files_go(tmp_path: Path, shared: Path) -> None:
    out = tmp_path / "flux"
    assert bootstrap("flux", *KUSTOMIZE_SPECS, "--out", out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = bootstrap("flux", *KUSTOMIZE_SPECS, "--out", out)
    assert again.returncode == 0 and "no file(s) changed" in again.stderr and "wrote" not in again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    (out / "notes.yaml").write_text("mine: true\n")  # not bootstrap's: kept
    fewer = bootstrap("flux", *KUSTOMIZE_SPECS[:2], "--out", out)
    assert fewer.returncode == 0
    assert len(list(out.glob("*.kustomization.yaml"))) == 2 and (out / "notes.yaml").exists()


@pytest.mark.parametrize("engine", ["argocd", "flux"])
def test_bad_input_exits_by_the_contract(tmp_path: Path, engine: str) -> None:
    """No spec at all is a usage error (2); an invalid spec is "not so" (1), with its positions."""
    (tmp_path / "empty").mkdir()
    done = bootstrap(engine, tmp_path / "empty", "--out", tmp_path / "o")
    assert done.returncode == 2 and "no release spec" in done.stderr
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"apiVersion": "rollgen.io/v1alpha1", "kind": "Release"}))
    done = bootstrap(engine, tmp_path / "bad.yaml", "--out", tmp_path / "o")
    assert done.returncode == 1 and "bad.yaml:" in done.stderr and "Traceback" not in done.stderr


def test_each_object_points_at_a_directory_that_builds(tmp_path: Path, shared: Path) -> None:
    """In a repository holding the releases' state before their rollouts, every path the engine is told to
    apply builds with kustomize into the release's Deployments."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "examples", repo / "examples")
    specs = [Path("examples") / p.name for p in KUSTOMIZE_SPECS]
    for spec in specs:
        release = load_release(repo / spec)
        done = rollgen("render", str(spec), "--step", "0", "--out", release.output_path, cwd=repo)
        assert done.returncode == 0, done.stderr
    for engine, key in (("argocd", ("source", "path")), ("flux", ("path",))):
        out = f"clusters/{engine}"
        done = rollgen("bootstrap", engine, *map(str, specs), "--repo-url", REPO_URL, "--out", out, cwd=repo)
        assert done.returncode == 0, done.stderr
        paths = []
        for obj in built(repo / "clusters" / engine):
            if obj["kind"] in ("Application", "Kustomization"):
                spec = obj["spec"]
                paths.append(spec[key[0]][key[1]] if len(key) == 2 else spec[key[0]])
        assert len(paths) == len(specs)
        for path in paths:
            deployments = of_kind(kustomize_build(repo / path), "Deployment")
            assert len(deployments) == 1 and all(d["spec"]["replicas"] >= 1 for d in deployments.values())


@pytest.mark.parametrize("engine", ["argocd", "flux"])
def test_a_chart_from_a_repository_is_applied_as_its_output_directory(
    tmp_path: Path, shared: Path, engine: str
) -> None:
    spec = REPO_ROOT / "tests" / "spec" / "valid" / "helm-remote-chart.yaml"
    done = bootstrap(engine, spec, "--out", tmp_path / engine)
    assert done.returncode == 0, done.stderr
    (applied,) = [o for o in built(tmp_path / engine) if o["kind"] in ("Application", "Kustomization")]
    path = applied["spec"]["path"] if engine == "flux" else applied["spec"]["source"]["path"]
    assert path.removeprefix("./") == load_release(spec).output_path
