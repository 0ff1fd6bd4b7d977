"""A State as one Helm release per version of a published chart: the files one commit writes under the output.

For ``source.helm`` with ``repository`` (a Helm repository or an OCI
registry) and ``perVersion``. The output is a Kustomize directory, so Flux's
kustomize-controller (a Kustomization on the output path) or Argo CD (an
Application of Applications on it) applies it, and rollgen reads its
revisions back like a Kustomize release's::

    <output>/kustomization.yaml                  the resources below, in order
    <output>/helmrepository.yaml                 Flux and an https:// repository: the HelmRepository
    <output>/versions/<slug>/kustomization.yaml  one per revision in the state
    <output>/versions/<slug>/release.yaml        its HelmRelease (and, from oci://, its OCIRepository) or Application
    <output>/versions/<slug>/chart.yaml          what the revision froze: the chart pinned, the values, the release name
    <output>/versions/<slug>/revision.yaml       its label, version, config digest
    <output>/httproute.yaml | virtualservice.yaml | service.yaml   a canary's route, or its Service (by replicas)

**Revisions are frozen.** A revision is the image version and its
configuration: the chart (repository, name, exact version) and the values
files merged as Helm merges them. ``chart.yaml`` records both when the
revision starts rolling out, and every later state renders that revision
from it, never from the spec: a chart upgrade or a values edit is a new
revision (``1.0.0-3f2a9c`` when the image stays), rolled out by the
strategy, and an abort, which commits the pre-rollout files back, pins the
chart version and values that ran. Values are inline (Flux ``spec.values``,
Argo CD ``helm.valuesObject``): a chart from a repository cannot read values
files from the GitOps repository.

**Per version**, rollgen sets the ``perVersion`` keys over the frozen values:
the name override (each release's objects named like its Deployment,
``podinfo-6-5-0``), the image tag, the replica count, the pod labels
``app``/``version`` (``podLabels``) and whether the chart's Service is on
(``service``): in the serving release only (blue/green, recreate, rolling
update), in every release (a routed canary: each version behind its own
Service) or in none (a replica-ratio canary, whose one Service rollgen
renders). **Canaries**: by Gateway API or Istio weights, rollgen renders
the HTTPRoute or VirtualService (named after the release) that sends each
version's weight to that release's own Service, its name and ports as Helm
rendered them when the revision started; by replica ratio, one Service
(named after the release) selecting ``app`` on every release's pods. An
object of that kind and name installed by a release's chart is refused:
two owners would fight over it. An **adopted** revision keeps the Helm release it was found
running under, and the names its chart gives, so Helm neither uninstalls
nor reinstalls it: its HelmRelease or Application keeps its name and
namespace, and no name override is set.
"""

from __future__ import annotations

import copy
import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from rollgen import yamlload
from rollgen.errors import UsageError
from rollgen.helmrepo.pin import HELM_CHART_LAYER, ChartPin
from rollgen.names import slug
from rollgen.plan.model import State, Workload
from rollgen.render.helm import application, get_value, set_value
from rollgen.render.manifests import dump_documents, dump_yaml
from rollgen.render.revision import (
    REVISION_FILE,
    VERSIONS,
    Revision,
    config_digest,
    frozen_directories,
    read_revision_file,
    revision_file,
)
from rollgen.spec.helmsource import HelmSource, PerVersionKeys, RemoteChart
from rollgen.spec.model import BlueGreen, Canary, Release

Files = dict[str, bytes]
CHART_FILE = "chart.yaml"
RELEASE_FILE = "release.yaml"
KUSTOMIZATION = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
GATEWAY_API = "gateway.networking.k8s.io/v1"
ISTIO_API = "networking.istio.io/v1"
_CHART_HEADER = "# Written by rollgen: the chart and values this revision runs. Do not edit.\n"


@dataclass(frozen=True)
class ChartService:
    """The chart's Service of one release, as Helm rendered it when the revision started: routes point at it."""

    name: str
    ports: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class FrozenRelease:
    """One revision as its version directory freezes it.

    ``values`` are the values files merged when it started, before the
    per-version keys; ``release_name`` is set for an adopted revision: the
    Helm release it keeps running as (``None``: the version's own name).
    ``service`` is the chart's Service of this release (``None`` before the
    chart was rendered, or when it renders none).
    """

    revision: Revision
    pin: ChartPin
    values: Mapping[str, Any]
    release_name: str | None = None
    service: ChartService | None = None
    # Every object the release installs, as Kind/name: rollgen's own route or Service must not take a name of them.
    objects: tuple[str, ...] = ()

    @property
    def adopted(self) -> bool:
        return self.release_name is not None


