"""A State as a Kustomize overlay: the files one commit writes under ``release.output_path``.

Layout (checked with kubectl's kustomize v5.5)::

    <output>/kustomization.yaml          namespace + one entry per sub-overlay and generated file
    <output>/versions/<slug>/kustomization.yaml   one per revision in the state
    <output>/versions/<slug>/base.yaml   that revision's configuration: the user's base as built
    <output>/versions/<slug>/revision.yaml        its label, version, digest, config digest
    <output>/shared/kustomization.yaml   the Service (selector set) and shared objects
    <output>/shared/base.yaml            the build they come from (the oldest revision's)
    <output>/preview-service.yaml        blue/green preview Service, when the state has one
    <output>/virtualservice.yaml, destinationrule.yaml     istio weights
    <output>/httproute.yaml, version-services.yaml         Gateway API weights

**Revisions are frozen** (:mod:`rollgen.render.revision`). Each version overlay
builds from its own ``base.yaml``, the bytes ``kubectl kustomize`` printed for
the user's base when that revision started rolling out, never from the user's
base itself. A later edit of the base is a new revision (a config-only one is
labelled ``<version>-<config[:6]>``) and reaches pods only by a rollout; pods
that already run keep their build, and an abort, which commits the
pre-rollout files back, restores what ran and not only the files. The state's
labels are the plan's versions; :class:`Frozen` maps each to its revision and
build (the stable's from the output at the branch tip, a new one's from the
base as built now).

A **version overlay** takes its frozen build with ``nameSuffix: -<slug>``,
``labels`` app=<release> and version=<label> with ``includeSelectors: true``
(each version's Deployment gets its own selector at creation; it never
changes later), ``images`` (the tag is the revision's version, pinned to its
digest when it has one) and ``patches`` that delete the Service and every
shared kind and set the Deployment's ``strategy`` (the plan's bounds, so
Kubernetes' 25%/25% defaults never apply; see :func:`deployment_strategy`).
When the plan keeps the base's Deployment name (a rolling
update: one Deployment changes version) there is no suffix and the labels go
on templates only, as that Deployment's selector is immutable. Versions live under ``versions/`` so no version slug can collide
with ``shared/`` or a generated file, and a reviewer sees them grouped.

The **shared overlay** takes the build of the oldest revision in the state
(the stable while it runs: a change to the Service or another shared object
is configuration too, and reaches the cluster with the commit that removes
the stable, after the rollout's gates), deletes the Deployment, the HPA
and the per-version kinds, and replaces the Service's selector: the base's
selector plus ``app`` (a replica-ratio or mesh canary: every version's pods)
or plus ``version`` too (blue/green: the selector switch is the cut-over).

Other objects of the base: ConfigMaps and Secrets are copied into every
version (kustomize suffixes them *and* the Deployment's references, hash
suffixes of generated ones included, which a shared copy would break); every
other kind (ServiceAccount, Role, PDB, ServiceMonitor, ...) is rendered once,
unrenamed, in ``shared/``, and the versions' references to it stay unrenamed
because the versions delete their copies before kustomize applies the suffix.

Services that rollgen creates (preview, one per version for Gateway API) are
plain ClusterIP Services with the base Service's ports. Routes (VirtualService,
DestinationRule, HTTPRoute) are named after the release; Istio destinations
are the main Service with one subset per version (named by slug, selected by
the ``version`` label); Gateway API backendRefs are ``<release>-<slug>``
Services on the base Service's first port.

**HPA decision.** When the base has an HPA, the HPA is the only writer of a
Deployment's replica count, in every state, and rollgen never writes
``spec.replicas`` (it removes a ``replicas`` the base sets):

- each version keeps its own copy of the HPA (``podinfo-6-5-0``; kustomize
  retargets ``scaleTargetRef`` along with the suffix);
- in a state with one version (before the rollout, after it, a rolling
  update) the HPA keeps the user's bounds;
- in a state with several versions each HPA is pinned: ``minReplicas =
  maxReplicas =`` the plan's count, so autoscaling cannot move the ratio.
  The HPA controller clamps to its bounds before it looks at metrics, so the
  pin holds even without a metrics server;
- a version drained to zero (the commit before its removal) has no HPA and
  ``replicas: 0``: an HPA cannot hold zero. Going back from there to an HPA
  (abort) removes the field, which defaults to 1 and then the HPA raises it,
  so that transition never drops pods.

Why not pin ``spec.replicas`` during the rollout and hand it back to the HPA
in steady states: with ``kubectl apply`` (Argo CD's default) and with
server-side apply alike, removing ``spec.replicas`` from a Deployment that had
it resets it to the default, 1, and scales down to one pod before the HPA
reacts (Kubernetes docs, "Migrating Deployments and StatefulSets to horizontal
autoscaling"). That would happen on every completed rollout and on every
abort. Keeping ``spec.replicas`` in steady states instead makes Flux (and
Argo CD with self-heal) fight the HPA. The price of this decision: a pinned
count is reached one HPA sync (15 s by default) after the commit is applied,
and a new Deployment starts at one pod; the health gate must compare the
Deployment's ``spec.replicas`` with the plan before it counts a step as live.
Without an HPA in the base the count is set with Kustomize's ``replicas``.

>>> from rollgen.plan.steps import State, Workload
>>> from rollgen.render.userbase import Container, ServicePort
>>> from rollgen.spec.model import Canary, KustomizeSource, Release
>>> release = Release("web", "prod", 4, "ghcr.io/example/web", "1.0.0", "1.1.0",
...     KustomizeSource("apps/web/base"), "overlays/web/prod", Canary())
>>> base = KustomizeBase("web", (Container("web", "ghcr.io/example/web:1.0.0"),), (("app", "web"),),
...     4, "web", (("app", "web"),), (ServicePort(80, "http", "http"),), None, (), (), "kind: Deployment")
>>> files = render_overlay(release, State((Workload("1.0.0", "web-1-0-0", 3), Workload("1.1.0", "web-1-1-0", 1))), base)
>>> sorted(files)
['kustomization.yaml', 'shared/base.yaml', 'shared/kustomization.yaml', 'versions/1-0-0/base.yaml', 'versions/1-0-0/kustomization.yaml', 'versions/1-0-0/revision.yaml', 'versions/1-1-0/base.yaml', 'versions/1-1-0/kustomization.yaml', 'versions/1-1-0/revision.yaml']
>>> print(files["kustomization.yaml"].decode(), end="")
# Rendered by rollgen from release web: edit the release spec, not this file.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: prod
resources:
- versions/1-0-0
- versions/1-1-0
- shared
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from rollgen.errors import UsageError
from rollgen.names import slug, workload_name
from rollgen.plan.model import State, Workload
from rollgen.render.deployment_strategy import deployment_strategy
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
from rollgen.render.userbase import Container, KustomizeBase, ObjectKind, parse_base
from rollgen.spec.model import BlueGreen, Canary, KustomizeSource, Release

KUSTOMIZATION = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
# The base has exactly one of each (checked when it is read): these patch targets select
# by kind alone, so they match whatever apiVersion the base uses (autoscaling/v1 or v2).
DEPLOYMENT = ObjectKind("apps/v1", "Deployment")
SERVICE = ObjectKind("v1", "Service")
HPA = ObjectKind("autoscaling/v2", "HorizontalPodAutoscaler")
_SINGLE = (DEPLOYMENT, SERVICE, HPA)
ISTIO_API = "networking.istio.io/v1"
GATEWAY_API = "gateway.networking.k8s.io/v1"

Files = dict[str, bytes]
FROZEN_BASE = "base.yaml"
_NONE: Mapping[str, Frozen] = MappingProxyType({})


@dataclass(frozen=True)
class Frozen:
    """One revision's configuration as built, as its version directory freezes it.

    ``base.built`` is written verbatim as the directory's ``base.yaml``; the
    overlay builds from that file, never from the user's base again.
    ``adopted`` is set for a revision rollgen adopted (:mod:`rollgen.render.adopt`):
    it keeps running as the base's own Deployment, unrenamed, until it is removed.
    """

    revision: Revision
    base: KustomizeBase
    adopted: bool = False


def render_overlay(release: Release, state: State, base: KustomizeBase, frozen: Mapping[str, Frozen] = _NONE) -> Files:
    """Every file of ``state``'s overlay, by path relative to ``release.output_path``.

    ``base`` is the user's base as built now; ``frozen`` maps labels to the
    revisions already frozen in the output (the stable side, read from the
    branch tip). A label it does not hold is a new revision built from
    ``base``, its version the label itself. The result is the whole content of
    the output directory: a writer must remove files it does not list (a
    version that left the state).
    """
    if not isinstance(release.source, KustomizeSource):
        raise UsageError(f"release {release.name} renders from Helm, not from a Kustomize base")
    header = f"# Rendered by rollgen from release {release.name}: edit the release spec, not this file.\n"
    sources = {w.version: frozen.get(w.version) or live(base, w.version) for w in state.workloads}
    # Shared objects (the Service, the ServiceAccount, ...) come from the oldest revision still in the
    # state: the stable while it runs, the new revision once it runs alone. A change to them is
    # configuration too and must not reach running pods before the rollout has passed its gates.
    shared = sources[state.workloads[0].version].base if state.workloads else base

    documents: dict[str, object] = {}
    texts: dict[str, str] = {}
    for planned in state.workloads:
        where = f"{VERSIONS}/{slug(planned.version)}"
        source = sources[planned.version]
        # An adopted revision runs as the Deployment that was there before rollgen: renaming it
        # would delete and recreate it. Its selector stays as it was (immutable).
        workload = replace(planned, name=source.base.deployment) if source.adopted else planned
        documents[f"{where}/kustomization.yaml"] = _version_overlay(release, state, source, workload)
        texts[f"{where}/{FROZEN_BASE}"] = source.base.built
        texts[f"{where}/{REVISION_FILE}"] = revision_file(
            workload.version, source.revision, adopted=source.adopted, release=f"{release.namespace}/{release.name}"
        ).decode()
    documents["shared/kustomization.yaml"] = _shared_overlay(release, state, shared)
    texts[f"shared/{FROZEN_BASE}"] = shared.built
    generated = _generated(release, state, shared)

    resources = [path.removesuffix("/kustomization.yaml") for path in documents] + list(generated)
    files = {
        "kustomization.yaml": header
        + dump_yaml({**KUSTOMIZATION, "namespace": release.namespace, "resources": resources})
    }
    files.update({path: header + dump_yaml(doc) for path, doc in documents.items()})
    files.update({path: header + dump_documents(docs) for path, docs in generated.items()})
    encoded = {path: text.encode() for path, text in files.items()}
    # Frozen files are written as built: no header, so base.yaml is byte for byte the build.
    encoded.update({path: text.encode() for path, text in texts.items()})
    return dict(sorted(encoded.items()))


def live(base: KustomizeBase, name: str, inputs: str | None = None) -> Frozen:
    """The revision ``name`` built from ``base`` as it is now (its version is the label)."""
    return Frozen(Revision(name, config_digest([base.built.encode()]), inputs=inputs), base)


def frozen_revisions(files: Mapping[str, bytes], output: str) -> dict[str, Frozen]:
    """The revisions frozen in an output directory's ``files`` (paths relative to it), by label.

    ``output`` names the directory in errors. Version directories written
    before revisions existed (no ``revision.yaml``) are not frozen: their
    label renders from the base as built now, as it always did.
    """
    found: dict[str, Frozen] = {}
    for directory, text, built in frozen_directories(files, FROZEN_BASE, output):
        label, revision, adopted = read_revision_file(text)
        found[label] = Frozen(revision, parse_base(built.decode(), f"{output}/{directory}/{FROZEN_BASE}"), adopted)
    return found


def _version_overlay(release: Release, state: State, source: Frozen, workload: Workload) -> dict[str, object]:
    base = source.base
    image = _image_name(rolled_container(release, base).image)
    suffix = _suffix(base, workload)
    patches = [_delete(SERVICE)] + [_delete(kind) for kind in base.shared]
    patches.append(
        _json_patch(DEPLOYMENT, [{"op": "add", "path": "/spec/strategy", "value": deployment_strategy(release)}])
    )
    overlay: dict[str, object] = {**KUSTOMIZATION, "resources": [FROZEN_BASE]}
    if suffix:
        overlay["nameSuffix"] = suffix
    labels = {"app": release.name, "version": workload.version}
    # A Deployment rollgen creates per version gets the labels in its selector at creation;
    # the base's own Deployment (rolling update) keeps the selector it has, which is immutable.
    placement = {"includeSelectors": True} if suffix else {"includeSelectors": False, "includeTemplates": True}
    overlay["labels"] = [{"pairs": labels, **placement}]
    overlay["images"] = [_image(image, release.image, source.revision)]
    if base.autoscaler is None or workload.replicas == 0:
        # An HPA cannot hold zero pods (minReplicas >= 1; Kubernetes stops autoscaling a
        # Deployment at zero): a version drained to zero before its removal is pinned here.
        overlay["replicas"] = [{"name": base.deployment, "count": workload.replicas}]
        if base.autoscaler is not None:
            patches.append(_delete(HPA))
    else:
        if base.deployment_replicas is not None:
            patches.append(_json_patch(DEPLOYMENT, [{"op": "remove", "path": "/spec/replicas"}]))
        if len(state.workloads) > 1:
            bounds = [
                {"op": "add", "path": f"/spec/{field}", "value": workload.replicas}
                for field in ("minReplicas", "maxReplicas")
            ]
            patches.append(_json_patch(HPA, bounds))
    overlay["patches"] = patches
    return overlay


def _suffix(base: KustomizeBase, workload: Workload) -> str:
    """The nameSuffix that turns the base's Deployment into ``workload.name`` ("" when it is the same)."""
    if workload.name == base.deployment:
        return ""
    suffix = f"-{slug(workload.version)}"
    if f"{base.deployment}{suffix}" != workload.name:
        raise UsageError(
            f"the plan names version {workload.version}'s Deployment {workload.name}, but the base's Deployment is "
            f"{base.deployment}: rollgen names each version <base Deployment>-<version>, so name the release {base.deployment}"
        )
    return suffix


