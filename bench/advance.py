"""Benchmark: one ``rollgen advance DIR`` pass over a monorepo of many releases (a script, not a test).

``python bench/advance.py [--releases 1000] [--sample 20]``

The GitOps repository holds ``--releases`` release specs under ``releases/``,
pushed to a bare remote (``origin``): most are idle (their last rollout
completed, recorded by a commit with its trailers, their outputs rendered as that
rollout left them), 10 are in progress (started
for real, waiting on a one-hour pause), a few had their base edited after their
rollout completed. Printed side by side:

- one ``rollgen advance releases`` process over all of them (median of
  ``-n`` passes; target under 3 s);
- ``--releases`` separate ``rollgen advance SPEC`` processes, estimated from
  a timed sample (``--sample`` idle releases and 3 in-progress ones), each
  kind's mean times its count: timing a thousand processes would take minutes
  and tell nothing more.

Everything runs with an isolated git identity in a temporary directory.
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
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rollgen.gitops.repo import Repo
from rollgen.gitops.trailers import Action, StepRecord, compose_message
from rollgen.render.renderer import Renderer
from rollgen.rollout import operations
from rollgen.rollout.state import RolloutPhase, plan_for, release_key
from rollgen.spec.load import load_release
from rollgen.spec.model import Release
from testkit.git import git, init_repo
from testkit.rollouts import make_repo, write_spec

IN_PROGRESS = 10
CHANGED_BASES = 3
STRATEGY = {
    "canary": {
        "maxSurge": 1,
        "maxUnavailable": 0,
        "traffic": "replicas",
        "steps": [{"setWeight": 50}, {"pause": {"duration": "1h"}}],
    }
}


def kinds(count: int) -> tuple[int, int]:
    """How many of ``count`` releases are in progress and how many had their base edited (the rest are idle).

    >>> kinds(1000), kinds(3), kinds(1)
    ((10, 3), (1, 1), (0, 0))
    """
    if count < 3:
        return 0, 0  # every release idle: a smoke test's smallest size
    return min(IN_PROGRESS, count // 3), min(CHANGED_BASES, count // 3)


def build(root: Path, count: int) -> Path:
    """The monorepo, its remote, and every release's state as described above; returns the working copy."""
    in_progress, changed = kinds(count)
    names = tuple(f"ns{i:04d}" for i in range(count))
    work = make_repo(root / "work", names)
    (work / "releases").mkdir()
    for i, ns in enumerate(names):
        spec = write_spec(work, namespace=ns, replicas=2, strategy=STRATEGY)
        data: dict[str, Any] = yaml.safe_load(spec.read_text())
        if i >= count - changed:  # its own base, edited after its rollout completed
            shutil.copytree(work / "apps" / "web" / "base", work / "apps" / ns / "base")
            data["spec"]["source"]["kustomize"]["base"] = f"apps/{ns}/base"
        (work / "releases" / f"{ns}.yaml").write_text(yaml.safe_dump(data))
        spec.unlink()
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "releases")
    releases = [load_release(work / "releases" / f"{ns}.yaml") for ns in names]
    idle = releases[in_progress : count - changed]
    edited = releases[count - changed :]
    # What an idle release's output holds once its rollout completed: the new version alone, as rendered
    # (its revision.yaml records the inputs' fingerprint, so a pass needs no build to see it is in sync).
    for release in idle:
        plan = plan_for(release, release.stable, release.version)[1]
        out = work / release.output_path
        shutil.rmtree(out)
        for name, data in Renderer(work, release).render(plan.steps[-1].state).items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(data)
        unpin(work, release)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "the idle releases' outputs, as their completed rollouts left them")
    # The idle releases' completed rollouts: one commit each (same tree), written in one fast-import.
    stream = ["reset refs/heads/main", "from refs/heads/main^0"]
    for n, release in enumerate(idle):
        plan = plan_for(release, release.stable, release.version)[1]
        record = StepRecord(
            release_key(release), f"r{n:05d}", len(plan.steps), len(plan.steps), plan.digest(),
            Action.COMPLETE, release.stable, release.version,
        )  # fmt: skip
        message = compose_message(f"{release_key(release)}: complete {release.version}\n", record).encode()
        stream += ["commit refs/heads/main", f"committer B <b@b> {1_700_000_000 + n} +0000", f"data {len(message)}"]
        stream.append(message.decode())
    git(work, "fast-import", "--quiet", input=("\n".join(stream) + "\n").encode())
    git(work, "reset", "-q", "--hard")
    repo = Repo.open(work)
    # The releases whose base is edited next rolled out for real: a new rollout reads the last one's history.
    for release in edited:
        current = operations.start(repo, release).state
        while current is not None and current.phase is not RolloutPhase.COMPLETED:
            current = operations.promote(repo, release, full=True).state
        unpin(work, release)
    for release in edited:
        base = work / "apps" / release.namespace / "base"
        for path in base.glob("*.yaml"):
            path.write_text(path.read_text().replace("containerPort: 8080", "containerPort: 8081"))
    git(work, "commit", "-q", "--allow-empty", "-am", "edit the bases of a few releases")
    remote = init_repo(root / "remote.git", bare=True)
    git(work, "remote", "add", "origin", str(remote))
    git(work, "push", "-q", "--force", "origin", "main")
    for release in releases[:in_progress]:
        current = operations.start(repo, release, remote="origin").state
        while current is not None and not current.waits:  # on to the step that waits an hour
            current = operations.promote(repo, release, remote="origin").state
    return work


