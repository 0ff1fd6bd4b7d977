"""The Helm renderer and charts/rollgen-app, proved with real Helm (helm-python-sdk embeds Helm 4).

Every state of every Helm example (each step and every abort path) is
rendered to values, templated by Helm with exactly the values files the Argo
CD Application lists, validated (Kubernetes 1.30, Istio, Gateway API, Argo CD
and Flux CRDs) and compared with the plan; the same spec through the
Kustomize path builds the same workloads. podinfo's own chart runs one
release per version.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgen.errors import UsageError
from rollgen.plan.model import State
from rollgen.plan.steps import plan_release
from rollgen.render import helm as helm_module
from rollgen.render import kustomize
from rollgen.render.helm import read_chart, render_state
from rollgen.render.revision import Revision
from rollgen.render.userbase import read_base
from rollgen.spec.helmsource import ArgoCDTarget, HelmSource, PerVersionKeys
from rollgen.spec.load import load_release
from rollgen.spec.model import BlueGreen, Canary, KustomizeSource, Release
from testkit.built import (
    Obj,
    _crd_validator,
    _route_weights,
    assert_deployment_strategies,
    assert_matches_state,
    every_state,
    kustomize_build,
    of_kind,
    pods_selected,
    validate,
    write_files,
)
from testkit.helm import applied, merge, template
from testkit.tools import REPO_ROOT, shared_data

EXAMPLES = sorted((REPO_ROOT / "examples" / "helm").glob("*.yaml"))
CHART = REPO_ROOT / "charts" / "rollgen-app"
GITOPS_CRDS = {
    "Application": ("crds/argo-cd/application-crd.yaml", "v1alpha1"),
    "HelmRelease": ("crds/flux/helm.toolkit.fluxcd.io_helmreleases.yaml", "v2"),
}


def validate_gitops(files: dict[str, bytes], release: Release) -> None:
    """The Application and HelmRelease objects against Argo CD's and Flux's CRDs, each naming real values files."""
    for name in ("application.yaml", "helmrelease.yaml"):
        for obj in yaml.safe_load_all(files[name]):
            path, version = GITOPS_CRDS[obj["kind"]]
            _crd_validator(path, version).validate(obj)
    for obj in yaml.safe_load_all(files["helmrelease.yaml"]):
        for path in obj["spec"]["chart"]["spec"]["valuesFiles"]:
            assert path.startswith("./")


def render_in(repo: Path, release: Release, state: State, number: int) -> tuple[Release, dict[str, bytes]]:
    where = dataclasses.replace(release, output_path=f"out/state-{number}")
    files = render_state(where, state, read_chart(repo, where))
    write_files(repo / where.output_path, files)
    return where, files


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A GitOps repository with the chart and the examples' values (copied: rendered files are written beside them)."""
    shutil.copytree(CHART, tmp_path / "charts" / "rollgen-app")
    shutil.copytree(REPO_ROOT / "examples" / "helm" / "values", tmp_path / "examples" / "helm" / "values")
    shutil.copytree(REPO_ROOT / "examples" / "apps", tmp_path / "examples" / "apps")
    return tmp_path


def test_chart_lints_clean_with_defaults_and_example_values(helm: Any) -> None:
    example = yaml.safe_load((REPO_ROOT / "examples" / "helm" / "values" / "web.yaml").read_text())
    values = {
        **example,
        "image": {"repository": "ghcr.io/example/web"},
        "versions": [{"version": "1.0.0", "name": "web-1-0-0", "replicas": 2}],
    }
    for given in (None, values):
        report = helm.lint(str(CHART), given, strict=True, kube_version="v1.30.0")
        assert report["errors"] == []
        assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize(
    "bad",
    [
        {"versions": [{"version": "1.0.0", "name": "web-1-0-0", "replicas": -1}]},
        {"versions": [{"version": "1.0.0", "name": "Web", "replicas": 1}]},
        {"traffic": {"weights": [], "istio": {"hosts": []}, "gatewayAPI": {"parentRefs": [{"name": "gw"}]}}},
        {"service": {"version": "1.0.0", "ports": []}},
        {"replicas": 3},
    ],
)
def test_chart_schema_rejects_bad_values(helm: Any, bad: dict[str, Any]) -> None:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError):
        chart.validate_schema(merge(chart.values, bad))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_state_of_every_helm_example_renders_and_matches_the_plan(helm: Any, repo: Path, example: Path) -> None:
    release = load_release(example)
    base = read_base(REPO_ROOT, dataclasses.replace(release, source=KustomizeSource("examples/apps/web/base")))
    autoscaling = yaml.safe_load((REPO_ROOT / "examples" / "helm" / "values" / "web.yaml").read_text())["autoscaling"]
    hpa = {k: autoscaling[k] for k in ("minReplicas", "maxReplicas")}
    plan = plan_release(release)
    states = list(dict.fromkeys(every_state(plan)))
    assert len(states) > 2
    for number, state in enumerate(states):
        where, files = render_in(repo, release, state, number)
        validate_gitops(files, where)
        objects = template(helm, repo, files)
        validate(objects)
        assert_matches_state(release, state, base, objects, hpa)
        assert_deployment_strategies(plan, objects)
        assert len(of_kind(objects, "PodDisruptionBudget")) == 1


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_steps_are_deterministic_and_touch_only_step_values(repo: Path, example: Path) -> None:
    release = load_release(example)
    chart = read_chart(repo, release)
    plan = plan_release(release)
    rendered = [render_state(release, step.state, chart) for step in plan.steps]
    assert rendered == [render_state(release, step.state, chart) for step in plan.steps]
    for before, after in itertools.pairwise(rendered):
        assert {p for p in after if after[p] != before.get(p)} <= {"step-values.yaml"}


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_helm_and_kustomize_paths_build_the_same_workloads(helm: Any, repo: Path, example: Path) -> None:
    helm_release = load_release(example)
    kustomize_release = dataclasses.replace(helm_release, source=KustomizeSource("examples/apps/web/base"))
    # The Kustomize base has no HPA: the Helm side runs without autoscaling too, so counts compare directly.
    values = repo / "examples" / "helm" / "values" / "web.yaml"
    values.write_text(yaml.safe_dump({**yaml.safe_load(values.read_text()), "autoscaling": None}))
    base = read_base(REPO_ROOT, kustomize_release)
    for number, state in enumerate(dict.fromkeys(every_state(plan_release(helm_release)))):
        _, files = render_in(repo, helm_release, state, number)
        from_helm = template(helm, repo, files)
        overlay = repo / "k" / f"state-{number}"
        where = dataclasses.replace(kustomize_release, output_path=str(overlay.relative_to(repo)))
        write_files(overlay, kustomize.render_overlay(where, state, base))
        from_kustomize = kustomize_build(overlay)
        assert workloads(from_helm) == workloads(from_kustomize)


