"""SIGKILL during start, promote and abort: never a half-written step, and reruns converge without duplicates."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from rollgen.gitops.repo import Repo
from rollgen.gitops.snapshot import history
from rollgen.rollout import operations
from rollgen.rollout.reading import current_state
from rollgen.spec.load import load_release
from testkit.git import git
from testkit.rollouts import canary, make_repo, output_files, write_spec

KILLS = 50


def _command(phase: str | None, rng: random.Random) -> str:
    """The operation that makes sense next (abort now and then while progressing)."""
    if phase in (None, "none"):
        return "start"
    if phase in ("progressing", "waiting"):
        return "abort" if rng.random() < 0.25 else "promote"
    return {"aborting": "abort", "aborted": "retry", "completed": "undo"}[phase]


@pytest.mark.slow
def test_sigkill_anywhere_leaves_no_half_step_and_reruns_converge(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "work")
    spec = write_spec(work, strategy=canary([25, 50, 75]))
    release = load_release(spec)
    rng = random.Random(5)
    for kill in range(KILLS):
        before = current_state(Repo.open(work), release)
        command = _command(before.phase if before else None, rng)
        argv = [sys.executable, "-m", "rollgen", command, str(spec), "--repo", str(work)]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.9))  # python and imports take ~0.3 s: kills land everywhere
        os.kill(proc.pid, signal.SIGKILL)  # the process alone, as a crash would; a git child may finish
        proc.wait()
        time.sleep(0.05)
        pending = work / ".git" / "rollgen" / "pending"
        dirty = git(work, "status", "--porcelain")
        # Either clean, or a commit landed whose working-copy update is recorded as pending.
        assert dirty == "" or (pending.is_dir() and any(pending.iterdir())), f"kill {kill}: {dirty}"
        rerun = subprocess.run(argv, capture_output=True, text=True, check=False)
        # 0, or refused as "not so" (1): the step already landed past what the command asked for.
        assert rerun.returncode in (0, 1), rerun.stderr
        assert "Traceback" not in rerun.stderr
        assert git(work, "status", "--porcelain") == "", f"kill {kill} ({command}): not clean after the rerun"
    per_commit = Counter(
        (e.record.rollout, e.subject) for e in history(Repo.open(work).git, "main", "prod/web", 10_000)
    )
    assert set(per_commit.values()) == {1}, [k for k, v in per_commit.items() if v > 1]
    # Whatever happened, aborting to the end still gives back the files from before the rollout's first commit.
    state = current_state(Repo.open(work), release)
    if state is not None and state.phase in ("progressing", "waiting", "aborting"):
        first = git(work, "log", "--reverse", "--format=%H", f"--grep=^Rollgen-Rollout: {state.rollout}$").split()[0]
        while operations.abort(Repo.open(work), release).state.phase != "aborted":
            pass
        assert output_files(work) == output_files(work, rev=f"{first}^")
