"""Measurements in git notes: two controllers pushing to one remote keep every measurement; notes of any size."""

from __future__ import annotations

from pathlib import Path

from rollgen.gates.analysis import Measurement, Phase
from rollgen.gitops.notes import MAX_KEPT, MAX_MESSAGE, fetch_notes, load_records, save_records
from rollgen.gitops.repo import Repo
from testkit.git import clone, git, init_repo
from testkit.gitservers import GitDaemon

KEY = "1:analysis/errors"


def two_controllers(tmp_path: Path, daemon: GitDaemon) -> tuple[Repo, Repo, str]:
    """Two clones of one remote (as two controllers have) and the commit they both judge."""
    seed = init_repo(tmp_path / "seed")
    url = daemon.create(tmp_path.name)
    git(seed, "push", "-q", url, "main")
    a, b = clone(url, tmp_path / "a"), clone(url, tmp_path / "b")
    return Repo.open(a), Repo.open(b), git(a, "rev-parse", "HEAD")


def test_a_controller_losing_the_push_race_keeps_the_others_failure(tmp_path: Path, daemon: GitDaemon) -> None:
    a, b, commit = two_controllers(tmp_path, daemon)
    failed = Measurement(Phase.FAILED, 0.31, "error rate 31% > 5%", 100.0)
    ok1, ok2 = Measurement(Phase.SUCCESSFUL, 0.01, "ok", 101.0), Measurement(Phase.SUCCESSFUL, 0.0, "ok", 130.0)
    fetch_notes(b, "origin")  # B read the notes before A pushed its measurement
    save_records(a, commit, {KEY: (failed,)}, "origin")
    save_records(b, commit, {KEY: (ok1, ok2)}, "origin")  # rejected first, then merged
    fetch_notes(a, "origin")
    assert load_records(a, commit) == {KEY: (failed, ok1, ok2)}
    # Both sides' keys survive too, and a rerun with the same measurements adds nothing.
    other = Measurement(Phase.SUCCESSFUL, 1, "synced", 99.0)
    save_records(a, commit, {KEY: (failed,), "live/argocd": (other,)}, "origin")
    fetch_notes(b, "origin")
    assert load_records(b, commit) == {KEY: (failed, ok1, ok2), "live/argocd": (other,)}


def test_notes_larger_than_an_argument_are_written_and_bounded(tmp_path: Path, daemon: GitDaemon) -> None:
    a, b, commit = two_controllers(tmp_path, daemon)
    many = tuple(Measurement(Phase.SUCCESSFUL, "x" * 500, "m" * 5000, float(t)) for t in range(MAX_KEPT + 50))
    failure = Measurement(Phase.FAILED, 1, "the one failure", 0.5)
    save_records(a, commit, {KEY: (failure, *many)}, "origin")  # well over 128 KiB
    fetch_notes(b, "origin")
    kept = load_records(b, commit)[KEY]
    assert len(kept) == MAX_KEPT
    assert kept[0] == failure  # the oldest successes went, never a failure
    assert kept[-1].at == many[-1].at
    assert all(len(m.message) <= MAX_MESSAGE for m in kept)
