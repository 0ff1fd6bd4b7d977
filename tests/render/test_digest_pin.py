"""``imagePolicy.pin: digest``: the spec's digest reaches the new revision's image; the stable keeps its frozen text.

Built with real ``kubectl kustomize``: the Deployments' images are read from the build.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from rollgen.plan.steps import plan_release
from rollgen.render.renderer import Renderer
from rollgen.rollout.state import plan_for
from rollgen.spec.load import load_release
from rollgen.spec.model import ImagePolicy, Release
from testkit.built import kustomize_build, of_kind, write_files
from testkit.tools import REPO_ROOT, require_tool

OLD = "sha256:" + "0" * 64
NEW = "sha256:" + "1" * 64
IMAGE = "ghcr.io/example/web"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    require_tool("kubectl")
    shutil.copytree(REPO_ROOT / "examples" / "apps", tmp_path / "examples" / "apps")
    return tmp_path


def images(directory: Path, files: dict[str, bytes]) -> dict[str, str]:
    shutil.rmtree(directory, ignore_errors=True)
    write_files(directory, files)
    built = of_kind(kustomize_build(directory), "Deployment")
    return {name: d["spec"]["template"]["spec"]["containers"][0]["image"] for name, d in built.items()}


def pinned(stable: str, version: str, digest: str, pin: str = "digest") -> Release:
    release = load_release(REPO_ROOT / "examples" / "canary.yaml")
    policy = ImagePolicy("semver", ">=1.0.0", pin=pin)  # type: ignore[arg-type]
    return dataclasses.replace(release, stable=stable, version=version, digest=digest, image_policy=policy)


def test_the_new_revision_runs_the_spec_digest_and_the_stable_keeps_its_frozen_image(repo: Path) -> None:
    first = pinned("0.9.0", "1.0.0", OLD)
    completed = Renderer(repo, first).render(plan_release(first).steps[-1].state)
    assert images(repo / "a", completed) == {"web-1-0-0": f"{IMAGE}:1.0.0@{OLD}"}

    second = pinned("1.0.0", "1.1.0", NEW)
    plan = plan_release(second)
    canary = Renderer(repo, second).render(plan.steps[0].state, frozen=completed)
    assert images(repo / "b", canary) == {"web-1-0-0": f"{IMAGE}:1.0.0@{OLD}", "web-1-1-0": f"{IMAGE}:1.1.0@{NEW}"}
    # The way back renders the stable from the same frozen files: its image text never changes.
    back = Renderer(repo, second).render(plan.initial, frozen=completed)
    assert back == completed


def test_pin_tag_records_the_digest_but_deploys_the_tag(repo: Path) -> None:
    release = pinned("1.0.0", "1.1.0", NEW, pin="tag")
    files = Renderer(repo, release).render(plan_release(release).steps[0].state)
    assert images(repo / "a", files) == {"web-1-0-0": f"{IMAGE}:1.0.0", "web-1-1-0": f"{IMAGE}:1.1.0"}


def test_an_undo_takes_no_digest_from_the_spec_for_the_older_version(repo: Path) -> None:
    release = pinned("1.0.0", "1.1.0", NEW)
    swapped, plan = plan_for(release, "1.1.0", "1.0.0")
    assert swapped.digest is None
    files = Renderer(repo, swapped).render(plan.steps[-1].state)
    assert images(repo / "a", files) == {"web-1-0-0": f"{IMAGE}:1.0.0"}
