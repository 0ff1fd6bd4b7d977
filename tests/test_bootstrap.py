"""``rollgen bootstrap``: the objects it writes pass Argo CD's and Flux's CRD schemas, build with the
real kustomize, point at every release's output and are written once (running again changes nothing)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgen.bootstrap import Settings, bootstrap_objects, files, parse_source_ref, write
from rollgen.errors import UsageError
from rollgen.spec.load import load_release
from rollgen.spec.model import Release
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
        assert app["spec"]["syncPolicy"]["syncOptions"] == ["CreateNamespace=true"]


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
        assert app["spec"]["syncPolicy"]["syncOptions"] == ["CreateNamespace=true"]
        assert app["spec"]["destination"]["namespace"] == "prod"


def generated(appset: dict[str, Any]) -> list[dict[str, Any]]:
    """The Applications the ApplicationSet's list generator makes: each element's values in the Go template."""
    (generator,) = appset["spec"]["generators"]
    text = json.dumps(appset["spec"]["template"])
    apps = []
    for element in generator["list"]["elements"]:
        filled = text
        for key, value in element.items():
            filled = filled.replace("{{ ." + key + " }}", value)
        assert "{{" not in filled, filled  # missingkey=error: every key the template reads is in each element
        apps.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **json.loads(filled)})
    return apps


def test_argocd_applicationset_generates_one_application_per_release(tmp_path: Path, shared: Path) -> None:
    done = bootstrap("argocd", *KUSTOMIZE_SPECS, "--applicationset", "--out", tmp_path / "set")
    assert done.returncode == 0, done.stderr
    (appset,) = built(tmp_path / "set")
    assert appset["spec"]["syncPolicy"] == {"preserveResourcesOnDeletion": True}
    apps = {a["metadata"]["name"]: a for a in generated(appset)}
    releases = {load_release(p).output_path: load_release(p) for p in KUSTOMIZE_SPECS}
    assert sorted(a["spec"]["source"]["path"] for a in apps.values()) == sorted(releases)
    # The canary's argocd gate watches web-prod: its element carries that name.
    assert apps["web-prod"]["spec"]["source"]["path"] == "examples/out/web-canary"
    for app in apps.values():
        _crd_validator(*CRDS["Application"]).validate(app)
        release = releases[app["spec"]["source"]["path"]]
        assert app["spec"]["destination"]["namespace"] == release.namespace
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert app["spec"]["syncPolicy"]["syncOptions"] == ["CreateNamespace=true"]


def test_flux_gitrepository_and_a_kustomization_or_helmrelease_per_release(tmp_path: Path, shared: Path) -> None:
    done = bootstrap(
        "flux", REPO_ROOT / "examples", "--out", tmp_path / "flux", "--revision", "prod", "--interval", "90"
    )
    assert done.returncode == 0, done.stderr
    objects = built(tmp_path / "flux")
    # 90 seconds, written as `flux create` writes an interval: Go's form, which the CRDs' pattern accepts.
    assert {o["spec"]["interval"] for o in objects} == {"1m30s"}
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


def releases_at(*outputs: str) -> list[Release]:
    """Releases named after their output's parent directory (web, api...), in namespace prod, without gates."""
    example = load_release(REPO_ROOT / "examples" / "rolling-update.yaml")
    return [dataclasses.replace(example, name=Path(out).parent.name, output_path=out, gates=()) for out in outputs]


@pytest.mark.parametrize(("engine", "applicationset"), [("argocd", False), ("argocd", True), ("flux", False)])
def test_releases_whose_outputs_share_a_base_name_get_distinct_objects(
    engine: str, applicationset: bool, shared: Path
) -> None:
    releases = releases_at("overlays/web/prod", "overlays/api/prod")
    settings = Settings(repo_url=REPO_URL, applicationset=applicationset)
    objects = bootstrap_objects(engine, releases, settings, REPO_ROOT)
    if applicationset:
        (appset,) = objects.values()
        apps = generated(appset)
    else:
        apps = [o for o in objects.values() if o["kind"] in ("Application", "Kustomization")]
    names = {a["metadata"]["name"]: a for a in apps}
    assert sorted(names) == ["overlays-api-prod", "overlays-web-prod"]
    for name, obj in names.items():
        path = obj["spec"]["source"]["path"] if engine == "argocd" else obj["spec"]["path"].removeprefix("./")
        assert name == path.replace("/", "-")
        path, version = CRDS[obj["kind"]]
        _crd_validator(path, version).validate(obj)


def test_outputs_that_differ_only_in_punctuation_are_refused_not_overwritten() -> None:
    releases = releases_at("overlays/web-prod/x", "overlays/web/prod-x")
    for engine, applicationset in (("argocd", False), ("argocd", True), ("flux", False)):
        settings = Settings(repo_url=REPO_URL, applicationset=applicationset)
        with pytest.raises(UsageError, match="overlays-web-prod-x"):
            bootstrap_objects(engine, releases, settings, REPO_ROOT)


def test_flux_private_repository_reads_its_credentials_from_a_secret(tmp_path: Path, shared: Path) -> None:
    done = bootstrap("flux", *KUSTOMIZE_SPECS[:2], "--out", tmp_path / "flux", "--secret-ref", "gitops-auth")
    assert done.returncode == 0, done.stderr
    (source,) = [o for o in built(tmp_path / "flux") if o["kind"] == "GitRepository"]
    assert source["spec"]["secretRef"] == {"name": "gitops-auth"}
    assert source["metadata"]["namespace"] == "flux-system"
    assert "gitops-auth" not in (tmp_path / "flux" / "kustomization.yaml").read_text()


