"""What the Kustomize renderer must know about the user's base, and reading it.

The renderer freezes the base as built in each version's overlay (see
:mod:`rollgen.render.kustomize`) and needs a few facts to write those overlays: the Deployment's name and
containers (for names and ``images``), the Service's name, selector and ports
(to set selectors and to create preview / per-version Services like it), the
HPA's name (see the HPA decision in :mod:`rollgen.render.kustomize`) and the
kinds of the other objects (which are shared between versions or copied per
version).

These facts come from building the base once with ``kubectl kustomize``
rather than parsing its files: a base may itself be layered (resources from
other directories, components, generators with hash suffixes, its own name
prefixes or patches), and only the build says what it really contains.
:func:`parse_base` is the pure part (built YAML in, :class:`KustomizeBase`
out) so tests and benchmarks can use it without running kubectl;
:func:`read_base` is the thin I/O shell around it.

>>> built = '''
... apiVersion: apps/v1
... kind: Deployment
... metadata: {name: web}
... spec:
...   selector: {matchLabels: {app: web}}
...   template:
...     metadata: {labels: {app: web}}
...     spec: {containers: [{name: web, image: "ghcr.io/example/web:1.0.0"}]}
... ---
... apiVersion: v1
... kind: Service
... metadata: {name: web}
... spec:
...   selector: {app: web}
...   ports: [{name: http, port: 80, targetPort: http}]
... '''
>>> base = parse_base(built, "apps/web/base")
>>> base.deployment, base.service, base.autoscaler
('web', 'web', None)
>>> base.containers
(Container(name='web', image='ghcr.io/example/web:1.0.0'),)
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollgen import yamlload
from rollgen.errors import UsageError
from rollgen.spec.model import KustomizeSource, Release
from rollgen.tools import find_tool

Labels = tuple[tuple[str, str], ...]

# Kinds every version gets its own copy of. Kustomize renames them with
# nameSuffix *and* rewrites the Deployment's references to them, hash suffixes
# of generated ones included; a copy outside the version's overlay would leave
# those references dangling. Every other kind (ServiceAccount, Role, PDB,
# NetworkPolicy, ServiceMonitor, ...) is rendered once, unrenamed.
PER_VERSION_KINDS = frozenset({"ConfigMap", "Secret"})


@dataclass(frozen=True)
class Container:
    name: str
    image: str


@dataclass(frozen=True)
class ServicePort:
    """One port of the base's Service, copied onto the Services rollgen creates."""

    port: int
    name: str | None = None
    target_port: int | str | None = None
    protocol: str | None = None
    app_protocol: str | None = None

    def to_manifest(self) -> dict[str, object]:
        fields = {
            "name": self.name,
            "port": self.port,
            "targetPort": self.target_port,
            "protocol": self.protocol,
            "appProtocol": self.app_protocol,
        }
        return {k: v for k, v in fields.items() if v is not None}


@dataclass(frozen=True)
class ObjectKind:
    """The apiVersion and kind of objects in the base, as a Kustomize patch target."""

    api_version: str
    kind: str

    def target(self) -> dict[str, str]:
        group, _, version = self.api_version.rpartition("/")
        target = {"group": group} if group else {}
        return {**target, "version": version, "kind": self.kind}


@dataclass(frozen=True)
class KustomizeBase:
    """The facts about a built base the renderer relies on.

    ``deployment_replicas`` is the base Deployment's own ``spec.replicas``
    (``None`` when unset). ``pod_labels`` are its pod template labels;
    ``service_selector`` is a subset of them (checked). ``per_version`` lists
    the kinds present that every version copies, ``shared`` those rendered
    once for all versions, both sorted. ``built`` is the build itself, the text
    a revision freezes in the output.
    """

    deployment: str
    containers: tuple[Container, ...]
    pod_labels: Labels
    deployment_replicas: int | None
    service: str
    service_selector: Labels
    service_ports: tuple[ServicePort, ...]
    autoscaler: str | None
    per_version: tuple[ObjectKind, ...]
    shared: tuple[ObjectKind, ...]
    built: str


