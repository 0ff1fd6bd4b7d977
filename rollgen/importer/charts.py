"""A running Helm release (a Flux HelmRelease or an Argo CD Application) as a release spec: the shared part.

The engine-specific readers (:mod:`rollgen.importer.fluxhelm`,
:mod:`rollgen.importer.argohelm`) find what runs: the release's name and
namespace, its chart's repository, name and version (exact or a range), and
its values merged as the engine merges them. :func:`convert_running` then
writes the spec, given the chart that version resolves to (its default values
and the value paths its templates read, pulled by the command): one Helm
release per version with the ``perVersion`` keys the chart takes, the values
as a values file, and every other object of the input kept beside the
releases as ``resources``. Pure: no file, network or Helm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rollgen.helmrepo.archive import ChartArchive
from rollgen.importer.conversion import Conversion, Notes, Options, base_files, release_document, strip_object
from rollgen.importer.documents import Manifest
from rollgen.render.helm import get_value, merge_values
from rollgen.render.manifests import dump_yaml
from rollgen.spec.yamldoc import JsonPath

VALUES_FILE = "values.yaml"
RESOURCES = "resources"


@dataclass(frozen=True)
class ChartSource:
    """Where the chart comes from: ``version`` as written (exact, or a range the command resolves)."""

    repository: str
    chart: str
    version: str
    secret_ref: str | None = None


@dataclass(frozen=True)
class Running:
    """A Helm release as its engine runs it; ``kept`` are the other input objects, applied beside it as they are."""

    engine: Literal["flux", "argocd"]
    manifest: Manifest
    name: str
    namespace: str
    chart: ChartSource
    version_at: JsonPath
    values: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)
    kept: tuple[Manifest, ...] = ()


def convert_running(running: Running, chart: ChartArchive, version: str, options: Options, notes: Notes) -> Conversion:
    """The release spec of ``running`` (its chart resolved to ``version``, read as ``chart``) and its files."""
    if version != running.chart.version:
        notes.add(
            running.manifest,
            running.version_at,
            f"chart version {running.chart.version} is pinned to {version}, the newest the repository has that "
            "matches (as the engine resolves it): every revision pins its chart version exactly",
        )
    keys = per_version_keys(chart, running, notes)
    defaults: dict[str, Any] = {}
    merge_values(defaults, dict(chart.values))
    merge_values(defaults, running.values)
    tag = get_value(defaults, keys["imageTag"])
    runs = str(tag) if tag is not None else chart.app_version or version
    replicas = get_value(defaults, keys["replicas"])
    helm: dict[str, Any] = {"repository": running.chart.repository, "chart": running.chart.chart, "version": version}
    if running.chart.secret_ref is not None:
        helm["credentials"] = {"secretRef": running.chart.secret_ref}
    files: dict[str, bytes] = {}
    if running.values:
        helm["values"] = [f"{options.base_path}/{VALUES_FILE}"]
        files[VALUES_FILE] = dump_yaml(running.values).encode()
    if running.kept:
        helm["resources"] = f"{options.base_path}/{RESOURCES}"
        objects = {f"{m.kind.lower()}-{m.name}.yaml": strip_object(m.data) for m in running.kept}
        files.update(base_files(objects, RESOURCES))
        for kept in running.kept:
            notes.add(kept, ("kind",), f"{kept.kind} {kept.name} is kept as it is, applied beside the releases")
    helm.update(releaseName=running.name, perVersion=keys, **{running.engine: running.settings})
    spec = {
        "namespace": running.namespace,
        "replicas": replicas if isinstance(replicas, int) and replicas > 0 else 1,
        "image": _image(defaults, keys["imageTag"]),
        "version": runs,
        "source": {"helm": helm},
        "output": {"path": options.output_path},
    }
    if not isinstance(replicas, int):
        notes.add(running.manifest, ("spec",), f"the chart sets no replica count at {keys['replicas']}: replicas is 1")
    strategy = {"blueGreen": {"autoPromotionEnabled": False}}
    engine = "the Flux Kustomization" if running.engine == "flux" else "the Argo CD Application"
    notes.add(
        running.manifest,
        ("metadata", "name"),
        f"the liveness gate is kubernetes: {{}}, which looks for the plan's Deployment names; the adopted release's "
        f"Deployment keeps its chart's name ({running.name}): gate on {engine} that applies output.path instead",
    )
    notes.add(
        running.manifest,
        ("kind",),
        "strategy is blueGreen (the serving release's chart Service is the traffic switch); a chart that takes "
        "podLabels can run a canary by replicas, any chart one by Gateway API or Istio weights",
    )
    return Conversion(running.name, release_document(running.name, spec, strategy, []), files, tuple(notes.found))


def per_version_keys(chart: ChartArchive, running: Running, notes: Notes) -> dict[str, str]:
    """The value keys rollgen sets per version, found among those the chart's templates read."""
    keys: dict[str, str] = {}
    for field_name, candidates, required in (
        ("name", ("fullnameOverride",), True),
        ("imageTag", ("image.tag",), True),
        ("replicas", ("replicaCount", "replicas"), True),
        ("podLabels", ("podLabels",), False),
    ):
        found = next((c for c in candidates if c in chart.used), None)
        if found is not None:
            keys[field_name] = found
        elif required:
            keys[field_name] = candidates[0]
            notes.add(
                running.manifest,
                ("kind",),
                f"chart {chart.name}'s templates read no {' or '.join(candidates)}: perVersion.{field_name} is "
                f"{candidates[0]}; set it to the key that does this in the chart",
            )
    if "service.enabled" in chart.used:
        notes.add(
            running.manifest,
            ("kind",),
            "perVersion.service is left out: every release keeps the chart's Service (and what names it, such as "
            "the chart's own route), so traffic moves when a release is removed, not when it is switched off; set "
            "perVersion.service: service.enabled to keep the Service on in the serving release only",
        )
    return keys


def _image(values: Mapping[str, Any], tag_key: str) -> str:
    """The image repository beside the tag key (``image.repository``, with ``image.registry`` when set)."""
    parent = tag_key.rpartition(".")[0]
    repository = get_value(values, f"{parent}.repository" if parent else "repository")
    registry = get_value(values, f"{parent}.registry" if parent else "registry")
    if not isinstance(repository, str) or not repository:
        return "set-the-image-repository"
    return f"{registry}/{repository}" if isinstance(registry, str) and registry else repository
