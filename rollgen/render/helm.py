"""A State as Helm values: the files one commit writes under ``release.output_path``.

Two kinds of chart, one plan.

**rollgen-app** (``charts/rollgen-app``, or any chart with its values
contract): one Helm release runs every version. Files::

    <output>/release-values.yaml   what the spec fixes for the whole rollout (app, image, routes)
    <output>/step-values.yaml      what a step moves: versions, service.version, preview, traffic.weights
    <output>/application.yaml      Argo CD Application, when source.helm.argocd is set
    <output>/helmrelease.yaml      Flux HelmRelease, when source.helm.flux is set

A step's commit touches ``step-values.yaml`` only, so its diff is the move
itself.

**Revisions** (:mod:`rollgen.render.revision`). Each ``versions`` entry of
``step-values.yaml`` carries the revision it runs, frozen when the revision
started rolling out: ``tag`` (the image version, ``@digest`` when pinned),
``config`` (the digest of the chart's files and the values files it was built
from), ``container`` and ``pod``, those values as merged then (the chart's
defaults, then each values file). The chart runs each Deployment from its
entry's frozen ``container`` and ``pod``, so an edit of the values files is a
new revision and reaches pods only by a rollout, and an abort restores what
ran. Only those two are frozen (``pod`` when the chart's values have it: a
copy of the chart from before it would refuse the key): other values (Service
ports, the ServiceAccount, autoscaling bounds, the PodDisruptionBudget) and
the chart's templates themselves are read live by every version. The HPA decision of :mod:`rollgen.render.kustomize` holds unchanged
(the chart implements it: HPAs pinned while several versions run, none at
zero replicas, no ``spec.replicas`` beside an HPA).

**A user's own chart** (``source.helm.perVersion`` names its value keys): one
Helm release per version, named like the version's Deployment, each with a
values file ``versions/<slug>.yaml`` that sets the name override, image tag,
replica count, pod labels app/version (when the chart takes them) and turns
the chart's Service on in exactly one release: the version the Service
selects (blue/green), else the oldest running version. Argo CD gets one
Application per release in ``application.yaml``, Flux one HelmRelease per
release in ``helmrelease.yaml``. Limits: each release's Service (and every
other object) is named by that release's name override, so the Service moves
to a new name when it changes release; traffic follows that one release's
pods, so only strategies with a single serving version (blue/green, recreate,
rolling update) fit; preview Services, pod-ratio canaries and mesh weights need
rollgen-app.

GitOps wiring: Argo CD uses a multi-source Application (the chart directory
and a ``$values`` ref to the same repository and branch), Flux a HelmRelease
whose chart comes from a GitRepository with ``reconcileStrategy: Revision``
(every commit is a new chart revision) and ``valuesFiles`` (which do not
include the chart's own ``values.yaml`` unless listed, so it is listed first).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from rollgen import yamlload
from rollgen.errors import UsageError
from rollgen.names import slug
from rollgen.plan.model import State, Workload
from rollgen.render.deployment_strategy import deployment_strategy
from rollgen.render.manifests import dump_documents, dump_yaml
from rollgen.render.revision import Revision
from rollgen.spec.helmsource import ArgoCDTarget, HelmSource, PerVersionKeys
from rollgen.spec.model import BlueGreen, Canary, Release
from rollgen.spec.repository import ChartError, chart_name

Files = dict[str, bytes]
STEP_VALUES = "step-values.yaml"
RELEASE_VALUES = "release-values.yaml"
_NONE: Mapping[str, ChartRevision] = MappingProxyType({})
# The values that shape a version's pods, frozen with each revision (see Revisions above).
FROZEN = ("container", "pod")


@dataclass(frozen=True)
class ChartRevision:
    """A revision of a rollgen-app release and the values frozen with it (keys of ``FROZEN``)."""

    revision: Revision
    values: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class HelmChart:
    """What rendering needs to know about the chart: its directory and name (from Chart.yaml)."""

    path: str
    name: str


def read_chart(repo_root: Path, release: Release) -> HelmChart:
    """Check that ``source.helm.chart`` is a chart directory in the repository and read its name."""
    source = _source(release)
    path = posixpath.normpath(source.chart)
    try:
        name = chart_name(repo_root / path / "Chart.yaml", posixpath.join(path, "Chart.yaml"))
    except ChartError as error:
        raise UsageError(str(error)) from None
    for values in source.values:
        if not (repo_root / values).is_file():
            raise UsageError(f"release {release.name}: values file {values} is not in the repository")
    return HelmChart(path, name)


def render_state(
    release: Release, state: State, chart: HelmChart, revisions: Mapping[str, ChartRevision] = _NONE
) -> Files:
    """Every file of ``state``'s output directory, by path relative to ``release.output_path``.

    ``revisions`` maps labels to their frozen revisions (rollgen-app only); a
    label it lacks renders as before revisions: its version is the tag and
    the container and pod values are read live.

    The result is the whole content of the directory: a writer removes files
    it does not list (a version whose release left the state).
    """
    source = _source(release)
    header = f"# Rendered by rollgen from release {release.name}: edit the release spec, not this file.\n"
    output = posixpath.normpath(release.output_path)
    documents: dict[str, dict[str, object]]
    releases: dict[str, list[str]]  # Helm release name -> its rendered values files, repository-relative
    if source.per_version is not None:
        documents, releases = {}, {}
        for workload in state.workloads:
            path = f"versions/{slug(workload.version)}.yaml"
            documents[path] = version_values(release, state, workload, source.per_version)
            releases[workload.name] = [posixpath.join(output, path)]
    else:
        documents = {RELEASE_VALUES: release_values(release), STEP_VALUES: step_values(release, state, revisions)}
        releases = {source.release_name or release.name: [posixpath.join(output, path) for path in documents]}
    files = {path: header + dump_yaml(doc) for path, doc in documents.items()}
    if source.argocd is not None:
        files["application.yaml"] = header + dump_documents(
            _application(release, source, chart, n, v) for n, v in releases.items()
        )
    if source.flux is not None:
        files["helmrelease.yaml"] = header + dump_documents(
            _helm_release(release, source, chart, n, v) for n, v in releases.items()
        )
    return {path: text.encode() for path, text in files.items()}


def release_values(release: Release) -> dict[str, object]:
    """Values of rollgen-app that the spec fixes for the whole rollout."""
    values: dict[str, object] = {"app": release.name, "image": {"repository": release.image}}
    values["strategy"] = deployment_strategy(release)
    strategy = release.strategy
    if isinstance(strategy, Canary) and strategy.traffic == "istio":
        istio = strategy.istio
        values["traffic"] = {
            "istio": {"hosts": list(istio.hosts) if istio else [], "gateways": list(istio.gateways) if istio else []}
        }
    elif isinstance(strategy, Canary) and strategy.traffic == "gatewayAPI":
        if strategy.gateway_api is None:
            raise UsageError(f"release {release.name} routes with the Gateway API but names no parentRefs")
        parents = [p.as_manifest() for p in strategy.gateway_api.parent_refs]
        values["traffic"] = {"gatewayAPI": {"parentRefs": parents, "hostnames": list(strategy.gateway_api.hostnames)}}
    return values


def step_values(release: Release, state: State, revisions: Mapping[str, ChartRevision] = _NONE) -> dict[str, object]:
    """Values of rollgen-app that a step moves; every key always present, so a diff shows values, not keys."""
    versions: list[dict[str, object]] = []
    for w in state.workloads:
        entry: dict[str, object] = {"version": w.version, "name": w.name, "replicas": w.replicas}
        frozen = revisions.get(w.version)
        if frozen is not None:
            pinned = f"@{frozen.revision.digest}" if frozen.revision.digest else ""
            entry.update(tag=frozen.revision.version + pinned, config=frozen.revision.config)
            entry.update((key, dict(values)) for key, values in frozen.values.items())
        versions.append(entry)
    preview = (
        None if state.preview_version is None else {"name": preview_name(release), "version": state.preview_version}
    )
    return {
        "versions": versions,
        "service": {"version": state.service_version},
        "preview": preview,
        "traffic": {"weights": [{"version": v, "weight": p} for v, p in state.weights]},
    }


def version_values(release: Release, state: State, workload: Workload, keys: PerVersionKeys) -> dict[str, object]:
    """Values of one version's release of a user's own chart."""
    if state.preview_version is not None or state.weights:
        raise UsageError(
            f"release {release.name}: a chart with one release per version cannot carry a preview Service or traffic weights; use charts/rollgen-app"
        )
    if state.service_version is None and len(state.workloads) > 1:
        raise UsageError(
            f"release {release.name}: with one release per version the chart's Service selects one release's pods, "
            "so traffic cannot follow a pod ratio over several versions; use charts/rollgen-app"
        )
    serving = state.service_version if state.service_version is not None else state.workloads[0].version
    values: dict[str, object] = {}
    set_value(values, keys.name, workload.name)
    set_value(values, keys.image_tag, workload.version)
    set_value(values, keys.replicas, workload.replicas)
    if keys.pod_labels is not None:
        set_value(values, keys.pod_labels, {"app": release.name, "version": workload.version})
    if keys.service is not None:
        set_value(values, keys.service, workload.version == serving)
    return values


def frozen_chart_revisions(files: Mapping[str, bytes]) -> dict[str, ChartRevision]:
    """The revisions frozen in a rollgen-app output's ``step-values.yaml`` (``files``: the output as committed)."""
    text = files.get(STEP_VALUES)
    data: Any = yamlload.load(text) if text is not None else None
    found: dict[str, ChartRevision] = {}
    for entry in (data or {}).get("versions") or ():
        if isinstance(entry, dict) and "config" in entry:
            version, _, digest = str(entry["tag"]).partition("@")
            revision = Revision(version, str(entry["config"]), digest or None)
            values = {key: entry[key] or {} for key in FROZEN if key in entry}
            found[str(entry["version"])] = ChartRevision(revision, values)
    return found


