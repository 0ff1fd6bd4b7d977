"""Rendering every step of a monorepo's releases, against kustomize building the same overlays.

Generates a GitOps monorepo of ``--releases`` apps in a temporary directory
(a small base each: Deployment + Service, an HPA in every other one), one
release per app cycling through the strategies of ``examples/*.yaml``, plans
each release, renders its initial state and every step, then builds each of
those overlays with ``kubectl kustomize``. Prints both totals and their ratio;
the target is rendering under 5% of kustomize's build time.

Rendering is timed as ``render_state`` calls only (pure, in process). Reading
each base (one ``kubectl kustomize`` per release) is reported apart: it is a
kustomize build itself and happens once per release, not per step.

    python bench/render.py                  # 100 releases, builds one at a time
    python bench/render.py --releases 10 --jobs 2
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from rollgen.plan.model import State  # noqa: E402
from rollgen.plan.steps import plan_release  # noqa: E402
from rollgen.render.kustomize import render_overlay  # noqa: E402
from rollgen.render.userbase import read_base  # noqa: E402
from rollgen.spec.load import load_release  # noqa: E402
from rollgen.spec.model import KustomizeSource, Release  # noqa: E402

BASE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {app}}}
spec:
  selector: {{matchLabels: {{app: {app}}}}}
  template:
    metadata: {{labels: {{app: {app}}}}}
    spec:
      containers:
      - name: {app}
        image: registry.example/{app}:1.0.0
        ports: [{{name: http, containerPort: 8080}}]
        resources: {{requests: {{cpu: 50m}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: {app}}}
spec:
  selector: {{app: {app}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""
HPA = """\
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: {app}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {app}}}
  minReplicas: 2
  maxReplicas: 6
"""


def make_monorepo(root: Path, count: int) -> list[Release]:
    """Write ``count`` app bases under ``root/apps`` and return one release per app."""
    examples = [load_release(p) for p in sorted((REPO_ROOT / "examples").glob("*.yaml"))]
    releases = []
    for i in range(count):
        app = f"app-{i:03d}"
        base = root / "apps" / app / "base"
        base.mkdir(parents=True)
        (base / "app.yaml").write_text(BASE.format(app=app) + (HPA.format(app=app) if i % 2 == 0 else ""))
        (base / "kustomization.yaml").write_text("resources: [app.yaml]\n")
        example = examples[i % len(examples)]
        releases.append(
            dataclasses.replace(
                example,
                name=app,
                image=f"registry.example/{app}",
                source=KustomizeSource(f"apps/{app}/base"),
                output_path=f"clusters/prod/{app}",
            )
        )
    return releases


def build(directory: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["kubectl", "kustomize", str(directory)], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=100)
    parser.add_argument(
        "--jobs", type=int, default=1, help="kustomize builds run at once (1 = sequential, the fair comparison)"
    )
    args = parser.parse_args()
    if shutil.which("kubectl") is None:
        print("kubectl is not installed", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="rollgen-bench-") as tmp:
        root = Path(tmp)
        releases = make_monorepo(root, args.releases)

        started = time.perf_counter()
        bases = [read_base(root, r) for r in releases]
        reading = time.perf_counter() - started

        # Each overlay gets an output directory of its own (same depth as clusters/prod/<app>),
        # so every state can be built afterwards.
        jobs = [
            (dataclasses.replace(r, output_path=f"out/{n:03d}-{k:02d}/{r.name}"), b, s)
            for n, (r, b) in enumerate(zip(releases, bases, strict=False))
            for k, s in enumerate(_states(r))
        ]
        rendered = []
        started = time.perf_counter()
        for release, base, state in jobs:
            rendered.append(render_overlay(release, state, base))
        rendering = time.perf_counter() - started

        directories = []
        for (release, _, _), files in zip(jobs, rendered, strict=False):
            out = root / release.output_path
            for path, text in files.items():
                (out / path).parent.mkdir(parents=True, exist_ok=True)
                (out / path).write_bytes(text)
            directories.append(out)
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            started = time.perf_counter()
            durations = list(pool.map(build, directories))
            building_wall = time.perf_counter() - started
        building = sum(durations)

    print(f"releases: {len(releases)}   overlays (initial + every step): {len(jobs)}")
    print(f"read bases (one kubectl kustomize each): {reading:8.2f} s")
    print(
        f"render every overlay (render_state):     {rendering:8.3f} s   {1000 * rendering / len(jobs):7.3f} ms per overlay"
    )
    print(
        f"kubectl kustomize the same overlays:     {building:8.2f} s   {1000 * building / len(jobs):7.1f} ms per overlay (wall {building_wall:.2f} s, {args.jobs} at once)"
    )
    print(f"ratio render / kustomize:                {100 * rendering / building:8.3f} %   (target < 5 %)")
    return 0


def _states(release: Release) -> list[State]:
    plan = plan_release(release)
    return [plan.initial, *(step.state for step in plan.steps)]


if __name__ == "__main__":
    sys.exit(main())
