"""Semantic checks of ``source.helm`` that a JSON Schema cannot say (see :mod:`rollgen.spec.checks`).

Offline and fast, like every check: they read the fields, never the chart
repository (whether the chart and version exist is found when rollgen first
pulls it, before a revision that runs it is committed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rollgen.errors import Problem
from rollgen.spec.yamldoc import Document, JsonPath

HELM: JsonPath = ("spec", "source", "helm")


def _get(data: Any, *path: str | int) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def check_chart_source(doc: Document) -> Iterator[Problem]:
    """A chart from a repository (``repository``, ``version``) or one in this repository, never half of each."""
    helm = _get(doc.data, *HELM)
    if not isinstance(helm, dict):
        return
    if "repository" not in helm:
        for field in ("version", "credentials", "resources"):
            if field in helm:
                yield doc.problem(
                    (*HELM, field),
                    f"{field} applies to a chart from a repository (source.helm.repository); a chart in this "
                    "repository is a directory, its version in its Chart.yaml",
                    at_key=True,
                )
        for engine, field, why in (
            ("argocd", "repoURL", "Argo CD reads the chart directory and the values files from it"),
            ("flux", "gitRepository", "Flux reads the chart directory and the values files from it"),
        ):
            if isinstance(helm.get(engine), dict) and field not in helm[engine]:
                yield doc.problem(
                    (*HELM, engine), f"{engine}.{field}: required for a chart in this repository ({why})", at_key=True
                )
        return
    chart = helm.get("chart")
    if isinstance(chart, str) and "/" in chart:
        yield doc.problem(
            (*HELM, "chart"),
            f"chart: with repository, chart is the chart's name there (e.g. {chart.rsplit('/', 1)[-1]}), not a path",
        )
    if "version" not in helm:
        yield doc.problem(
            HELM, "repository needs version: the chart's exact version, which every revision pins", at_key=True
        )
    if "perVersion" not in helm:
        yield doc.problem(
            HELM,
            "a chart from a repository runs one Helm release per version: set perVersion (the value keys of its "
            "name, image tag and replica count); charts/rollgen-app is a chart in this repository",
            at_key=True,
        )
    engines = [e for e in ("argocd", "flux") if e in helm]
    if not engines:
        yield doc.problem(
            HELM,
            "a chart from a repository needs the engine that installs it: flux: {} (HelmReleases and their "
            "chart source) or argocd: {} (Applications)",
            at_key=True,
        )
    elif len(engines) > 1:
        yield doc.problem(
            (*HELM, "flux"),
            "choose one of argocd or flux: both would install every release twice from one output directory",
            at_key=True,
        )
    credentials = _get(helm, "credentials")
    if isinstance(credentials, dict) and ("username" in credentials) != ("password" in credentials):
        missing = "password" if "username" in credentials else "username"
        yield doc.problem(
            (*HELM, "credentials"), f"credentials: username and password go together; {missing} is missing"
        )


def check_per_version(doc: Document) -> Iterator[Problem]:
    """A chart of one's own runs one Helm release per version: what its Services can and cannot do."""
    where: JsonPath = (*HELM, "perVersion")
    keys = _get(doc.data, *where)
    if not isinstance(keys, dict):
        return
    strategy = _get(doc.data, "spec", "strategy")
    canary = _get(strategy, "canary")
    if isinstance(canary, dict):
        yield from _canary(doc, where, keys, canary, "repository" in _get(doc.data, *HELM))
    if isinstance(_get(strategy, "blueGreen", "previewService"), str):
        yield doc.problem(
            ("spec", "strategy", "blueGreen", "previewService"),
            "previewService needs charts/rollgen-app: with perVersion each release has the chart's own Service",
            at_key=True,
        )
    seen: dict[str, str] = {}
    for field, dotted in keys.items():
        if not isinstance(dotted, str):
            continue
        for other_field, other in seen.items():
            if dotted == other or dotted.startswith(other + ".") or other.startswith(dotted + "."):
                yield doc.problem(
                    (*where, field), f"perVersion.{field} ({dotted}) overlaps perVersion.{other_field} ({other})"
                )
        seen[field] = dotted


def _canary(
    doc: Document, where: JsonPath, keys: dict[str, Any], canary: dict[str, Any], remote: bool
) -> Iterator[Problem]:
    if not remote:
        yield doc.problem(
            where,
            "perVersion with a chart in this repository cannot split traffic for a canary: its releases share no "
            "route; publish the chart (source.helm.repository), use charts/rollgen-app, or blueGreen, "
            "rollingUpdate or recreate",
            at_key=True,
        )
        return
    traffic = canary.get("traffic", "replicas")
    if traffic == "replicas" and "podLabels" not in keys:
        yield doc.problem(
            where,
            "a replica-ratio canary over one Helm release per version needs perVersion.podLabels: the Service "
            "rollgen renders selects the app label it sets on every release's pods (or route by traffic: "
            "gatewayAPI or istio, each release behind its own Service)",
            at_key=True,
        )
    if traffic == "istio" and not _get(canary, "istio", "hosts"):
        yield doc.problem(
            ("spec", "strategy", "canary", "istio") if "istio" in canary else ("spec", "strategy", "canary"),
            "istio.hosts: name the hosts clients call; with one Helm release per version no one Service is the "
            "app's host",
            at_key=True,
        )
