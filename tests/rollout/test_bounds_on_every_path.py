"""What Kubernetes does between two commits stays within the plan's bounds, on every path a rollout can take.

The built manifests (``kubectl kustomize`` of the output directory at each
commit), not the plan, are judged: between consecutive commits a GitOps engine
may apply the Deployments in any order, so a Deployment that grows counts its
new pods before one that shrinks loses its old ones, and a Deployment whose
pod template changes replaces its pods within its own rolling-update strategy.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from rollgen.gitops.repo import Repo
from rollgen.gitops.trailers import Action
from rollgen.render.renderer import Renderer
from rollgen.rollout import operations
from rollgen.rollout.state import RolloutPhase, plan_for
from rollgen.spec.load import load_release
from rollgen.spec.model import Release
from testkit.built import assert_deployment_strategies, assert_transition_within_bounds, kustomize_build
from testkit.git import git, git_bytes
from testkit.rollouts import make_repo, write_spec

REPLICAS = 10
OUTPUT = "deploy/web"


def _weights(*weights: int) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for weight in weights:
        steps += [{"setWeight": weight}, {"pause": {}}]
    return steps


STRATEGIES: dict[str, dict[str, Any]] = {
    # The case: 9 old + 1 new pods, then promote --full.
    "canary-replicas": {
        "canary": {"maxSurge": 2, "maxUnavailable": 1, "traffic": "replicas", "steps": _weights(10, 50)}
    },
    "canary-gateway-api": {
        "canary": {
            "traffic": "gatewayAPI",
            "gatewayAPI": {"parentRefs": [{"name": "public"}], "hostnames": ["web.example.com"]},
            "steps": _weights(20, 60),
        }
    },
    "blue-green": {"blueGreen": {"previewService": "web-preview", "autoPromotionEnabled": False}},
    "rolling-update": {"rollingUpdate": {"maxSurge": 2, "maxUnavailable": 1}},
    "recreate": {"recreate": {}},
}


def _run_path(repo: Repo, release: Release, path: str) -> None:
    """Drive one path to its end: every operation one commit, as an operator (or the controller) would."""
    operations.start(repo, release)
    steps = plan_for(release, release.stable, release.version)[1].steps
    if len(steps) > 1:
        operations.promote(repo, release)
    if path == "promote-full":
        for _ in range(100):
            outcome = operations.promote(repo, release, full=True)
            assert outcome.state is not None
            if outcome.state.phase is RolloutPhase.COMPLETED:
                return
            assert outcome.state.action == Action.PROMOTE  # no step is skipped over
        pytest.fail("promote --full never completed")
    if path == "full-then-abort" and (state := operations.promote(repo, release, full=True).state) is not None:
        assert state.action in (Action.PROMOTE, Action.COMPLETE)
        if state.phase.over:
            return
    for _ in range(100):
        outcome = operations.abort(repo, release)
        assert outcome.state is not None
        if outcome.state.phase is RolloutPhase.ABORTED:
            return
    pytest.fail("the abort never finished")


def _built(work: Path, commit: str, cache: dict[str, list[dict[str, Any]]], scratch: Path) -> list[dict[str, Any]]:
    tree = git(work, "rev-parse", f"{commit}:{OUTPUT}")
    if tree not in cache:
        into = scratch / tree
        into.mkdir(parents=True)
        archive = git_bytes(work, "archive", "--format=tar", commit)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(into, filter="data")
        cache[tree] = kustomize_build(into / OUTPUT)
    return cache[tree]


@pytest.mark.slow
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_built_manifests_keep_the_bounds_between_every_two_commits(tmp_path: Path, strategy: str) -> None:
    cache: dict[str, list[dict[str, Any]]] = {}
    for path in ("promote-full", "abort", "full-then-abort"):
        work = make_repo(tmp_path / path)
        spec = write_spec(work, replicas=REPLICAS, strategy=STRATEGIES[strategy])
        release = load_release(spec)
        plan = plan_for(release, release.stable, release.version)[1]
        # What runs before the rollout: the stable version as rollgen renders it.
        shutil.rmtree(work / OUTPUT)
        for name, data in Renderer(work, release).render(plan.initial).items():
            (work / OUTPUT / name).parent.mkdir(parents=True, exist_ok=True)
            (work / OUTPUT / name).write_bytes(data)
        git(work, "add", "-A")
        git(work, "commit", "-qm", "stable as rendered")
        first = git(work, "rev-parse", "HEAD")
        _run_path(Repo.open(work), release, path)
        commits = [first, *git(work, "rev-list", "--reverse", f"{first}..main").split()]
        assert len(commits) > 2
        built = [_built(work, c, cache, tmp_path / "built") for c in commits]
        for objects in built:
            assert_deployment_strategies(plan, objects)
        for i in range(1, len(built)):
            subject = git(work, "log", "-1", "--format=%s", commits[i])
            assert_transition_within_bounds(plan, built[i - 1], built[i], f"{path}, commit {i} ({subject})")


def test_the_controller_carries_a_full_promotion_on_without_pauses(tmp_path: Path) -> None:
    """promote --full commits one bounded step; each pass then commits the next once it is live, pauses skipped."""
    from rollgen.controller.advance import advance

    work = make_repo(tmp_path / "work")
    release = load_release(write_spec(work, replicas=REPLICAS, strategy=STRATEGIES["canary-replicas"]))
    repo = Repo.open(work)
    operations.start(repo, release)
    assert advance(repo, release).committed is False  # step 1 waits for a human
    step = operations.promote(repo, release, full=True).state
    assert step is not None and (step.step, step.action, step.phase) == (2, Action.PROMOTE, RolloutPhase.PROGRESSING)
    assert step.waits == () and step.waiting_for().startswith("the commit to be live")
    for _ in range(step.steps + 1):
        done = advance(repo, release)
        assert done.committed
        if done.done:
            break
        assert done.after.action == Action.PROMOTE and done.after.step == done.state.step + 1
    assert done.after.phase is RolloutPhase.COMPLETED
