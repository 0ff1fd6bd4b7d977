"""From ``docker push`` to production: a real docker-registry, a real git repository served by ``git daemon``.

Every step is rollgen's own command line in a clone of the served repository:
``detect`` writes the new tag into dev's spec, ``start`` + ``run`` roll each
environment out (judging its real ``command`` gate, measurements in git notes),
and ``pipeline advance`` writes each completed version into the next
environment's spec.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.built import kustomize_build_text
from testkit.git import clone, git
from testkit.gitservers import GitDaemon
from testkit.registryservers import Registry, docker_registry, push_tags
from testkit.tools import REPO_ROOT

ENVIRONMENTS = ("dev", "staging", "production")

PIPELINE = """\
# The web app's way to production. `rollgen pipeline advance` moves each
# completed version on; `rollgen advance` rolls it out in each environment.
apiVersion: rollgen.io/v1alpha1
kind: Pipeline
metadata:
  name: web   # the app

spec:
  environments:
    - name: dev            # fed by rollgen detect
      release: dev.yaml
    - name: staging
      release: staging.yaml   # canary, its own gate
    # production last: nothing reaches it that staging did not complete
    - name: production
      release: production.yaml
"""

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
  git: {branch: main}
"""

DEV_POLICY = """\
  imagePolicy:
    semver:
      range: ">=1.0.0 <2"   # stay on 1.x
    pin: digest
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with docker_registry(tmp_path_factory.mktemp("registry")) as served:
        push_tags(served, "team/web", ["1.0.0"], label="web 1.0.0")
        yield served


def env_spec(env: str, image: str, *, bad: str = "none") -> str:
    text = ENV_SPEC.replace("ENV", env).replace("IMAGE", image).replace("BAD", bad)
    return text.replace("POLICY", DEV_POLICY if env == "dev" else "")


def gitops(daemon: GitDaemon, tmp_path: Path, specs: dict[str, str]) -> Path:
    """A served repository holding the example base, ``releases/`` and hand-written outputs; a clone of it."""
    url = daemon.create(tmp_path.name)
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", "-b", "main", "seed")
    shutil.copytree(REPO_ROOT / "examples" / "apps" / "web" / "base", seed / "apps" / "web" / "base")
    (seed / "releases").mkdir()
    for name, text in specs.items():
        (seed / "releases" / name).write_text(text)
    for env in ENVIRONMENTS:
        (seed / "deploy" / env).mkdir(parents=True)
        (seed / "deploy" / env / "kustomization.yaml").write_text("# before rollgen\nresources: []\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "releases, base, outputs")
    git(seed, "push", "-q", url, "main")
    return clone(url, tmp_path / "work")


def rollgen(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "rollgen", *args],
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def ok(work: Path, *args: str) -> str:
    done = rollgen(work, *args)
    assert done.returncode == 0, f"rollgen {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def roll_out(work: Path, env: str) -> int:
    """``rollgen start`` then ``rollgen run`` in ``env``: the exit code of run (0 completed, 1 aborted)."""
    ok(work, "start", f"releases/{env}.yaml")
    return rollgen(work, "run", f"releases/{env}.yaml").returncode


def spec_version(work: Path, env: str) -> tuple[str, str | None]:
    import yaml

    git(work, "pull", "-q", "--ff-only")
    spec = yaml.safe_load((work / "releases" / f"{env}.yaml").read_text())["spec"]
    return spec["version"], spec.get("digest")


def set_stable(work: Path, env: str, version: str) -> None:
    """What the Git trigger derives from history (stable is the version that runs): written by hand here."""
    path = work / "releases" / f"{env}.yaml"
    path.write_text(path.read_text().replace('stable: "1.0.0"', f'stable: "{version}"'))
    git(work, "commit", "-q", "-am", f"{env}: stable is {version}")
    git(work, "push", "-q", "origin", "main")


def statuses(work: Path) -> dict[str, dict[str, object]]:
    return {row["environment"]: row for row in json.loads(ok(work, "status", "releases/pipeline.yaml", "-o", "json"))}


def test_a_pushed_tag_reaches_production_and_a_version_failing_staging_never_does(
    registry: Registry, daemon: GitDaemon, tmp_path: Path
) -> None:
    image = f"{registry.host}/team/web"
    specs = {f"{env}.yaml": env_spec(env, image, bad="1.2.0" if env == "staging" else "none") for env in ENVIRONMENTS}
    work = gitops(daemon, tmp_path, {**specs, "pipeline.yaml": PIPELINE})
    assert ok(work, "validate", "releases").count("\n") == 0  # the pipeline and its three releases are valid

    # Nothing completed anywhere: the pipeline promotes nothing.
    assert ok(work, "pipeline", "advance", "releases/pipeline.yaml").splitlines() == [
        "staging: upstream: dev has completed no rollout yet",
        "production: upstream: staging has completed no rollout yet",
    ]

    # docker push 1.1.0 -> detect writes it into dev -> dev rolls it out.
    digest = push_tags(registry, "team/web", ["1.1.0"], label="web 1.1.0")["1.1.0"]
    assert f"dev/web: 1.0.1 -> 1.1.0 ({digest}), updated: commit " in ok(work, "detect", "releases")
    assert spec_version(work, "dev") == ("1.1.0", digest)
    assert statuses(work)["dev"]["waiting"] == "rollgen advance to roll out 1.1.0"
    assert roll_out(work, "dev") == 0

    # dev completed 1.1.0: staging gets it (one environment per pass), then production after staging.
    promoted = ok(work, "pipeline", "advance", "releases/pipeline.yaml").splitlines()
    assert promoted[0].startswith("staging: promoted 1.1.0: commit ")
    assert promoted[1] == "production: upstream: staging has completed no rollout yet"
    assert spec_version(work, "staging") == ("1.1.0", digest)
    assert git(work, "log", "-1", "--format=%s") == "staging/web: promote 1.1.0 from dev to staging"
    assert roll_out(work, "staging") == 0
    assert (
        ok(work, "pipeline", "advance", "releases/pipeline.yaml")
        .splitlines()[1]
        .startswith("production: promoted 1.1.0: commit ")
    )
    assert spec_version(work, "production") == ("1.1.0", digest)
    assert roll_out(work, "production") == 0
    # The pinned digest reached every environment's Deployment.
    for env in ENVIRONMENTS:
        assert f"image: {image}:1.1.0@{digest}" in kustomize_build_text(work / "deploy" / env)
    assert ok(work, "pipeline", "advance", "releases/pipeline.yaml").splitlines() == [
        "staging: current: at 1.1.0, as dev",
        "production: current: at 1.1.0, as staging",
    ]

    # docker push 1.2.0: dev completes it, staging's gate refuses it, the rollout aborts.
    bad = push_tags(registry, "team/web", ["1.2.0"], label="web 1.2.0")["1.2.0"]
    ok(work, "detect", "releases")
    set_stable(work, "dev", "1.1.0")
    assert roll_out(work, "dev") == 0
    ok(work, "pipeline", "advance", "releases/pipeline.yaml")
    assert spec_version(work, "staging") == ("1.2.0", bad)
    set_stable(work, "staging", "1.1.0")
    staging_before = kustomize_build_text(work / "deploy" / "staging")
    assert roll_out(work, "staging") == 1  # aborted by its gate
    git(work, "pull", "-q", "--ff-only")
    assert kustomize_build_text(work / "deploy" / "staging") == staging_before  # byte for byte

    # 1.2.0 never reaches production; status says where everything is and why staging stopped.
    assert ok(work, "pipeline", "advance", "releases/pipeline.yaml").splitlines() == [
        "staging: current: at 1.2.0, as dev",
        "production: current: at 1.1.0, as staging",
    ]
    assert spec_version(work, "production") == ("1.1.0", digest)
    rows = statuses(work)
    assert (rows["dev"]["running"], rows["dev"]["phase"]) == ("1.2.0", "completed")
    assert (rows["staging"]["running"], rows["staging"]["phase"]) == ("1.1.0", "aborted")
    assert rows["staging"]["waiting"] == "1.2.0 was aborted here: rollgen retry, or a newer version"
    assert rows["staging"]["stopped"] == "gate smoke failed at step 2: smoke: test exited 1"
    assert (rows["production"]["running"], rows["production"]["waiting"]) == (
        "1.1.0",
        "staging to complete a newer version",
    )
    assert ok(work, "status", "releases/pipeline.yaml").splitlines()[1] == (
        "staging      staging/web              runs 1.1.0      aborted, spec asks 1.2.0; "
        "waits for 1.2.0 was aborted here: rollgen retry, or a newer version; "
        "stopped: gate smoke failed at step 2: smoke: test exited 1"
    )
