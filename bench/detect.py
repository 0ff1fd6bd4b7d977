"""Benchmark of ``rollgen detect`` (a script, not a test): ``python bench/detect.py [-n 5]``.

A local Debian ``docker-registry`` holds 100 repositories with 1,000 tags
each; 100 release specs (one per repository, semver policies) are already at
the newest tag, so a pass finds nothing new -- the cron case. Measured, median
of ``-n`` passes:

1. the registry part: :func:`rollgen.controller.detect.lookup_all` (a small thread pool,
   kept-alive connections, every tag listed and the newest resolved to a
   digest) vs the equivalent sequential loop that opens one request per call
   (``urllib.request.urlopen`` for the tag list, then for the digest);
2. a whole pass in process (:func:`rollgen.controller.detect.detect`: load and validate
   the 100 specs, ask the registry, compare) -- target under 2 s;
3. the same as a command, ``rollgen detect DIR`` (interpreter start included).

The 1,000 tags are written once through the registry's API and then linked
into the other 99 repositories' storage (the registry serves each as its own
repository); see ``testkit/registryservers.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rollgen.controller.detect import detect, lookup_all, spec_files
from rollgen.registry.client import MANIFEST_TYPES
from rollgen.registry.policy import newest
from rollgen.spec.load import load_release
from rollgen.spec.model import ImagePolicy
from testkit.registryservers import Registry, copy_tags, docker_registry, push_tags

RELEASES = 100
TAGS = 1000
SPEC = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata: {{name: app-{i:03d}}}
spec:
  namespace: prod
  replicas: 2
  image: {host}/bench/app-{i:03d}
  stable: "1.0.0"
  version: "{version}"   # kept current by rollgen detect
  digest: "{digest}"
  imagePolicy: {{semver: {{range: ">=1.0.0 <2"}}, pin: digest}}
  source: {{kustomize: {{base: apps/app/base}}}}
  output: {{path: overlays/app-{i:03d}}}
  strategy: {{canary: {{steps: [{{setWeight: 50}}]}}}}
  gates: [{{name: up, kubernetes: {{}}}}]
"""


def build(registry: Registry, specs: Path) -> str:
    """Fill the registry and write the specs; returns the newest tag."""
    tags = [f"1.{i}.0" for i in range(TAGS - 1)] + ["2.0.0"]
    digest = push_tags(registry, "bench/app-000", [tags[0]])[tags[0]]
    copy_tags(registry, "bench/app-000", digest, tags[1:])
    repositories = registry.storage / "docker/registry/v2/repositories/bench"
    for i in range(1, RELEASES):
        (repositories / f"app-{i:03d}").symlink_to(repositories / "app-000", target_is_directory=True)
    version = newest(ImagePolicy("semver", ">=1.0.0 <2"), tags)
    assert version == f"1.{TAGS - 2}.0"
    specs.mkdir()
    for i in range(RELEASES):
        (specs / f"app-{i:03d}.yaml").write_text(SPEC.format(i=i, host=registry.host, version=version, digest=digest))
    return version


def sequential(registry: Registry, version: str) -> None:
    """The loop detection replaces: one request per call, one release after the other."""
    for i in range(RELEASES):
        base = f"{registry.url}/v2/bench/app-{i:03d}"
        with urllib.request.urlopen(f"{base}/tags/list?n={TAGS}", timeout=30) as answer:
            tags = json.load(answer)["tags"]
        assert newest(ImagePolicy("semver", ">=1.0.0 <2"), tags) == version
        head = urllib.request.Request(
            f"{base}/manifests/{version}", method="HEAD", headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        with urllib.request.urlopen(head, timeout=30) as answer:
            assert answer.headers["Docker-Content-Digest"].startswith("sha256:")


def median(n: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5, help="passes per measurement (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, docker_registry(Path(tmp) / "registry") as registry:
        specs = Path(tmp) / "releases"
        started = time.perf_counter()
        version = build(registry, specs)
        print(
            f"setup: {RELEASES} repositories x {TAGS} tags, {RELEASES} specs ({time.perf_counter() - started:.1f} s)\n"
        )
        paths = spec_files([str(specs)])
        releases = [load_release(p) for p in paths]

        def ours() -> None:
            found = lookup_all(releases, deadline=time.monotonic() + 60)
            assert all(not isinstance(f, Exception) and f.tag == version for f in found), found[:1]

        def whole_pass() -> None:
            results = detect(paths, deadline=time.monotonic() + 60, now=time.time())
            assert [r.status for r in results] == ["current"] * RELEASES, results[:1]

        def command() -> None:
            env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
            done = subprocess.run(
                [sys.executable, "-m", "rollgen", "detect", str(specs)], env=env, capture_output=True, check=False
            )
            assert done.returncode == 0, done.stderr

        plain = median(args.n, lambda: sequential(registry, version))
        fast = median(args.n, ours)
        full = median(args.n, whole_pass)
        cli = median(args.n, command)
    print(f"{'registry part, ' + str(RELEASES) + ' releases x ' + str(TAGS) + ' tags':<52}{'s':>8}")
    print(f"{'  rollgen lookup_all (8 threads, keep-alive)':<52}{fast:8.3f}")
    print(f"{'  sequential loop, one request per call':<52}{plain:8.3f}")
    print(f"{'  ratio sequential / rollgen':<52}{plain / fast:8.2f}\n")
    print(f"{'whole pass: load + validate + registry + compare':<52}{full:8.3f}   (target < 2 s)")
    print(f"{'rollgen detect DIR as a command':<52}{cli:8.3f}")


if __name__ == "__main__":
    main()
