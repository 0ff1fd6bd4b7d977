"""``rollgen demo`` runs on this machine alone and leaves the story in git log."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollgen.cli import main
from testkit.git import git
from testkit.tools import require_tool


@pytest.mark.slow
def test_demo_rolls_a_good_release_out_and_aborts_a_bad_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_tool("git")
    require_tool("kubectl")
    kept = tmp_path / "demo"

    assert main(["demo", "--keep", str(kept)]) == 0

    shown = capsys.readouterr().out
    assert "COMPLETED" in shown and "ABORTED" in shown and "byte-identical to before the rollout" in shown
    log = git(kept / "gitops", "log", "--format=%s", "main").splitlines()
    assert log[0] == "demo/web: abort, 2.0.0 restored (rollout 2.0.0 -> 2.1.0 stopped at step 1)"
    assert log[1] == "demo/web: step 1/5 setWeight 25% (2.0.0 -> 2.1.0)"
    assert log[2] == "demo/web: complete 1.0.0 -> 2.0.0"
    assert log[3:8] == [
        f"demo/web: step {i}/5 {what} (1.0.0 -> 2.0.0)"
        for i, what in reversed(
            list(enumerate(["setWeight 25%", "setWeight 50%", "setWeight 75%", "promote", "cleanup"], 1))
        )
    ]
    assert log[8:] == ["web: base and release specs"]
    # What the demo printed last is the repository's own git log.
    printed = shown.split("== git log --oneline\n", 1)[1].splitlines()[: len(log)]
    assert [line.split(" ", 1)[1] for line in printed] == log


def test_demo_refuses_a_kept_directory_that_is_not_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x").write_text("mine")
    assert main(["demo", "--keep", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
