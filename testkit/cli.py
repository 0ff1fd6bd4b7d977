"""Running rollgen's command line as a user would: a separate ``python -m rollgen`` process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testkit.tools import REPO_ROOT


def rollgen(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rollgen", *args], capture_output=True, text=True, cwd=cwd, timeout=60, check=False
    )
