"""What both converters produce and the pieces they share: the release document, the base, the notes.

A note is a :class:`~rollgen.errors.Problem`: something in the input rollgen
cannot express (or expresses differently), at the position of the key that
holds it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rollgen.errors import Problem
from rollgen.importer.documents import Manifest
from rollgen.render.manifests import dump_yaml
from rollgen.spec.yamldoc import JsonPath

LIVENESS_GATE = "live"
# A {{ name }} in a query or URL (the names a gate fills in are rollgen.gates.template.NAMES).
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")
_LABEL = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Options:
    """What the input does not say: where things go in the GitOps repository, what to roll out next."""

    base_path: str
    output_path: str
    namespace: str = "default"
    prometheus: str = "http://prometheus.monitoring:9090"


@dataclass(frozen=True)
class Conversion:
    """A release spec (plain data), the files it reads (path under the output directory -> bytes), the notes."""

    name: str
    release: dict[str, Any]
    files: dict[str, bytes]
    notes: tuple[Problem, ...]


class Notes:
    """The notes of one conversion, in the order they were found (sorted when reported)."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(self, manifest: Manifest, where: JsonPath, message: str) -> None:
        self.found.append(manifest.at(where, message))

    def unconverted(
        self, manifest: Manifest, where: JsonPath, data: Any, handled: frozenset[str], why: Mapping[str, str]
    ) -> None:
        """A note for every key of the mapping at ``where`` that the converter did not handle."""
        if not isinstance(data, Mapping):
            return
        for key in data:
            if key not in handled:
                reason = why.get(key, "rollgen has no equivalent")
                self.add(manifest, (*where, key), f"{'.'.join(map(str, (*where, key)))} is not converted: {reason}")


class NotConvertible(Exception):
    """The input holds nothing rollgen can express: the notes say why."""

    def __init__(self, notes: Notes) -> None:
        self.notes = notes
        super().__init__("nothing convertible")


def dns_label(text: str) -> str:
    """``text`` as a DNS-1123 label (a gate name): lower case, runs of other characters as one dash."""
    return _LABEL.sub("-", text.lower()).strip("-")[:63].strip("-") or "gate"


def split_image(image: str) -> tuple[str, str] | None:
    """``repository``, ``tag`` of an image reference, or ``None`` when it has no usable tag."""
    if "@" in image:
        return None
    repository, colon, tag = image.rpartition(":")
    if not colon or "/" in tag or not _TAG.match(tag):
        return None
    return repository, tag


def release_document(
    name: str, spec: dict[str, Any], strategy: dict[str, Any], gates: list[dict[str, Any]]
) -> dict[str, Any]:
    """The release spec; ``spec`` holds the fields before the strategy, gates get the liveness gate first.

    The spec describes what runs: ``version`` is the tag the input runs and
    there is no ``stable``, so ``rollgen adopt`` commits it as it is, and a
    rollout starts when ``version`` changes (from then on Git says what runs).
    """
    taken = {g["name"] for g in gates}
    live = LIVENESS_GATE if LIVENESS_GATE not in taken else f"{LIVENESS_GATE}-pods"
    # A step counts as live only on evidence; the kubernetes gate needs no GitOps engine named.
    all_gates = [{"name": live, "kubernetes": {}}, *gates]
    return {
        "apiVersion": "rollgen.io/v1alpha1",
        "kind": "Release",
        "metadata": {"name": name},
        "spec": {**spec, "strategy": strategy, "gates": all_gates},
    }


def service_for(name: str, selector: Mapping[str, str], ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": dict(selector), "ports": ports},
    }


def container_ports(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Service ports for every container port of a pod template (same number, named when the port is)."""
    ports: list[dict[str, Any]] = []
    for container in template.get("spec", {}).get("containers", []):
        for port in container.get("ports", []) or []:
            if not isinstance(port, Mapping) or not isinstance(port.get("containerPort"), int):
                continue
            entry: dict[str, Any] = {"name": port["name"]} if port.get("name") else {}
            number = port["containerPort"]
            entry |= {"port": number, "targetPort": port.get("name") or number}
            ports.append(entry)
    if len(ports) > 1 and any("name" not in p for p in ports):
        for i, port in enumerate(ports):
            port.setdefault("name", f"port-{i}")
    return ports


def base_files(objects: dict[str, dict[str, Any]], directory: str) -> dict[str, bytes]:
    """A Kustomize directory ``directory``: one file per object and a kustomization.yaml listing them."""
    files = {path: dump_yaml(obj).encode() for path, obj in objects.items()}
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(objects),
    }
    files["kustomization.yaml"] = dump_yaml(kustomization).encode()
    return {f"{directory}/{path}": data for path, data in files.items()}


def strip_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An input object without what the API server owns (status, uid, ...), ready to sit in a base."""
    kept = ("name", "labels", "annotations")
    return {
        key: {k: v for k, v in value.items() if k in kept} if key == "metadata" else value
        for key, value in obj.items()
        if key != "status"
    }
