"""An imported Argo Rollouts example, adopted and rolled out end to end: real git, real ``kubectl kustomize``.

The team imports ``rollout-canary.yaml`` (5 replicas of rollouts-demo:blue;
20%, a pause for a human, then 40/60/80% with timed pauses) into its GitOps
repository, served by ``git daemon``. The spec is committed as written but for
one edit the migration guide asks for: with no cluster here, liveness is
proven by time (``assumeAfter``) instead of the ``kubernetes`` gate. ``rollgen
adopt`` commits blue as it runs; a merged bump to yellow is rolled out by
``rollgen advance`` passes, each in a fresh clone, at injected times (the
timed pauses wait exactly as written), and a ``rollgen promote`` for the
human's pause. Every commit is built with kubectl kustomize: the pods per
version at each weight are the ones Argo Rollouts runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgen.controller import advance as controller
from rollgen.errors import NothingToDo
from rollgen.gitops.repo import Repo
from rollgen.spec.load import load_release
from rollgen.spec.model import Pause
from testkit.built import kustomize_build, of_kind
from testkit.git import git
from testkit.gitservers import GitDaemon
from testkit.tools import REPO_ROOT, require_tool, shared_data

SPEC = "apps/demo/release.yaml"
ASSUME_LIVE = 10  # seconds after each commit: liveness by time


class Team:
    """The served repository, a developer's clone, and passes (CLI or in process) in fresh clones."""

    def __init__(self, daemon: GitDaemon, tmp_path: Path) -> None:
        self.url = daemon.create(tmp_path.name)
        self.bare = daemon.base / f"{tmp_path.name}.git"
        self.dev = tmp_path / "dev"
        self.scratch = tmp_path / "passes"
        self.scratch.mkdir()
        self.clones = 0
        git(tmp_path, "clone", "-q", self.url, self.dev.name)

    def clone(self) -> Path:
        self.clones += 1
        path = self.scratch / f"clone-{self.clones}"
        git(self.scratch, "clone", "-q", self.url, path.name)
        return path

    def rollgen(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rollgen", *args],
            cwd=cwd or self.clone(),
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def push(self, message: str) -> None:
        git(self.dev, "add", "-A")
        git(self.dev, "commit", "-q", "-m", message)
        if git(self.dev, "ls-remote", "--heads", "origin", "main"):  # rollgen committed meanwhile
            git(self.dev, "pull", "-q", "--rebase", "origin", "main")
        git(self.dev, "push", "-q", "origin", "main")

    def tip(self) -> str:
        return git(self.bare, "rev-parse", "main")

    def committed_at(self, commit: str) -> float:
        return float(git(self.bare, "log", "-1", "--format=%ct", commit))

    def advance(self, after: float) -> controller.Pass:
        """An advance pass in a fresh clone, ``after`` seconds after the tip's commit."""
        clone = self.clone()
        release = load_release(clone / SPEC)
        return controller.advance(Repo.open(clone), release, remote="origin", now=self.committed_at(self.tip()) + after)

    def pods(self, commit: str) -> dict[str, int]:
        """What the cluster runs once ``commit`` is applied: replicas per image tag, from kubectl kustomize."""
        tree = self.scratch / f"tree-{commit}"
        tree.mkdir(exist_ok=True)
        archive = subprocess.run(
            ["git", "--git-dir", str(self.bare), "archive", commit], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        output = yaml.safe_load((tree / SPEC).read_text())["spec"]["output"]["path"]
        counted: dict[str, int] = {}
        for deployment in of_kind(kustomize_build(tree / output), "Deployment").values():
            tag = _image(deployment).rpartition(":")[2]
            counted[tag] = counted.get(tag, 0) + int(deployment["spec"]["replicas"])
        return counted


def _image(deployment: dict[str, Any]) -> str:
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


@pytest.mark.slow
def test_an_imported_rollout_is_adopted_then_rolled_out_as_argo_would(daemon: GitDaemon, tmp_path: Path) -> None:
    require_tool("kubectl")
    team = Team(daemon, tmp_path)
    example = shared_data() / "argo-rollouts" / "examples" / "rollout-canary.yaml"
    imported = team.rollgen("import", str(example), "--out", "apps/demo", cwd=team.dev)
    assert imported.returncode == 0, imported.stderr
    assert team.rollgen("validate", SPEC, cwd=team.dev).returncode == 0  # as written
    written = (team.dev / SPEC).read_text()
    assert "  version: blue\n" in written and "stable:" not in written
    assert "duration: 40s" in written  # carried over verbatim
    # The one edit: no cluster here to read Deployments from, so liveness by time instead of the kubernetes gate.
    assert written.endswith("  gates:\n  - name: live\n    kubernetes: {}\n")
    edited = (
        written.removesuffix("  gates:\n  - name: live\n    kubernetes: {}\n")
        + f"  liveness:\n    assumeAfter: {ASSUME_LIVE}s\n"
    )
    (team.dev / SPEC).write_text(edited)
    assert team.rollgen("validate", SPEC, cwd=team.dev).returncode == 0
    team.push("demo: imported from Argo Rollouts")

    adopted = team.rollgen("adopt", SPEC)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    adoption = team.tip()
    assert team.pods(adoption) == {"blue": 5}
    with pytest.raises(NothingToDo):  # the spec asks for what runs
        team.advance(after=60)

    (team.dev / SPEC).write_text(edited.replace("  version: blue\n", "  version: yellow\n"))
    team.push("demo: yellow")
    merged = team.tip()
    assert team.advance(after=0).committed  # the spec changed: step 1 is committed at once
    waits: list[float | None] = []
    for _ in range(40):
        assert not team.advance(after=ASSUME_LIVE - 1).committed  # not live yet
        done = team.advance(after=ASSUME_LIVE + 1)
        if done.committed:
            continue
        if done.after.phase.over:
            break
        assert done.after.plan_step is not None
        [pause] = [w for w in done.after.plan_step.after if isinstance(w, Pause)]
        waits.append(pause.seconds)
        if pause.seconds is None:  # pause: {} waits for a human
            promoted = team.rollgen("promote", SPEC)
            assert promoted.returncode == 0, promoted.stdout + promoted.stderr
        else:  # a timed pause starts once the step is live, and lasts as written
            assert not team.advance(after=ASSUME_LIVE + pause.seconds - 1).committed
            assert team.advance(after=ASSUME_LIVE + pause.seconds + 1).committed
    assert waits == [None, 40.0, 20.0, 20.0]
    assert git(team.bare, "log", "-1", "--format=%s", "main") == "default/rollout-canary: complete blue -> yellow"

    seen = [team.pods(c) for c in git(team.bare, "rev-list", "--reverse", f"{merged}..main").split()]
    # Argo Rollouts' basic canary of 5 pods, maxSurge 25% (2): every weight's pods, in order.
    at_weights = [(p.get("yellow", 0), p.get("blue", 0)) for p in seen if p.get("blue") and p.get("yellow")]
    assert [pair for pair in at_weights if sum(pair) == 5] == [(1, 4), (2, 3), (3, 2), (4, 1)]
    assert all(5 - 1 <= sum(p.values()) <= 5 + 2 for p in seen)  # Argo's defaults: maxSurge 2, maxUnavailable 1
    assert seen[-1] == {"yellow": 5}
