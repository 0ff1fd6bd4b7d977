"""Charts from a Helm repository or an OCI registry, one Helm release per version, proved with real tools.

podinfo's chart is packaged by real Helm at two versions and served from a
loopback Helm repository and from Debian's docker-registry (OCI). Every state
of a rollout that upgrades the chart is rendered, built with ``kubectl
kustomize`` (what Flux's kustomize-controller or an Argo CD app of apps
applies), its HelmReleases, HelmRepository, OCIRepository and Applications
validated against the Flux and Argo CD CRDs, and each release installed the
way the engine would: its chart pulled by real Helm from the repository the
object names and rendered with the object's values. The pods per version,
the chart each runs, the Service and the bounds between states are checked
on those objects; every abort path gives back the pre-rollout files byte for
byte.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollgen.errors import UsageError
from rollgen.plan import State, abort_states, plan_release
from rollgen.render import Renderer
from rollgen.render.desired import desired_revision
from rollgen.render.helm_releases import frozen_releases
from rollgen.spec.helmsource import ArgoCDTarget, FluxTarget, HelmSource, PerVersionKeys, RemoteChart
from rollgen.spec.model import BlueGreen, Release, Strategy
from testkit.built import Obj, assert_transition_within_bounds, kustomize_build, of_kind, pods_selected, write_files
from testkit.chartrepos import ChartRepository, chart_repository, package_podinfo, push_oci
from testkit.helmreleases import installed, validate_gitops
from testkit.registryservers import docker_registry

PODINFO_KEYS = PerVersionKeys(
    name="fullnameOverride", image_tag="image.tag", replicas="replicaCount", service="service.enabled"
)
IMAGE = "ghcr.io/stefanprodan/podinfo"


@pytest.fixture(scope="module")
def charts(helm: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartRepository]:
    directory = package_podinfo(helm, tmp_path_factory.mktemp("charts") / "repo", ["6.4.0", "6.5.0"])
    with chart_repository(helm, directory) as served:
        yield served


@pytest.fixture(scope="module")
def oci(helm: Any, charts: ChartRepository, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with docker_registry(tmp_path_factory.mktemp("registry")) as registry:
        yield push_oci(helm, registry, charts.directory)


def podinfo(repository: str, engine: str, strategy: Strategy, *, chart: str, version: str) -> Release:
    source = HelmSource(
        "podinfo",
        per_version=PODINFO_KEYS,
        remote=RemoteChart(repository, chart),
        flux=FluxTarget() if engine == "flux" else None,
        argocd=ArgoCDTarget() if engine == "argocd" else None,
    )
    return Release("podinfo", "podinfo", 3, IMAGE, "6.4.0", version, source, "out", strategy)


def build(helm: Any, tmp: Path, files: dict[str, bytes], number: int) -> tuple[list[Obj], list[Obj]]:
    """The output as the engine applies it (kustomize), and what its releases install (Helm)."""
    where = tmp / "built" / str(number)
    write_files(where, files)
    built = kustomize_build(where)
    validate_gitops(built)
    return built, installed(helm, built, tmp)


def assert_runs(state: State, charts_by_version: dict[str, str], objects: list[Obj]) -> None:
    """Each version's release runs its pods from the chart version it pinned; one Service, on the serving pods."""
    deployments = of_kind(objects, "Deployment")
    assert {n: d["spec"]["replicas"] for n, d in deployments.items()} == {w.name: w.replicas for w in state.workloads}
    for w in state.workloads:
        deployment = deployments[w.name]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"{IMAGE}:{w.version}"
        assert deployment["metadata"]["labels"]["helm.sh/chart"] == f"podinfo-{charts_by_version[w.version]}"
        assert pods_selected(deployment["spec"]["selector"]["matchLabels"], deployments) == {w.name}
    (service,) = of_kind(objects, "Service").values()
    serving = state.service_version or state.workloads[0].version
    assert pods_selected(service["spec"]["selector"], deployments) == {
        w.name for w in state.workloads if w.version == serving
    }


