"""Taking over a Helm release as teams run it: ``rollgen import`` then ``rollgen adopt``, with real tools only.

flux2-kustomize-helm-example's production podinfo (a HelmRelease, its
HelmRepository pointed at a loopback Helm repository serving podinfo's chart
packaged by real Helm, and the environment's Kustomize patch of the values)
is imported through the CLI, validated, adopted with its Helm release name
and namespace kept (what Helm installs before and after is the same, object
for object), then a chart upgrade is rolled out and aborted, the output
coming back byte for byte. An Argo CD Application (a Helm chart with
``$values`` files, ``valuesObject`` and parameters) and a HelmRelease from an
OCIRepository (Debian's docker-registry) import the same way.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgen.gitops.repo import Repo
from rollgen.rollout import operations as rollout
from rollgen.rollout.state import RolloutPhase, plan_for
from rollgen.spec.load import load_release
from testkit import cli
from testkit.built import Obj, assert_transition_within_bounds, kustomize_build, of_kind, pods_selected
from testkit.chartrepos import chart_repository, package_podinfo, push_oci
from testkit.git import git, init_repo
from testkit.helmreleases import installed, render, validate_gitops
from testkit.registryservers import docker_registry
from testkit.tools import shared_data

IMAGE = "ghcr.io/stefanprodan/podinfo"
SPEC = "releases/podinfo/release.yaml"


def rollgen(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli.rollgen(*args, cwd=repo)


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def flux_example(tmp_path: Path, url: str) -> Path:
    """The example repository with its HelmRepository pointed at ``url``, committed on main."""
    repo = tmp_path / "gitops"
    shutil.copytree(shared_data() / "flux2-kustomize-helm-example", repo, ignore=shutil.ignore_patterns(".git"))
    source = repo / "apps" / "base" / "podinfo" / "repository.yaml"
    source.write_text(source.read_text().replace("https://stefanprodan.github.io/podinfo", url))
    init_repo(repo)
    commit_all(repo, "the example, its chart repository on loopback")
    return repo


def app_deployments(objects: list[Obj]) -> list[Obj]:
    """The Deployments that run podinfo itself (each release also runs its own redis)."""
    return [
        o
        for o in objects
        if o["kind"] == "Deployment" and o["spec"]["template"]["spec"]["containers"][0]["image"].startswith(IMAGE)
    ]


def canonical(objects: list[Obj]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objects)


def test_flux_example_is_imported_adopted_with_its_release_kept_and_a_chart_upgrade_aborts_byte_for_byte(
    helm: Any, tmp_path: Path
) -> None:
    charts = package_podinfo(helm, tmp_path / "charts", ["6.14.1"])
    with chart_repository(helm, charts) as served:
        repo = flux_example(tmp_path, served.url)
        running = kustomize_build(repo / "apps" / "production")
        (release_object,) = of_kind(running, "HelmRelease").values()

        done = rollgen(repo, "import", "apps/production", "--out", "releases/podinfo")
        assert done.returncode == 0, done.stderr
        assert "chart version >=1.0.0 is pinned to 6.14.1" in done.stdout
        # The values as Flux hands them to Helm: the base's, with production's Kustomize patch merged.
        values = yaml.safe_load((repo / "releases" / "podinfo" / "values.yaml").read_text())
        assert values == release_object["spec"]["values"]
        assert values["httpRoute"]["hostnames"] == ["podinfo.production"]
        checked = rollgen(repo, "validate", SPEC)
        assert checked.returncode == 0, checked.stdout
        commit_all(repo, "import podinfo")

        adopted_run = rollgen(repo, "adopt", SPEC)
        assert adopted_run.returncode == 0, adopted_run.stderr
        assert "Helm release podinfo/podinfo keeps its name and namespace" in adopted_run.stdout
        adopted = kustomize_build(repo / "apps" / "production")
        validate_gitops(adopted)
        (helm_release,) = of_kind(adopted, "HelmRelease").values()
        kept = (
            helm_release["metadata"]["name"],
            helm_release["metadata"]["namespace"],
            helm_release["spec"]["releaseName"],
        )
        assert kept == ("podinfo", "podinfo", "podinfo")
        assert of_kind(adopted, "Namespace") == of_kind(running, "Namespace")  # Flux prunes nothing
        assert set(of_kind(adopted, "HelmRepository")) == {"podinfo"}
        # What Helm installs after adoption is what it installed before: an upgrade in place that changes nothing.
        archive = next(charts.glob("podinfo-6.14.1.tgz"))
        before = render(helm, archive, release_object["spec"]["values"], "podinfo", "podinfo")
        assert canonical(installed(helm, adopted, tmp_path)) == canonical(
            [*before, *of_kind(running, "Namespace").values()]
        )
        adopted_tree = git(repo, "rev-parse", "HEAD:apps/production")

        # podinfo publishes chart 6.15.0: the spec pins it, a new revision of the same image version.
        package_podinfo(helm, charts, ["6.15.0"])
        helm.repo_index_generate(str(charts), base_url=served.url)
        spec = repo / SPEC
        spec.write_text(spec.read_text().replace("      version: 6.14.1\n", "      version: 6.15.0\n"))
        commit_all(repo, "podinfo chart 6.15.0")
        release = load_release(spec)
        gitops = Repo.open(repo)
        state = rollout.start(gitops, release).state
        assert state is not None
        new = state.to_label
        assert new.startswith("6.14.1-") and state.from_label == "6.14.1"
        plan = plan_for(release, state.from_label, new)[1]
        assert [s.action for s in plan.steps] == ["preview", "switch", "cleanup"]
        previous = installed(helm, adopted, tmp_path)
        for index in range(1, len(plan.steps)):
            git(repo, "reset", "-q", "--hard")  # the rollout commits to main; the work tree follows it
            built = kustomize_build(repo / "apps" / "production")
            validate_gitops(built)
            objects = installed(helm, built, tmp_path)
            charts_run = {
                d["metadata"]["name"]: d["metadata"]["labels"]["helm.sh/chart"] for d in app_deployments(objects)
            }
            step = plan.steps[index - 1].state
            assert charts_run == {
                "podinfo"
                if w.version == "6.14.1"
                else w.name: f"podinfo-{'6.14.1' if w.version == '6.14.1' else '6.15.0'}"
                for w in step.workloads
            }
            deployments = {d["metadata"]["name"]: d for d in app_deployments(objects)}
            # Each release keeps the chart's Service, on its own pods only (perVersion.service is left out).
            for name in deployments:
                service = of_kind(objects, "Service")[name]
                assert pods_selected(service["spec"]["selector"], deployments) == {name}
            assert_transition_within_bounds(plan, app_deployments(previous), app_deployments(objects), f"step {index}")
            previous = objects
            rollout.promote(gitops, release)
        for _ in range(len(plan.steps) + 2):
            outcome = rollout.abort(gitops, release)
            assert outcome.state is not None
            if outcome.state.phase is RolloutPhase.ABORTED:
                break
        else:
            pytest.fail("the abort never finished")
        assert git(repo, "rev-parse", "HEAD:apps/production") == adopted_tree


def test_an_argo_cd_application_imports_with_its_values_merged_as_argo_cd_merges_them(
    helm: Any, tmp_path: Path
) -> None:
    charts = package_podinfo(helm, tmp_path / "charts", ["6.14.1"])
    with chart_repository(helm, charts) as served:
        repo = tmp_path / "gitops"
        (repo / "argocd").mkdir(parents=True)
        (repo / "values").mkdir()
        (repo / "values" / "base.yaml").write_text("ui: {message: base, color: '#000000'}\nreplicaCount: 3\n")
        (repo / "values" / "prod.yaml").write_text("ui: {message: prod}\n")
        application = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "podinfo", "namespace": "argocd"},
            "spec": {
                "project": "default",
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "prod"},
                "sources": [
                    {
                        "repoURL": served.url,
                        "chart": "podinfo",
                        "targetRevision": "6.14.1",
                        "helm": {
                            "valueFiles": ["$values/values/base.yaml", "$values/values/prod.yaml"],
                            "valuesObject": {"ui": {"logo": "x.svg"}},
                            "parameters": [
                                {"name": "faults.delay", "value": "true"},
                                {"name": "logLevel", "value": "7", "forceString": True},
                            ],
                        },
                    },
                    {"repoURL": "https://git.example/gitops.git", "targetRevision": "main", "ref": "values"},
                ],
                "syncPolicy": {"automated": {"prune": True}},
            },
        }
        (repo / "argocd" / "podinfo.yaml").write_text(yaml.safe_dump(application))
        init_repo(repo)
        commit_all(repo, "podinfo as an Argo CD Application")
        done = rollgen(repo, "import", "argocd/podinfo.yaml", "--out", "releases/podinfo", "--output-path", "argocd")
        assert done.returncode == 0, done.stderr
        values = yaml.safe_load((repo / "releases" / "podinfo" / "values.yaml").read_text())
        assert values == {
            "ui": {"message": "prod", "color": "#000000", "logo": "x.svg"},
            "replicaCount": 3,
            "faults": {"delay": True},
            "logLevel": "7",
        }
        assert rollgen(repo, "validate", SPEC).returncode == 0
        release = load_release(repo / SPEC)
        assert (release.replicas, release.namespace, release.source.argocd) == (3, "prod", release.source.argocd)  # type: ignore[union-attr]
        commit_all(repo, "import podinfo")
        adopted = rollgen(repo, "adopt", SPEC)
        assert adopted.returncode == 0, adopted.stderr
        built = kustomize_build(repo / "argocd")
        validate_gitops(built)
        (app,) = of_kind(built, "Application").values()
        assert (app["metadata"]["name"], app["metadata"]["namespace"]) == ("podinfo", "argocd")
        archive = next(charts.glob("podinfo-6.14.1.tgz"))
        before = render(helm, archive, values, "podinfo", "prod")
        assert canonical(installed(helm, built, tmp_path)) == canonical(before)


def test_a_helm_release_from_an_oci_repository_imports_and_validates(helm: Any, tmp_path: Path) -> None:
    charts = package_podinfo(helm, tmp_path / "charts", ["6.14.1", "6.15.0"])
    with docker_registry(tmp_path / "registry") as registry:
        remote = push_oci(helm, registry, charts)
        repo = tmp_path / "gitops"
        (repo / "apps").mkdir(parents=True)
        objects = [
            {
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "OCIRepository",
                "metadata": {"name": "podinfo", "namespace": "podinfo"},
                "spec": {"interval": "5m", "url": f"{remote}/podinfo", "ref": {"semver": "6.14.x || <6.15.0"}},
            },
            {
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "metadata": {"name": "podinfo", "namespace": "podinfo"},
                "spec": {
                    "interval": "10m",
                    "chartRef": {"kind": "OCIRepository", "name": "podinfo"},
                    "values": {"replicaCount": 2},
                },
            },
        ]
        (repo / "apps" / "podinfo.yaml").write_text(yaml.safe_dump_all(objects))
        init_repo(repo)
        commit_all(repo, "podinfo from OCI")
        # Masterminds' range, as Flux reads it: 6.14.x or anything below 6.15.0, pinned to the newest published.
        done = rollgen(repo, "import", "apps/podinfo.yaml", "--out", "releases/p2", "--output-path", "apps/prod")
        assert done.returncode == 0, done.stderr
        assert "chart version 6.14.x || <6.15.0 is pinned to 6.14.1" in done.stdout
        spec = yaml.safe_load((repo / "releases" / "p2" / "release.yaml").read_text())["spec"]
        assert spec["source"]["helm"]["repository"] == remote and spec["source"]["helm"]["version"] == "6.14.1"
        assert spec["replicas"] == 2
        assert rollgen(repo, "validate", "releases/p2/release.yaml").returncode == 0


def test_a_helm_release_whose_object_and_release_names_differ_is_refused(helm: Any, tmp_path: Path) -> None:
    charts = package_podinfo(helm, tmp_path / "charts", ["6.14.1"])
    with chart_repository(helm, charts) as served:
        repo = flux_example(tmp_path, served.url)
        release = repo / "apps" / "base" / "podinfo" / "release.yaml"
        release.write_text(release.read_text().replace("releaseName: podinfo", "releaseName: web"))
        done = rollgen(repo, "import", "apps/production", "--out", "releases/podinfo")
        assert done.returncode == 1
        assert "HelmRelease podinfo installs the Helm release web" in done.stdout
        assert not (repo / "releases").exists()
