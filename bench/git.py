"""Benchmark of rollgen's git layer (a script, not a test): ``python bench/git.py [-n 30]``.

1. One step (a few rendered files) committed and pushed to a ``git daemon``
   remote on loopback: :func:`commit_change` in process (build, push,
   working copy update) vs plain ``git add`` + ``git commit`` + ``git push``
   of the same files in another clone. Target ratio <= 1.5.
2. Looking up a release's last record (``status``) and committing the next
   step after that lookup (``promote``, local) with 10 vs 10,000 commits of
   other history. Target ratio <= 1.2: the cost must not grow with history.
3. The same through the operations users run: ``current_state``
   (``rollgen status``) and ``operations.promote`` (``rollgen promote``: plan,
   render from a real Kustomize base, commit) with 10 vs 10,000 commits.

Everything runs with an isolated HOME and git identity; nothing outside a
temporary directory is touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rollgen.gitops.change import Change
from rollgen.gitops.git import Git, GitResult
from rollgen.gitops.repo import Repo, commit_change
from rollgen.gitops.snapshot import Snapshot
from rollgen.gitops.trailers import Action, StepRecord
from rollgen.rollout import operations
from rollgen.rollout.reading import current_state
from rollgen.spec.load import load_release
from testkit.git import git
from testkit.gitservers import git_daemon

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# A long canary (many surge/drain steps) so every repetition has a step to promote to.
LONG_CANARY = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata: {name: web}
spec:
  namespace: prod
  replicas: 20
  image: ghcr.io/example/web
  stable: "1.0.0"
  version: "1.1.0"
  source: {kustomize: {base: apps/web/base}}
  output: {path: overlays/web/prod}
  liveness: {assumeAfter: 0s}
  strategy:
    canary: {maxSurge: 1, maxUnavailable: 0, steps: [{setWeight: 5}, {setWeight: 50}, {setWeight: 95}]}
"""

ROOT = "overlays/podinfo/prod"


def rendered(i: int) -> dict[str, bytes]:
    """Five files the size of a real step (deployments, service, kustomization), varying per step."""
    deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo-{v}\nspec:\n  replicas: {r}\n" + (
        "  # padding to a realistic size\n" * 40
    )
    return {
        "kustomization.yaml": f"resources: [stable, canary, service]\n# step {i}\n".encode(),
        "stable/deployment.yaml": deployment.format(v="6-4-0", r=4 - i % 4).encode(),
        "canary/deployment.yaml": deployment.format(v="6-5-0", r=i % 4 + 1).encode(),
        "service/service.yaml": b"apiVersion: v1\nkind: Service\nmetadata:\n  name: podinfo\n" * 5,
        "service/kustomization.yaml": b"resources: [service.yaml]\n",
    }


def record(i: int) -> StepRecord:
    return StepRecord("prod/podinfo", "bench", i % 100 + 1, 100, "sha256:bench", Action.ADVANCE, "6.4.0", "6.5.0")


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_push(work: Path, n: int) -> tuple[float, float, float]:
    with git_daemon(work / "served") as daemon:
        # One remote each, so neither flow needs a pull (rollgen fetches only when its push is refused).
        seed = work / "seed"
        git(work, "init", "-q", "-b", "main", "seed")
        (seed / "README").write_text("gitops\n")
        git(seed, "add", "README")
        git(seed, "commit", "-qm", "initial")
        for name in ("ours", "plain"):
            url = daemon.create(name)
            git(seed, "push", "-q", url, "main")
            git(work, "clone", "-q", url, name)
        ours_dir, plain_dir = work / "ours", work / "plain"
        repo = Repo.open(ours_dir)
        ours: list[float] = []
        plain: list[float] = []
        spawns: list[int] = []

        def rollgen_step(i: int) -> None:
            result = commit_change(
                repo,
                "main",
                lambda tip: Change(root=ROOT, files=rendered(i), message=f"podinfo: step {i}", record=record(i)),
                remote="origin",
            )
            assert result is not None and result.attempts == 1

        def plain_step(i: int) -> None:
            # The same work by hand: replace the directory, add, commit, push.
            target = plain_dir / ROOT
            subprocess.run(["rm", "-rf", str(target)], check=True)
            for rel, data in rendered(i).items():
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                (target / rel).write_bytes(data)
            subprocess.run(["git", "add", "-A", ROOT], cwd=plain_dir, check=True)
            subprocess.run(["git", "commit", "-q", "-m", f"podinfo: step {i}"], cwd=plain_dir, check=True)
            subprocess.run(["git", "push", "-q", "origin", "main"], cwd=plain_dir, check=True)

        for i in range(n):
            # Alternate which goes first so neither always meets a warmer cache.
            order = [(ours, rollgen_step), (plain, plain_step)]
            for samples, step in order if i % 2 == 0 else reversed(order):
                if step is rollgen_step:
                    before = _spawned["git"]
                    samples.append(timed(partial(step, i)))
                    spawns.append(_spawned["git"] - before)
                else:
                    samples.append(timed(partial(step, i)))
        return median_ms(ours), median_ms(plain), statistics.median(spawns)