def pin_of(source: HelmSource) -> ChartPin:
    """The chart the spec asks for (its digest is known once pulled)."""
    return ChartPin(_remote(source).repository, source.chart, _remote(source).version)


def configuration(pin: ChartPin, values: Mapping[str, Any]) -> str:
    """The config digest of a revision: the chart's repository, name and version and the merged values.

    The archive's digest is not part of it: Helm chart versions do not move,
    and the digest is known only after a pull, which the controller's
    comparison of spec and Git must not need.
    """
    identity = {"repository": pin.repository, "chart": pin.chart, "version": pin.version, "values": values}
    return config_digest([json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()])


def render_state(release: Release, state: State, frozen: Mapping[str, FrozenRelease]) -> Files:
    """Every file of ``state``'s output directory; ``frozen`` holds the revision of every label in the state."""
    source = _source(release)
    header = f"# Rendered by rollgen from release {release.name}: edit the release spec, not this file.\n"
    missing = [w.version for w in state.workloads if w.version not in frozen]
    if missing:
        raise ValueError(f"no frozen revision for {', '.join(missing)}")
    texts: dict[str, str] = {}
    resources: list[str] = []
    if source.resources is not None:
        resources.append(posixpath.relpath(source.resources, posixpath.normpath(release.output_path)))
    if source.flux is not None and not _remote(source).oci:
        texts["helmrepository.yaml"] = header + dump_yaml(_helm_repository(release, source))
        resources.append("helmrepository.yaml")
    for workload in state.workloads:
        where = f"{VERSIONS}/{slug(workload.version)}"
        revision = frozen[workload.version]
        texts[f"{where}/kustomization.yaml"] = header + dump_yaml({**KUSTOMIZATION, "resources": [RELEASE_FILE]})
        texts[f"{where}/{RELEASE_FILE}"] = header + dump_documents(_release_objects(release, state, workload, revision))
        texts[f"{where}/{CHART_FILE}"] = chart_file(revision)
        texts[f"{where}/{REVISION_FILE}"] = revision_file(
            workload.version, revision.revision, adopted=revision.adopted, release=f"{release.namespace}/{release.name}"
        ).decode()
        resources.append(where)
    generated = _generated(release, state, frozen)
    for name, document in generated.items():
        texts[name] = header + dump_yaml(document)
        resources.append(name)
    texts["kustomization.yaml"] = header + dump_yaml({**KUSTOMIZATION, "resources": resources})
    return {path: texts[path].encode() for path in sorted(texts)}


def _route_kind(release: Release) -> str | None:
    """What a canary's traffic goes through: rollgen's Service (by replicas), HTTPRoute or VirtualService."""
    strategy = release.strategy
    if not isinstance(strategy, Canary):
        return None
    return {"replicas": "Service", "gatewayAPI": "HTTPRoute", "istio": "VirtualService"}[strategy.traffic]


def _generated(release: Release, state: State, frozen: Mapping[str, FrozenRelease]) -> dict[str, dict[str, object]]:
    """The Service (a replica-ratio canary) or the route (Gateway API, Istio) rollgen renders, by file name.

    The route sends each version's weight to that release's own Service (the
    chart's, frozen with the revision); the replica-ratio Service selects
    ``app`` on every release's pods, with the oldest release's Service ports.
    """
    strategy = release.strategy
    if not isinstance(strategy, Canary) or not state.workloads:
        return {}
    kind = _route_kind(release)
    for workload in state.workloads:
        revision = frozen[workload.version]
        # Two owners of one object would fight; a chart's own route beside rollgen's would win or share the traffic.
        clash = [
            o
            for o in revision.objects
            if o == f"{kind}/{release.name}" or (strategy.traffic != "replicas" and o.partition("/")[0] == kind)
        ]
        if clash:
            raise UsageError(
                f"release {release.name}: the chart's release {release_name(workload, revision)} installs "
                f"{clash[0]} itself, beside the {kind} rollgen renders for the canary: turn the chart's own off "
                "in the values before a canary"
            )
    if strategy.traffic == "replicas":
        oldest = state.workloads[0]
        ports = [_port(p) for p in _service_of(release, oldest, frozen[oldest.version]).ports]
        spec: dict[str, object] = {"selector": {"app": release.name}, "ports": ports}
        return {"service.yaml": _object("v1", "Service", release.name, release, spec)}
    routed = [(_service_of(release, _workload(state, v), frozen[v]), weight) for v, weight in state.weights]
    if strategy.traffic == "gatewayAPI":
        gateway = strategy.gateway_api
        if gateway is None:
            raise UsageError(f"release {release.name} routes with the Gateway API but names no parentRefs")
        route: dict[str, object] = {"parentRefs": [p.as_manifest() for p in gateway.parent_refs]}
        if gateway.hostnames:
            route["hostnames"] = list(gateway.hostnames)
        backends = [{"name": s.name, "port": int(s.ports[0]["port"]), "weight": w} for s, w in routed]
        route["rules"] = [{"backendRefs": backends}]
        return {"httproute.yaml": _object(GATEWAY_API, "HTTPRoute", release.name, release, route)}
    istio = strategy.istio
    virtual: dict[str, object] = {"hosts": list(istio.hosts) if istio else []}
    if istio and istio.gateways:
        virtual["gateways"] = list(istio.gateways)
    destinations = [
        {"destination": {"host": s.name, "port": {"number": int(s.ports[0]["port"])}}, "weight": w} for s, w in routed
    ]
    virtual["http"] = [{"route": destinations}]
    return {"virtualservice.yaml": _object(ISTIO_API, "VirtualService", release.name, release, virtual)}


