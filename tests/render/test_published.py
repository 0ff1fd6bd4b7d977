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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rollgen.errors import UsageError
from rollgen.plan.model import State
from rollgen.plan.steps import abort_states, plan_release
from rollgen.render.desired import desired_revision
from rollgen.render.helm_releases import frozen_releases
from rollgen.render.renderer import Renderer
from rollgen.spec.helmsource import ArgoCDTarget, FluxTarget, HelmSource, PerVersionKeys, RemoteChart
from rollgen.spec.model import (
    BlueGreen,
    Canary,
    GatewayAPITraffic,
    IstioTraffic,
    ParentRef,
    Pause,
    Release,
    SetWeight,
    Strategy,
)
from testkit.built import (
    Obj,
    assert_transition_within_bounds,
    kustomize_build,
    of_kind,
    pods_selected,
    validate,
    write_files,
)
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


Check = Callable[[State, list[Obj]], None]


def walk(helm: Any, tmp: Path, running: Release, upgrade: Release, check: Check) -> None:
    """Every commit of ``upgrade``'s rollout from what ``running`` ran, and every abort path back, built and checked.

    Each state is rendered from the files before it (what the branch holds),
    built, installed by Helm and ``check``-ed; between every two consecutive
    commits the plan's bounds hold; every abort gives back the pre-rollout
    files byte for byte.
    """
    plan = plan_release(upgrade)
    revisions = {upgrade.version: desired_revision(tmp, upgrade, None)}
    before = Renderer(tmp, running).render(plan_release(dataclasses.replace(running, version=upgrade.version)).initial)
    _, objects = build(helm, tmp, before, 0)
    check(plan.initial, objects)
    tip, previous = before, objects
    for step in plan.steps:
        tip = Renderer(tmp, upgrade).render(step.state, frozen=tip, revisions=revisions)
        _, objects = build(helm, tmp, tip, step.index)
        check(step.state, objects)
        assert_transition_within_bounds(plan, rolled(upgrade, previous), rolled(upgrade, objects), f"step {step.index}")
        previous = objects
        if step.index < len(plan.steps):
            back, walked = tip, objects
            for number, state in enumerate(abort_states(plan, step.index)):
                back = Renderer(tmp, upgrade).render(state, frozen=back, revisions=revisions)
                _, built = build(helm, tmp, back, 100 * step.index + number)
                check(state, built)
                assert_transition_within_bounds(
                    plan, rolled(upgrade, walked), rolled(upgrade, built), f"abort from {step.index}"
                )
                walked = built
            assert back == before, step.index


def rolled(release: Release, objects: list[Obj]) -> list[Obj]:
    """The Deployments that run the release's image (a chart may run others per release)."""
    return [
        o
        for o in objects
        if o["kind"] == "Deployment"
        and any(c["image"].startswith(f"{release.image}:") for c in o["spec"]["template"]["spec"]["containers"])
    ]


def assert_pods(release: Release, state: State, charts_by_version: dict[str, str], objects: list[Obj]) -> None:
    """Each version's release runs its planned pods from the chart version it pinned, behind its own selector."""
    deployments = {d["metadata"]["name"]: d for d in rolled(release, objects)}
    assert {n: d["spec"]["replicas"] for n, d in deployments.items()} == {w.name: w.replicas for w in state.workloads}
    for w in state.workloads:
        deployment = deployments[w.name]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"{release.image}:{w.version}"
        assert deployment["metadata"]["labels"]["helm.sh/chart"].endswith(f"-{charts_by_version[w.version]}")
        assert pods_selected(deployment["spec"]["selector"]["matchLabels"], deployments) == {w.name}


def weights_reached(objects: list[Obj]) -> dict[str, int]:
    """Each route's weights followed to the pods they reach: Deployment name -> weight."""
    deployments, services = of_kind(objects, "Deployment"), of_kind(objects, "Service")
    weights: dict[str, int] = {}
    for route in of_kind(objects, "HTTPRoute").values():
        for backend in route["spec"]["rules"][0]["backendRefs"]:
            service = services[backend["name"]]
            assert backend["port"] in [p["port"] for p in service["spec"]["ports"]]
            (target,) = pods_selected(service["spec"]["selector"], deployments)
            weights[target] = weights.get(target, 0) + backend["weight"]
    for virtual in of_kind(objects, "VirtualService").values():
        for destination in virtual["spec"]["http"][0]["route"]:
            service = services[destination["destination"]["host"]]
            assert destination["destination"]["port"]["number"] in [p["port"] for p in service["spec"]["ports"]]
            (target,) = pods_selected(service["spec"]["selector"], deployments)
            weights[target] = weights.get(target, 0) + destination["weight"]
    return weights


