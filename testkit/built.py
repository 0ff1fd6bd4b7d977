"""Build a rendered overlay with the real kustomize and check what it built.

The checks read the built objects the way the cluster would: a Service
selects the pods whose template labels contain its selector, a route's weight
goes to the pods its destination selects. They never look at the overlay's
files.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import math
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import kubernetes_validate  # type: ignore[import-untyped]
import yaml

from rollgen.names import workload_name
from rollgen.plan.model import Plan, State
from rollgen.plan.steps import abort_states
from rollgen.render.userbase import KustomizeBase
from rollgen.spec.model import Release
from testkit.tools import require_tool, shared_data

KUBERNETES_VERSION = "1.30.0"
CRDS = {
    ("networking.istio.io/v1", "VirtualService"): "crds/istio/networking.istio.io_virtualservices.extract.yaml",
    ("networking.istio.io/v1", "DestinationRule"): "crds/istio/networking.istio.io_destinationrules.extract.yaml",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "crds/gateway-api/gateway.networking.k8s.io_httproutes.yaml",
}

Obj = dict[str, Any]


def write_files(directory: Path, files: Mapping[str, bytes]) -> None:
    for path, text in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text)


def kustomize_build_text(directory: Path) -> str:
    kubectl = require_tool("kubectl")
    done = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"kubectl kustomize {directory} failed:\n{done.stderr}"
    return done.stdout


def kustomize_build(directory: Path) -> list[Obj]:
    return [d for d in yaml.load_all(kustomize_build_text(directory), Loader=_Loader) if d]


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def kustomize_build_all(directories: list[Path]) -> list[list[Obj]]:
    """Build several overlays, a few at a time (each build is a kubectl process of its own)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        return list(pool.map(kustomize_build, directories))


def of_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def validate(objects: list[Obj]) -> None:
    """Built-in kinds against Kubernetes' schemas (strict: unknown fields fail), CRs against their CRDs."""
    for obj in objects:
        _validate(json.dumps(obj, sort_keys=True))


@functools.cache
def _validate(text: str) -> None:
    # Keyed by the object's text: the states of a plan repeat most objects, and
    # kubernetes_validate reads its schemas from disk on every call.
    obj = json.loads(text)
    crd = CRDS.get((obj["apiVersion"], obj["kind"]))
    if crd is None:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    else:
        _crd_validator(crd, obj["apiVersion"].rpartition("/")[2]).validate(obj)


@functools.cache
def _crd_validator(path: str, version: str) -> jsonschema.Draft7Validator:
    crd = yaml.safe_load((shared_data() / path).read_text())
    served = next(v for v in crd["spec"]["versions"] if v["name"] == version and v["served"])
    schema = _closed(served["schema"]["openAPIV3Schema"])
    # The API server always accepts these; some CRDs (Istio's) leave them out of the schema.
    for field, kind in (("apiVersion", "string"), ("kind", "string"), ("metadata", "object")):
        schema["properties"].setdefault(field, {"type": kind})
    return jsonschema.Draft7Validator(schema)