def _service_of(release: Release, workload: Workload, frozen: FrozenRelease) -> ChartService:
    if frozen.service is None or not frozen.service.ports:
        raise UsageError(
            f"release {release.name}: the chart renders no Service with a port for release "
            f"{release_name(workload, frozen)}: a canary sends traffic to it"
        )
    return frozen.service


def _workload(state: State, version: str) -> Workload:
    return next(w for w in state.workloads if w.version == version)


def _port(port: Mapping[str, Any]) -> dict[str, Any]:
    """A Service port as rollgen's Service copies it (a node port stays the chart's own)."""
    return {k: port[k] for k in ("name", "port", "targetPort", "protocol") if k in port}


def chart_file(frozen: FrozenRelease) -> str:
    """The ``chart.yaml`` text of a version directory."""
    pin = frozen.pin
    chart: dict[str, object] = {"repository": pin.repository, "name": pin.chart, "version": pin.version}
    if pin.digest is not None:
        chart["digest"] = pin.digest
    document: dict[str, object] = {"chart": chart}
    if frozen.release_name is not None:
        document["releaseName"] = frozen.release_name
    if frozen.service is not None:
        document["service"] = {"name": frozen.service.name, "ports": [dict(p) for p in frozen.service.ports]}
    if frozen.objects:
        document["objects"] = list(frozen.objects)
    document["values"] = dict(frozen.values)
    return _CHART_HEADER + dump_yaml(document)


def frozen_releases(files: Mapping[str, bytes], output: str) -> dict[str, FrozenRelease]:
    """The revisions frozen in an output directory's ``files`` (paths relative to it), by label."""
    found: dict[str, FrozenRelease] = {}
    for _, text, chart in frozen_directories(files, CHART_FILE, output):
        label, revision, _ = read_revision_file(text)
        data: Any = yamlload.load(chart)
        pinned = data["chart"]
        pin = ChartPin(str(pinned["repository"]), str(pinned["name"]), str(pinned["version"]), pinned.get("digest"))
        values = MappingProxyType(data.get("values") or {})
        service = data.get("service")
        chart_service = None if service is None else ChartService(str(service["name"]), tuple(service["ports"]))
        objects = tuple(str(o) for o in data.get("objects") or ())
        found[label] = FrozenRelease(revision, pin, values, data.get("releaseName"), chart_service, objects)
    return found


def release_name(workload: Workload, frozen: FrozenRelease) -> str:
    """The Helm release (and HelmRelease or Application object) a workload runs as."""
    return frozen.release_name or workload.name


def version_values(release: Release, state: State, workload: Workload, frozen: FrozenRelease) -> dict[str, Any]:
    """The values of one version's release: the frozen values with the per-version keys set over them."""
    keys = _keys(release)
    values: dict[str, Any] = copy.deepcopy(dict(frozen.values))
    if not frozen.adopted:
        set_value(values, keys.name, workload.name)
    revision = frozen.revision
    set_value(values, keys.image_tag, revision.version + (f"@{revision.digest}" if revision.digest else ""))
    set_value(values, keys.replicas, workload.replicas)
    if keys.pod_labels is not None:
        labels = get_value(values, keys.pod_labels)
        set_value(
            values, keys.pod_labels, {**(labels if isinstance(labels, dict) else {}), **_labels(release, workload)}
        )
    if keys.service is not None:
        set_value(values, keys.service, service_on(release, state, workload))
    return values