@pytest.mark.parametrize("engine", ["flux", "argocd"])
@pytest.mark.parametrize("kind", ["https", "oci"])
def test_a_chart_upgrade_rolls_out_blue_green_and_every_abort_restores_the_files(
    helm: Any, charts: ChartRepository, oci: str, tmp_path: Path, kind: str, engine: str
) -> None:
    repository = charts.url if kind == "https" else oci
    strategy = BlueGreen(auto_promotion_enabled=False, scale_down_delay_seconds=0)
    running = podinfo(repository, engine, strategy, chart="6.4.0", version="6.4.0")
    before = Renderer(tmp_path, running).render(plan_release(dataclasses.replace(running, version="6.5.0")).initial)
    upgrade = podinfo(repository, engine, strategy, chart="6.5.0", version="6.5.0")
    plan = plan_release(upgrade)
    revisions = {"6.5.0": desired_revision(tmp_path, upgrade, None)}
    charts_by_version = {"6.4.0": "6.4.0", "6.5.0": "6.5.0"}

    _, objects = build(helm, tmp_path, before, 0)
    assert_runs(plan.initial, charts_by_version, objects)
    tip, previous = before, objects
    for step in plan.steps:
        tip = Renderer(tmp_path, upgrade).render(step.state, frozen=tip, revisions=revisions)
        _, objects = build(helm, tmp_path, tip, step.index)
        assert_runs(step.state, charts_by_version, objects)
        assert_transition_within_bounds(plan, previous, objects, f"step {step.index}")
        previous = objects
        if step.index < len(plan.steps):
            back, walked = tip, objects
            for number, state in enumerate(abort_states(plan, step.index)):
                back = Renderer(tmp_path, upgrade).render(state, frozen=back, revisions=revisions)
                _, built = build(helm, tmp_path, back, 100 * step.index + number)
                assert_transition_within_bounds(plan, walked, built, f"abort from {step.index}")
                walked = built
            assert back == before, step.index


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (
            {"keys": dataclasses.replace(PODINFO_KEYS, replicas="replicas")},
            "runs 1 replicas, not 3: perVersion.replicas",
        ),
        ({"keys": dataclasses.replace(PODINFO_KEYS, pod_labels="podLabels")}, "without app=podinfo version=6.4.0"),
        ({"image": "ghcr.io/example/podinfo"}, "spec.image must be the chart's image repository"),
        ({"keys": dataclasses.replace(PODINFO_KEYS, service="service.on")}, "perVersion.service must turn it off"),
    ],
)
def test_a_chart_that_does_not_run_what_the_plan_says_is_refused_before_anything_is_written(
    charts: ChartRepository, tmp_path: Path, change: dict[str, Any], refusal: str
) -> None:
    release = podinfo(charts.url, "flux", BlueGreen(), chart="6.5.0", version="6.5.0")
    source = dataclasses.replace(release.source, per_version=change.get("keys", PODINFO_KEYS))
    release = dataclasses.replace(release, source=source, image=change.get("image", IMAGE))
    with pytest.raises(UsageError, match=re.escape(refusal)):
        Renderer(tmp_path, release).render(plan_release(release).steps[0].state)


def test_a_frozen_revision_renders_without_its_repository_and_pins_the_archive(helm: Any, tmp_path: Path) -> None:
    directory = package_podinfo(helm, tmp_path / "charts", ["6.4.0", "6.5.0"])
    with chart_repository(helm, directory) as served:
        upgrade = podinfo(served.url, "flux", BlueGreen(auto_promotion_enabled=False), chart="6.5.0", version="6.5.0")
        plan = plan_release(upgrade)
        tip = Renderer(tmp_path, upgrade).render(plan.steps[0].state)
    digest = "sha256:" + hashlib.sha256((directory / "podinfo-6.5.0.tgz").read_bytes()).hexdigest()
    assert f"digest: {digest}" in tip["versions/6-5-0/chart.yaml"].decode()
    # The repository is gone: every state of frozen revisions still renders, from chart.yaml alone.
    for state in abort_states(plan, 1):
        tip = Renderer(tmp_path, upgrade).render(state, frozen=tip)
    assert set(frozen_releases(tip, "out")) == {"6.4.0"}
