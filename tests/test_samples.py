"""overlays/ is exactly what rollgen renders now, and every step in it builds (kubectl kustomize, real Helm)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rollgen.plan.steps import plan_release
from rollgen.render.userbase import read_base
from rollgen.spec.load import load_release
from testkit.built import assert_matches_state, kustomize_build_all, validate
from testkit.helm import template
from testkit.tools import REPO_ROOT
from tools.samples import SOURCES, main, sample_files

OUT = "overlays"
REGENERATE = "regenerate with: python -m tools.samples overlays"


def on_disk() -> dict[str, bytes]:
    root = REPO_ROOT / OUT
    return {path.relative_to(REPO_ROOT).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_overlays_are_byte_identical_to_what_rollgen_renders() -> None:
    expected, actual = sample_files(REPO_ROOT, OUT), on_disk()
    assert sorted(set(expected) - set(actual)) == [], f"missing from overlays/; {REGENERATE}"
    assert sorted(set(actual) - set(expected)) == [], f"stale files in overlays/; {REGENERATE}"
    changed = sorted(path for path in expected if expected[path] != actual[path])
    assert changed == [], f"overlays/ differs from the renderer; {REGENERATE}"


def test_every_example_and_strategy_is_there() -> None:
    for kind, folder in SOURCES:
        for spec in (REPO_ROOT / folder).glob("*.yaml"):
            steps = len(plan_release(load_release(spec)).steps)
            built = sorted(p.name for p in (REPO_ROOT / OUT / kind / spec.stem).iterdir())
            assert built == [f"step-{i:02d}" for i in range(steps + 1)]


@pytest.mark.slow
def test_every_kustomize_step_builds_to_its_planned_state() -> None:
    jobs = []
    for spec in sorted((REPO_ROOT / "examples").glob("*.yaml")):
        release = load_release(spec)
        plan = plan_release(release)
        base = read_base(REPO_ROOT, release)
        states = (plan.initial, *(step.state for step in plan.steps))
        for index, state in enumerate(states):
            jobs.append((release, state, base, REPO_ROOT / OUT / "kustomize" / spec.stem / f"step-{index:02d}"))
    for (release, state, base, _), objects in zip(jobs, kustomize_build_all([j[3] for j in jobs]), strict=True):
        validate(objects)
        assert_matches_state(release, state, base, objects, None)


@pytest.mark.slow
def test_every_helm_step_templates_with_real_helm(helm: Any) -> None:
    for step in sorted((REPO_ROOT / OUT / "helm").glob("*/step-*")):
        files = {path.name: path.read_bytes() for path in step.iterdir()}
        objects = template(helm, REPO_ROOT, files)
        validate(objects)
        assert any(o["kind"] == "Deployment" for o in objects), step


def test_the_command_refuses_a_directory_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "examples").mkdir()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["--repo", str(tmp_path), str(tmp_path / "mine")]) == 2
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert main(["--repo", str(tmp_path), "/elsewhere"]) == 2
