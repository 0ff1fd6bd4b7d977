"""The spec in Git is the desired state: merged changes are rolled out by cron-like ``rollgen advance`` passes.

Each test serves a bare GitOps repository with a real ``git daemon``. A
developer's clone merges changes (the spec, the base) by pushing; every
controller pass is ``rollgen advance`` in a fresh clone, as a cron job runs
it. Every state the branch held is built with the real ``kubectl kustomize``
and checked the way the cluster would see it: the Deployments' replicas and
pod templates, never the plan.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from testkit.built import kustomize_build, kustomize_build_text, of_kind
from testkit.git import git
from testkit.gitservers import GitDaemon
from testkit.rollouts import EXAMPLES
from testkit.tools import require_tool

SPEC = "releases/web.yaml"
OUTPUT = "deploy/web"
REPLICAS, SURGE, UNAVAILABLE = 3, 1, 0


def spec_text(version: str, *, approval: bool = False) -> str:
    """The release spec as a team writes it: no ``stable`` (Git knows what runs), liveness stated."""
    spec = {
        "apiVersion": "rollgen.io/v1alpha1",
        "kind": "Release",
        "metadata": {"name": "web"},
        "spec": {
            "namespace": "prod",
            "replicas": REPLICAS,
            "image": "ghcr.io/example/web",
            "version": version,
            "source": {"kustomize": {"base": "apps/web/base"}},
            "output": {"path": OUTPUT},
            "liveness": {"assumeAfter": "0s"},  # no cluster here: the explicit choice, counted from each commit
            "strategy": {
                "canary": {
                    "maxSurge": SURGE,
                    "maxUnavailable": UNAVAILABLE,
                    "traffic": "replicas",
                    "steps": [{"setWeight": 50}, *([{"pause": {}}] if approval else [])],
                }
            },
        },
    }
    return yaml.safe_dump(spec, sort_keys=False)


@dataclass
class GitOps:
    """The served repository, a developer's clone, and cron-like passes in fresh clones."""

    url: str
    bare: Path
    dev: Path
    scratch: Path
    passes: int = 0

    def merge(self, message: str, files: dict[str, str]) -> None:
        """A change merged to main: the developer pulls (rollgen pushed meanwhile), edits, pushes."""
        git(self.dev, "pull", "-q", "--rebase", "origin", "main")
        for path, text in files.items():
            (self.dev / path).parent.mkdir(parents=True, exist_ok=True)
            (self.dev / path).write_text(text)
        git(self.dev, "add", "-A")
        git(self.dev, "commit", "-q", "-m", message)
        git(self.dev, "push", "-q", "origin", "main")

    def rollgen(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``rollgen ARGS SPEC`` in a fresh clone, as a cron job or a human in a new checkout runs it."""
        self.passes += 1
        clone = self.scratch / f"pass-{self.passes}"
        git(self.scratch, "clone", "-q", self.url, clone.name)
        return subprocess.run(
            [sys.executable, "-m", "rollgen", *args, SPEC, "--repo", str(clone)],
            capture_output=True,
            text=True,
            cwd=clone,
            timeout=120,
            check=False,
        )

    def tip(self) -> str:
        return git(self.bare, "rev-parse", "main")

    def cron(self, limit: int = 40) -> list[str]:
        """``rollgen advance`` passes until one commits nothing; what each printed."""
        printed = []
        for _ in range(limit):
            before = self.tip()
            done = self.rollgen("advance")
            assert done.returncode in (0, 1), done.stderr
            printed.append(done.stdout)
            if self.tip() == before:
                return printed
        raise AssertionError(f"still committing after {limit} passes:\n" + "\n".join(printed[-3:]))

    def since(self, commit: str) -> list[str]:
        """The commits on main after ``commit``, oldest first."""
        return git(self.bare, "rev-list", "--reverse", f"{commit}..main").split()

    def build(self, commit: str) -> str:
        """``kubectl kustomize`` of the output directory as ``commit`` holds it."""
        tree = self.scratch / f"tree-{commit}"
        if not tree.exists():
            tree.mkdir()
            archive = subprocess.run(
                ["git", "--git-dir", str(self.bare), "archive", commit], capture_output=True, check=True
            )
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        return kustomize_build_text(tree / OUTPUT)

    def deployments(self, commit: str) -> dict[str, dict[str, Any]]:
        tree = self.scratch / f"tree-{commit}"
        self.build(commit)
        return of_kind(kustomize_build(tree / OUTPUT), "Deployment")

    def subject(self, commit: str) -> str:
        return git(self.bare, "log", "-1", "--format=%s", commit)

    def message(self, commit: str) -> str:
        return git(self.bare, "log", "-1", "--format=%B", commit)


@pytest.fixture
def gitops(daemon: GitDaemon, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[GitOps]:
    """A served repository holding the example base, the spec (version 1.0.0) and the hand-applied output."""
    require_tool("git")
    require_tool("kubectl")
    name = f"gitops-{request.node.name}".replace("[", "-").replace("]", "")
    url = daemon.create(name)
    dev = tmp_path / "dev"
    git(tmp_path, "clone", "-q", url, dev.name)
    shutil.copytree(EXAMPLES / "apps" / "web" / "base", dev / "apps" / "web" / "base")
    (dev / SPEC).parent.mkdir(parents=True)
    (dev / SPEC).write_text(spec_text("1.0.0"))
    # What the team ran before rollgen: its base, applied as is (an unversioned Deployment `web`).
    (dev / OUTPUT).mkdir(parents=True)
    (dev / OUTPUT / "kustomization.yaml").write_text("namespace: prod\nresources:\n  - ../../apps/web/base\n")
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "web runs from its base")
    git(dev, "push", "-q", "origin", "main")
    scratch = tmp_path / "passes"
    scratch.mkdir()
    yield GitOps(url, daemon.base / f"{name}.git", dev, scratch)


def adopted(gitops: GitOps) -> str:
    """Adopt what runs with ``rollgen adopt``; the adoption commit."""
    done = gitops.rollgen("adopt")
    assert done.returncode == 0, done.stderr
    assert "adopted: 1.0.0 runs as before" in done.stdout
    return gitops.tip()


def image(deployment: dict[str, Any]) -> str:
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


def replicas(deployments: dict[str, dict[str, Any]]) -> dict[str, int]:
    return {name: int(d["spec"]["replicas"]) for name, d in deployments.items()}


def without_replicas(deployment: dict[str, Any]) -> str:
    """The built Deployment as JSON, but for the pod count the steps change."""
    return json.dumps({**deployment, "spec": {**deployment["spec"], "replicas": None}}, sort_keys=True)


def assert_bounds_at_every_commit(gitops: GitOps, commits: list[str], before: str) -> None:
    """Per transition, whatever order the Deployments apply in: at most replicas + maxSurge pods (each
    Deployment at the larger of its two counts), and never fewer than replicas - maxUnavailable pods
    whose Deployment and template did not change (the ones that keep running)."""
    previous = gitops.deployments(before)
    for commit in commits:
        current = gitops.deployments(commit)
        old, new = replicas(previous), replicas(current)
        running = sum(max(old.get(name, 0), new.get(name, 0)) for name in {*old, *new})
        assert running <= REPLICAS + SURGE, (gitops.subject(commit), old, new)
        assert sum(new.values()) >= REPLICAS - UNAVAILABLE, (gitops.subject(commit), new)
        kept = sum(
            min(int(previous[name]["spec"]["replicas"]), int(d["spec"]["replicas"]))
            for name, d in current.items()
            if name in previous and previous[name]["spec"]["template"] == d["spec"]["template"]
        )
        assert kept >= REPLICAS - UNAVAILABLE, (gitops.subject(commit), replicas(previous), replicas(current))
        previous = current


def test_without_adoption_advance_refuses_and_names_rollgen_adopt(gitops: GitOps) -> None:
    refused = gitops.rollgen("advance")
    assert refused.returncode == 1
    said = refused.stdout + refused.stderr
    assert "rollgen adopt" in said and "holds no revision rollgen wrote" in said


def test_a_merged_version_bump_is_rolled_out_by_cron_passes_alone(gitops: GitOps) -> None:
    adoption = adopted(gitops)
    assert "nothing to do" in " ".join(gitops.cron())  # in sync with the spec: nothing committed
    assert gitops.tip() == adoption
    gitops.merge("web: 1.1.0", {SPEC: spec_text("1.1.0")})
    merged = gitops.tip()
    printed = gitops.cron()
    commits = gitops.since(merged)
    subjects = [gitops.subject(c) for c in commits]
    first = re.fullmatch(r"prod/web: step 1/(\d+) surge \(1\.0\.0 -> 1\.1\.0\)", subjects[0])
    assert first is not None, subjects
    assert "Started by rollgen advance: the spec asks for 1.1.0" in gitops.message(commits[0])
    assert subjects[-1] == "prod/web: complete 1.0.0 -> 1.1.0"
    steps = int(first.group(1))
    # one commit per step and the completion, one per pass, then a pass with nothing to do
    assert len(commits) == steps + 1 and len(printed) == steps + 2
    assert_bounds_at_every_commit(gitops, commits, merged)
    final = gitops.deployments(commits[-1])
    assert [image(d) for d in final.values()] == ["ghcr.io/example/web:1.1.0"]
    assert "nothing to do" in printed[-1]
    status = gitops.rollgen("status")
    assert status.returncode == 0 and "next pass" not in status.stdout, status.stdout


def test_a_base_only_change_is_a_new_revision_and_the_stable_pods_never_change(gitops: GitOps) -> None:
    adoption = adopted(gitops)
    stable = gitops.deployments(adoption)["web"]
    base = (gitops.dev / "apps/web/base/deployment.yaml").read_text()
    changed = base.replace(
        "          readinessProbe:",
        "          env:\n            - {name: MODE, value: fast}\n          readinessProbe:",
    )
    assert changed != base
    gitops.merge("web: MODE=fast", {"apps/web/base/deployment.yaml": changed})
    merged = gitops.tip()
    status = gitops.rollgen("status")
    assert "next pass: start: the spec asks for 1.0.0-" in status.stdout, status.stdout
    gitops.cron()
    commits = gitops.since(merged)
    label = gitops.subject(commits[0]).split("(1.0.0 -> ")[1].rstrip(")")
    assert label.startswith("1.0.0-") and len(label) == len("1.0.0-") + 6
    assert gitops.subject(commits[-1]) == f"prod/web: complete 1.0.0 -> {label}"
    assert_bounds_at_every_commit(gitops, commits, merged)
    seen_stable = 0
    for commit in commits:
        deployments = gitops.deployments(commit)
        if "web" in deployments:  # the stable, until the cleanup removes it: what ran, but for its pod count
            assert without_replicas(deployments["web"]) == without_replicas(stable)
            seen_stable += 1
        new = [d for name, d in deployments.items() if name != "web"]
        for deployment in new:
            env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
            assert env == [{"name": "MODE", "value": "fast"}]
            assert image(deployment) == "ghcr.io/example/web:1.0.0"
    assert seen_stable == len(commits) - 2  # all but the cleanup and the complete commit
    assert list(gitops.deployments(commits[-1])) != ["web"]


def test_a_bad_config_revision_aborted_builds_byte_for_byte_as_before(gitops: GitOps) -> None:
    adopted(gitops)
    base = (gitops.dev / "apps/web/base/deployment.yaml").read_text()
    gitops.merge("web: bad flag", {"apps/web/base/deployment.yaml": base.replace("cpu: 50m", "cpu: 5000m")})
    merged = gitops.tip()
    before = gitops.build(merged)
    for _ in range(2):
        assert gitops.rollgen("advance").returncode == 0
    aborted = gitops.rollgen("abort")  # a human sees the bad flag
    assert aborted.returncode == 0, aborted.stderr
    gitops.cron()  # the controller walks the rest of the way back, each commit once the one before is live
    commits = gitops.since(merged)
    assert gitops.subject(commits[-1]).startswith("prod/web: abort, 1.0.0 restored")
    assert_bounds_at_every_commit(gitops, commits, merged)
    assert gitops.build(commits[-1]) == before
    # The spec still asks for the aborted revision: no pass retries it on its own.
    held = gitops.rollgen("advance")
    assert held.returncode == 1 and gitops.since(commits[-1]) == []
    assert "was aborted and the spec still asks for it" in held.stdout, held.stdout


def test_a_version_changed_mid_rollout_walks_back_then_the_newest_wins(gitops: GitOps) -> None:
    adopted(gitops)
    gitops.merge("web: 1.1.0", {SPEC: spec_text("1.1.0")})
    merged = gitops.tip()
    for _ in range(2):
        assert gitops.rollgen("advance").returncode == 0
    gitops.merge("web: 1.2.0", {SPEC: spec_text("1.2.0")})
    gitops.cron()
    commits = gitops.since(merged)
    subjects = [gitops.subject(c) for c in commits if gitops.message(c).count("Rollgen-") > 0]
    walked = [s for s in subjects if s.startswith("prod/web: abort")]
    assert walked and walked[-1].startswith("prod/web: abort, 1.0.0 restored"), subjects
    first_abort = next(c for c in commits if gitops.subject(c).startswith("prod/web: abort"))
    assert "Walked back by rollgen advance: the spec now asks for 1.2.0" in gitops.message(first_abort)
    assert subjects[-1] == "prod/web: complete 1.0.0 -> 1.2.0"
    assert not any("1.1.0" in s for s in subjects[subjects.index(walked[-1]) + 1 :])
    assert_bounds_at_every_commit(gitops, commits, merged)
    assert [image(d) for d in gitops.deployments(commits[-1]).values()] == ["ghcr.io/example/web:1.2.0"]


def test_an_adopted_app_rolled_out_then_aborted_still_runs(gitops: GitOps) -> None:
    adoption = adopted(gitops)
    assert list(gitops.deployments(adoption)) == ["web"]
    gitops.merge("web: 1.1.0", {SPEC: spec_text("1.1.0")})
    assert gitops.rollgen("advance").returncode == 0
    assert gitops.rollgen("abort").returncode == 0
    gitops.cron()
    final = gitops.tip()
    assert gitops.subject(final).startswith("prod/web: abort, 1.0.0 restored")
    deployments = gitops.deployments(final)
    assert list(deployments) == ["web"] and image(deployments["web"]) == "ghcr.io/example/web:1.0.0"
    assert gitops.build(final) == gitops.build(adoption)


def test_an_empty_output_is_adopted_as_the_first_revision(gitops: GitOps) -> None:
    git(gitops.dev, "rm", "-q", "-r", OUTPUT)
    git(gitops.dev, "commit", "-q", "-m", "web never ran")
    git(gitops.dev, "push", "-q", "origin", "main")
    done = gitops.rollgen("adopt")
    assert done.returncode == 0, done.stderr
    assert "first revision 1.0.0 committed: the release did not run before" in done.stdout
    assert "did not run before" in gitops.message(gitops.tip())
    deployments = gitops.deployments(gitops.tip())
    assert [image(d) for d in deployments.values()] == ["ghcr.io/example/web:1.0.0"]
    assert sum(replicas(deployments).values()) == REPLICAS
    again = gitops.rollgen("adopt")
    assert again.returncode == 0 and "already adopted" in again.stdout + again.stderr


def test_reverting_the_spec_is_a_rollback_without_pauses_within_the_bounds(gitops: GitOps) -> None:
    adoption = adopted(gitops)
    gitops.merge("web: 1.1.0, approved by a human at 50%", {SPEC: spec_text("1.1.0", approval=True)})
    gitops.cron()
    assert "paused until `rollgen promote`" in gitops.rollgen("status").stdout + gitops.rollgen("advance").stdout
    assert gitops.rollgen("promote").returncode == 0
    gitops.cron()
    assert gitops.subject(gitops.tip()) == "prod/web: complete 1.0.0 -> 1.1.0"
    gitops.merge("Revert web: 1.1.0", {SPEC: spec_text("1.0.0", approval=True)})
    reverted = gitops.tip()
    gitops.cron()  # no human: the rollback window skips the pause
    commits = gitops.since(reverted)
    assert "Rollgen-Action: undo" in gitops.message(commits[0])
    assert gitops.subject(commits[-1]) == "prod/web: complete 1.1.0 -> 1.0.0"
    assert_bounds_at_every_commit(gitops, commits, reverted)
    # The revision that ran before comes back as it was frozen: the adopted Deployment, as adopted.
    final = gitops.deployments(commits[-1])
    assert list(final) == ["web"]
    assert without_replicas(final["web"]) == without_replicas(gitops.deployments(adoption)["web"])


def test_plan_and_render_read_what_runs_from_the_branch_when_the_spec_names_no_stable(gitops: GitOps) -> None:
    refused = gitops.rollgen("plan")
    assert refused.returncode == 2 and "rollgen adopt" in refused.stderr, refused.stderr
    adopted(gitops)
    assert gitops.rollgen("status").stdout == "prod/web: no rollout yet, runs 1.0.0 (adopted)\n"
    same = gitops.rollgen("plan")
    assert same.returncode == 0 and "nothing to plan: 1.0.0 runs" in same.stdout + same.stderr
    gitops.merge("web: 1.1.0", {SPEC: spec_text("1.1.0")})
    planned = gitops.rollgen("plan", "-o", "json")
    assert planned.returncode == 0, planned.stderr
    data = json.loads(planned.stdout)
    assert (data["stable"], data["version"]) == ("1.0.0", "1.1.0")
    out = gitops.scratch / "rendered"
    rendered = gitops.rollgen("render", "--step", "1", "--out", str(out))
    assert rendered.returncode == 0, rendered.stderr
    images = {image(d) for d in kustomize_build(out) if d["kind"] == "Deployment"}
    assert images == {"ghcr.io/example/web:1.0.0", "ghcr.io/example/web:1.1.0"}
    # The plan is the one the next passes commit: its first commit announces the same step count.
    merged = gitops.tip()
    gitops.cron()
    first = gitops.subject(gitops.since(merged)[0])
    assert first.startswith(f"prod/web: step 1/{len(data['steps'])} "), first


def test_after_an_abort_a_fixed_configuration_of_the_same_version_rolls_out_and_the_failed_one_never(
    gitops: GitOps,
) -> None:
    adopted(gitops)
    base = (gitops.dev / "apps/web/base/deployment.yaml").read_text()
    bad = base.replace("cpu: 50m", "cpu: 5000m")
    gitops.merge("web: 1.1.0 with a bad flag", {SPEC: spec_text("1.1.0"), "apps/web/base/deployment.yaml": bad})
    assert gitops.rollgen("advance").returncode == 0
    assert gitops.rollgen("abort", "--now").returncode == 0  # a human sees the bad flag
    aborted = gitops.tip()
    # A comment is no new configuration: the failed revision is still held.
    gitops.merge("web: a comment", {"apps/web/base/deployment.yaml": "# the flag is wrong\n" + bad})
    held = gitops.rollgen("advance")
    assert held.returncode == 1 and "was aborted and the spec still asks for it" in held.stdout, held.stdout
    assert [c for c in gitops.since(aborted) if "Rollgen-" in gitops.message(c)] == []
    # The fix, same version: a new configuration, so a new rollout of 1.1.0 that completes.
    gitops.merge("web: fix the flag", {"apps/web/base/deployment.yaml": base})
    fixed = gitops.tip()
    gitops.cron()
    subjects = [gitops.subject(c) for c in gitops.since(fixed)]
    assert subjects[0].startswith("prod/web: step 1/") and subjects[-1] == "prod/web: complete 1.0.0 -> 1.1.0"
    final = gitops.deployments(gitops.tip())
    assert [image(d) for d in final.values()] == ["ghcr.io/example/web:1.1.0"]
    assert all("5000m" not in json.dumps(d) for d in final.values())
