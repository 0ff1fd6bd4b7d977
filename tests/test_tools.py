"""External programs are found on PATH, else beside the interpreter (a virtual environment's bin/)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rollgen.tools import find_tool


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_a_tool_beside_the_interpreter_is_found_without_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "venv" / "bin"
    tool = executable(venv / "kubectl-test-tool")
    monkeypatch.setattr(sys, "executable", str(executable(venv / "python")))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_tool("kubectl-test-tool") == str(tool)
    assert find_tool("no-such-tool") is None


def test_path_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "venv" / "bin"
    executable(venv / "kubectl-test-tool")
    on_path = executable(tmp_path / "path" / "kubectl-test-tool")
    monkeypatch.setattr(sys, "executable", str(executable(venv / "python")))
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert find_tool("kubectl-test-tool") == str(on_path)
