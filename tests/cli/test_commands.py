"""The rollout commands through ``rollgen.cli.main``: output, exit codes, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollgen.cli import main
from testkit.rollouts import make_repo, write_spec


def test_start_status_promote_abort_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = make_repo(tmp_path / "work")
    spec = str(write_spec(work))
    repo = ["--repo", str(work)]
    assert main(["status", spec, *repo, "-o", "json"]) == 0
    never = "adopt: no rollout recorded and the output holds no rollgen revision: run rollgen adopt first"
    assert json.loads(capsys.readouterr().out) == [
        {"release": "prod/web", "phase": "none", "next": never, "runs": None}
    ]
    assert main(["abort", spec, *repo]) == 0  # nothing to do
    assert "nothing to abort" in capsys.readouterr().out
    assert main(["start", spec, *repo]) == 0
    assert "prod/web: progressing at step 1/" in capsys.readouterr().out
    assert main(["promote", spec, *repo]) == 0
    capsys.readouterr()
    assert main(["status", spec, *repo, "-o", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["step"], row["action"], row["from"], row["to"]) == (2, "advance", "1.0.0", "1.1.0")
    assert main(["retry", spec, *repo]) == 1
    assert main(["abort", spec, *repo, "--now"]) == 0
    assert "aborted at step 0/" in capsys.readouterr().out
    assert main(["undo", spec, *repo]) == 1
    assert "nothing to undo" in capsys.readouterr().err


def test_status_without_specs_lists_every_release_on_the_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = make_repo(tmp_path / "work", names=("web", "staging"))
    prod, staging = str(write_spec(work)), str(write_spec(work, namespace="staging"))
    repo = ["--repo", str(work)]
    assert main(["status", *repo]) == 0
    assert capsys.readouterr().out == ""  # nothing rolled out yet
    assert main(["start", prod, *repo]) == 0
    assert main(["start", staging, *repo]) == 0
    assert main(["promote", staging, *repo]) == 0
    capsys.readouterr()
    assert main(["status", *repo, "-o", "json"]) == 0
    rows = {row["release"]: (row["step"], row["action"], row["phase"]) for row in json.loads(capsys.readouterr().out)}
    assert rows == {"prod/web": (1, "start", "progressing"), "staging/web": (2, "advance", "progressing")}
    assert main(["status", *repo, "--branch", "nope"]) == 2  # a wrong question, not "no rollouts"
    assert capsys.readouterr().out == ""


def test_status_watch_piped_prints_what_changed_until_interrupted(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    work = make_repo(tmp_path / "work")
    spec = str(write_spec(work))
    assert main(["start", spec, "--repo", str(work)]) == 0
    watcher = subprocess.Popen(
        [sys.executable, "-m", "rollgen", "status", spec, "--repo", str(work), "--watch", "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdout is not None
    first = watcher.stdout.readline()  # blocks until the first look is shown
    watcher.send_signal(signal.SIGINT)
    rest, err = watcher.communicate(timeout=30)
    assert first.startswith("prod/web: progressing at step 1/")
    assert "prod/web:" not in rest  # piped, an unchanged state is not printed again
    assert watcher.returncode == 130 and "interrupted" in err and "Traceback" not in err
