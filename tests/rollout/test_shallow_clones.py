"""Shallow clones (``git clone --depth 1``, most CI checkouts): every command reads the whole history or refuses.

A shallow boundary looks like a root commit; read as one, an abort "restores"
an empty directory and deletes the application.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rollgen.gitops.repo import Repo
from rollgen.rollout import operations
from rollgen.spec.load import load_release
from testkit.cli import rollgen
from testkit.git import git
from testkit.gitservers import GitDaemon
from testkit.rollouts import BEFORE, canary, make_repo, output_files, write_spec


def served_rollout(tmp_path: Path, daemon: GitDaemon, promotes: int, *, later: int = 0) -> tuple[str, Path]:
    """A remote whose main holds a rollout ``promotes`` steps past its start (and ``later`` unrelated commits)."""
    work = make_repo(tmp_path / "work")
    spec = write_spec(work, strategy=canary([20, 40, 60, 80]))
    release = load_release(spec)
    repo = Repo.open(work)
    operations.start(repo, release)
    for _ in range(promotes):
        operations.promote(repo, release)
    for i in range(later):
        (work / "README").write_text(f"unrelated change {i}\n")
        git(work, "commit", "-qam", f"unrelated {i}")
    url = daemon.create(tmp_path.name)
    git(work, "push", "-q", url, "main")
    return url, spec


def shallow(url: str, path: Path) -> Path:
    git(path.parent, "clone", "-q", "--depth", "1", url, path.name)
    assert git(path, "rev-parse", "--is-shallow-repository") == "true"
    return path


def remote_output(tmp_path: Path, url: str) -> dict[str, bytes]:
    check = tmp_path / "check"
    git(tmp_path, "clone", "-q", url, check.name)
    return output_files(check)


@pytest.mark.parametrize("promotes", [0, 3])
def test_abort_now_in_a_depth_1_clone_restores_the_files(tmp_path: Path, daemon: GitDaemon, promotes: int) -> None:
    url, spec = served_rollout(tmp_path, daemon, promotes)
    clone = shallow(url, tmp_path / "ci")
    done = rollgen("abort", str(spec), "--repo", str(clone), "--now")
    assert done.returncode == 0, done.stderr
    assert remote_output(tmp_path, url) == BEFORE


def test_step_by_step_abort_in_a_depth_1_clone_walks_back_to_the_files(tmp_path: Path, daemon: GitDaemon) -> None:
    url, spec = served_rollout(tmp_path, daemon, 4, later=2)
    for attempt in range(20):
        # A fresh CI checkout per pass, as a pipeline would have.
        clone = shallow(url, tmp_path / f"ci-{attempt}")
        done = rollgen("abort", str(spec), "--repo", str(clone))
        assert done.returncode == 0, done.stderr
        if "restored" in git(clone, "log", "-1", "--format=%s"):
            break
    else:
        pytest.fail("the abort never finished")
    assert remote_output(tmp_path, url) == BEFORE


def test_status_promote_and_advance_read_the_rollout_past_later_commits(tmp_path: Path, daemon: GitDaemon) -> None:
    url, spec = served_rollout(tmp_path, daemon, 1, later=3)
    status = rollgen("status", str(spec), "--repo", str(shallow(url, tmp_path / "a")))
    assert status.returncode == 0, status.stderr
    assert "2/" in status.stdout and "none" not in status.stdout
    promoted = rollgen("promote", str(spec), "--repo", str(shallow(url, tmp_path / "b")))
    assert promoted.returncode == 0, promoted.stderr
    assert "Rollgen-Step: 3/" in git(tmp_path / "b", "log", "-1", "--format=%B")
    advanced = rollgen("advance", str(spec), "--repo", str(shallow(url, tmp_path / "c")))
    assert advanced.returncode == 0, advanced.stderr
    assert "Rollgen-Step: 3/" in git(tmp_path / "c", "log", "-1", "--format=%B")  # a pause: nothing committed


def test_a_shallow_clone_without_its_remote_is_refused_before_anything_is_written(
    tmp_path: Path, daemon: GitDaemon
) -> None:
    url, spec = served_rollout(tmp_path, daemon, 2)
    clone = shallow(url, tmp_path / "ci")
    git(clone, "remote", "remove", "origin")
    head = git(clone, "rev-parse", "HEAD")
    for command in (["abort", "--now"], ["abort"], ["promote"], ["status"]):
        done = rollgen(command[0], str(spec), "--repo", str(clone), *command[1:])
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        said = done.stdout + done.stderr  # a status line per release, or the error alone
        assert "shallow" in said and "--unshallow" in said
        assert "Traceback" not in said
    assert git(clone, "rev-parse", "HEAD") == head
    assert git(clone, "status", "--porcelain") == ""
