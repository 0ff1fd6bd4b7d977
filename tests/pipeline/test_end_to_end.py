"""From ``docker push`` to production: a real docker-registry, a real git repository served by ``git daemon``.

Nothing but cron passes moves a version: each pass is rollgen's own command
line in a clone of the served repository -- ``detect`` writes a new tag into
dev's spec, ``advance`` rolls every environment's spec change out one commit
per pass (judging its real ``command`` gate, measurements in git notes), and
``pipeline advance`` writes each completed version into the next
environment's spec. No rollout is started by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testkit.built import kustomize_build_text
from testkit.git import git
from testkit.gitservers import GitDaemon
from testkit.pipelines import env_spec, gitops, ok, phases, rollgen, spec_version
from testkit.registryservers import Registry, docker_registry, push_tags

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


def statuses(work: Path) -> dict[str, dict[str, object]]:
    return {row["environment"]: row for row in json.loads(ok(work, "status", "releases/pipeline.yaml", "-o", "json"))}


def cron(work: Path) -> None:
    """One scheduled pass, as a CI job would run it: detect, advance every release, promote."""
    ok(work, "detect", "releases")
    advanced = rollgen(work, "advance", "releases")
    assert advanced.returncode in (0, 1), advanced.stdout + advanced.stderr  # 1: a rollout aborted
    ok(work, "pipeline", "advance", "releases/pipeline.yaml")


def cron_until(work: Path, reached: Callable[[], bool], what: str, *, passes: int = 40) -> None:
    """Cron passes until ``reached()``; fails saying ``what`` did not happen."""
    for _ in range(passes):
        cron(work)
        if reached():
            return
    raise AssertionError(f"{what} did not happen in {passes} cron passes: {statuses(work)}")


def completed(work: Path, env: str, version: str) -> bool:
    return spec_version(work, env)[0] == version and phases(work, env)[env] == "completed"


def subjects(work: Path, since: str) -> list[str]:
    return git(work, "log", "--reverse", "--format=%s", f"{since}..origin/main").splitlines()


def test_a_pushed_tag_reaches_production_and_a_version_failing_staging_never_does(
    registry: Registry, daemon: GitDaemon, tmp_path: Path
) -> None:
    image = f"{registry.host}/team/web"
    specs = {
        f"{env}.yaml": env_spec(
            env, image, policy=DEV_POLICY if env == "dev" else "", bad="1.2.0" if env == "staging" else "none"
        )
        for env in ENVIRONMENTS
    }
    work = gitops(daemon, tmp_path, {**specs, "pipeline.yaml": PIPELINE}, ENVIRONMENTS)
    assert ok(work, "validate", "releases").count("\n") == 0  # the pipeline and its three releases are valid

    # Every environment adopted at 1.0.0, nothing completed: a pass moves nothing.
    assert ok(work, "pipeline", "advance", "releases/pipeline.yaml").splitlines() == [
        "staging: upstream: dev has completed no rollout yet",
        "production: upstream: staging has completed no rollout yet",
    ]
    assert all("nothing to do" in line for line in ok(work, "advance", "releases").splitlines())

    # docker push 1.1.0; from here on only cron passes run.
    pushed = git(work, "rev-parse", "origin/main")
    digest = push_tags(registry, "team/web", ["1.1.0"], label="web 1.1.0")["1.1.0"]
    cron_until(work, lambda: completed(work, "production", "1.1.0"), "1.1.0 completing in production")
    trail = subjects(work, pushed)
    # The order of events, from the history alone: detection, dev's rollout, each promotion
    # only after the environment before it completed.
    order = [
        "dev/web: new image 1.1.0 detected (was 1.0.0)",
        "dev/web: step 1/",
        "dev/web: complete 1.0.0 -> 1.1.0",
        "staging/web: promote 1.1.0 from dev to staging",
        "staging/web: step 1/",
        "staging/web: complete 1.0.0 -> 1.1.0",
        "production/web: promote 1.1.0 from staging to production",
        "production/web: step 1/",
        "production/web: complete 1.0.0 -> 1.1.0",
    ]
    where = [next((i for i, subject in enumerate(trail) if subject.startswith(event)), -1) for event in order]
    assert -1 not in where and where == sorted(where), (order, trail)
    for env in ENVIRONMENTS:
        assert spec_version(work, env) == ("1.1.0", digest)
        # The pinned digest reached every environment's Deployment.
        assert f"image: {image}:1.1.0@{digest}" in kustomize_build_text(work / "deploy" / env)
    assert ok(work, "pipeline", "advance", "releases/pipeline.yaml").splitlines() == [
        "staging: current: at 1.1.0, as dev",
        "production: current: at 1.1.0, as staging",
    ]
    staging_before = kustomize_build_text(work / "deploy" / "staging")

    # docker push 1.2.0: dev completes it, staging's gate refuses it, the rollout aborts.
    bad = push_tags(registry, "team/web", ["1.2.0"], label="web 1.2.0")["1.2.0"]
    cron_until(work, lambda: phases(work, "staging")["staging"] == "aborted", "1.2.0 aborting in staging")
    assert spec_version(work, "staging") == ("1.2.0", bad)
    assert kustomize_build_text(work / "deploy" / "staging") == staging_before  # byte for byte
    # More passes change nothing: 1.2.0 never reaches production.
    settled = git(work, "rev-parse", "origin/main")
    for _ in range(3):
        cron(work)
    assert git(work, "rev-parse", "origin/main") == settled
    assert spec_version(work, "production") == ("1.1.0", digest)
    assert ok(work, "pipeline", "advance", "releases/pipeline.yaml").splitlines() == [
        "staging: current: at 1.2.0, as dev",
        "production: current: at 1.1.0, as staging",
    ]
    # Status says where everything is and why staging stopped.
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