@pytest.mark.parametrize(
    ("ref", "namespace", "expected"),
    [
        ("flux-system", None, {"kind": "GitRepository", "name": "flux-system"}),
        ("flux-system/flux-system", None, {"kind": "GitRepository", "name": "flux-system"}),
        ("infra/gitops", None, {"kind": "GitRepository", "name": "gitops", "namespace": "infra"}),
        ("infra/gitops", "infra", {"kind": "GitRepository", "name": "gitops"}),
        ("gitops", "infra", {"kind": "GitRepository", "name": "gitops"}),
    ],
)
def test_flux_source_ref_reuses_an_existing_gitrepository(
    tmp_path: Path, shared: Path, ref: str, namespace: str | None, expected: dict[str, str]
) -> None:
    """No GitRepository is written; a sourceRef names the namespace only when it is not the object's own."""
    releases = [load_release(p) for p in (*KUSTOMIZE_SPECS[:2], HELM_SPECS[0])]
    settings = Settings(repo_url=None, namespace=namespace, source_ref=parse_source_ref(ref))
    out = tmp_path / "flux"
    write(out, files(bootstrap_objects("flux", releases, settings, REPO_ROOT)))
    objects = built(out)
    assert "GitRepository" not in {o["kind"] for o in objects} and not (out / "gitrepository.yaml").exists()
    for kustomization in (o for o in objects if o["kind"] == "Kustomization"):
        assert kustomization["metadata"]["namespace"] == (namespace or "flux-system")
        assert kustomization["spec"]["sourceRef"] == expected
    (helm_release,) = [o for o in objects if o["kind"] == "HelmRelease"]
    # A HelmRelease lives in its release's namespace (prod): it always names the source's.
    source_namespace = expected.get("namespace", namespace or "flux-system")
    assert helm_release["metadata"]["namespace"] == "prod"
    assert helm_release["spec"]["chart"]["spec"]["sourceRef"] == {**expected, "namespace": source_namespace}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("argocd", "--repo-url", REPO_URL, "--secret-ref", "s"), "argocd.argoproj.io/secret-type: repository"),
        (("argocd", "--source-ref", "flux-system"), "--source-ref names a Flux GitRepository"),
        (("argocd",), "--repo-url is required"),
        (("flux",), "--repo-url is required"),
        (("flux", "--source-ref", "flux-system", "--repo-url", REPO_URL), "drop --repo-url"),
        (("flux", "--source-ref", "flux-system", "--secret-ref", "s"), "drop --repo-url and --secret-ref"),
        (("flux", "--source-ref", "a/b/c"), "give NAME or NAMESPACE/NAME"),
        (("flux", "--source-ref", "/b"), "give NAME or NAMESPACE/NAME"),
    ],
)
def test_options_that_would_be_dropped_are_refused(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = rollgen("bootstrap", args[0], str(KUSTOMIZE_SPECS[0]), "--out", str(tmp_path / "o"), *args[1:])
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "o").exists()


def test_running_again_with_every_option_changes_nothing(tmp_path: Path, shared: Path) -> None:
    runs = {
        "argocd": ("argocd", "--applicationset", "--repo-url", REPO_URL),
        "flux": ("flux", "--repo-url", REPO_URL, "--secret-ref", "gitops-auth"),
        "flux-reused": ("flux", "--source-ref", "infra/gitops"),
    }
    for out, (engine, *options) in runs.items():
        argv = (
            "bootstrap",
            engine,
            *map(str, KUSTOMIZE_SPECS),
            *map(str, HELM_SPECS[:1]),
            "--out",
            str(tmp_path / out),
        )
        assert rollgen(*argv, *options).returncode == 0
        before = {p.name: p.read_bytes() for p in (tmp_path / out).iterdir()}
        again = rollgen(*argv, *options)
        assert again.returncode == 0 and "no file(s) changed" in again.stderr, again.stderr
        assert {p.name: p.read_bytes() for p in (tmp_path / out).iterdir()} == before
    # Switching to a reused source removes the GitRepository bootstrap wrote, and only that.
    argv = ("bootstrap", "flux", *map(str, KUSTOMIZE_SPECS), "--out", str(tmp_path / "flux"))
    switched = rollgen(*argv, "--source-ref", "flux-system")
    assert switched.returncode == 0 and not (tmp_path / "flux" / "gitrepository.yaml").exists()
    assert "gitrepository.yaml" not in (tmp_path / "flux" / "kustomization.yaml").read_text()


def test_a_long_output_path_gets_a_short_unique_name() -> None:
    deep = "clusters/production-eu-west-1/teams/payments/apps/checkout-service/overlays/{}"
    releases = releases_at(deep.format("prod"), deep.format("prod-canary"))
    objects = bootstrap_objects("flux", releases, Settings(repo_url=REPO_URL), REPO_ROOT)
    names = [o["metadata"]["name"] for o in objects.values() if o["kind"] == "Kustomization"]
    assert len(set(names)) == 2 and all(len(n) <= 63 and n[-1].isalnum() for n in names)
    assert files(objects) == files(bootstrap_objects("flux", releases, Settings(repo_url=REPO_URL), REPO_ROOT))


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
