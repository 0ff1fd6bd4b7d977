"""``rollgen plan`` and ``rollgen render`` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from rollgen.plan.steps import plan_release
from rollgen.spec.load import load_release
from testkit.cli import rollgen
from testkit.tools import REPO_ROOT, require_tool

CANARY = REPO_ROOT / "examples" / "canary.yaml"


def test_plan_table_shows_every_step() -> None:
    run = rollgen("plan", str(CANARY))
    assert run.returncode == 0, run.stderr
    plan = plan_release(load_release(CANARY))
    rows = [line.split() for line in run.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [int(row[0]) for row in rows] == list(range(len(plan.steps) + 1))
    assert "success-rate, healthz" in run.stdout


def test_plan_json_and_yaml_carry_the_same_data() -> None:
    as_json = json.loads(rollgen("plan", str(CANARY), "-o", "json").stdout)
    as_yaml = yaml.safe_load(rollgen("plan", str(CANARY), "-o", "yaml").stdout)
    assert as_json == as_yaml
    final = as_json["steps"][-1]["state"]["workloads"]
    assert final == [{"name": "web-1-1-0", "version": "1.1.0", "replicas": 4}]


def test_plan_of_an_invalid_spec_exits_one_with_positions() -> None:
    bad = REPO_ROOT / "tests" / "spec" / "invalid" / "same-version.yaml"
    run = rollgen("plan", str(bad))
    assert run.returncode == 1
    assert f"{bad}:11:12: spec.version must differ" in run.stderr
    assert "Traceback" not in run.stderr


def test_render_writes_every_step_and_a_step_builds_in_place(tmp_path: Path) -> None:
    kubectl = require_tool("kubectl")
    review = tmp_path / "review"
    run = rollgen("render", str(CANARY), "--out", str(review))
    assert run.returncode == 0, run.stderr
    steps = sorted(p.name for p in review.iterdir())
    # What `render --help` promises (DIR/step-NN/), in the order a listing shows.
    assert steps == [f"step-{i:02d}" for i in range(len(plan_release(load_release(CANARY)).steps) + 1)]

    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "examples" / "apps", repo / "examples" / "apps")
    out = repo / "examples" / "out" / "web-canary"
    run = rollgen("render", str(CANARY), "--step", "2", "--out", str(out), "--repo", str(repo))
    assert run.returncode == 0, run.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        p.relative_to(review / "step-02").as_posix() for p in (review / "step-02").rglob("*") if p.is_file()
    )
    built = subprocess.run([kubectl, "kustomize", str(out)], capture_output=True, text=True, check=True).stdout
    replicas = {
        d["metadata"]["name"]: d["spec"]["replicas"] for d in yaml.safe_load_all(built) if d["kind"] == "Deployment"
    }
    assert replicas == {"web-1-0-0": 3, "web-1-1-0": 1}


def test_render_refuses_a_non_empty_directory_and_unknown_steps(tmp_path: Path) -> None:
    (tmp_path / "leftover.yaml").write_text("x: 1\n")
    run = rollgen("render", str(CANARY), "--out", str(tmp_path))
    assert run.returncode == 2 and "not an empty directory" in run.stderr
    run = rollgen("render", str(CANARY), "--step", "99", "--out", str(tmp_path / "new"))
    assert run.returncode == 2 and "--step 99: the plan has steps 0 to" in run.stderr