def frozen_values(repo_root: Path, release: Release, chart: HelmChart) -> dict[str, dict[str, Any]]:
    """The ``FROZEN`` values as Helm merges them now: the chart's defaults, then each values file in order.

    A key no file has is left out (the chart does not take it); a file's ``null`` empties it, as Helm deletes it.
    """
    merged = merged_values(repo_root, release, (posixpath.join(chart.path, "values.yaml"), *_source(release).values))
    frozen: dict[str, dict[str, Any]] = {}
    for key in FROZEN:
        value = merged.get(key)
        if isinstance(value, dict):
            frozen[key] = value
        elif key in merged and value is None:
            frozen[key] = {}
    return frozen


def merged_values(repo_root: Path, release: Release, paths: Iterable[str]) -> dict[str, Any]:
    """The values files at ``paths`` (repository-relative) merged in order, as Helm merges them."""
    merged: dict[str, Any] = {}
    for path in paths:
        try:
            data: Any = yamlload.load((repo_root / path).read_bytes())
        except (OSError, yaml.YAMLError) as error:
            raise UsageError(f"release {release.name}: cannot read values file {path}: {error}") from None
        if data is not None and not isinstance(data, dict):
            raise UsageError(f"release {release.name}: values file {path} is not a map of values")
        merge_values(merged, data or {})
    return merged