def service_on(release: Release, state: State, workload: Workload) -> bool:
    """Whether the chart's Service is on in ``workload``'s release (see the module's docstring)."""
    strategy = release.strategy
    if isinstance(strategy, Canary):
        return strategy.traffic != "replicas"
    if isinstance(strategy, BlueGreen) and state.preview_version is not None:
        raise UsageError(f"release {release.name}: one Helm release per version has no preview Service")
    serving = state.service_version if state.service_version is not None else state.workloads[0].version
    return workload.version == serving


def _release_objects(
    release: Release, state: State, workload: Workload, frozen: FrozenRelease
) -> list[dict[str, object]]:
    source = _source(release)
    values = version_values(release, state, workload, frozen)
    if source.flux is not None:
        return _flux_objects(release, source, workload, frozen, values)
    return [_application(release, source, workload, frozen, values)]


def _flux_objects(
    release: Release, source: HelmSource, workload: Workload, frozen: FrozenRelease, values: dict[str, Any]
) -> list[dict[str, object]]:
    flux = source.flux
    assert flux is not None  # the caller asks for Flux objects only then
    name = release_name(workload, frozen)
    spec: dict[str, object] = {"interval": flux.interval, "releaseName": name}
    objects: list[dict[str, object]] = []
    if _remote(source).oci:
        oci: dict[str, object] = {
            "interval": flux.interval,
            "url": f"{frozen.pin.repository.rstrip('/')}/{frozen.pin.chart}",
            "ref": {"tag": frozen.pin.version},
            "layerSelector": {"mediaType": HELM_CHART_LAYER, "operation": "copy"},
        }
        _add_secret(oci, source)
        objects.append(_object("source.toolkit.fluxcd.io/v1", "OCIRepository", name, release, oci))
        spec["chartRef"] = {"kind": "OCIRepository", "name": name}
    else:
        chart = {
            "chart": frozen.pin.chart,
            "version": frozen.pin.version,
            "sourceRef": {"kind": "HelmRepository", "name": release.name},
        }
        spec["chart"] = {"spec": chart}
    spec["values"] = values
    objects.append(_object("helm.toolkit.fluxcd.io/v2", "HelmRelease", name, release, spec))
    return objects


def _helm_repository(release: Release, source: HelmSource) -> dict[str, object]:
    flux = source.flux
    assert flux is not None  # written for Flux only
    spec: dict[str, object] = {"interval": flux.interval, "url": _remote(source).repository}
    _add_secret(spec, source)
    return _object("source.toolkit.fluxcd.io/v1", "HelmRepository", release.name, release, spec)


def _application(
    release: Release, source: HelmSource, workload: Workload, frozen: FrozenRelease, values: dict[str, Any]
) -> dict[str, object]:
    argocd = source.argocd
    assert argocd is not None  # validate asks for argocd or flux with a chart from a repository
    name = release_name(workload, frozen)
    helm = {"releaseName": name, "valuesObject": values}
    pin = frozen.pin
    if _remote(source).oci:
        # Argo CD's OCI source: the chart's own repository, path "." (the chart at the artifact's root).
        chart_source = {
            "repoURL": f"{pin.repository.rstrip('/')}/{pin.chart}",
            "targetRevision": pin.version,
            "path": ".",
            "helm": helm,
        }
    else:
        chart_source = {"repoURL": pin.repository, "chart": pin.chart, "targetRevision": pin.version, "helm": helm}
    return application(release, argocd, name, {"source": chart_source})


def _add_secret(spec: dict[str, object], source: HelmSource) -> None:
    credentials = _remote(source).credentials
    if credentials is not None and credentials.secret_ref is not None:
        spec["secretRef"] = {"name": credentials.secret_ref}


def _object(api_version: str, kind: str, name: str, release: Release, spec: dict[str, object]) -> dict[str, object]:
    metadata = {"name": name, "namespace": release.namespace, "labels": {"app": release.name}}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}


def _labels(release: Release, workload: Workload) -> dict[str, str]:
    return {"app": release.name, "version": workload.version}


def _keys(release: Release) -> PerVersionKeys:
    keys = _source(release).per_version
    assert keys is not None  # validate requires perVersion with a chart from a repository
    return keys


def _remote(source: HelmSource) -> RemoteChart:
    assert source.remote is not None  # this renderer is for charts from a repository only
    return source.remote


def _source(release: Release) -> HelmSource:
    if not isinstance(release.source, HelmSource) or release.source.remote is None:
        raise UsageError(f"release {release.name}: not a Helm chart from a repository")
    return release.source
