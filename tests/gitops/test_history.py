"""History lookups stay flat: commits that merely quote a trailer line never cost another walk."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollgen.gitops.repo import Repo
from rollgen.gitops.snapshot import newest_records
from rollgen.rollout import operations
from rollgen.rollout.reading import current_state
from rollgen.rollout.state import release_key
from rollgen.spec.load import load_release
from testkit.git import git
from testkit.history import append_commits
from testkit.rollouts import canary, make_repo, write_spec


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, ...]]]:
    """Every ``git log`` process started while the test runs (each one is a walk of the history)."""
    started: list[tuple[str, ...]] = []
    real = subprocess.Popen.__init__

    def spy(self: Any, args: Any, *rest: Any, **kw: Any) -> None:
        if isinstance(args, (list, tuple)) and len(args) > 1 and args[0] == "git" and args[1] == "log":
            started.append(tuple(args))
        real(self, args, *rest, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", spy)
    yield started


def test_fifty_quoting_commits_cost_one_walk_for_status_and_promote(
    tmp_path: Path, walks: list[tuple[str, ...]]
) -> None:
    repo_dir = make_repo(tmp_path / "repo")
    release = load_release(write_spec(repo_dir, strategy=canary([25, 50])))
    repo = Repo.open(repo_dir)
    operations.start(repo, release)
    started = git(repo_dir, "rev-parse", "main")
    # 50 reverts quoting the release's trailer among 2,000 other commits, all after its step.
    append_commits(repo_dir, 2000, quoting=release_key(release), every=40)
    walks.clear()
    state = current_state(repo, release)
    assert state is not None and (state.commit, state.step) == (started, 1)
    assert len(walks) == 1, "status walked the history once per quoting commit"
    walks.clear()
    after = operations.promote(repo, release)
    assert after.committed and after.state is not None and after.state.step == 2
    # promote reads the state before and after its commit; neither re-walks for the quotes.
    # (One more log, limited to the output path, finds who writes it: rollgen.rollout.ownership; one more finds
    # the rollout's first commit, whose parent holds the frozen revisions.) A re-walk per quoting commit
    # would be 50 more.
    assert len(walks) <= 5, walks


def test_newest_records_of_many_releases_in_one_walk(tmp_path: Path, walks: list[tuple[str, ...]]) -> None:
    namespaces = ("a", "b")
    repo_dir = make_repo(tmp_path / "repo", namespaces)
    releases = [load_release(write_spec(repo_dir, namespace=ns)) for ns in namespaces]
    repo = Repo.open(repo_dir)
    for release in releases:
        operations.start(repo, release)
    operations.promote(repo, releases[0])
    append_commits(repo_dir, 300, quoting="a/web", every=3)
    walks.clear()
    tip = git(repo_dir, "rev-parse", "main")
    found = newest_records(repo.git, tip, ["a/web", "b/web", "c/web"])
    assert len(walks) == 1
    assert found["c/web"] is None  # never rolled out: the walk went to the root, once
    a, b = found["a/web"], found["b/web"]
    assert a is not None and b is not None
    assert (a.record.step, b.record.step) == (2, 1)
    assert a.sha == git(repo_dir, "log", "-1", "--format=%H", "--grep=^Rollgen-Step: 2/", "main")