def _closed(schema: Any) -> Any:
    """The schema with unknown fields rejected: the API server prunes them silently, so a typo would be lost."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {k: _closed(v) for k, v in schema.items()}
    if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        closed.setdefault("additionalProperties", False)
    return closed


def pods_selected(selector: Mapping[str, str], deployments: Mapping[str, Obj]) -> set[str]:
    """Names of the Deployments whose pods carry every label of ``selector``."""
    return {
        name
        for name, d in deployments.items()
        if selector and selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
    }


def assert_matches_state(
    release: Release, state: State, base: KustomizeBase, objects: list[Obj], hpa: Mapping[str, int] | None
) -> None:
    """What kustomize built is exactly ``state``.

    ``hpa`` is the base HPA's bounds (``{"minReplicas": 2, "maxReplicas": 4}``),
    ``None`` when the base has none.
    """
    for obj in objects:
        assert obj["metadata"].get("namespace") == release.namespace, obj["metadata"]
    deployments = of_kind(objects, "Deployment")
    names = {w.name: w for w in state.workloads}
    assert set(deployments) == set(names)
    by_version = {w.version: w.name for w in state.workloads}
    for name, workload in names.items():
        d = deployments[name]
        labels = {"app": release.name, "version": workload.version}
        selector = d["spec"]["selector"]["matchLabels"]
        assert labels.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        assert labels.items() <= d["metadata"]["labels"].items()
        assert selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        if name == base.deployment:
            # The base's own Deployment (rolling update): its immutable selector is left alone.
            assert "version" not in selector
        else:
            assert labels.items() <= selector.items()
            # Only this version's pods match this version's selector.
            assert pods_selected(selector, deployments) == {name}
        images = [c["image"] for c in d["spec"]["template"]["spec"]["containers"]]
        assert f"{release.image}:{workload.version}" in images

    autoscalers = {
        a["spec"]["scaleTargetRef"]["name"]: a["spec"] for a in of_kind(objects, "HorizontalPodAutoscaler").values()
    }
    for name, workload in names.items():
        if hpa is None or workload.replicas == 0:
            assert name not in autoscalers
            assert deployments[name]["spec"]["replicas"] == workload.replicas
        else:
            # The HPA is the only writer of the count: the Deployment carries none.
            assert "replicas" not in deployments[name]["spec"]
            bounds = {k: autoscalers[name].get(k, 1) for k in ("minReplicas", "maxReplicas")}
            pinned = {"minReplicas": workload.replicas, "maxReplicas": workload.replicas}
            assert bounds == (pinned if len(names) > 1 else dict(hpa))
    assert set(autoscalers) <= set(names)

    services = of_kind(objects, "Service")
    expected = {base.service: _versions(state.service_version, state)}
    if state.preview_version is not None:
        (preview,) = [n for n in services if n.endswith("preview")]
        expected[preview] = {state.preview_version}
    routed = dict(state.weights)
    if routed and "HTTPRoute" in {o["kind"] for o in objects}:
        expected.update({workload_name(release.name, v): {v} for v in routed})
    assert set(services) == set(expected)
    for name, versions in expected.items():
        selected = pods_selected(services[name]["spec"]["selector"], deployments)
        assert selected == {by_version[v] for v in versions if v in by_version}, name

    if routed:
        assert sum(routed.values()) == 100
        assert _route_weights(objects, services, deployments) == {by_version[v]: p for v, p in routed.items()}
    else:
        assert not [o for o in objects if o["kind"] in {"VirtualService", "DestinationRule", "HTTPRoute"}]


def _versions(version: str | None, state: State) -> set[str]:
    return {w.version for w in state.workloads} if version is None else {version}


def _route_weights(objects: list[Obj], services: Mapping[str, Obj], deployments: Mapping[str, Obj]) -> dict[str, int]:
    """Weight per Deployment, following each route to the pods it reaches."""
    weights: dict[str, int] = {}
    for route in of_kind(objects, "HTTPRoute").values():
        (rule,) = route["spec"]["rules"]
        for ref in rule["backendRefs"]:
            (target,) = pods_selected(services[ref["name"]]["spec"]["selector"], deployments)
            weights[target] = weights.get(target, 0) + ref["weight"]
    rules = of_kind(objects, "DestinationRule")
    for vs in of_kind(objects, "VirtualService").values():
        (http,) = vs["spec"]["http"]
        for dest in http["route"]:
            host = dest["destination"]["host"]
            (rule,) = [r for r in rules.values() if r["spec"]["host"] == host]
            (subset,) = [s for s in rule["spec"]["subsets"] if s["name"] == dest["destination"]["subset"]]
            service = services[host]["spec"]["selector"]
            (target,) = pods_selected({**service, **subset["labels"]}, deployments)
            weights[target] = weights.get(target, 0) + dest["weight"]
    return weights


def every_state(plan: Plan) -> Iterator[State]:
    """The initial state, each step's, and each state of every abort path."""
    yield plan.initial
    for step in plan.steps:
        yield step.state
    for index in range(1, len(plan.steps) + 1):
        yield from abort_states(plan, index)


