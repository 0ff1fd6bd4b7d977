"""Benchmark: `rollgen validate` against check-jsonschema on the same 500 generated specs, and its start-up.

Both run as real processes over the same files, side by side, several times;
the medians and their ratio are printed. Targets: one rollgen process over 500
specs at least 2x faster than check-jsonschema (while also running the semantic
checks and reporting positions), and a single-file validate at most 2.0x a bare
`python -c 'import yaml, jsonschema_rs'` (the two libraries validate cannot do
without), with byte-compiled modules as a wheel install has them: the children
run without PYTHONDONTWRITEBYTECODE, after one compile of the package.

A spec inside a Git repository costs more, on purpose: validate reads every
release spec git lists there (overlaps with specs not given) and builds the base
with `kubectl kustomize`, rendering every step in memory, as `render` would. That
case is timed too (one spec of --files in a repository, its base the example base),
with the build and without kubectl on PATH.

    python bench/validate.py [--files 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "release.schema.json"

SPEC = """\
# yaml-language-server: $schema=release.schema.json
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: app-{i}
spec:
  namespace: team-{team}
  replicas: {replicas}
  image: registry.example.com/team-{team}/app-{i}
  stable: "1.{i}.0"
  version: "1.{i}.1"
  source:
    kustomize:
      base: apps/app-{i}/base
  output:
    path: envs/prod/app-{i}
  progressDeadline: 10m
  strategy:
    canary:
      maxSurge: 1
      maxUnavailable: 0
      steps:
        - setWeight: 10
        - pause: {{duration: 2m}}
        - setWeight: 25
        - analysis: {{gates: [success-rate, healthz]}}
        - setWeight: 50
        - pause: {{}}
  gates:
    - name: synced
      argocd: {{application: app-{i}-prod}}
    - name: success-rate
      interval: 30s
      count: 5
      failureLimit: 1
      successCondition: result >= 0.99 && result <= 1
      prometheus:
        address: http://prometheus.monitoring:9090
        query: sum(rate(http_requests_total{{app="{{{{ release }}}}",code!~"5.."}}[1m])) / sum(rate(http_requests_total{{app="{{{{ release }}}}"}}[1m]))
    - name: healthz
      http: {{url: "http://app-{i}.team-{team}.svc/healthz", body: ok}}
  git:
    branch: main
"""


def generate(directory: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = directory / f"app-{i:04d}.yaml"
        path.write_text(SPEC.format(i=i, team=i % 17, replicas=2 + i % 9))
        paths.append(path)
    return paths


def timed(argv: list[str], expect: int = 0, cwd: Path | None = None, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    run = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=cwd, env=env)
    elapsed = time.perf_counter() - start
    if run.returncode != expect:
        sys.exit(f"{argv[0]} exited {run.returncode}: {run.stdout[-2000:]}{run.stderr[-2000:]}")
    return elapsed


def repository(directory: Path, count: int) -> Path:
    """A git repository of ``count`` releases under releases/, each with its own copy of the example base."""
    (directory / "releases").mkdir(parents=True)
    for i, path in enumerate(generate(directory / "releases", count)):
        shutil.copytree(ROOT / "examples" / "apps" / "web" / "base", directory / "apps" / f"app-{i}" / "base")
        # Named after the base's Deployment, as rollgen names each version's Deployment from it.
        path.write_text(path.read_text().replace(f"name: app-{i}\n", "name: web\n", 1))
    subprocess.run(["git", "init", "-q", str(directory)], check=True)
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    # The console scripts next to this interpreter: a shim on PATH (pyenv) would add its own start-up time.
    bindir = Path(sys.executable).parent
    rollgen, checker = str(bindir / "rollgen"), str(bindir / "check-jsonschema")
    if not (Path(rollgen).exists() and Path(checker).exists()):
        sys.exit("needs rollgen and check-jsonschema installed next to this Python (pip install -e '.[test]')")
    # Byte-compiled, as a wheel install is; without it every start would compile the modules again.
    import rollgen as package

    compileall.compile_dir(str(Path(package.__file__).parent), quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    kubectl = shutil.which("kubectl")
    no_kubectl = {**env, "PATH": ":".join(p for p in env["PATH"].split(":") if not (Path(p) / "kubectl").exists())}
    with tempfile.TemporaryDirectory() as tmp:
        files = [str(p) for p in generate(Path(tmp), args.files)]
        repo = repository(Path(tmp) / "gitops", args.files)
        one = "releases/app-0000.yaml"
        ours, theirs, single, bare, in_repo, in_repo_no_build = [], [], [], [], [], []
        for _ in range(args.repeat):  # interleaved, so all see the same machine state
            ours.append(timed([rollgen, "validate", *files], env=env))
            theirs.append(timed([checker, "--schemafile", str(SCHEMA), *files], env=env))
            single.append(timed([rollgen, "validate", files[0]], env=env))
            bare.append(timed([sys.executable, "-c", "import yaml, jsonschema_rs"], env=env))
            if kubectl is not None:
                in_repo.append(timed([rollgen, "validate", one], cwd=repo, env=env))
            in_repo_no_build.append(timed([rollgen, "validate", one], cwd=repo, env=no_kubectl))
    a, b, s, r = (statistics.median(x) for x in (ours, theirs, single, bare))
    print(f"{'':48} {'median':>9}")
    print(f"{f'rollgen validate ({args.files} files)':48} {a * 1000:8.0f}ms")
    print(f"{f'check-jsonschema ({args.files} files)':48} {b * 1000:8.0f}ms")
    print(f"{'speed-up (check-jsonschema / rollgen)':48} {b / a:8.2f}x   target >= 2x")
    print(f"{'python -c import yaml, jsonschema_rs':48} {r * 1000:8.0f}ms")
    print(f"{'rollgen validate (1 file)':48} {s * 1000:8.0f}ms")
    print(f"{'ratio (1 file / bare import)':48} {s / r:8.2f}x   target <= 2.0x")
    if in_repo:
        m = statistics.median(in_repo)
        print(
            f"{f'1 file in a repository of {args.files}, base built':48} {m * 1000:8.0f}ms   {m / r:.2f}x the bare import"
        )
    m = statistics.median(in_repo_no_build)
    print(
        f"{f'1 file in a repository of {args.files}, no kubectl':48} {m * 1000:8.0f}ms   {m / r:.2f}x the bare import"
    )


if __name__ == "__main__":
    main()
