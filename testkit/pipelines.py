"""Pipelines for tests: environment release specs, a served GitOps repository holding them, rollgen's CLI in a clone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from testkit.git import clone, git
from testkit.gitservers import GitDaemon
from testkit.tools import REPO_ROOT

ENV_SPEC = """\
# The web app in ENV. Its version is written by rollgen (detect, or the pipeline).
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: web   # the same app everywhere

spec:
  namespace: ENV          # one namespace per environment
  replicas: 2
  image: 'IMAGE'          # single quotes, as the team writes them
  # Promoted here by rollgen: do not edit by hand.
  version: "1.0.0"        # tag
POLICY  source: {kustomize: {base: apps/web/base}}
  output: {path: deploy/ENV}
  strategy:
    canary:
      steps:
        - setWeight: 50    # half first
        - analysis: {gates: [smoke]}
  gates:
    - name: smoke          # ENV's own test: refuses the versions it knows are bad
      command:
        command: [test, "{{ version }}", "!=", "BAD"]
  liveness: {assumeAfter: 0s}   # no cluster in this test
  git:
    branch: main
GIT"""


def env_spec(env: str, image: str, *, policy: str = "", bad: str = "none", git_extra: str = "") -> str:
    """An environment's release spec, full of comments; ``policy`` and ``git_extra`` are YAML lines under spec."""
    text = ENV_SPEC.replace("ENV", env).replace("IMAGE", image).replace("BAD", bad)
    return text.replace("POLICY", policy).replace("GIT", git_extra)


def gitops(daemon: GitDaemon, tmp_path: Path, specs: dict[str, str], environments: tuple[str, ...]) -> Path:
    """A served repository holding the example base, ``releases/<file>`` and each environment's output; a clone.

    Each environment ran 1.0.0 before rollgen, from a kustomization written by
    hand over the base (``deploy/<env>``); the clone adopts every one
    (``rollgen adopt``), so from then on a spec change is rolled out by
    ``rollgen advance`` passes alone.
    """
    url = daemon.create(tmp_path.name)
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", "-b", "main", "seed")
    shutil.copytree(REPO_ROOT / "examples" / "apps" / "web" / "base", seed / "apps" / "web" / "base")
    (seed / "releases").mkdir()
    for name, text in specs.items():
        (seed / "releases" / name).write_text(text)
    for env in environments:
        image = yaml.safe_load(specs[f"{env}.yaml"])["spec"]["image"]
        (seed / "deploy" / env).mkdir(parents=True)
        (seed / "deploy" / env / "kustomization.yaml").write_text(
            f"# {env}, written by hand before rollgen\n"
            f"namespace: {env}\n"
            "resources: [../../apps/web/base]\n"
            f"images:\n  - name: ghcr.io/example/web\n    newName: {image}\n    newTag: '1.0.0'\n"
        )
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "releases, base, outputs")
    git(seed, "push", "-q", url, "main")
    work = clone(url, tmp_path / "work")
    for env in environments:
        ok(work, "adopt", f"releases/{env}.yaml")
    return work


def rollgen(work: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m rollgen ARGS`` in ``work``, with this checkout's code first on the path."""
    done = subprocess.run(
        [sys.executable, "-m", "rollgen", *args],
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def ok(work: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """The output of a rollgen command that must succeed."""
    done = rollgen(work, *args, env=env)
    assert done.returncode == 0, f"rollgen {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def phases(work: Path, *envs: str) -> dict[str, str]:
    """Each environment's rollout phase as ``rollgen status -o json`` reads it from the remote."""
    rows = json.loads(ok(work, "status", *(f"releases/{env}.yaml" for env in envs), "-o", "json"))
    return {row["release"].split("/")[0]: row["phase"] for row in rows}


def roll_out(work: Path, env: str, *, passes: int = 20) -> int:
    """``rollgen advance`` passes over ``env`` until its rollout is over: 0 completed, 1 aborted."""
    for _ in range(passes):
        done = rollgen(work, "advance", f"releases/{env}.yaml")
        assert done.returncode in (0, 1), done.stdout + done.stderr  # moved on, or aborted
        phase = phases(work, env)[env]
        if phase in ("completed", "aborted"):
            return 0 if phase == "completed" else 1
    raise AssertionError(f"{env}: the rollout was not over after {passes} advance passes")


def spec_version(work: Path, env: str) -> tuple[str, str | None]:
    """The version and digest ``releases/<env>.yaml`` names on the remote's branch (pulled first)."""
    git(work, "pull", "-q", "--ff-only")
    spec = yaml.safe_load((work / "releases" / f"{env}.yaml").read_text())["spec"]
    return spec["version"], spec.get("digest")
