"""Benchmark: history lookups stay flat (a script, not a test): ``python bench/history.py``.

A release's rollout is started in a repository whose history then grows by
50,000 commits; in one copy 50 of them quote the release's trailer line (a
revert's or a cherry-pick's message), in the other none do. ``status``
(:func:`rollgen.rollout.reading.current_state`) and ``promote``
(:func:`rollgen.rollout.operations.promote`, local, with a real Kustomize render) are
timed in both, side by side. Target: both under 1 s with the quotes, and
about the same as without them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rollgen.gitops.repo import Repo
from rollgen.rollout import operations
from rollgen.rollout.reading import current_state
from rollgen.rollout.state import release_key
from rollgen.spec.load import load_release
from testkit.history import append_commits
from testkit.rollouts import canary, make_repo, write_spec


def timed(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--quotes", type=int, default=50)
    parser.add_argument("-n", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args()
    os.environ.update({"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"})
    for who in ("AUTHOR", "COMMITTER"):
        os.environ.update({f"GIT_{who}_NAME": "bench", f"GIT_{who}_EMAIL": "bench@rollgen.invalid"})
    with tempfile.TemporaryDirectory(prefix="rollgen-bench-") as tmp:
        rows = {}
        for label, quotes in (("no quoting commits", 0), (f"{args.quotes} quoting commits", args.quotes)):
            work = make_repo(Path(tmp) / label.replace(" ", "-"))
            spec = write_spec(work, strategy=canary(list(range(5, 100, 5))))
            release = load_release(spec)
            repo = Repo.open(work)
            operations.start(repo, release)
            every = max(1, args.commits // quotes) if quotes else 1
            append_commits(work, args.commits, quoting=release_key(release) if quotes else None, every=every)
            status = timed(partial(current_state, repo, release), args.n)
            # Once: the first promote walks back to the start; later ones find their record at the tip.
            promote = timed(partial(operations.promote, repo, release), 1)
            rows[label] = (status, promote)
        print(f"{args.commits} commits after the rollout's start; status the median of {args.n} runs")
        print(f"{'':<24}{'status':>10}{'promote':>10}")
        for label, (status, promote) in rows.items():
            print(f"{label:<24}{status:>9.3f}s{promote:>9.3f}s")


if __name__ == "__main__":
    main()
