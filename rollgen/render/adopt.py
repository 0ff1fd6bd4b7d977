"""Adoption: what runs today, reproduced as rollgen's layout before rollgen changes anything.

A team that applies its base directly (``kubectl apply -k``, or an output
path rollgen did not write) runs one unversioned Deployment, ``web``. The
adopted state freezes the base as built now as the stable revision, whose
version is the image tag the base runs, and keeps that Deployment's name and
selector: renaming it would delete and recreate it, and a selector cannot
change. rollgen adds its ``app`` and ``version`` labels to the pod template
only (Services, routes and gates tell versions apart by them), so adopting
replaces the pods once, as a rolling update within the Deployment's own
rendered ``strategy`` (never below the available pods the spec allows),
with the same image and configuration.

Later rollouts keep that Deployment, under the adopted revision's label,
until a state removes it; an abort of the first rollout commits the adopted
files back, so the app is never left with nothing.
"""

from __future__ import annotations

from dataclasses import replace

from rollgen.errors import UsageError
from rollgen.plan.model import State, Workload
from rollgen.plan.steps import initial_state
from rollgen.render.kustomize import Files, Frozen, render_overlay, rolled_container
from rollgen.render.revision import Revision, config_digest
from rollgen.render.userbase import KustomizeBase
from rollgen.spec.model import Release


def running_version(release: Release, base: KustomizeBase) -> str:
    """The image tag the base's rolled-out container runs: the adopted revision's version."""
    image = rolled_container(release, base).image.split("@", 1)[0]
    _, colon, tag = image.rpartition(":")
    if not colon or "/" in tag:
        raise UsageError(
            f"release {release.name}: Deployment {base.deployment} runs image {image} without a tag; "
            "set one in the base so rollgen knows which version runs"
        )
    return tag


def adopted_state(release: Release, base: KustomizeBase, version: str) -> State:
    """The strategy's steady state for ``version``, run by the base's own Deployment."""
    steady = initial_state(replace(release, stable=version))
    return replace(steady, workloads=(Workload(version, base.deployment, release.replicas),))


def render_adopted(release: Release, base: KustomizeBase, inputs: str | None = None) -> Files:
    """The files of the adopted state; ``inputs`` is the base's input fingerprint, recorded for later passes."""
    version = running_version(release, base)
    if release.stable and release.stable != version:
        raise UsageError(
            f"release {release.name}: the base runs {version} but the spec says stable {release.stable}; "
            f"adoption reproduces what runs: set stable to {version} (or leave it out)"
        )
    revision = Revision(version, config_digest([base.built.encode()]), inputs=inputs)
    frozen = {version: Frozen(revision, base, adopted=True)}
    return render_overlay(release, adopted_state(release, base, version), base, frozen)
