"""An Argo Rollouts Rollout as a release spec and a Kustomize base.

The Rollout's pod template (or the Deployment its ``workloadRef`` names,
when it is among the input files) becomes the base's Deployment, named after
the Rollout; a Service from the input files (the canary's ``stableService``
or the blue/green ``activeService``) or one made from the container ports
becomes the base's Service. The spec keeps Argo's vocabulary, so steps,
surge bounds and blue/green settings carry over as they are; step and
background analyses become gates (:mod:`rollgen.importer.analysis`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollgen.importer.analysis import Gates
from rollgen.importer.conversion import (
    Conversion,
    NotConvertible,
    Notes,
    Options,
    base_files,
    container_ports,
    release_document,
    service_for,
    split_image,
    strip_object,
)
from rollgen.importer.documents import Manifest
from rollgen.spec.yamldoc import JsonPath

NO_TRAFFIC_ROUTER = (
    "rollgen routes by pod ratio (replicas), Istio or the Gateway API; traffic follows the share of pods instead"
)
_SPEC_WHY = {
    "revisionHistoryLimit": "every revision stays in Git history",
    "paused": "a rollout is paused by a `pause: {}` step and resumed with `rollgen promote`",
    "restartAt": "rollgen never restarts pods by itself",
    "rollbackWindow": "rollgen's `undo` rolls back to the previous version",
    "analysis": "AnalysisRun history limits do not apply: measurements are kept in git notes",
}
_CANARY_WHY = {
    "canaryService": "rollgen names its own Services (one per version where a route needs it)",
    "stableService": "rollgen names its own Services; the base Service is the one users reach",
    "canaryMetadata": "rollgen labels pods app and version only",
    "stableMetadata": "rollgen labels pods app and version only",
    "scaleDownDelaySeconds": "rollgen removes the old version in the last commit",
    "scaleDownDelayRevisionLimit": "rollgen runs at most the two versions of a rollout",
    "abortScaleDownDelaySeconds": "an abort commit restores the old version's files at once",
    "dynamicStableScale": "the stable version keeps its pods until traffic has moved (replica math decides)",
    "antiAffinity": "put affinity rules in the base's pod template",
    "minPodsPerReplicaSet": "rollgen's replica math keeps at least one canary pod at every weight between 0 and 100",
    "pingPong": "each version runs as its own Deployment, so there is no ping-pong",
}
_BLUE_GREEN_WHY = {
    "antiAffinity": "put affinity rules in the base's pod template",
    "activeMetadata": "rollgen labels pods app and version only",
    "previewMetadata": "rollgen labels pods app and version only",
    "abortScaleDownDelaySeconds": "an abort commit restores the old version's files at once",
    "scaleDownDelayRevisionLimit": "rollgen runs at most the two versions of a rollout",
}
_STEP_WHY = {
    "experiment": "rollgen runs no experiments (extra ReplicaSets beside canary and stable)",
    "setHeaderRoute": "rollgen routes by weight only, never by header",
    "setMirrorRoute": "rollgen does not mirror traffic",
    "plugin": "rollgen has no step plugins",
}


def convert_rollout(rollout: Manifest, manifests: tuple[Manifest, ...], options: Options) -> Conversion:
    notes = Notes()
    data = rollout.data
    spec = data.get("spec", {}) or {}
    name = rollout.name
    template, selector, deployment = _workload(rollout, spec, manifests, notes)
    containers = template.get("spec", {}).get("containers", []) or []
    if not containers:
        notes.add(rollout, ("spec",), "no pod template with a container (template or workloadRef)")
        raise NotConvertible(notes)
    image = split_image(str(containers[0].get("image", "")))
    image_at: JsonPath = ("spec", "template", "spec", "containers", 0, "image")
    if image is None:
        notes.add(
            rollout,
            image_at,
            "the image has no tag rollgen can use as a version (digests and untagged images are not versions)",
        )
        raise NotConvertible(notes)
    replicas = spec.get("replicas", 1)
    notes.unconverted(
        rollout,
        ("spec",),
        spec,
        frozenset(
            {
                "replicas",
                "selector",
                "template",
                "workloadRef",
                "strategy",
                "progressDeadlineSeconds",
                "minReadySeconds",
            }
        ),
        _SPEC_WHY,
    )
    gates = Gates(manifests, notes)
    strategy_data = spec.get("strategy", {}) or {}
    service_name: str | None = None
    strategy: dict[str, Any]
    if "blueGreen" in strategy_data:
        strategy, service_name = _blue_green(rollout, strategy_data["blueGreen"], gates, notes)
    elif "canary" in strategy_data:
        strategy = _canary(rollout, strategy_data["canary"] or {}, gates, notes)
        service_name = (strategy_data["canary"] or {}).get("stableService")
    else:
        notes.add(rollout, ("spec", "strategy"), "no canary or blueGreen strategy")
        raise NotConvertible(notes)
    release_spec: dict[str, Any] = {
        "namespace": data.get("metadata", {}).get("namespace") or options.namespace,
        "replicas": replicas,
        "image": image[0],
        "version": image[1],
        "source": {"kustomize": {"base": options.base_path}},
        "output": {"path": options.output_path},
    }
    if isinstance(spec.get("progressDeadlineSeconds"), int):
        release_spec["progressDeadline"] = f"{spec['progressDeadlineSeconds']}s"
    if deployment is None:
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(selector)}, "template": template},
        }
        if "minReadySeconds" in spec:
            deployment["spec"]["minReadySeconds"] = spec["minReadySeconds"]
    service = next(
        (strip_object(m.data) for m in manifests if m.kind == "Service" and service_name and m.name == service_name),
        None,
    ) or service_for(service_name or name, selector, container_ports(template) or _default_port(rollout, notes))
    return Conversion(
        name,
        release_document(name, release_spec, strategy, list(gates.made.values())),
        base_files({"deployment.yaml": deployment, "service.yaml": service}, "base"),
        tuple(notes.found),
    )


def _workload(
    rollout: Manifest, spec: Mapping[str, Any], manifests: tuple[Manifest, ...], notes: Notes
) -> tuple[dict[str, Any], Mapping[str, str], dict[str, Any] | None]:
    """The pod template, the pod selector and, with ``workloadRef``, the referenced Deployment renamed."""
    ref = spec.get("workloadRef")
    if ref is None:
        return dict(spec.get("template", {}) or {}), (spec.get("selector", {}) or {}).get("matchLabels", {}), None
    found = next((m for m in manifests if m.kind == ref.get("kind") and m.name == ref.get("name")), None)
    if found is None:
        notes.add(rollout, ("spec", "workloadRef"), f"{ref.get('kind')} {ref.get('name')} is not among the input files")
        raise NotConvertible(notes)
    deployment = strip_object(found.data)
    deployment["metadata"]["name"] = rollout.name
    deployment_spec = dict(deployment.get("spec", {}))
    # workloadRef Deployments are scaled to zero while the Rollout runs the pods; the base runs them now.
    deployment_spec["replicas"] = spec.get("replicas", 1)
    deployment["spec"] = deployment_spec
    return (
        dict(deployment_spec.get("template", {})),
        (deployment_spec.get("selector", {}) or {}).get("matchLabels", {}),
        deployment,
    )


def _default_port(rollout: Manifest, notes: Notes) -> list[dict[str, Any]]:
    notes.add(rollout, ("spec",), "no container port to build a Service from: the base Service uses port 80")
    return [{"name": "http", "port": 80, "targetPort": 80}]


def _canary(rollout: Manifest, canary: Mapping[str, Any], gates: Gates, notes: Notes) -> dict[str, Any]:
    where: JsonPath = ("spec", "strategy", "canary")
    notes.unconverted(
        rollout,
        where,
        canary,
        frozenset({"steps", "maxSurge", "maxUnavailable", "trafficRouting", "analysis"}),
        _CANARY_WHY,
    )
    bounds = {k: canary[k] for k in ("maxSurge", "maxUnavailable") if k in canary}
    if not canary.get("steps"):
        # Without steps a canary goes straight to the new version within the surge bounds: a rolling update.
        return {"rollingUpdate": bounds}
    result: dict[str, Any] = {**bounds, "traffic": _traffic(rollout, canary.get("trafficRouting"), notes)}
    background = canary.get("analysis")
    background_gates: list[str] = []
    starting = 0
    if background:
        background_gates = gates.for_analysis(rollout, (*where, "analysis"), background)
        starting = int(background.get("startingStep", 0) or 0)
    if background_gates:
        notes.add(
            rollout,
            (*where, "analysis"),
            "background analysis runs all along in Argo Rollouts; rollgen judges its gates after each weight "
            f"step from step {starting} on",
        )
    steps: list[dict[str, Any]] = []
    for i, step in enumerate(canary["steps"]):
        converted = _step(rollout, (*where, "steps", i), step, gates, notes)
        steps += converted
        if background_gates and i >= starting and any("setWeight" in s or "setCanaryScale" in s for s in converted):
            steps.append({"analysis": {"gates": background_gates}})
    moves = [i for i, s in enumerate(steps) if "setWeight" in s or "setCanaryScale" in s]
    if not moves:
        notes.add(rollout, (*where, "steps"), "no weight step could be converted: the canary goes to 100% in one step")
        steps = [{"setWeight": 100}]
    elif moves[0]:
        # rollgen judges a wait against the step before it; before the first weight there is none.
        notes.add(rollout, (*where, "steps"), "the waits before the first converted weight step are dropped")
        steps = steps[moves[0] :]
    result["steps"] = steps
    return {"canary": result}


def _step(
    rollout: Manifest, where: JsonPath, step: Mapping[str, Any], gates: Gates, notes: Notes
) -> list[dict[str, Any]]:
    if "setWeight" in step:
        return [{"setWeight": step["setWeight"]}]
    if "pause" in step:
        duration = (step["pause"] or {}).get("duration")
        if duration is None:
            return [{"pause": {}}]
        return [{"pause": {"duration": duration}}]  # as written: a bare number counts seconds in both
    if "setCanaryScale" in step:
        scale = step["setCanaryScale"] or {}
        if "replicas" in scale:
            return [{"setCanaryScale": {"replicas": scale["replicas"]}}]
        notes.add(
            rollout,
            (*where, "setCanaryScale"),
            "setCanaryScale by weight or matchTrafficWeight is not converted: pods follow setWeight already "
            "(only setCanaryScale.replicas has a rollgen equivalent)",
        )
        return []
    if "analysis" in step:
        names = gates.for_analysis(rollout, (*where, "analysis"), step["analysis"] or {})
        return [{"analysis": {"gates": names}}] if names else []
    key = next(iter(step), "?")
    notes.add(rollout, (*where, key), f"step {key} is not converted: {_STEP_WHY.get(key, 'rollgen has no equivalent')}")
    return []


def _traffic(rollout: Manifest, routing: Mapping[str, Any] | None, notes: Notes) -> str:
    if not routing:
        return "replicas"
    where: JsonPath = ("spec", "strategy", "canary", "trafficRouting")
    for key in routing:
        if key == "istio":
            notes.add(
                rollout,
                (*where, key),
                "the Istio VirtualService and DestinationRule named here are not reused: rollgen renders its own, "
                "named after the release (set strategy.canary.istio.hosts and gateways to match yours)",
            )
        else:
            notes.add(rollout, (*where, key), f"trafficRouting.{key} is not converted: {NO_TRAFFIC_ROUTER}")
    return "istio" if "istio" in routing else "replicas"


def _blue_green(
    rollout: Manifest, bg: Mapping[str, Any], gates: Gates, notes: Notes
) -> tuple[dict[str, Any], str | None]:
    where: JsonPath = ("spec", "strategy", "blueGreen")
    plain = (
        "previewService",
        "autoPromotionEnabled",
        "autoPromotionSeconds",
        "scaleDownDelaySeconds",
        "previewReplicaCount",
    )
    notes.unconverted(
        rollout,
        where,
        bg,
        frozenset({*plain, "activeService", "prePromotionAnalysis", "postPromotionAnalysis"}),
        _BLUE_GREEN_WHY,
    )
    result: dict[str, Any] = {k: bg[k] for k in plain if k in bg}
    for key in ("prePromotionAnalysis", "postPromotionAnalysis"):
        if bg.get(key):
            names = gates.for_analysis(rollout, (*where, key), bg[key])
            if names:
                result[key] = {"gates": names}
    return {"blueGreen": result}, bg.get("activeService")
