"""Before a revision of a published chart runs: does the chart do what the plan promises with rollgen's values?

The chart is rendered by real Helm (:mod:`rollgen.helmrepo.template`) with the
values of the revision's first state, and the objects are read the way the
cluster would: one Deployment per release runs the spec's image (others, such
as a chart's own cache, come along with each release), named as the plan names it (the
``perVersion.name`` key works), with the plan's replicas, running the spec's
image at the revision's tag, its pods carrying ``app``/``version`` when
``perVersion.podLabels`` is set, and the chart's Service present exactly
when rollgen turned it on, selecting that Deployment's pods. Every problem is
reported at once; nothing is committed. Pure: rendered objects in, the
chart's Service (frozen with the revision, for routes) out.
"""

from __future__ import annotations

from rollgen.errors import UsageError
from rollgen.helmrepo.template import Rendered
from rollgen.plan.model import Workload
from rollgen.render.helm_releases import ChartService, FrozenRelease
from rollgen.render.revision import image_reference
from rollgen.spec.helmsource import HelmSource
from rollgen.spec.model import Release


def check_release(
    release: Release, workload: Workload, frozen: FrozenRelease, rendered: Rendered, service_on: bool
) -> ChartService | None:
    """The chart's Service of this release (``None`` when it renders none); UsageError listing every problem.

    ``rendered`` is the release as the state's values render it; ``service_on``
    whether rollgen's values turn the chart's Service on there.
    """
    source = release.source
    assert isinstance(source, HelmSource) and source.per_version is not None  # a published chart, per version
    keys = source.per_version
    problems: list[str] = []
    image = image_reference(release.image, frozen.revision)
    # The Deployment rolled out runs the spec's image; others (a chart's cache, a sidecar app) come along per release.
    rolled = [
        d for d in rendered.deployments if any(i.split("@")[0].rpartition(":")[0] == release.image for i in d.images)
    ]
    if len(rolled) != 1:
        names = ", ".join(f"{d.name} ({', '.join(d.images)})" for d in rendered.deployments) or "none"
        raise _refused(
            release,
            frozen,
            [
                f"rollgen rolls out the one Deployment that runs {release.image} (spec.image must be the chart's "
                f"image repository); the chart renders {names}"
            ],
        )
    (deployment,) = rolled
    if not frozen.adopted and deployment.name != workload.name:
        problems.append(
            f"its Deployment is named {deployment.name}, not {workload.name}: perVersion.name ({keys.name}) must "
            "name the release's objects (a chart's fullnameOverride)"
        )
    if deployment.replicas is not None and deployment.replicas != workload.replicas:
        problems.append(
            f"its Deployment runs {deployment.replicas} replicas, not {workload.replicas}: perVersion.replicas "
            f"({keys.replicas}) must set the replica count"
        )
    if image not in deployment.images:
        problems.append(
            f"its Deployment runs {', '.join(deployment.images)}, not {image}: spec.image must be the chart's image "
            f"repository and perVersion.imageTag ({keys.image_tag}) its tag"
        )
    if keys.pod_labels is not None:
        wanted = {"app": release.name, "version": workload.version}
        if not wanted.items() <= deployment.labels.items():
            problems.append(
                f"its pods are labelled {deployment.labels}, without app={release.name} version={workload.version}: "
                f"perVersion.podLabels ({keys.pod_labels}) must add labels to the pods"
            )
    mine = [s for s in rendered.services if s.selector and s.selector.items() <= deployment.labels.items()]
    if keys.service is not None and not service_on and mine:
        problems.append(
            f"it renders Service {mine[0].name} with {keys.service} false: perVersion.service must turn it off"
        )
    if (service_on or keys.service is None) and len(mine) > 1:
        problems.append(f"it renders Services {', '.join(s.name for s in mine)} for its pods; rollgen routes to one")
    if keys.service is not None and service_on and not mine:
        problems.append(
            f"it renders no Service selecting its pods with {keys.service} true: perVersion.service must turn the "
            "chart's Service on"
        )
    if problems:
        raise _refused(release, frozen, problems)
    return ChartService(mine[0].name, mine[0].ports) if mine else None


def _refused(release: Release, frozen: FrozenRelease, problems: list[str]) -> UsageError:
    pin = frozen.pin
    lines = "\n".join(f"  - {p}" for p in problems)
    return UsageError(
        f"release {release.name}: chart {pin.chart} {pin.version} from {pin.repository}, rendered by Helm with "
        f"rollgen's values, does not run what the plan says:\n{lines}"
    )