@pytest.mark.parametrize("engine", ["flux", "argocd"])
@pytest.mark.parametrize("kind", ["https", "oci"])
def test_a_chart_upgrade_rolls_out_blue_green_and_every_abort_restores_the_files(
    helm: Any, charts: ChartRepository, oci: str, tmp_path: Path, kind: str, engine: str
) -> None:
    repository = charts.url if kind == "https" else oci
    strategy = BlueGreen(auto_promotion_enabled=False, scale_down_delay_seconds=0)
    running = podinfo(repository, engine, strategy, chart="6.4.0", version="6.4.0")
    upgrade = podinfo(repository, engine, strategy, chart="6.5.0", version="6.5.0")

    def check(state: State, objects: list[Obj]) -> None:
        assert_pods(upgrade, state, {"6.4.0": "6.4.0", "6.5.0": "6.5.0"}, objects)
        # One Service: the serving release's (perVersion.service on there only).
        deployments = {d["metadata"]["name"]: d for d in rolled(upgrade, objects)}
        (service,) = of_kind(objects, "Service").values()
        serving = state.service_version or state.workloads[0].version
        assert pods_selected(service["spec"]["selector"], deployments) == {
            w.name for w in state.workloads if w.version == serving
        }

    walk(helm, tmp_path, running, upgrade, check)


GATEWAY = GatewayAPITraffic((ParentRef("edge", "gateways", "http"),), ("podinfo.example.com",))


@pytest.mark.parametrize(
    ("traffic", "engine", "kind"),
    [
        ("gatewayAPI", "flux", "https"),
        ("gatewayAPI", "argocd", "oci"),
        ("istio", "flux", "oci"),
        ("istio", "argocd", "https"),
    ],
)
def test_a_routed_canary_on_podinfo_sends_each_weight_to_its_release_at_every_step(
    helm: Any, charts: ChartRepository, oci: str, tmp_path: Path, traffic: str, engine: str, kind: str
) -> None:
    repository = charts.url if kind == "https" else oci
    routes = {"istio": Canary(traffic="istio", istio=IstioTraffic(("podinfo.example.com",), ("gateways/edge",)))}
    strategy = dataclasses.replace(
        routes.get(traffic, Canary(traffic="gatewayAPI", gateway_api=GATEWAY)),
        max_surge=1,
        max_unavailable=0,
        steps=(SetWeight(20), Pause(None), SetWeight(60), Pause(None)),
    )
    running = podinfo(repository, engine, strategy, chart="6.4.0", version="6.4.0")
    upgrade = podinfo(repository, engine, strategy, chart="6.5.0", version="6.5.0")

    def check(state: State, objects: list[Obj]) -> None:
        validate(objects)  # the route against its CRD (Gateway API, Istio)
        assert_pods(upgrade, state, {"6.4.0": "6.4.0", "6.5.0": "6.5.0"}, objects)
        names = {w.version: w.name for w in state.workloads}
        assert weights_reached(objects) == {names[v]: weight for v, weight in state.weights}
        # Every release keeps the chart's own Service: the route's backend.
        assert set(of_kind(objects, "Service")) == {w.name for w in state.workloads}

    walk(helm, tmp_path, running, upgrade, check)


def test_a_replica_ratio_canary_on_a_chart_that_takes_pod_labels_shares_one_service(helm: Any, tmp_path: Path) -> None:
    charts, source = tmp_path / "charts", tmp_path / "src"
    source.mkdir()
    charts.mkdir()
    helm.Chart.create("web", str(source)).close()  # Helm's own scaffold: podLabels, no service switch
    for version in ("1.0.0", "1.1.0"):
        helm.package(str(source / "web"), destination=str(charts), version=version, app_version=version)
    keys = PerVersionKeys("fullnameOverride", "image.tag", "replicaCount", pod_labels="podLabels")
    strategy = Canary(max_surge=1, max_unavailable=1, steps=(SetWeight(25), Pause(None), SetWeight(75), Pause(None)))
    with chart_repository(helm, charts) as served:

        def web(chart: str, version: str) -> Release:
            source = HelmSource("web", per_version=keys, remote=RemoteChart(served.url, chart), flux=FluxTarget())
            return Release("web", "prod", 4, "nginx", "1.0.0", version, source, "out", strategy)

        upgrade = web("1.1.0", "1.1.0")

        def check(state: State, objects: list[Obj]) -> None:
            assert_pods(upgrade, state, {"1.0.0": "1.0.0", "1.1.0": "1.1.0"}, objects)
            deployments = of_kind(objects, "Deployment")
            shared = of_kind(objects, "Service")["web"]
            # rollgen's Service beside the releases selects app=web: every release's pods, so traffic follows pods.
            assert pods_selected(shared["spec"]["selector"], deployments) == {w.name for w in state.workloads}
            assert [p["port"] for p in shared["spec"]["ports"]] == [80]

        walk(helm, tmp_path, web("1.0.0", "1.0.0"), upgrade, check)


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


def test_a_chart_that_installs_its_own_route_is_refused_for_a_routed_canary(
    charts: ChartRepository, tmp_path: Path
) -> None:
    (tmp_path / "values.yaml").write_text("httpRoute: {enabled: true, hostnames: [podinfo.example.com]}\n")
    strategy = Canary(traffic="gatewayAPI", gateway_api=GATEWAY, steps=(SetWeight(50),))
    release = podinfo(charts.url, "flux", strategy, chart="6.5.0", version="6.5.0")
    release = dataclasses.replace(release, source=dataclasses.replace(release.source, values=("values.yaml",)))
    with pytest.raises(
        UsageError, match="installs HTTPRoute/podinfo-6-4-0 itself, beside the HTTPRoute rollgen renders"
    ):
        Renderer(tmp_path, release).render(plan_release(release).steps[0].state)
