"""``source.helm`` as typed, frozen values: a chart in this repository or one published in a chart repository.

A chart in this repository is a directory (``chart: charts/web``); a chart
from a Helm repository or an OCI registry is named there and pinned to an
exact version (``repository: oci://ghcr.io/team/charts``, ``chart: web``,
``version: 1.4.0``). Built only from documents that passed validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ArgoCDTarget:
    """Write Argo CD Applications; ``repo_url`` is this GitOps repository (needed for a chart in it)."""

    repo_url: str | None = None
    project: str = "default"
    namespace: str = "argocd"


@dataclass(frozen=True)
class FluxTarget:
    """Write Flux HelmReleases; ``git_repository`` is the GitRepository of this repository (for a chart in it)."""

    git_repository: str | None = None
    namespace: str = "flux-system"
    interval: str = "10m"


@dataclass(frozen=True)
class PerVersionKeys:
    """Where a user's own chart takes each per-version override: dotted value paths.

    Set for a chart that runs one version per Helm release (not rollgen-app).
    ``pod_labels`` (a map the chart adds to pod labels) and ``service`` (a
    boolean that turns the chart's Service on) are optional.
    """

    name: str
    image_tag: str
    replicas: str
    pod_labels: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class SecretRef:
    """A secret by reference: the environment variable ``env`` or the file ``file`` holds it."""

    env: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class ChartCredentials:
    """The engine's Secret (``secret_ref``) and rollgen's own login (``username``/``password``), by reference."""

    secret_ref: str | None = None
    username: SecretRef | None = None
    password: SecretRef | None = None


@dataclass(frozen=True)
class RemoteChart:
    """Where a published chart comes from: ``repository`` (``https://`` index or ``oci://`` registry), its version."""

    repository: str
    version: str
    credentials: ChartCredentials | None = None

    @property
    def oci(self) -> bool:
        return self.repository.startswith("oci://")


@dataclass(frozen=True)
class HelmSource:
    """``chart`` is a directory of this repository, or with ``remote`` the chart's name in its repository."""

    chart: str
    values: tuple[str, ...] = ()
    release_name: str | None = None
    argocd: ArgoCDTarget | None = None
    flux: FluxTarget | None = None
    per_version: PerVersionKeys | None = None
    remote: RemoteChart | None = None
    resources: str | None = None


def build_helm_source(helm: Mapping[str, Any]) -> HelmSource:
    """The typed ``source.helm`` of a validated document."""
    argocd, flux, keys = helm.get("argocd"), helm.get("flux"), helm.get("perVersion")
    return HelmSource(
        helm["chart"],
        tuple(helm.get("values", ())),
        helm.get("releaseName"),
        argocd=None
        if argocd is None
        else ArgoCDTarget(argocd.get("repoURL"), argocd.get("project", "default"), argocd.get("namespace", "argocd")),
        flux=None
        if flux is None
        else FluxTarget(
            flux.get("gitRepository"), flux.get("namespace", "flux-system"), str(flux.get("interval", "10m"))
        ),
        per_version=None
        if keys is None
        else PerVersionKeys(
            keys["name"], keys["imageTag"], keys["replicas"], keys.get("podLabels"), keys.get("service")
        ),
        remote=None
        if "repository" not in helm
        else RemoteChart(helm["repository"], helm["version"], _credentials(helm)),
        resources=helm.get("resources"),
    )


def _credentials(helm: Mapping[str, Any]) -> ChartCredentials | None:
    data = helm.get("credentials")
    if data is None:
        return None
    return ChartCredentials(data.get("secretRef"), _secret(data.get("username")), _secret(data.get("password")))


def _secret(data: Mapping[str, Any] | None) -> SecretRef | None:
    return None if data is None else SecretRef(data.get("env"), data.get("file"))
