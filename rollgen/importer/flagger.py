"""A Flagger Canary as a release spec and a Kustomize base.

The Deployment the Canary targets (``targetRef``) must be among the input
files: it becomes the base's Deployment (with the HPA ``autoscalerRef`` names,
when given); the Canary's ``service`` block becomes the base's Service.

Weights are Flagger's: ``stepWeights`` as given; ``stepWeight`` up to
``maxWeight`` as Flagger walks it, one step at a time until the weight reaches
``maxWeight`` (the last step may go past it: 20 by 20 to 50 is 20, 40, 60),
then promotion. When ``maxWeight`` is a multiple of ``stepWeight`` the spec
keeps ``stepWeight``/``maxWeight``, else it lists the weights.

Failure threshold: Flagger checks every metric once per ``interval`` and
rolls back when ``threshold`` checks have failed. Each metric becomes a gate
with ``interval`` = the analysis interval, ``count`` = ``threshold`` and
``failureLimit`` = ``threshold - 1``: the ``threshold``-th failed measurement
of a step aborts the rollout, as the ``threshold``-th failed check rolls
Flagger back. Two differences remain, and are reported: rollgen counts
failures per gate and per step (Flagger across metrics and the whole
analysis), and a passing step takes ``threshold`` measurements where Flagger
moves on after one passing check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollgen.gates.template import NAMES as TEMPLATE_NAMES
from rollgen.importer.conversion import (
    PLACEHOLDER,
    Conversion,
    NotConvertible,
    Notes,
    Options,
    base_files,
    dns_label,
    release_document,
    service_for,
    split_image,
    strip_object,
)
from rollgen.importer.documents import Manifest
from rollgen.importer.flagger_webhooks import webhook_gates
from rollgen.spec.yamldoc import JsonPath

_SPEC_WHY = {
    "skipAnalysis": "every rollgen step is judged by its gates; drop the analysis steps to skip them",
    "revertOnDeletion": "rollgen keeps no objects of its own in the cluster to revert",
    "suspend": "rollgen pauses with a `pause: {}` step",
    "ingressRef": "rollgen routes by pod ratio, Istio or the Gateway API, not through an Ingress",
    "upstreamRef": "rollgen routes by pod ratio, Istio or the Gateway API",
    "routeRef": "rollgen renders its own routes",
    "metricsServer": "set the Prometheus address with --prometheus",
}
_SERVICE_KEYS = frozenset({"name", "port", "targetPort", "portName", "hosts", "gateways", "gatewayRefs"})
_ANALYSIS_WHY = {
    "iterations": "each check is a gate measured `iterations` times",
    "match": "rollgen routes by weight only, never by header or cookie",
    "mirror": "rollgen does not mirror traffic",
    "mirrorWeight": "rollgen does not mirror traffic",
    "alerts": "rollgen's notifications are configured apart from the release spec",
    "stepWeightPromotion": "promotion is one commit in rollgen, bounded by the surge settings",
    "primaryReadyThreshold": "rollgen's kubernetes gate waits for every pod of the step",
    "canaryReadyThreshold": "rollgen's kubernetes gate waits for every pod of the step",
    "sessionAffinity": "rollgen's routes carry no session affinity",
}
# Builtin Istio metrics of Flagger, in rollgen's query names (pods carry app and version labels).
_ISTIO_SELECTOR = (
    'reporter="destination",destination_workload_namespace="{{ namespace }}",'
    'destination_app="{{ release }}",destination_version="{{ version }}"'
)
_BUILTIN = {
    "request-success-rate": (
        f'sum(rate(istio_requests_total{{{_ISTIO_SELECTOR},response_code!~"5.*"}}[{{w}}])) '
        f"/ sum(rate(istio_requests_total{{{_ISTIO_SELECTOR}}}[{{w}}])) * 100"
    ),
    "request-duration": (
        "histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket"
        f"{{{_ISTIO_SELECTOR}}}[{{w}}])) by (le))"
    ),
}


def flagger_weights(analysis: Mapping[str, Any]) -> list[int]:
    """The canary weights Flagger walks through before promotion.

    >>> flagger_weights({"stepWeight": 20, "maxWeight": 50})
    [20, 40, 60]
    >>> flagger_weights({"stepWeight": 5, "maxWeight": 15})
    [5, 10, 15]
    >>> flagger_weights({"stepWeights": [1, 10, 80]})
    [1, 10, 80]
    """
    if analysis.get("stepWeights"):
        return [int(w) for w in analysis["stepWeights"]]
    step, top = int(analysis.get("stepWeight", 0) or 0), int(analysis.get("maxWeight", 100) or 100)
    if step <= 0:
        return []
    weights = [min(step, 100)]
    while weights[-1] < top and weights[-1] < 100:
        weights.append(min(weights[-1] + step, 100))
    return weights


def convert_canary(canary: Manifest, manifests: tuple[Manifest, ...], options: Options) -> Conversion:
    notes = Notes()
    spec = canary.data.get("spec", {}) or {}
    notes.unconverted(
        canary,
        ("spec",),
        spec,
        frozenset({"provider", "targetRef", "autoscalerRef", "service", "analysis", "progressDeadlineSeconds"}),
        _SPEC_WHY,
    )
    target = spec.get("targetRef", {}) or {}
    found = next((m for m in manifests if m.kind == target.get("kind") and m.name == target.get("name")), None)
    if found is None:
        notes.add(
            canary,
            ("spec", "targetRef"),
            f"{target.get('kind')} {target.get('name')} is not among the input files: give its manifest too "
            "(rollgen import canary.yaml deployment.yaml)",
        )
        raise NotConvertible(notes)
    name = canary.name
    deployment = strip_object(found.data)
    deployment["metadata"]["name"] = name
    template = deployment.get("spec", {}).get("template", {})
    containers = template.get("spec", {}).get("containers", []) or []
    image = split_image(str(containers[0].get("image", ""))) if containers else None
    if image is None:
        notes.found.append(found.at(("spec", "template", "spec", "containers"), "no container image with a tag"))
        raise NotConvertible(notes)
    selector = deployment.get("spec", {}).get("selector", {}).get("matchLabels", {})
    objects = {"deployment.yaml": deployment, "service.yaml": _service(canary, spec, name, selector, notes)}
    hpa_ref = spec.get("autoscalerRef")
    if hpa_ref:
        hpa = next((m for m in manifests if m.kind == hpa_ref.get("kind") and m.name == hpa_ref.get("name")), None)
        if hpa is None:
            notes.add(
                canary,
                ("spec", "autoscalerRef"),
                f"{hpa_ref.get('kind')} {hpa_ref.get('name')} is not among the input files: the base has no HPA",
            )
        else:
            obj = strip_object(hpa.data)
            obj["metadata"]["name"] = name
            obj["spec"] = {**obj.get("spec", {}), "scaleTargetRef": {**obj["spec"]["scaleTargetRef"], "name": name}}
            objects["hpa.yaml"] = obj
    replicas = deployment.get("spec", {}).get("replicas")
    if replicas is None and "hpa.yaml" in objects:
        # The HPA scales a Deployment without replicas; its minimum is what runs when idle.
        replicas = objects["hpa.yaml"].get("spec", {}).get("minReplicas")
    gates: list[dict[str, Any]] = []
    strategy = _strategy(canary, spec, (manifests, options), gates, notes)
    release_spec: dict[str, Any] = {
        "namespace": canary.data.get("metadata", {}).get("namespace") or options.namespace,
        "replicas": replicas or 1,
        "image": image[0],
        "version": image[1],
        "source": {"kustomize": {"base": options.base_path}},
        "output": {"path": options.output_path},
    }
    if isinstance(spec.get("progressDeadlineSeconds"), int):
        release_spec["progressDeadline"] = f"{spec['progressDeadlineSeconds']}s"
    return Conversion(
        name, release_document(name, release_spec, strategy, gates), base_files(objects, "base"), tuple(notes.found)
    )


def _service(
    canary: Manifest, spec: Mapping[str, Any], name: str, selector: Mapping[str, str], notes: Notes
) -> dict[str, Any]:
    service = spec.get("service", {}) or {}
    notes.unconverted(
        canary,
        ("spec", "service"),
        service,
        _SERVICE_KEYS,
        {
            "portDiscovery": "the base Service lists the ports it serves",
            "apex": "rollgen names its own Services",
            "primary": "rollgen names its own Services",
            "canary": "rollgen names its own Services",
            **dict.fromkeys(
                ("trafficPolicy", "match", "rewrite", "timeout", "retries", "headers", "corsPolicy", "delegation"),
                "rollgen's routes carry weights only: keep such options in mesh configuration of your own",
            ),
        },
    )
    port = service.get("port", 80)
    entry = {"name": service.get("portName", "http"), "port": port, "targetPort": service.get("targetPort", port)}
    return service_for(service.get("name", name), selector, [entry])


def _strategy(
    canary: Manifest,
    spec: Mapping[str, Any],
    inputs: tuple[tuple[Manifest, ...], Options],
    gates: list[dict[str, Any]],
    notes: Notes,
) -> dict[str, Any]:
    manifests, options = inputs
    analysis = spec.get("analysis", {}) or {}
    where: JsonPath = ("spec", "analysis")
    notes.unconverted(
        canary,
        where,
        analysis,
        frozenset(
            {"interval", "threshold", "maxWeight", "stepWeight", "stepWeights", "metrics", "webhooks", "iterations"}
        ),
        _ANALYSIS_WHY,
    )
    threshold = int(analysis.get("threshold", 1) or 1)
    weights = flagger_weights(analysis)
    iterations = analysis.get("iterations")
    # Weighted: one passing check per step, so count the threshold; iterations: that many checks, then promotion.
    count = int(iterations) if not weights and isinstance(iterations, int) and iterations > 0 else threshold
    policy = {"interval": str(analysis.get("interval", "1m")), "count": count, "failureLimit": threshold - 1}
    provider = _provider(canary, spec, notes)
    metric_gates = _metrics(canary, analysis, (provider[0], manifests, options), policy, gates, notes)
    hooks = webhook_gates(canary, analysis, gates, notes)
    checks = hooks["rollout"] + metric_gates
    if checks:
        notes.add(
            canary,
            (*where, "threshold"),
            f"threshold {threshold}: each check is a gate measured every {policy['interval']}, count {count}, "
            f"failureLimit {threshold - 1}; rollgen counts failures per gate and per step, Flagger across "
            "metrics over the whole analysis"
            + (
                ""
                if not weights
                else f", and a passing step takes {count} measurements where Flagger advances after one"
            ),
        )
    if not weights:
        # Flagger without weights runs iterations against the new version, then switches: blue/green.
        notes.add(
            canary,
            (*where, "iterations") if "iterations" in analysis else where,
            f"no weights: imported as blueGreen, the checks judged before the switch ({_ANALYSIS_WHY['iterations']})",
        )
        result: dict[str, Any] = {}
        if hooks["pre-rollout"] + checks:
            result["prePromotionAnalysis"] = {"gates": hooks["pre-rollout"] + checks}
        if hooks["confirm-promotion"] or hooks["confirm-rollout"]:
            result["autoPromotionEnabled"] = False
        return {"blueGreen": result}
    canary_spec: dict[str, Any] = {"traffic": provider[0]}
    canary_spec |= provider[1]
    if hooks["pre-rollout"]:
        notes.add(
            canary,
            ("spec", "analysis", "webhooks"),
            f"pre-rollout webhooks run with the first weight ({weights[0]}%) already on the new version: "
            "Flagger runs them before any traffic moves, rollgen judges gates only against a committed step",
        )
    explicit = bool(
        hooks["pre-rollout"]
        or hooks["confirm-rollout"]
        or hooks["confirm-promotion"]
        or hooks["confirm-traffic-increase"]
    )
    if not explicit:
        top = int(analysis.get("maxWeight", 100) or 100)
        step = int(analysis.get("stepWeight", 0) or 0)
        if not analysis.get("stepWeights") and step and top % step == 0 and top <= 100:
            canary_spec |= {"stepWeight": step, "maxWeight": top}
        else:
            canary_spec["stepWeights"] = weights
        if checks:
            canary_spec["analysis"] = {"gates": checks}
        return {"canary": canary_spec}
    steps: list[dict[str, Any]] = []
    for i, weight in enumerate(weights):
        if hooks["confirm-traffic-increase"] and i:
            steps.append({"pause": {}})
        steps.append({"setWeight": weight})
        # rollgen judges gates against a committed step, so pre-rollout checks run at the first weight.
        first = hooks["pre-rollout"] if i == 0 else []
        if first + checks:
            steps.append({"analysis": {"gates": first + checks}})
    if hooks["confirm-promotion"]:
        steps.append({"pause": {}})
    return {"canary": {**canary_spec, "steps": steps}}


def _provider(canary: Manifest, spec: Mapping[str, Any], notes: Notes) -> tuple[str, dict[str, Any]]:
    """rollgen's traffic mode and its settings for the Canary's provider."""
    service = spec.get("service", {}) or {}
    provider = str(spec.get("provider", ""))
    if service.get("gatewayRefs") or provider.startswith("gatewayapi"):
        refs = [
            {k: ref[k] for k in ("name", "namespace", "sectionName") if k in ref}
            for ref in service.get("gatewayRefs", [])
        ]
        settings: dict[str, Any] = {"parentRefs": refs}
        if service.get("hosts"):
            settings["hostnames"] = list(service["hosts"])
        return "gatewayAPI", {"gatewayAPI": settings}
    if provider in ("", "istio"):
        if not provider:
            notes.add(canary, ("spec",), "no provider: Flagger then uses its meshProvider setting; imported as istio")
        istio = {k: list(service[k]) for k in ("hosts", "gateways") if service.get(k)}
        return "istio", ({"istio": istio} if istio else {})
    notes.add(
        canary,
        ("spec", "provider"),
        f"provider {provider} is not converted: rollgen routes by pod ratio (replicas), Istio or the Gateway API; "
        "imported with traffic: replicas, so traffic follows the share of pods",
    )
    return "replicas", {}


def _metrics(
    canary: Manifest,
    analysis: Mapping[str, Any],
    context: tuple[str, tuple[Manifest, ...], Options],
    policy: dict[str, Any],
    gates: list[dict[str, Any]],
    notes: Notes,
) -> list[str]:
    names: list[str] = []
    for i, metric in enumerate(analysis.get("metrics", []) or []):
        where: JsonPath = ("spec", "analysis", "metrics", i)
        notes.unconverted(
            canary,
            where,
            metric,
            frozenset({"name", "templateRef", "thresholdRange", "interval", "templateVariables", "threshold"}),
            {},
        )
        window = str(metric.get("interval", "1m"))
        query, address = _query(canary, where, metric, context, window, notes)
        if query is None:
            continue
        bounds = dict(metric.get("thresholdRange", {}) or {})
        if not bounds and isinstance(metric.get("threshold"), (int, float)) and metric.get("name") in _OLD_THRESHOLD:
            # Flagger's deprecated metric threshold: a minimum success rate, a maximum duration.
            bounds[_OLD_THRESHOLD[str(metric["name"])]] = metric["threshold"]
        conditions = [f"result >= {bounds['min']}" for _ in [0] if "min" in bounds]
        conditions += [f"result <= {bounds['max']}" for _ in [0] if "max" in bounds]
        if not conditions:
            notes.add(canary, where, f"metric {metric.get('name')} has no thresholdRange: left out")
            continue
        name = dns_label(str(metric.get("name")))
        gates.append(
            {
                "name": name,
                **policy,
                "successCondition": " && ".join(conditions),
                "prometheus": {"address": address, "query": query},
            }
        )
        names.append(name)
    return names


def _query(
    canary: Manifest,
    where: JsonPath,
    metric: Mapping[str, Any],
    context: tuple[str, tuple[Manifest, ...], Options],
    window: str,
    notes: Notes,
) -> tuple[str | None, str]:
    """The metric's PromQL in rollgen's query names and the Prometheus address, or ``None`` with a note."""
    traffic, manifests, options = context
    name = str(metric.get("name"))
    ref = metric.get("templateRef")
    if ref is None:
        if name in _BUILTIN and traffic == "istio":
            return _BUILTIN[name].replace("{w}", window), options.prometheus
        notes.add(
            canary,
            (*where, "name"),
            f"builtin metric {name} is converted only with Istio (traffic: {traffic} has no query for it): "
            "left out; write it as a MetricTemplate",
        )
        return None, ""
    template = next((m for m in manifests if m.kind == "MetricTemplate" and m.name == ref.get("name")), None)
    if template is None:
        notes.add(
            canary, (*where, "templateRef"), f"MetricTemplate {ref.get('name')} is not among the input files: left out"
        )
        return None, ""
    spec = template.data.get("spec", {}) or {}
    provider = spec.get("provider", {}) or {}
    notes.unconverted(
        template,
        ("spec", "provider"),
        provider,
        frozenset({"type", "address"}),
        {
            "secretRef": "put a token in the gate's headers",
            "insecureSkipVerify": "rollgen always verifies TLS certificates",
        },
    )
    if provider.get("type", "prometheus") != "prometheus":
        notes.add(
            template,
            ("spec", "provider", "type"),
            f"provider {provider.get('type')} is not converted: rollgen queries Prometheus only",
        )
        return None, ""
    query = str(spec.get("query", ""))
    variables = {str(k): str(v) for k, v in (metric.get("templateVariables", {}) or {}).items()}
    names = _placeholders(window, variables)
    query = PLACEHOLDER.sub(lambda m: names.get(m.group(1), m.group(0)), query)
    left = [m.group(1) for m in PLACEHOLDER.finditer(query) if m.group(1) not in TEMPLATE_NAMES]
    if left:
        notes.add(
            template,
            ("spec", "query"),
            f"query uses {', '.join(sorted(set(left)))}, which rollgen cannot fill in: left out",
        )
        return None, ""
    if "{{ release }}-.*" in query:
        notes.add(
            template,
            ("spec", "query"),
            "{{ target }} (the canary Deployment) became {{ release }}-.*, which matches every version's Deployment: "
            "select the canary by its version label ({{ version }}) instead",
        )
    return query, str(provider.get("address") or options.prometheus)


def _placeholders(window: str, variables: Mapping[str, str]) -> dict[str, str]:
    """Flagger's template names, as text or as rollgen's own names."""
    names = {"namespace": "{{ namespace }}", "target": "{{ release }}-.*", "interval": window, "name": "{{ release }}"}
    return names | {f"variables.{k}": v for k, v in variables.items()}


_OLD_THRESHOLD = {"request-success-rate": "min", "request-duration": "max"}
