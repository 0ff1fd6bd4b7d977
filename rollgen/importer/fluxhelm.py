"""A Flux HelmRelease (with its HelmRepository or OCIRepository) as a :class:`~rollgen.importer.charts.Running`.

The input is what Flux's kustomize-controller applies: the environment's
directory built with ``kubectl kustomize`` (its patches merged, as Flux merges
them), or the files themselves. ``spec.values`` is passed to Helm as it is,
over the chart's defaults; that is what the values file keeps. A HelmRelease
whose object name differs from its Helm release name is refused: rollgen
names each HelmRelease after its Helm release, so taking it over would
delete the object, and helm-controller would uninstall the release.
"""

from __future__ import annotations

from typing import Any

from rollgen.importer.charts import ChartSource, Running
from rollgen.importer.conversion import NotConvertible, Notes, Options
from rollgen.importer.documents import Manifest
from rollgen.spec.yamldoc import JsonPath

_HANDLED = frozenset({"chart", "chartRef", "releaseName", "values", "interval", "targetNamespace", "storageNamespace"})
_WHY = {
    "valuesFrom": "values from ConfigMaps and Secrets are not read: put them in the values file (secrets by reference)",
    "postRenderers": "rollgen renders no post-renderer: the chart's objects run as Helm renders them",
    "install": "rollgen's HelmReleases use helm-controller's install defaults",
    "upgrade": "rollgen's HelmReleases use helm-controller's upgrade defaults",
    "test": "rollgen's gates judge each step, not Helm tests",
    "rollback": "an abort commits the previous release back; Helm's own rollback is not used",
    "dependsOn": "ordering between HelmReleases is not kept",
    "suspend": "a rollout is paused with rollgen pause",
}


def locate(release: Manifest, manifests: tuple[Manifest, ...], options: Options, notes: Notes) -> Running:
    """What ``release`` (a HelmRelease) runs; NotConvertible (with notes) when rollgen cannot take it over."""
    data = release.data
    spec: dict[str, Any] = data.get("spec") or {}
    name, namespace = release.name, (data.get("metadata") or {}).get("namespace") or options.namespace
    target = spec.get("targetNamespace")
    for field in ("targetNamespace", "storageNamespace"):
        if spec.get(field) not in (None, namespace):
            notes.add(
                release,
                ("spec", field),
                f"spec.{field} {spec[field]} is not the HelmRelease's namespace {namespace}: rollgen installs every "
                "release in its spec.namespace, so taking this one over would move it",
            )
    helm_name = spec.get("releaseName") or (f"{target}-{name}" if target else name)
    if helm_name != name:
        notes.add(
            release,
            ("spec", "releaseName") if "releaseName" in spec else ("metadata", "name"),
            f"HelmRelease {name} installs the Helm release {helm_name}: rollgen names each HelmRelease after its "
            "Helm release, so taking it over would delete this object and Helm would uninstall the release; "
            f"rename one to the other first",
        )
    chart, at = _chart(release, spec, manifests, namespace, notes)
    if notes.found:
        raise NotConvertible(notes)
    _unconverted(release, spec, notes)
    used = {id(release)} | {id(m) for m in manifests if m.kind in ("HelmRepository", "OCIRepository")}
    kept = tuple(m for m in manifests if id(m) not in used and m.kind != "HelmRelease")
    settings = {"interval": str(spec["interval"])} if "interval" in spec else {}
    values = spec.get("values") or {}
    return Running("flux", release, helm_name, namespace, chart, at, dict(values), settings, kept)


def _chart(
    release: Manifest, spec: dict[str, Any], manifests: tuple[Manifest, ...], namespace: str, notes: Notes
) -> tuple[ChartSource, JsonPath]:
    if "chartRef" in spec:
        ref = spec["chartRef"] or {}
        source = _source(release, ("spec", "chartRef"), ref, manifests, namespace, notes)
        if ref.get("kind") != "OCIRepository":
            notes.add(release, ("spec", "chartRef"), "chartRef must name an OCIRepository (a HelmChart is not read)")
            raise NotConvertible(notes)
        url = str((source.get("spec") or {}).get("url", "")).rstrip("/")
        wanted = (source.get("spec") or {}).get("ref") or {}
        version = wanted.get("tag") or wanted.get("semver")
        if not url.startswith("oci://") or "/" not in url.removeprefix("oci://") or not version:
            notes.add(release, ("spec", "chartRef"), f"OCIRepository {ref.get('name')} names no oci:// URL and tag")
            raise NotConvertible(notes)
        repository, _, chart = url.rpartition("/")
        return ChartSource(repository, chart, str(version), _secret(source)), ("spec", "chartRef")
    chart_spec = ((spec.get("chart") or {}).get("spec")) or {}
    where: JsonPath = ("spec", "chart", "spec")
    ref = chart_spec.get("sourceRef") or {}
    if ref.get("kind") != "HelmRepository":
        notes.add(
            release,
            (*where, "sourceRef"),
            f"the chart comes from a {ref.get('kind')}: rollgen takes over charts from a HelmRepository or an "
            "OCIRepository (a chart in this repository is source.helm.chart, adopted as a first revision)",
        )
        raise NotConvertible(notes)
    source = _source(release, (*where, "sourceRef"), ref, manifests, namespace, notes)
    url = str((source.get("spec") or {}).get("url", "")).rstrip("/")
    if "valuesFiles" in chart_spec:
        notes.add(release, (*where, "valuesFiles"), "the chart's own values files are not read: only spec.values")
    version = str(chart_spec.get("version", "*"))
    at = (*where, "version") if "version" in chart_spec else (*where, "chart")
    return ChartSource(url, str(chart_spec.get("chart", "")), version, _secret(source)), at


def _source(
    release: Manifest,
    where: JsonPath,
    ref: dict[str, Any],
    manifests: tuple[Manifest, ...],
    namespace: str,
    notes: Notes,
) -> dict[str, Any]:
    wanted = ref.get("namespace") or namespace
    for manifest in manifests:
        metadata = manifest.data.get("metadata") or {}
        same = manifest.kind == ref.get("kind") and manifest.name == ref.get("name")
        if same and (metadata.get("namespace") or namespace) == wanted:
            return manifest.data
    notes.add(release, where, f"{ref.get('kind')} {ref.get('name')} is not among the input files")
    raise NotConvertible(notes)


def _secret(source: dict[str, Any]) -> str | None:
    secret = ((source.get("spec") or {}).get("secretRef") or {}).get("name")
    return str(secret) if secret else None


def _unconverted(release: Manifest, spec: dict[str, Any], notes: Notes) -> None:
    notes.unconverted(release, ("spec",), spec, _HANDLED, _WHY)