def unpin(work: Path, release: Release) -> None:
    """Drop ``stable`` from a completed release's spec: from now on what runs is read from Git."""
    spec = work / "releases" / f"{release.namespace}.yaml"
    data = yaml.safe_load(spec.read_text())
    del data["spec"]["stable"]
    spec.write_text(yaml.safe_dump(data))


def timed(argv: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - began, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=20, help="idle releases timed as separate processes")
    parser.add_argument("-n", type=int, default=3, help="passes over the directory (median)")
    args = parser.parse_args()
    os.environ.update({"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"})
    for who in ("AUTHOR", "COMMITTER"):
        os.environ.update({f"GIT_{who}_NAME": "bench", f"GIT_{who}_EMAIL": "bench@rollgen.invalid"})
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]
    )
    rollgen = [sys.executable, "-m", "rollgen"]
    with tempfile.TemporaryDirectory(prefix="rollgen-bench-") as tmp:
        began = time.perf_counter()
        work = build(Path(tmp), args.releases)
        print(f"built {args.releases} releases in {time.perf_counter() - began:.0f}s")
        passes = []
        for _ in range(args.n):
            seconds, done = timed([*rollgen, "advance", "releases", "--repo", "."], work)
            passes.append(seconds)
        lines = done.stdout.splitlines()
        phases = statistics.multimode([line.split("  ")[1] for line in lines])
        print(f"last pass: exit {done.returncode}, {len(lines)} lines, most common phase {phases}")
        for line in [x for x in lines if "waiting" in x.split("  ")[1]][:2]:
            print(f"  {line}")
        for line in [x for x in lines if x.split("  ")[1] not in ("completed", "waiting")][:5]:
            print(f"  unexpected: {line}")
        print(done.stderr[-2000:], end="")
        specs = sorted((work / "releases").glob("*.yaml"))
        in_progress = kinds(args.releases)[0]
        sample = specs[in_progress:][-args.sample :]
        idle = [timed([*rollgen, "advance", str(s), "--repo", "."], work)[0] for s in sample]
        busy = [timed([*rollgen, "advance", str(s), "--repo", "."], work)[0] for s in specs[: min(3, in_progress)]]
        busy_mean = statistics.mean(busy) if busy else 0.0
        separate = statistics.mean(idle) * (args.releases - in_progress) + busy_mean * in_progress
        one = statistics.median(passes)
        print(f"\n{'':<48}{'seconds':>10}")
        print(f"{'one `advance releases` pass (median of ' + str(args.n) + ')':<48}{one:>10.2f}")
        print(f"{'separate `advance SPEC` processes (estimated)':<48}{separate:>10.1f}")
        print(f"{'  per idle process (mean of ' + str(len(idle)) + ')':<48}{statistics.mean(idle):>10.3f}")
        print(f"{'  per in-progress process (mean of ' + str(len(busy)) + ')':<48}{busy_mean:>10.3f}")
        print(f"{'ratio':<48}{separate / one:>9.0f}x")
        print(f"target: one pass under 3 s: {'met' if one < 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
