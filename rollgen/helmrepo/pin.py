"""A published chart pinned exactly: the value every layer passes around (pure)."""

from __future__ import annotations

from dataclasses import dataclass

# The media type of the layer that holds a Helm chart in an OCI artifact (Helm's, Flux's and Argo CD's).
HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


@dataclass(frozen=True)
class ChartPin:
    """A chart pinned exactly: where it is published, its name and version, and its archive's digest once pulled."""

    repository: str
    chart: str
    version: str
    digest: str | None = None
