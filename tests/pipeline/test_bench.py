"""bench/pipeline.py runs at its smallest size: the benchmark keeps working as the code under it changes."""

from __future__ import annotations

import subprocess
import sys

from testkit.tools import REPO_ROOT


def test_the_pipeline_benchmark_runs_at_its_smallest_size() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "pipeline.py"), "--smallest"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "first pass (writes 2 promotions, one commit per pipeline)" in done.stdout
