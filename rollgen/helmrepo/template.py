"""A chart rendered by real Helm (helm-python-sdk: Helm 4's own engine), read for what rollgen must know.

Rendering is offline (no cluster, ``lookup`` finds nothing). helm-python-sdk
is the ``rollgen[helm]`` extra (a 250 MB native library), imported here only:
``validate``, ``plan`` and every Kustomize release run without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rollgen import yamlload
from rollgen.errors import RollgenError, UsageError


class RenderError(RollgenError):
    """Helm could not render the chart with these values (a template or schema error)."""


@dataclass(frozen=True)
class Service:
    """A Service the chart renders: its name, selector and ports (as the manifest writes them)."""

    name: str
    selector: Mapping[str, str]
    ports: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Deployment:
    """A Deployment the chart renders: its name, replica count (None beside an HPA), images, pod labels, selector."""

    name: str
    replicas: int | None
    images: tuple[str, ...]
    labels: Mapping[str, str]
    selector: Mapping[str, str]


@dataclass(frozen=True)
class Rendered:
    """The objects of one release that rollgen checks: its Deployments and Services, and every kind/name."""

    deployments: tuple[Deployment, ...]
    services: tuple[Service, ...]
    objects: tuple[tuple[str, str], ...]


def render_chart(archive: bytes, values: Mapping[str, Any], name: str, namespace: str) -> Rendered:
    """What Helm installs for release ``name`` in ``namespace`` with ``values`` (templates, not hooks or tests)."""
    try:
        import helm_python
    except ImportError:
        raise UsageError(
            "a chart from a repository is checked with real Helm before a revision runs it: install "
            "helm-python-sdk (pip install 'rollgen[helm]')"
        ) from None
    try:
        with helm_python.Chart.load_archive(archive) as chart:
            rendered = chart.render(values=dict(values), name=name, namespace=namespace, is_install=True)
    except helm_python.HelmError as error:
        raise RenderError(f"Helm cannot render release {name}: {error}") from None
    documents = [
        d
        for path, text in sorted(rendered.items())
        if path.endswith((".yaml", ".yml")) and "/tests/" not in path
        for d in yamlload.load_all(text)
        if isinstance(d, dict) and not _hook(d)
    ]
    return Rendered(
        tuple(_deployment(d) for d in documents if d.get("kind") == "Deployment"),
        tuple(_service(d) for d in documents if d.get("kind") == "Service"),
        tuple((str(d.get("kind")), str((d.get("metadata") or {}).get("name"))) for d in documents),
    )


def _hook(document: Mapping[str, Any]) -> bool:
    """A Helm hook (a Job run at install) is not part of what runs."""
    annotations = (document.get("metadata") or {}).get("annotations") or {}
    return "helm.sh/hook" in annotations


def _deployment(document: Mapping[str, Any]) -> Deployment:
    spec = document.get("spec") or {}
    template = spec.get("template") or {}
    containers = (template.get("spec") or {}).get("containers") or []
    return Deployment(
        str(document["metadata"]["name"]),
        spec.get("replicas"),
        tuple(str(c.get("image")) for c in containers),
        dict((template.get("metadata") or {}).get("labels") or {}),
        dict((spec.get("selector") or {}).get("matchLabels") or {}),
    )


def _service(document: Mapping[str, Any]) -> Service:
    spec = document.get("spec") or {}
    return Service(str(document["metadata"]["name"]), dict(spec.get("selector") or {}), tuple(spec.get("ports") or ()))