def _shared_overlay(release: Release, state: State, base: KustomizeBase) -> dict[str, object]:
    dropped = [DEPLOYMENT] + ([HPA] if base.autoscaler else []) + list(base.per_version)
    patches = [_delete(kind) for kind in dropped]
    patches.append(
        _json_patch(
            SERVICE, [{"op": "add", "path": "/spec/selector", "value": _selector(release, base, state.service_version)}]
        )
    )
    return {**KUSTOMIZATION, "resources": [FROZEN_BASE], "patches": patches}


def _generated(release: Release, state: State, base: KustomizeBase) -> dict[str, list[dict[str, object]]]:
    """Objects rollgen writes itself, by file name, in the order the environment lists them."""
    files: dict[str, list[dict[str, object]]] = {}
    if state.preview_version is not None:
        strategy = release.strategy
        name = (strategy.preview_service if isinstance(strategy, BlueGreen) else None) or f"{base.service}-preview"
        files["preview-service.yaml"] = [_service(release, base, name, state.preview_version)]
    if not state.weights:
        return files
    _check_weights(state)
    strategy = release.strategy
    if isinstance(strategy, Canary) and strategy.traffic == "istio":
        files["virtualservice.yaml"] = [_virtual_service(release, state, base)]
        files["destinationrule.yaml"] = [_destination_rule(release, state, base)]
    elif isinstance(strategy, Canary) and strategy.traffic == "gatewayAPI":
        files["httproute.yaml"] = [_http_route(release, state, base)]
        files["version-services.yaml"] = [
            _service(release, base, workload_name(release.name, v), v) for v, _ in state.weights
        ]
    else:
        raise ValueError(f"state has traffic weights but release {release.name} routes by replicas")
    return files


