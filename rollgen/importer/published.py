"""The I/O around :mod:`rollgen.importer.charts`: resolve the chart's version, pull it, read it, convert.

A version range (Flux's ``version: ">=1.0.0"``, an Argo CD
``targetRevision`` range) resolves as the engine resolves it: the newest
version the repository publishes within the range (pre-releases only when
the range names one).
The chart is pulled like any published chart (:mod:`rollgen.helmrepo.pull`)
to read its default values and the value paths its templates read.
"""

from __future__ import annotations

from collections.abc import Callable

from rollgen.errors import UsageError
from rollgen.helmrepo.archive import read_archive
from rollgen.helmrepo.pin import ChartPin
from rollgen.helmrepo.pull import available_versions, pull
from rollgen.importer import argohelm, fluxhelm
from rollgen.importer.charts import ChartSource, convert_running
from rollgen.importer.conversion import Conversion, Notes, Options
from rollgen.importer.documents import Manifest
from rollgen.registry.policy import newest
from rollgen.registry.semver import tag_version
from rollgen.spec.model import ImagePolicy


def convert_helm(
    first: Manifest, manifests: tuple[Manifest, ...], options: Options, read: Callable[[str], bytes | None]
) -> Conversion:
    """The release spec of a HelmRelease or an Application with a Helm chart, and its files."""
    notes = Notes()
    if first.kind == "HelmRelease":
        running = fluxhelm.locate(first, manifests, options, notes)
    else:
        running = argohelm.locate(first, manifests, options, notes, read)
    version = resolve(running.chart)
    _, archive = pull(ChartPin(running.chart.repository, running.chart.chart, version))
    return convert_running(running, read_archive(archive), version, options, notes)


def resolve(source: ChartSource) -> str:
    """The exact chart version ``source.version`` names, or the newest the repository has within its range."""
    if tag_version(source.version) is not None:
        return source.version
    wanted = ">=0.0.0" if source.version.strip() in ("", "*") else source.version
    policy = ImagePolicy("semver", wanted, prereleases="-" in wanted)
    found = newest(policy, available_versions(source.repository, source.chart))
    if found is None:
        raise UsageError(f"chart {source.chart} from {source.repository} has no version within {source.version}")
    return found