def workloads(objects: list[Obj]) -> dict[str, Any]:
    """What serves traffic: Deployments (replicas, selector, pod labels), who each Service selects, route weights."""
    deployments = of_kind(objects, "Deployment")
    services = of_kind(objects, "Service")
    return {
        "deployments": {
            name: (
                d["spec"]["replicas"],
                d["spec"]["selector"]["matchLabels"],
                d["spec"]["template"]["metadata"]["labels"],
            )
            for name, d in deployments.items()
        },
        "services": {name: sorted(pods_selected(s["spec"]["selector"], deployments)) for name, s in services.items()},
        "weights": _route_weights(objects, services, deployments),
    }


# A user's own chart: podinfo's, read in place. Its pods carry app.kubernetes.io/name=<fullname>
# only (no podLabels key), so rollgen runs one release per version and moves the Service.
PODINFO_KEYS = PerVersionKeys(
    name="fullnameOverride", image_tag="image.tag", replicas="replicaCount", service="service.enabled"
)


def podinfo_release(strategy: BlueGreen | Canary) -> Release:
    source = HelmSource(
        "podinfo/charts/podinfo", argocd=ArgoCDTarget("https://github.com/example/gitops.git"), per_version=PODINFO_KEYS
    )
    return Release("podinfo", "prod", 3, "ghcr.io/stefanprodan/podinfo", "6.4.0", "6.5.0", source, "out", strategy)


def test_podinfo_chart_runs_one_release_per_version_with_the_service_in_one(helm: Any, tmp_path: Path) -> None:
    shared = shared_data()
    release = podinfo_release(BlueGreen(auto_promotion_enabled=False))
    chart = read_chart(shared, release)
    for state in dict.fromkeys(every_state(plan_release(release))):
        files = render_state(release, state, chart)
        write_files(tmp_path / "out", files)
        for app in yaml.safe_load_all(files["application.yaml"]):
            _crd_validator(*GITOPS_CRDS["Application"]).validate(app)
        objects: list[Obj] = []
        for workload in state.workloads:
            values = yaml.safe_load(files[f"versions/{workload.version.replace('.', '-')}.yaml"])
            with helm.Chart.load(shared / chart.path) as loaded:
                rendered = loaded.render(values=values, name=workload.name, namespace=release.namespace)
            objects += applied(rendered)
        validate(objects)
        deployments = of_kind(objects, "Deployment")
        assert {n: d["spec"]["replicas"] for n, d in deployments.items()} == {
            w.name: w.replicas for w in state.workloads
        }
        for w in state.workloads:
            (container,) = deployments[w.name]["spec"]["template"]["spec"]["containers"]
            assert container["image"] == f"{release.image}:{w.version}"
            assert pods_selected(deployments[w.name]["spec"]["selector"]["matchLabels"], deployments) == {w.name}
        (service,) = of_kind(objects, "Service").values()
        serving = state.service_version or state.workloads[0].version
        assert pods_selected(service["spec"]["selector"], deployments) == {
            w.name for w in state.workloads if w.version == serving
        }


