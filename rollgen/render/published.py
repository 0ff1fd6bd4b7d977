"""What rendering a published chart reads from the world: the values files, and the chart for a new revision.

The thin shell around :mod:`rollgen.render.helm_releases` (pure): a label
frozen in the output renders from its ``chart.yaml`` alone, with no file,
network or Helm; a new revision reads the values files now and takes the
chart the spec pins, pulled (:mod:`rollgen.helmrepo.pull`), rendered by Helm
and checked (:mod:`rollgen.render.chartcheck`) before anything is committed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from rollgen.errors import UsageError
from rollgen.helmrepo.archive import read_archive
from rollgen.helmrepo.pull import pull
from rollgen.helmrepo.template import render_chart
from rollgen.plan.model import State, Workload
from rollgen.plan.steps import initial_state
from rollgen.render import helm_releases
from rollgen.render.chartcheck import check_release
from rollgen.render.desired import desired_revision
from rollgen.render.helm import get_value, merged_values, set_value
from rollgen.render.revision import Revision
from rollgen.spec.helmsource import HelmSource
from rollgen.spec.model import Release

Files = dict[str, bytes]


def render_published(
    repo_root: Path, release: Release, state: State, frozen: Mapping[str, bytes], revisions: Mapping[str, Revision]
) -> Files:
    """The files of ``state`` (see :meth:`rollgen.render.Renderer.render` for ``frozen`` and ``revisions``)."""
    sources = helm_releases.frozen_releases(frozen, release.output_path)
    new = [w.version for w in state.workloads if w.version not in sources]
    if new:
        now = desired_release(repo_root, release)
        for name in new:
            pinned = release.pinned_digest if name == release.version else None
            wanted = revisions.get(name, Revision(name, now.revision.config, pinned))
            if wanted.config != now.revision.config:
                raise UsageError(
                    f"release {release.name}: revision {name} was computed from configuration {wanted.config}, but "
                    f"the chart and values files give {now.revision.config} now: they changed meanwhile; run again"
                )
            revision = Revision(wanted.version, now.revision.config, wanted.digest, now.revision.inputs)
            workload = next(w for w in state.workloads if w.version == name)
            sources[name] = checked(release, state, workload, dataclasses.replace(now, revision=revision))
    return helm_releases.render_state(release, state, sources)


def checked(
    release: Release, state: State, workload: Workload, frozen: helm_releases.FrozenRelease
) -> helm_releases.FrozenRelease:
    """``frozen`` as it starts running: its chart pulled (the digest pinned) and rendered by Helm, checked.

    The chart's Service is rendered with the chart's Service on when the
    state turns it off (a replica-ratio canary), so that its ports are known.
    """
    source = release.source
    assert isinstance(source, HelmSource) and source.remote is not None and source.per_version is not None
    pin, archive = pull(frozen.pin, source.remote.credentials)
    frozen = dataclasses.replace(frozen, pin=pin)
    name = helm_releases.release_name(workload, frozen)
    values = helm_releases.version_values(release, state, workload, frozen)
    key = source.per_version.service
    on = key is None or helm_releases.service_on(release, state, workload)
    rendered = render_chart(archive, values, name, release.namespace)
    service = check_release(release, workload, frozen, rendered, on)
    if service is None and key is not None and not on:
        set_value(values, key, True)
        service = check_release(release, workload, frozen, render_chart(archive, values, name, release.namespace), True)
    objects = tuple(sorted({f"{kind}/{object_name}" for kind, object_name in rendered.objects}))
    return dataclasses.replace(frozen, service=service, objects=objects)


def desired_release(repo_root: Path, release: Release) -> helm_releases.FrozenRelease:
    """The revision the spec and the values files ask for now, as it would be frozen (version: the spec's)."""
    source = release.source
    assert isinstance(source, HelmSource) and source.remote is not None  # a chart from a repository
    revision = desired_revision(repo_root, release, None)
    return helm_releases.FrozenRelease(
        revision, helm_releases.pin_of(source), merged_values(repo_root, release, source.values)
    )


def adopt_published(repo_root: Path, release: Release) -> Files:
    """The files that take over the Helm release running now, keeping its name and namespace.

    What runs is what the spec describes (``rollgen import`` writes it from
    the running HelmRelease or Application): the chart it pins, the values
    files, and the image tag those values set (the chart's appVersion when
    they set none): the adopted revision's version. The release keeps its
    Helm release name (``releaseName``, else the release's name), so its
    HelmRelease or Application keeps its name too: Helm upgrades it in place
    (the same objects, names and values), never uninstalls and reinstalls it.
    """
    source = release.source
    assert isinstance(source, HelmSource) and source.remote is not None and source.per_version is not None
    now = desired_release(repo_root, release)
    pin, archive = pull(now.pin, source.remote.credentials)
    chart = read_archive(archive)
    tag = get_value(now.values, source.per_version.image_tag) or get_value(chart.values, source.per_version.image_tag)
    version = str(tag) if tag is not None else chart.app_version
    if version is None:
        raise UsageError(
            f"release {release.name}: neither the values ({source.per_version.image_tag}) nor chart {pin.chart} "
            f"{pin.version} (appVersion) name the image tag that runs; set it in a values file"
        )
    if release.stable and release.stable != version:
        raise UsageError(
            f"release {release.name}: the values run {version} but the spec says stable {release.stable}; adoption "
            f"reproduces what runs: set stable to {version} (or leave it out)"
        )
    revision = dataclasses.replace(now.revision, version=version, digest=None)
    frozen = helm_releases.FrozenRelease(revision, pin, now.values, source.release_name or release.name)
    state = initial_state(dataclasses.replace(release, stable=version))
    frozen = checked(release, state, state.workloads[0], frozen)
    return helm_releases.render_state(release, state, {version: frozen})
