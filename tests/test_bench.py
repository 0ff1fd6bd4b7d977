"""Every script under bench/ runs as shipped: each at its smallest size, to completion (its numbers are not judged)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from testkit.tools import REPO_ROOT

BENCH = REPO_ROOT / "bench"
# The smallest size each script takes, and the tools it needs besides git.
SMALLEST: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "advance.py": (("--releases", "1", "--sample", "1", "-n", "1"), ("kubectl",)),
    "detect.py": (("-n", "1"), ("docker-registry",)),
    "git.py": (("-n", "1", "--commits", "20"), ()),
    "history.py": (("--commits", "20", "--quotes", "2", "-n", "1"), ("kubectl",)),
    "pipeline.py": (("--smallest",), ()),
    "reaction.py": (("-n", "1"), ("prometheus", "kubectl")),
    "render.py": (("--releases", "1"), ("kubectl",)),
    "validate.py": (("--files", "2", "--repeat", "1"), ()),
}


def test_every_script_has_its_smallest_size() -> None:
    assert sorted(SMALLEST) == sorted(p.name for p in BENCH.glob("*.py"))


@pytest.mark.parametrize("script", sorted(SMALLEST))
def test_the_script_runs_at_its_smallest_size(script: str) -> None:
    argv, tools = SMALLEST[script]
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{script} needs {', '.join(missing)}")
        pytest.skip(f"{script} needs {', '.join(missing)}, not installed here")
    run = subprocess.run(
        [sys.executable, str(BENCH / script), *argv],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.strip(), "a benchmark prints its figures"
