"""Benchmark: `rollgen validate` against check-jsonschema on the same 500 generated specs.

Both run as real processes over the same files, side by side, several times;
the medians and their ratio are printed. Targets: one rollgen process over 500
specs at least 2x faster than check-jsonschema (while also running the semantic
checks and reporting positions), and a single-file validate under 150 ms wall.

    python bench/validate.py [--files 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
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


def timed(argv: list[str], expect: int = 0) -> float:
    start = time.perf_counter()
    run = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if run.returncode != expect:
        sys.exit(f"{argv[0]} exited {run.returncode}: {run.stdout[-2000:]}{run.stderr[-2000:]}")
    return elapsed


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
    with tempfile.TemporaryDirectory() as tmp:
        files = [str(p) for p in generate(Path(tmp), args.files)]
        ours, theirs, single = [], [], []
        for _ in range(args.repeat):  # interleaved, so both see the same machine state
            ours.append(timed([rollgen, "validate", *files]))
            theirs.append(timed([checker, "--schemafile", str(SCHEMA), *files]))
            single.append(timed([rollgen, "validate", files[0]]))
    a, b, s = statistics.median(ours), statistics.median(theirs), statistics.median(single)
    print(f"{'':40} {'median':>9}")
    print(f"{f'rollgen validate ({args.files} files)':40} {a * 1000:8.0f}ms")
    print(f"{f'check-jsonschema ({args.files} files)':40} {b * 1000:8.0f}ms")
    print(f"{'speed-up (check-jsonschema / rollgen)':40} {b / a:8.2f}x   target >= 2x")
    print(f"{'rollgen validate (1 file)':40} {s * 1000:8.0f}ms   target < 150ms")


if __name__ == "__main__":
    main()