def merge_values(into: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Helm's merge of values files: maps merge key by key, anything else replaces."""
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge_values(into[key], value)
        else:
            into[key] = value


def get_value(values: Mapping[str, Any], dotted: str) -> Any:
    """The value at ``a.b.c`` in nested maps (``None`` when a part is missing)."""
    here: Any = values
    for key in dotted.split("."):
        here = here.get(key) if isinstance(here, Mapping) else None
    return here


def set_value(values: dict[str, object], dotted: str, value: object) -> None:
    """Set ``a.b.c`` in nested maps, creating the maps on the way."""
    *parents, last = dotted.split(".")
    here = values
    for key in parents:
        child = here.setdefault(key, {})
        if not isinstance(child, dict):
            raise UsageError(f"value key {dotted} crosses {key}, which another key sets to a value")
        here = child
    here[last] = value


def _application(
    release: Release, source: HelmSource, chart: HelmChart, name: str, values: list[str]
) -> dict[str, object]:
    argocd = source.argocd
    assert argocd is not None  # the caller writes Applications only when asked
    revision = release.git.branch
    helm = {"releaseName": name, "valueFiles": [f"$values/{v}" for v in (*source.values, *values)]}
    sources = [
        {"repoURL": argocd.repo_url, "targetRevision": revision, "path": chart.path, "helm": helm},
        {"repoURL": argocd.repo_url, "targetRevision": revision, "ref": "values"},
    ]
    return application(release, argocd, name, {"sources": sources})


def application(release: Release, argocd: ArgoCDTarget, name: str, sources: Mapping[str, object]) -> dict[str, object]:
    """An Argo CD Application of one Helm release, deploying to the release's namespace from ``sources``."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": argocd.namespace, "labels": {"app": release.name}},
        "spec": {
            "project": argocd.project,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": release.namespace},
            **sources,
        },
    }


def _helm_release(
    release: Release, source: HelmSource, chart: HelmChart, name: str, values: list[str]
) -> dict[str, object]:
    flux = source.flux
    assert flux is not None  # the caller writes HelmReleases only when asked
    files = [f"./{v}" for v in (posixpath.join(chart.path, "values.yaml"), *source.values, *values)]
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": release.namespace, "labels": {"app": release.name}},
        "spec": {
            "interval": "10m",
            "releaseName": name,
            "chart": {
                "spec": {
                    "chart": f"./{chart.path}",
                    "reconcileStrategy": "Revision",
                    "sourceRef": {"kind": "GitRepository", "name": flux.git_repository, "namespace": flux.namespace},
                    "valuesFiles": files,
                }
            },
        },
    }


def _source(release: Release) -> HelmSource:
    if not isinstance(release.source, HelmSource):
        raise UsageError(f"release {release.name} renders from a Kustomize base, not from a Helm chart")
    return release.source


def preview_name(release: Release) -> str:
    """The preview Service's name, as the Kustomize renderer names it for a base Service named after the app."""
    strategy = release.strategy
    return (strategy.preview_service if isinstance(strategy, BlueGreen) else None) or f"{release.name}-preview"