def history_repo(path: Path, commits: int) -> Repo:
    """``commits`` of other history, then the release's last step, then 3 more commits of others."""
    git(path.parent, "init", "-q", "-b", "main", path.name)
    lines = []
    for i in range(commits):
        message = f"other {i}"
        lines += [
            "commit refs/heads/main",
            f"committer A <a@b> {1_700_000_000 + i} +0000",
            f"data {len(message)}",
            message,
            f"M 644 inline other/f{i % 50}",
            "data 2",
            f"{i % 10}\n",
        ]
    git(path, "fast-import", "--quiet", input=("\n".join(lines) + "\n").encode())
    git(path, "reset", "-q", "--hard")
    repo = Repo.open(path)
    commit_change(
        repo, "main", lambda tip: Change(root=ROOT, files=rendered(0), message="podinfo: step 1", record=record(0))
    )
    other = StepRecord("prod/other", "o", 1, 2, "p", Action.START, "1", "2")
    for i in range(3):
        commit_change(
            repo,
            "main",
            lambda tip, i=i: Change(root=f"other/app{i}", files={"a": b"x"}, message="other", record=other),
        )
    return repo


def bench_history(work: Path, n: int, long: int) -> dict[int, tuple[float, float]]:
    results = {}
    for commits in (10, long):
        repo = history_repo(work / f"h{commits}", commits)
        status: list[float] = []
        promote: list[float] = []
        for i in range(n):

            def look(tip: Snapshot) -> None:
                assert tip.last_record("prod/podinfo") is not None

            status.append(timed(partial(commit_change, repo, "main", look)))

            def advance(tip: Snapshot, i: int = i) -> Change:
                last = tip.last_record("prod/podinfo")
                assert last is not None
                return Change(root=ROOT, files=rendered(i + 1), message=f"podinfo: step {i + 1}", record=record(i + 1))

            promote.append(timed(partial(commit_change, repo, "main", advance)))
        results[commits] = (median_ms(status), median_ms(promote))
    return results


def bench_operations(work: Path, n: int, long: int) -> dict[int, tuple[float, float]]:
    results = {}
    for commits in (10, long):
        path = work / f"ops{commits}"
        repo = history_repo(path, commits)
        shutil.copytree(EXAMPLES / "apps", path / "apps")
        (path / "release.yaml").write_text(LONG_CANARY)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "base and release")
        release = load_release(path / "release.yaml")
        operations.start(repo, release)
        status = [timed(partial(current_state, repo, release)) for _ in range(n)]
        promote = [timed(partial(operations.promote, repo, release)) for _ in range(n)]
        results[commits] = (median_ms(status), median_ms(promote))
    return results


# How many git processes rollgen started, under "git" (a mutable counter: no global statement needed).
_spawned: Counter[str] = Counter()


def _count_spawns() -> None:
    """Count the git processes rollgen starts itself (git's own children are not counted)."""
    run, popen = Git.run, Git.popen

    def counted_run(self: Git, *args: str, **kwargs: Any) -> GitResult:
        _spawned["git"] += 1
        return run(self, *args, **kwargs)

    def counted_popen(self: Git, *args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        _spawned["git"] += 1
        return popen(self, *args, **kwargs)  # every keyword too (env=: the log walk's GIT_FLUSH)

    Git.run = counted_run  # type: ignore[method-assign]
    Git.popen = counted_popen  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=30, help="repetitions per measurement (default 30)")
    parser.add_argument("--commits", type=int, default=10_000, help="the long history (default 10,000)")
    args = parser.parse_args()
    _count_spawns()
    with tempfile.TemporaryDirectory(prefix="rollgen-bench-") as tmp:
        work = Path(tmp)
        home = work / "home"
        home.mkdir()
        os.environ.update(
            HOME=str(home),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_AUTHOR_NAME="bench",
            GIT_AUTHOR_EMAIL="bench@rollgen.invalid",
            GIT_COMMITTER_NAME="bench",
            GIT_COMMITTER_EMAIL="bench@rollgen.invalid",
        )
        ours, plain, spawns = bench_push(work, args.n)
        hist = bench_history(work, args.n, args.commits)
        ops = bench_operations(work, min(args.n, 30), args.commits)
    print(f"git {git(Path(), 'version').split()[-1]}, {args.n} repetitions, medians\n")
    print(f"{'commit + push one step (5 files)':<44}{'ms':>9}")
    print(f"{'  rollgen commit_change (build+push)':<44}{ours:9.1f}   ({spawns:.0f} git processes)")
    print(f"{'  plain git add + commit + push':<44}{plain:9.1f}")
    print(f"{'  ratio rollgen / plain (target <= 1.5)':<44}{ours / plain:9.2f}\n")
    print(f"{'history lookup':<44}{'10 commits':>12}{args.commits:>10,}{'ratio':>8}")
    (s10, p10), (s10k, p10k) = hist[10], hist[args.commits]
    print(f"{'  status: last_record (ms)':<44}{s10:12.1f}{s10k:10.1f}{s10k / s10:8.2f}")
    print(f"{'  promote: last_record + commit (ms)':<44}{p10:12.1f}{p10k:10.1f}{p10k / p10:8.2f}")
    (s10, p10), (s10k, p10k) = ops[10], ops[args.commits]
    print(f"{'  rollgen status: current_state (ms)':<44}{s10:12.1f}{s10k:10.1f}{s10k / s10:8.2f}")
    print(f"{'  rollgen promote: plan + render + commit (ms)':<44}{p10:12.1f}{p10k:10.1f}{p10k / p10:8.2f}")
    print("  (target ratio <= 1.2)")


if __name__ == "__main__":
    main()
