"""Finding the real tools the tests run against.

Locally a missing tool skips the test that needs it; in CI (``CI=true``) it
fails instead, so a green CI run always means the real tool was exercised.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(reason: str) -> None:
    """Skip (locally) or fail (in CI) because something the test needs is absent."""
    if in_ci():
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """Return the path of executable ``name`` or skip/fail the calling test.

    Found as rollgen finds its tools: on ``PATH``, else next to this Python (a
    virtual environment's scripts, such as pre-commit, when it is not activated).
    """
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        missing(f"{name} is not installed")
        raise AssertionError("unreachable")
    return path


def shared_root() -> Path:
    """Where the shared data should be; it may be absent (for parametrizing: :func:`shared_data` decides)."""
    return Path(os.environ.get("ROLLGEN_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_data() -> Path:
    """The shared real-world inputs (podinfo, CRDs, examples), read in place.

    ``.ci/run`` sets ``ROLLGEN_SHARED_DATA``; a checkout beside ``shared/``
    finds it without the variable.
    """
    path = shared_root()
    if not path.is_dir():
        missing(f"shared data not found at {path} (set ROLLGEN_SHARED_DATA)")
    return path
