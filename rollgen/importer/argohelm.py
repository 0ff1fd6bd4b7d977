"""An Argo CD Application with a Helm chart source as a :class:`~rollgen.importer.charts.Running`.

The chart source is ``spec.source``, or the one of ``spec.sources`` that
names a chart (a ``$values`` reference to the GitOps repository beside it).
Its values are merged as Argo CD merges them: the ``valueFiles`` in order
(``$values/...`` read from the repository the import runs in), then
``valuesObject`` (or, without it, the ``values`` text), then each of
``parameters`` (``--set``, ``forceString`` kept as text). Repositories:
``https://`` with ``chart``; ``oci://host/path/chart`` with ``path: .``
(Argo CD's OCI source); a bare ``host/path`` with ``chart`` (Helm over OCI).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rollgen import yamlload
from rollgen.importer.charts import ChartSource, Running
from rollgen.importer.conversion import NotConvertible, Notes, Options
from rollgen.importer.documents import Manifest
from rollgen.render.helm import merge_values, set_value
from rollgen.spec.yamldoc import JsonPath

ReadFile = Callable[[str], "bytes | None"]
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_HANDLED = frozenset({"source", "sources", "destination", "project"})
_WHY = {
    "syncPolicy": "the Applications rollgen writes carry no sync policy: the Application that applies output.path does",
    "ignoreDifferences": "put ignoreDifferences on the Application that applies output.path",
    "info": "not carried over",
    "revisionHistoryLimit": "every revision stays in Git history",
}


def locate(app: Manifest, manifests: tuple[Manifest, ...], options: Options, notes: Notes, read: ReadFile) -> Running:
    """What ``app`` (an Application) runs; NotConvertible (with notes) when it is no Helm chart from a repository."""
    data = app.data
    spec: dict[str, Any] = data.get("spec") or {}
    where, source = _chart_source(app, spec, notes)
    helm: dict[str, Any] = source.get("helm") or {}
    release_name = str(helm.get("releaseName") or app.name)
    if release_name != app.name:
        notes.add(
            app,
            (*where, "helm", "releaseName"),
            f"Application {app.name} renders the Helm release {release_name}: rollgen names each Application after "
            "its release, so taking it over would delete this Application and what it deployed; rename one to the "
            "other first",
        )
        raise NotConvertible(notes)
    namespace = str((spec.get("destination") or {}).get("namespace") or options.namespace)
    chart = _chart(app, where, source, notes)
    values = _values(app, where, helm, notes, read)
    notes.unconverted(app, ("spec",), spec, _HANDLED, _WHY)
    settings: dict[str, Any] = {}
    if (engine_namespace := (data.get("metadata") or {}).get("namespace")) not in (None, "argocd"):
        settings["namespace"] = engine_namespace
    if spec.get("project") not in (None, "default"):
        settings["project"] = spec["project"]
    kept = tuple(m for m in manifests if m is not app and m.kind != "Application")
    return Running("argocd", app, release_name, namespace, chart, (*where, "targetRevision"), values, settings, kept)


def _chart_source(app: Manifest, spec: dict[str, Any], notes: Notes) -> tuple[JsonPath, dict[str, Any]]:
    if isinstance(spec.get("source"), dict):
        return ("spec", "source"), spec["source"]
    for i, source in enumerate(spec.get("sources") or ()):
        if isinstance(source, dict) and ("chart" in source or str(source.get("repoURL", "")).startswith("oci://")):
            return ("spec", "sources", i), source
    notes.add(app, ("spec",), "the Application has no Helm chart source (a chart from a Helm repository or OCI)")
    raise NotConvertible(notes)


def _chart(app: Manifest, where: JsonPath, source: dict[str, Any], notes: Notes) -> ChartSource:
    url = str(source.get("repoURL", "")).rstrip("/")
    version = str(source.get("targetRevision") or "*")
    if url.startswith("oci://") and "chart" not in source:
        if source.get("path", ".") not in (".", ""):
            notes.add(app, (*where, "path"), "path: the chart must be at the OCI artifact's root (path: .)")
            raise NotConvertible(notes)
        repository, _, chart = url.rpartition("/")
        return ChartSource(repository, chart, version)
    if "chart" not in source:
        notes.add(
            app,
            (*where, "repoURL"),
            "the source is a Git repository, not a chart repository: rollgen takes over charts published in a Helm "
            "repository or an OCI registry",
        )
        raise NotConvertible(notes)
    repository = url if re.match(r"^[a-z]+://", url) else f"oci://{url}"
    return ChartSource(repository, str(source["chart"]), version)


def _values(app: Manifest, where: JsonPath, helm: dict[str, Any], notes: Notes, read: ReadFile) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for i, name in enumerate(helm.get("valueFiles") or ()):
        path = str(name).removeprefix("$values/")
        text = read(path) if str(name).startswith("$values/") else None
        if text is None:
            notes.add(app, (*where, "helm", "valueFiles", i), f"values file {name} is not read: not $values/ here")
            continue
        merge_values(merged, yamlload.load(text) or {})
    if isinstance(helm.get("valuesObject"), dict):
        merge_values(merged, helm["valuesObject"])
    elif isinstance(helm.get("values"), str):
        merge_values(merged, yamlload.load(helm["values"]) or {})
    for i, parameter in enumerate(helm.get("parameters") or ()):
        name, value = str(parameter.get("name", "")), str(parameter.get("value", ""))
        if "[" in name or "\\" in name:
            notes.add(app, (*where, "helm", "parameters", i), f"parameter {name} is not converted: set it in values")
            continue
        set_value(merged, name, value if parameter.get("forceString") else _typed(value))
    for key in ("fileParameters", "ignoreMissingValueFiles", "passCredentials", "version"):
        if key in helm:
            notes.add(app, (*where, "helm", key), f"helm.{key} is not converted")
    return merged


def _typed(value: str) -> Any:
    """A ``--set`` value as Helm reads it: true/false, null, integers, else text."""
    if value in ("true", "false"):
        return value == "true"
    if value == "null":
        return None
    return int(value) if _INTEGER.fullmatch(value) else value