def assert_deployment_strategies(plan: Plan, objects: list[dict[str, object]]) -> None:
    """Every built Deployment replaces its own pods within the plan's bounds, never Kubernetes' 25%/25% defaults."""
    for deployment in of_kind(objects, "Deployment").values():
        strategy = deployment["spec"]["strategy"]  # type: ignore[index]
        if plan.strategy == "recreate":
            assert strategy == {"type": "Recreate"}
        elif plan.max_surge is not None and plan.max_unavailable is not None:
            # Absolute counts, the plan's own numbers: what the plan table prints is what Kubernetes does.
            bounds = {"maxSurge": plan.max_surge, "maxUnavailable": plan.max_unavailable}
            assert strategy == {"type": "RollingUpdate", "rollingUpdate": bounds}
        else:
            # Blue/green and routed canaries keep every serving pod: none may go unavailable.
            assert strategy["rollingUpdate"]["maxUnavailable"] == 0  # type: ignore[index]


def _rolling(deployment: Obj, replicas: int) -> tuple[int, int] | None:
    """The Deployment's own (surge, unavailable) in pods; None for Recreate (every pod goes first)."""
    strategy = deployment["spec"].get("strategy", {})
    if strategy.get("type") == "Recreate":
        return None
    rolling = strategy.get("rollingUpdate", {})

    def pods(value: int | str, round_up: bool) -> int:
        if isinstance(value, int):
            return value
        share = replicas * int(value.rstrip("%")) / 100
        return math.ceil(share) if round_up else math.floor(share)

    # Kubernetes' defaults when the Deployment names none: 25% and 25%.
    return pods(rolling.get("maxSurge", "25%"), True), pods(rolling.get("maxUnavailable", "25%"), False)


def _transition(before: list[Obj], after: list[Obj]) -> tuple[int, int]:
    """(most pods running, fewest available) while ``after`` is applied over ``before``, Deployments in any order."""
    old, new = of_kind(before, "Deployment"), of_kind(after, "Deployment")
    most = fewest = 0
    for name in {*old, *new}:
        b = old[name]["spec"]["replicas"] if name in old else 0
        a = new[name]["spec"]["replicas"] if name in new else 0
        most += max(a, b)  # a growing Deployment may grow before a shrinking one shrinks
        if name in old and name in new and old[name]["spec"]["template"] != new[name]["spec"]["template"]:
            bounds = _rolling(new[name], a)
            if bounds is None:
                continue  # none of its pods stays available
            surge, unavailable = bounds
            most += surge
            fewest += max(0, min(a, b) - unavailable)
        else:
            fewest += min(a, b)
    return most, fewest


def _pods(objects: list[Obj]) -> int:
    return sum(d["spec"]["replicas"] for d in of_kind(objects, "Deployment").values())


def assert_transition_within_bounds(plan: Plan, before: list[Obj], after: list[Obj], where: str) -> None:
    """Applying ``after`` over ``before`` (Deployments in any order, each within its own strategy) keeps the plan's bounds."""
    most, fewest = _transition(before, after)
    pods_before, pods_after = _pods(before), _pods(after)
    if plan.max_surge is not None and plan.max_unavailable is not None:
        ceiling, floor = plan.replicas + plan.max_surge, plan.replicas - plan.max_unavailable
    elif plan.strategy == "recreate":
        ceiling, floor = plan.replicas, 0  # downtime is what recreate means
    else:
        # Blue/green and routed canaries run the new version beside a full-size stable: nothing serving goes.
        ceiling, floor = 2 * plan.replicas, plan.replicas
    assert most <= ceiling, f"{where}: up to {most} pods, the bound is {ceiling}"
    assert fewest >= min(floor, pods_before, pods_after), f"{where}: as few as {fewest} available, the bound is {floor}"