def _check_weights(state: State) -> None:
    versions = {w.version for w in state.workloads}
    if sum(p for _, p in state.weights) != 100 or not {v for v, _ in state.weights} <= versions:
        raise ValueError(f"weights {state.weights} must sum to 100 over the state's versions {sorted(versions)}")


def _virtual_service(release: Release, state: State, base: KustomizeBase) -> dict[str, object]:
    strategy = release.strategy
    assert isinstance(strategy, Canary)
    istio = strategy.istio
    spec: dict[str, object] = {"hosts": list(istio.hosts) if istio and istio.hosts else [base.service]}
    if istio and istio.gateways:
        spec["gateways"] = list(istio.gateways)
    route = [{"destination": {"host": base.service, "subset": slug(v)}, "weight": p} for v, p in state.weights]
    spec["http"] = [{"route": route}]
    return _object(ISTIO_API, "VirtualService", release.name, release, spec)


def _destination_rule(release: Release, state: State, base: KustomizeBase) -> dict[str, object]:
    subsets = [{"name": slug(v), "labels": {"version": v}} for v, _ in state.weights]
    return _object(ISTIO_API, "DestinationRule", release.name, release, {"host": base.service, "subsets": subsets})


def _http_route(release: Release, state: State, base: KustomizeBase) -> dict[str, object]:
    strategy = release.strategy
    assert isinstance(strategy, Canary)
    if strategy.gateway_api is None:
        raise ValueError(f"release {release.name} routes with the Gateway API but names no parentRefs")
    if not base.service_ports:
        raise UsageError(f"Service {base.service} has no ports for the HTTPRoute to send traffic to")
    parents = [p.as_manifest() for p in strategy.gateway_api.parent_refs]
    spec: dict[str, object] = {"parentRefs": parents}
    if strategy.gateway_api.hostnames:
        spec["hostnames"] = list(strategy.gateway_api.hostnames)
    port = base.service_ports[0].port
    backends = [{"name": workload_name(release.name, v), "port": port, "weight": p} for v, p in state.weights]
    spec["rules"] = [{"backendRefs": backends}]
    return _object(GATEWAY_API, "HTTPRoute", release.name, release, spec)