def test_podinfo_chart_cannot_split_traffic_by_pods() -> None:
    release = podinfo_release(Canary(step_weights=(50,)))
    plan = plan_release(release)
    chart = read_chart(shared_data(), release)
    with pytest.raises(UsageError, match="pod ratio"):
        render_state(release, plan.steps[0].state, chart)


def test_a_values_edit_is_a_new_revision_and_the_stable_keeps_its_frozen_container_and_pod(
    helm: Any, repo: Path
) -> None:
    from rollgen.plan.steps import abort_states
    from rollgen.render.desired import desired_revision
    from rollgen.render.renderer import Renderer
    from rollgen.render.revision import revision_label

    release = dataclasses.replace(load_release(REPO_ROOT / "examples" / "helm" / "canary.yaml"), version="1.0.0")
    before = Renderer(repo, release).render(plan_release(release).initial)
    live = helm_module.frozen_chart_revisions(before)["1.0.0"].revision
    write_files(repo / release.output_path, before)
    (stable,) = of_kind(template(helm, repo, before), "Deployment").values()

    values = repo / "examples" / "helm" / "values" / "web.yaml"
    edited = yaml.safe_load(values.read_text())
    edited["container"]["env"] = [{"name": "MODE", "value": "new"}]
    # A volume and its mount come and go together, with the revision: the stable never mounts a volume it lacks.
    edited["container"]["volumeMounts"] = [{"name": "cache", "mountPath": "/cache"}]
    edited["pod"] = {"annotations": {"team": "web"}, "volumes": [{"name": "cache", "emptyDir": {}}]}
    values.write_text(yaml.safe_dump(edited))
    desired = desired_revision(repo, release, live)
    name = revision_label(desired, live)
    assert name == f"1.0.0-{desired.config[:6]}" and desired.config != live.config
    rollout = dataclasses.replace(release, version=name)
    plan = plan_release(rollout)
    tip = before
    for step in plan.steps:
        tip = Renderer(repo, rollout).render(step.state, frozen=tip, revisions={name: desired})
        write_files(repo / release.output_path, tip)
        built = of_kind(template(helm, repo, tip), "Deployment")
        by_version = {d["spec"]["template"]["metadata"]["labels"]["version"]: d for d in built.values()}
        if "1.0.0" in by_version:
            assert by_version["1.0.0"]["spec"]["template"] == stable["spec"]["template"], step.index
        if name in by_version:
            pod = by_version[name]["spec"]["template"]
            (container,) = pod["spec"]["containers"]
            assert container["image"] == "ghcr.io/example/web:1.0.0"
            assert container["env"] == [{"name": "MODE", "value": "new"}]
            assert container["volumeMounts"] == [{"name": "cache", "mountPath": "/cache"}]
            assert pod["spec"]["volumes"] == [{"name": "cache", "emptyDir": {}}]
            assert pod["metadata"]["annotations"] == {"team": "web"}
        if step.index < len(plan.steps):
            back = tip
            for state in abort_states(plan, step.index):
                back = Renderer(repo, rollout).render(state, frozen=back, revisions={name: desired})
            assert back == before, step.index
    assert set(helm_module.frozen_chart_revisions(tip)) == {name}


def test_frozen_values_merge_as_helm_does_and_only_what_the_chart_takes(repo: Path) -> None:
    """Maps merge key by key, a null empties, and a chart without ``pod`` (a copy from before it) gets none."""
    release = load_release(REPO_ROOT / "examples" / "helm" / "canary.yaml")
    values = repo / "examples" / "helm" / "values"
    (values / "a.yaml").write_text(yaml.safe_dump({"pod": {"annotations": {"a": "1"}, "nodeSelector": {"n": "x"}}}))
    (values / "b.yaml").write_text(yaml.safe_dump({"pod": {"annotations": {"b": "2"}}}))
    (values / "c.yaml").write_text(yaml.safe_dump({"pod": None}))
    source = release.source
    assert isinstance(source, HelmSource)

    def frozen(*files: str) -> dict[str, Any]:
        where = dataclasses.replace(release, source=dataclasses.replace(source, values=files))
        return helm_module.frozen_values(repo, where, read_chart(repo, where))

    a, b, c = (f"examples/helm/values/{n}.yaml" for n in "abc")
    assert frozen(a, b)["pod"] == {"annotations": {"a": "1", "b": "2"}, "nodeSelector": {"n": "x"}}
    assert frozen(a, c)["pod"] == {}
    assert frozen(a, c, b)["pod"] == {"annotations": {"b": "2"}}
    assert frozen(a)["container"]["name"] == "app"
    chart_values = repo / "charts" / "rollgen-app" / "values.yaml"
    chart_values.write_text(chart_values.read_text().replace("pod: {}\n", ""))
    assert set(frozen()) == {"container"}
    revision = helm_module.ChartRevision(Revision("1.0.0", "0123456789"), frozen())
    files = render_state(release, plan_release(release).initial, read_chart(repo, release), {"1.0.0": revision})
    (entry,) = yaml.safe_load(files["step-values.yaml"])["versions"]
    assert "pod" not in entry and entry["container"]["name"] == "app"