def read_base(repo_root: Path, release: Release) -> KustomizeBase:
    """Build ``release``'s Kustomize base once with ``kubectl kustomize`` and describe it."""
    if not isinstance(release.source, KustomizeSource):
        raise UsageError(f"release {release.name} renders from Helm, not from a Kustomize base")

    kubectl = find_tool("kubectl")
    if kubectl is None:
        raise UsageError("kubectl is not installed: rollgen builds the Kustomize base with `kubectl kustomize`")
    directory = repo_root / release.source.base
    if not directory.is_dir():
        raise UsageError(f"Kustomize base {release.source.base} is not a directory under {repo_root}")
    built = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False)
    if built.returncode != 0:
        raise UsageError(f"kubectl kustomize {release.source.base} failed:\n{built.stderr.strip()}")
    return parse_base(built.stdout, release.source.base)


def parse_base(built: str, where: str) -> KustomizeBase:
    """Describe a built base (``kubectl kustomize`` output); ``where`` names it in errors."""
    try:
        return _parse_base(built, where)
    except (KeyError, TypeError, AttributeError, IndexError) as error:
        # Kustomize builds objects the API server would refuse; say which field is missing, not a traceback.
        missing = (
            f"the field {error.args[0]!r} is missing" if isinstance(error, KeyError) else "a field has the wrong type"
        )
        raise UsageError(
            f"{where}: {missing} in the built base (rollgen reads the Deployment's metadata.name and "
            "spec.template with its labels and containers (name, image), and the Service's ports (port))"
        ) from None


def _parse_base(built: str, where: str) -> KustomizeBase:
    objects = [d for d in yamlload.load_all(built) if d]
    deployment = _only(objects, "Deployment", where, required=True)
    service = _only(objects, "Service", where, required=True)
    hpa = _only(objects, "HorizontalPodAutoscaler", where, required=False)
    assert deployment is not None and service is not None  # required=True

    name = deployment["metadata"]["name"]
    template = deployment["spec"]["template"]
    pod_labels = _labels(template["metadata"].get("labels"))
    selector = _labels(service["spec"].get("selector"))
    if not set(selector) <= set(pod_labels):
        raise UsageError(
            f"{where}: Service {service['metadata']['name']} selects {dict(selector)} "
            f"but Deployment {name}'s pods are labelled {dict(pod_labels)}"
        )
    if hpa is not None and hpa["spec"]["scaleTargetRef"].get("name") != name:
        target = hpa["spec"]["scaleTargetRef"]
        raise UsageError(
            f"{where}: HPA {hpa['metadata']['name']} scales {target.get('kind')} {target.get('name')}, not Deployment {name}"
        )
    others = {ObjectKind(o["apiVersion"], o["kind"]) for o in objects if o["kind"] not in _SINGLE_KINDS}
    return KustomizeBase(
        deployment=name,
        containers=tuple(Container(c["name"], c["image"]) for c in template["spec"]["containers"]),
        pod_labels=pod_labels,
        deployment_replicas=deployment["spec"].get("replicas"),
        service=service["metadata"]["name"],
        service_selector=selector,
        service_ports=tuple(_port(p) for p in service["spec"].get("ports", ())),
        autoscaler=None if hpa is None else hpa["metadata"]["name"],
        per_version=_sorted(k for k in others if k.kind in PER_VERSION_KINDS),
        shared=_sorted(k for k in others if k.kind not in PER_VERSION_KINDS),
        built=built,
    )


_SINGLE_KINDS = frozenset({"Deployment", "Service", "HorizontalPodAutoscaler"})


def _only(objects: list[dict[str, Any]], kind: str, where: str, *, required: bool) -> dict[str, Any] | None:
    found = [o for o in objects if o.get("kind") == kind]
    if len(found) > 1 or (required and not found):
        names = ", ".join(o["metadata"]["name"] for o in found) or "none"
        need = "exactly one" if required else "at most one"
        raise UsageError(f"{where}: a base for rollgen needs {need} {kind}; it has {len(found)} ({names})")
    return found[0] if found else None


def _sorted(kinds: Iterable[ObjectKind]) -> tuple[ObjectKind, ...]:
    return tuple(sorted(kinds, key=lambda k: (k.kind, k.api_version)))


def _labels(data: Mapping[str, Any] | None) -> Labels:
    return tuple(sorted((str(k), str(v)) for k, v in (data or {}).items()))


def _port(data: Mapping[str, Any]) -> ServicePort:
    return ServicePort(
        port=data["port"],
        name=data.get("name"),
        target_port=data.get("targetPort"),
        protocol=data.get("protocol"),
        app_protocol=data.get("appProtocol"),
    )