def _service(release: Release, base: KustomizeBase, name: str, version: str) -> dict[str, object]:
    spec = {"selector": _selector(release, base, version), "ports": [p.to_manifest() for p in base.service_ports]}
    return _object("v1", "Service", name, release, spec)


def _object(api_version: str, kind: str, name: str, release: Release, spec: Mapping[str, object]) -> dict[str, object]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "labels": {"app": release.name}},
        "spec": dict(spec),
    }


def _selector(release: Release, base: KustomizeBase, version: str | None) -> dict[str, str]:
    """The base Service's selector narrowed to the release (and to one version when given)."""
    selector = {k: v for k, v in base.service_selector if k != "version"}
    selector["app"] = release.name
    if version is not None:
        selector["version"] = version
    return dict(sorted(selector.items()))


def _target(kind: ObjectKind) -> dict[str, str]:
    return {"kind": kind.kind} if kind in _SINGLE else kind.target()


def _delete(kind: ObjectKind) -> dict[str, object]:
    # Every object the target selects is deleted (shared kinds go as a whole); with a
    # target, kustomize ignores the body's name and apiVersion.
    body = {"$patch": "delete", "apiVersion": kind.api_version, "kind": kind.kind, "metadata": {"name": "any"}}
    return {"target": _target(kind), "patch": dump_yaml(body)}


