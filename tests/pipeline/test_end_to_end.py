"""From ``docker push`` to production: a real docker-registry, a real git repository served by ``git daemon``.

Every step is rollgen's own command line in a clone of the served repository:
``detect`` writes the new tag into dev's spec, ``start`` + ``run`` roll each
environment out (judging its real ``command`` gate, measurements in git notes),
and ``pipeline advance`` writes each completed version into the next
environment's spec.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.built import kustomize_build_text
from testkit.git import git
from testkit.gitservers import GitDaemon
from testkit.pipelines import env_spec, gitops, ok, roll_out, set_stable, spec_version
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
