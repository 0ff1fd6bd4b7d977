"""Benchmark: one ``rollgen pipeline advance`` pass over many pipelines of many environments (a script, not a test).

``python bench/pipeline.py [--pipelines 20] [--environments 50] [-n 3]``

The GitOps repository holds ``--pipelines`` pipelines under
``releases/p<i>/``, each of ``--environments`` environments: ``e00`` first,
then one wave of all but the last after it, and the last after the whole
wave (a fan-in). Every environment's last rollout completed (a commit with
its trailers, written in one fast-import): the wave's at 1.1.0 and the first
environment's at 1.2.0, so the first pass promotes 1.2.0 into every wave (one
commit per pipeline) and the passes after it find nothing due. Printed: the
first pass (it writes), then the median of ``-n`` idle passes; the target is
under 3 s for 20 x 50. ``--smallest`` runs 2 pipelines of 3 environments, for
a smoke test. Everything runs with an isolated git identity in a temporary
directory, against a bare remote (``origin``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rollgen.gitops.trailers import Action, StepRecord, compose_message
from rollgen.rollout.state import plan_for, release_key
from rollgen.spec.load import load_release
from testkit.git import git, init_repo
from testkit.rollouts import make_repo, write_spec

TARGET = 3.0


def build(root: Path, pipelines: int, environments: int) -> tuple[Path, list[str]]:
    """The repository, its remote and every environment's completed rollout; the working copy and the pipelines."""
    work = make_repo(root / "work", ())
    files, completions = [], []
    for p in range(pipelines):
        names = [f"e{e:02d}" for e in range(environments)]
        folder = work / "releases" / f"p{p:02d}"
        folder.mkdir(parents=True)
        entries = []
        for e, name in enumerate(names):
            version = "1.2.0" if e == 0 else "1.1.0"
            spec = write_spec(work, namespace=f"p{p:02d}-{name}", stable="1.0.0", version=version)
            data = yaml.safe_load(spec.read_text())
            data["spec"]["liveness"] = {"assumeAfter": "0s"}
            (folder / f"{name}.yaml").write_text(yaml.safe_dump(data))
            spec.unlink()
            entry: dict[str, object] = {"name": name, "release": f"{name}.yaml"}
            if 0 < e < environments - 1:
                entry["after"] = ["e00"]
            elif e == environments - 1 and environments > 2:
                entry["after"] = names[1:-1]
            entries.append(entry)
            completions.append((folder / f"{name}.yaml", version))
        pipeline = {"apiVersion": "rollgen.io/v1alpha1", "kind": "Pipeline", "metadata": {"name": f"p{p:02d}"}}
        pipeline["spec"] = {"environments": entries}
        (folder / "pipeline.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
        files.append(str((folder / "pipeline.yaml").relative_to(work)))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "pipelines and releases")
    # Every environment's rollout completed: one commit each (same tree), written in one fast-import.
    stream = ["reset refs/heads/main", "from refs/heads/main^0"]
    for n, (path, version) in enumerate(completions):
        release = load_release(path)
        plan = plan_for(release, "1.0.0", version)[1]
        steps = len(plan.steps)
        key = release_key(release)
        record = StepRecord(key, f"r{n:05d}", steps, steps, plan.digest(), Action.COMPLETE, "1.0.0", version)
        message = compose_message(f"{key}: complete 1.0.0 -> {version}\n", record).encode()
        stream += ["commit refs/heads/main", f"committer B <b@b> {1_700_000_000 + n} +0000", f"data {len(message)}"]
        stream.append(message.decode())
    git(work, "fast-import", "--quiet", input=("\n".join(stream) + "\n").encode())
    git(work, "reset", "-q", "--hard")
    remote = init_repo(root / "remote.git", bare=True)
    git(work, "remote", "add", "origin", str(remote))
    git(work, "push", "-q", "--force", "origin", "main")
    git(work, "branch", "-q", "--set-upstream-to=origin/main")
    return work, files


def timed(argv: list[str], cwd: Path) -> tuple[float, str]:
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return took, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipelines", type=int, default=20)
    parser.add_argument("--environments", type=int, default=50)
    parser.add_argument("-n", type=int, default=3, help="idle passes timed (the median is printed)")
    parser.add_argument("--smallest", action="store_true", help="2 pipelines of 3 environments, one idle pass")
    args = parser.parse_args()
    if args.smallest:
        args.pipelines, args.environments, args.n = 2, 3, 1
    with tempfile.TemporaryDirectory() as tmp:
        work, files = build(Path(tmp), args.pipelines, args.environments)
        argv = [sys.executable, "-m", "rollgen", "pipeline", "advance", *files]
        first, said = timed(argv, work)
        promoted = sum(" promoted 1.2.0" in line for line in said.splitlines())
        idle = [timed(argv, work)[0] for _ in range(args.n)]
    total = args.pipelines * args.environments
    median = statistics.median(idle)
    print(f"pipeline advance over {args.pipelines} pipelines x {args.environments} environments ({total}):")
    print(f"  first pass (writes {promoted} promotions, one commit per pipeline): {first:.2f} s")
    print(f"  idle pass, median of {args.n}: {median:.2f} s (target < {TARGET:g} s)")
    expected = args.pipelines * max(0, args.environments - 2)
    if promoted != expected:
        raise SystemExit(f"expected {expected} promotions, got {promoted}:\n{said}")


if __name__ == "__main__":
    main()