def _json_patch(kind: ObjectKind, operations: list[dict[str, object]]) -> dict[str, object]:
    return {"target": _target(kind), "patch": dump_yaml(operations)}


def rolled_container(release: Release, base: KustomizeBase) -> Container:
    """The container whose image rollgen sets: ``spec.container``, or the base's only one."""
    names = [c.name for c in base.containers]
    if release.container is not None:
        for container in base.containers:
            if container.name == release.container:
                return container
        raise UsageError(
            f"container {release.container} is not in Deployment {base.deployment} (it has {', '.join(names)})"
        )
    if len(base.containers) != 1:
        raise UsageError(
            f"Deployment {base.deployment} has containers {', '.join(names)}: set spec.container to the one to roll out"
        )
    return base.containers[0]


def _image_name(reference: str) -> str:
    """An image reference without tag or digest, as ``images`` matches it.

    >>> _image_name("registry:5000/team/web:1.0@sha256:abc")
    'registry:5000/team/web'
    >>> _image_name("nginx")
    'nginx'
    """
    reference = reference.split("@", 1)[0]
    colon = reference.rfind(":")
    return reference[:colon] if colon > reference.rfind("/") else reference


def _image(current: str, wanted: str, revision: Revision) -> dict[str, str]:
    entry = {"name": current}
    if wanted != current:
        entry["newName"] = wanted
    # kustomize drops the tag when given ``digest``; the tag stays in the reference (readable, and
    # what gates and humans match on) by carrying the digest in ``newTag``: ``web:1.0.0@sha256:...``.
    entry["newTag"] = revision.version + (f"@{revision.digest}" if revision.digest else "")
    return entry
