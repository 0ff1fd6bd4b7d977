"""examples/ci: the GitHub Actions workflow and the GitLab CI jobs run commands rollgen has."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgen.cli import build_parser
from testkit.tools import REPO_ROOT

CI = REPO_ROOT / "examples" / "ci"


def github() -> dict[Any, Any]:
    doc: dict[Any, Any] = yaml.safe_load((CI / "github-actions.yml").read_text())
    return doc


def gitlab() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    return doc


def rollgen_lines() -> list[str]:
    lines = [step["run"] for job in github()["jobs"].values() for step in job["steps"] if "run" in step]
    lines += [line for job in gitlab().values() if isinstance(job, dict) for line in job.get("script", [])]
    return [line for line in lines if line.startswith("rollgen ")]


def test_validate_on_pull_requests_and_advance_on_a_schedule() -> None:
    workflow = github()
    triggers = workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1 reads a bare `on` as true
    assert {"pull_request", "schedule"} <= set(triggers)
    jobs = workflow["jobs"]
    assert "pull_request" in jobs["validate"]["if"] and "!= 'pull_request'" in jobs["advance"]["if"]
    assert any(s.get("run", "").startswith("rollgen validate") for s in jobs["validate"]["steps"])
    assert any(s.get("run", "").startswith("rollgen advance") for s in jobs["advance"]["steps"])
    lab = gitlab()
    assert lab["rollgen-validate"]["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert lab["rollgen-advance"]["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "schedule"'
    assert [c.split()[1] for c in rollgen_lines()] == ["validate", "advance", "validate", "advance"]


@pytest.mark.parametrize("line", rollgen_lines())
def test_every_rollgen_command_parses(line: str) -> None:
    argv = shlex.split(line)[1:]
    args = build_parser(argv).parse_args(argv)
    assert args.command == argv[0]


def test_the_validate_command_passes_on_a_repository_of_good_specs(tmp_path: Path) -> None:
    (line,) = {c for c in rollgen_lines() if c.startswith("rollgen validate")}
    shutil.copytree(REPO_ROOT / "examples", tmp_path / "examples")
    (tmp_path / "releases").mkdir()
    for spec in (REPO_ROOT / "examples").glob("*.yaml"):
        shutil.copy(spec, tmp_path / "releases" / spec.name)
    command = line.replace("rollgen", shlex.quote(sys.executable) + " -m rollgen", 1)
    done = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "releases" / "broken.yaml").write_text("apiVersion: rollgen.io/v1alpha1\nkind: Release\n")
    done = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "releases/broken.yaml:" in done.stdout
