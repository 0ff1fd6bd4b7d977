"""Pipelines for tests: environment release specs, a served GitOps repository holding them, rollgen's CLI in a clone."""

from __future__ import annotations

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
  stable: "1.0.0"
  # Promoted here by rollgen: do not edit by hand.
  version: "1.0.1"        # tag
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
    """A served repository holding the example base, ``releases/<file>`` and hand-written outputs; a clone of it."""
    url = daemon.create(tmp_path.name)
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", "-b", "main", "seed")
    shutil.copytree(REPO_ROOT / "examples" / "apps" / "web" / "base", seed / "apps" / "web" / "base")
    (seed / "releases").mkdir()
    for name, text in specs.items():
        (seed / "releases" / name).write_text(text)
    for env in environments:
        (seed / "deploy" / env).mkdir(parents=True)
        (seed / "deploy" / env / "kustomization.yaml").write_text("# before rollgen\nresources: []\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "releases, base, outputs")
    git(seed, "push", "-q", url, "main")
    return clone(url, tmp_path / "work")


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


def roll_out(work: Path, env: str) -> int:
    """``rollgen start`` then ``rollgen run`` in ``env``: the exit code of run (0 completed, 1 aborted)."""
    ok(work, "start", f"releases/{env}.yaml")
    return rollgen(work, "run", f"releases/{env}.yaml").returncode


def spec_version(work: Path, env: str) -> tuple[str, str | None]:
    """The version and digest ``releases/<env>.yaml`` names on the remote's branch (pulled first)."""
    git(work, "pull", "-q", "--ff-only")
    spec = yaml.safe_load((work / "releases" / f"{env}.yaml").read_text())["spec"]
    return spec["version"], spec.get("digest")


def set_stable(work: Path, env: str, version: str) -> None:
    """What the Git trigger derives from history (stable is the version that runs): written by hand here."""
    path = work / "releases" / f"{env}.yaml"
    path.write_text(path.read_text().replace('stable: "1.0.0"', f'stable: "{version}"'))
    git(work, "commit", "-q", "-am", f"{env}: stable is {version}")
    git(work, "push", "-q", "origin", "main")
