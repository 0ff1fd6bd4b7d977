"""What one Helm release per version installs, found as Flux and Argo CD would find it, with real Helm.

:func:`installed` takes the objects ``kubectl kustomize`` built from an
output directory (HelmReleases with their HelmRepository or OCIRepository, or
Applications), pulls each release's chart from the repository it names with
helm-python-sdk (no rollgen code), renders it with the release's name,
namespace and inline values, and returns every object the releases install
beside the objects applied directly (routes, Services rollgen renders).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from testkit.built import Obj, _crd_validator, validate

GITOPS_CRDS = {
    "Application": ("crds/argo-cd/application-crd.yaml", "v1alpha1"),
    "HelmRelease": ("crds/flux/helm.toolkit.fluxcd.io_helmreleases.yaml", "v2"),
    "HelmRepository": ("crds/flux/source.toolkit.fluxcd.io_helmrepositories.yaml", "v1"),
    "OCIRepository": ("crds/flux/source.toolkit.fluxcd.io_ocirepositories.yaml", "v1"),
}


def validate_gitops(objects: list[Obj]) -> None:
    """Every HelmRelease, HelmRepository, OCIRepository and Application against the Flux and Argo CD CRDs."""
    for obj in objects:
        if obj["kind"] in GITOPS_CRDS:
            _crd_validator(*GITOPS_CRDS[obj["kind"]]).validate(obj)


def installed(helm: Any, built: list[Obj], cache: Path) -> list[Obj]:
    """The objects the built output puts in the cluster: each release's chart rendered, and the rest as built."""
    sources = {(o["kind"], o["metadata"]["name"]): o for o in built if o["kind"] in ("HelmRepository", "OCIRepository")}
    found: list[Obj] = []
    for obj in built:
        if obj["kind"] == "HelmRelease":
            found += _flux(helm, obj, sources, cache)
        elif obj["kind"] == "Application":
            found += _argocd(helm, obj, cache)
        elif obj["kind"] not in GITOPS_CRDS:
            found.append(obj)
    return found


def _flux(helm: Any, obj: Obj, sources: dict[tuple[str, str], Obj], cache: Path) -> list[Obj]:
    spec = obj["spec"]
    if "chartRef" in spec:
        source = sources[("OCIRepository", spec["chartRef"]["name"])]["spec"]
        url, version = source["url"], source["ref"]["tag"]
        archive = _pull(helm, url, None, version, cache)
    else:
        chart = spec["chart"]["spec"]
        repository = sources[("HelmRepository", chart["sourceRef"]["name"])]["spec"]["url"]
        archive = _pull(helm, chart["chart"], repository, chart["version"], cache)
    return render(helm, archive, spec.get("values") or {}, spec["releaseName"], obj["metadata"]["namespace"])


def _argocd(helm: Any, obj: Obj, cache: Path) -> list[Obj]:
    source = obj["spec"]["source"]
    if source["repoURL"].startswith("oci://"):
        archive = _pull(helm, source["repoURL"], None, source["targetRevision"], cache)
    else:
        archive = _pull(helm, source["chart"], source["repoURL"], source["targetRevision"], cache)
    values = source["helm"].get("valuesObject") or {}
    return render(helm, archive, values, source["helm"]["releaseName"], obj["spec"]["destination"]["namespace"])


def _pull(helm: Any, chart: str, repository: str | None, version: str, cache: Path) -> Path:
    """The chart archive, pulled once per test by real Helm (plain HTTP on loopback, as the test servers speak)."""
    where = cache / "helm-pulls" / f"{(repository or chart).replace('/', '_').replace(':', '_')}-{version}"
    if not where.is_dir():
        where.mkdir(parents=True)
        helm.pull(chart, repo_url=repository, version=version, destination=str(where), plain_http=True)
    (archive,) = where.glob("*.tgz")
    return archive


def render(helm: Any, archive: Path, values: dict[str, Any], name: str, namespace: str) -> list[Obj]:
    """What Helm installs: the templates' objects, not NOTES.txt and not ``helm test`` hooks."""
    with helm.Chart.load(str(archive)) as chart:
        rendered = chart.render(values=values, name=name, namespace=namespace)
    texts = [text for path, text in rendered.items() if path.endswith(".yaml") and "/tests/" not in path]
    objects = [d for text in texts for d in yaml.safe_load_all(text) if d]
    validate(objects)
    return objects
