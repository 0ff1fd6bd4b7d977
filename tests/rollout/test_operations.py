"""Rollout operations against real repositories: state from history, exact abort, refusals, races."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollgen.errors import NothingToDo, NotSoError, UsageError
from rollgen.gitops.repo import Repo
from rollgen.gitops.snapshot import history
from rollgen.gitops.trailers import Action
from rollgen.plan.model import State
from rollgen.plan.steps import abort_states
from rollgen.rollout import operations
from rollgen.rollout.reading import branch_tip, current_state, read
from rollgen.rollout.state import RolloutState, plan_for
from rollgen.spec.load import load_release
from rollgen.spec.model import Release
from testkit.git import git
from testkit.rollouts import BEFORE, canary, make_repo, output_files, write_spec

OUTPUT = "deploy/web"


def step_commits(repo: Path, release: str = "prod/web", ref: str = "main") -> Counter[tuple[str, int, str]]:
    """How many commits carry each (rollout, step, action): every value must be 1."""
    entries = history(Repo.open(repo).git, ref, release, limit=10_000)
    return Counter(
        (e.record.rollout, e.record.step, e.record.action.value) for e in entries if e.record.action != Action.ABORT
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "work")


def test_rollout_to_completion_then_undo(work: Path) -> None:
    release = load_release(write_spec(work))
    repo = Repo.open(work)
    first = operations.start(repo, release)
    assert (first.committed, first.state.step, first.state.action) == (True, 1, Action.START)
    n = first.state.steps
    subject = git(work, "log", "-1", "--format=%s")
    assert subject.startswith(f"prod/web: step 1/{n} ") and subject.endswith("(1.0.0 -> 1.1.0)")
    assert "Rollgen-Step: 1/" in git(work, "log", "-1", "--format=%B")
    with pytest.raises(NotSoError, match="in progress"):
        operations.start(repo, load_release(write_spec(work, version="2.0.0")))
    for step in range(2, n + 1):
        assert operations.promote(repo, release).state.step == step
    done = operations.promote(repo, release)
    assert (done.state.phase, done.state.action, done.state.step) == ("completed", Action.COMPLETE, n)
    assert git(work, "diff", "HEAD~1", "HEAD", "--stat") == ""  # the complete commit changes no file
    with pytest.raises(NotSoError, match="nothing to promote"):
        operations.promote(repo, release)
    with pytest.raises(NothingToDo, match="nothing to abort"):
        operations.abort(repo, release)
    with pytest.raises(NothingToDo, match=r"nothing to roll out: 1\.1\.0 runs, as the spec asks"):
        operations.start(repo, release)
    with pytest.raises(UsageError, match=r"stable is 1\.0\.0 but Git says 1\.1\.0 runs"):
        operations.start(repo, load_release(write_spec(work, version="2.0.0")))
    back = operations.undo(repo, release)
    assert (back.state.action, back.state.from_label, back.state.to_label) == (Action.UNDO, "1.1.0", "1.0.0")
    assert back.state.rollout != first.state.rollout
    assert git(work, "status", "--porcelain") == ""
    assert set(step_commits(work).values()) == {1}


def test_state_is_read_from_history_alone(work: Path) -> None:
    release = load_release(write_spec(work, strategy=canary([25, 50])))
    repo = Repo.open(work)
    operations.start(repo, release)
    operations.promote(repo, release)
    fresh = Repo.open(work)  # a new process knows nothing but the repository
    state = current_state(fresh, release)
    assert state is not None and state.commit == git(work, "rev-parse", "HEAD")
    assert state.since == int(git(work, "log", "-1", "--format=%ct"))
    assert state.plan_step is not None and state.plan_step.index == 2
    if state.phase == "waiting":
        assert "a human (rollgen promote)" in state.waiting_for()
    assert current_state(fresh, load_release(write_spec(work, "other"))) is None
    changed = load_release(write_spec(work, strategy=canary([10, 50])))
    later = current_state(fresh, changed)
    assert later is not None and later.plan_changed and later.plan_step is None
    with pytest.raises(UsageError, match="no longer plans"):
        operations.promote(fresh, changed)


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    weights=st.sets(st.integers(1, 99), min_size=1, max_size=3).map(sorted),
    replicas=st.integers(1, 6),
    surge=st.integers(0, 2),
    unavailable=st.integers(0, 2),
    progress=st.floats(0, 1),
    immediate=st.booleans(),
)
def test_abort_restores_the_output_byte_for_byte(
    tmp_path_factory: pytest.TempPathFactory,
    weights: list[int],
    replicas: int,
    surge: int,
    unavailable: int,
    progress: float,
    immediate: bool,
) -> None:
    if surge == unavailable == 0:
        unavailable = 1  # the spec refuses both zero
    work = make_repo(tmp_path_factory.mktemp("abort") / "work")
    release = load_release(
        write_spec(work, replicas=replicas, strategy=canary(weights, surge=surge, unavailable=unavailable))
    )
    repo = Repo.open(work)
    n = operations.start(repo, release).state.steps
    for _ in range(int(progress * (n - 1))):
        operations.promote(repo, release)
    at = current_state(repo, release)
    assert at is not None
    calls = 0
    while True:
        calls += 1
        state = operations.abort(repo, release, immediate=immediate).state
        if state.phase == "aborted":
            break
        assert state.phase == "aborting" and calls < 2 * n
    assert calls == (1 if immediate else len(abort_states(plan_for(release, "1.0.0", "1.1.0")[1], at.step)))
    assert output_files(work) == BEFORE
    assert {p: (work / OUTPUT / p).read_bytes() for p in BEFORE} == BEFORE
    assert git(work, "status", "--porcelain", "--ignored") == ""
    with pytest.raises(NothingToDo, match="nothing to abort"):
        operations.abort(repo, release)
    again = operations.retry(repo, release)
    assert (again.state.action, again.state.step) == (Action.RETRY, 1) and again.state.rollout != at.rollout


def test_reruns_commit_nothing(work: Path) -> None:
    release = load_release(write_spec(work))
    repo = Repo.open(work)
    operations.start(repo, release)
    assert not operations.start(repo, release).committed
    assert operations.promote(repo, release, to=2).committed
    assert not operations.promote(repo, release, to=2).committed
    with pytest.raises(NotSoError, match="cannot promote to step 9"):
        operations.promote(repo, release, to=9)


def test_full_promotion_walks_every_step_without_waits(work: Path) -> None:
    release = load_release(write_spec(work, strategy=canary([20, 40, 60])))
    repo = Repo.open(work)
    n = operations.start(repo, release).state.steps
    for step in range(2, n + 1):
        state = operations.promote(repo, release, full=True).state
        # One bounded step per commit, none skipped; no pause or analysis holds it.
        assert (state.step, state.action, state.waits) == (step, Action.PROMOTE, ())
    plan = plan_for(release, "1.0.0", "1.1.0")[1]
    assert output_files(work) == dict(rollout_files(work, release, plan.steps[-1].state))


def rollout_files(work: Path, release: Release, state: State) -> dict[str, bytes]:
    from rollgen.render.renderer import Renderer

    return Renderer(work, release).render(state)


def test_a_commit_author_from_the_spec(work: Path) -> None:
    release = load_release(write_spec(work, extra_git={"author": {"name": "Deploy Bot", "email": "bot@example.com"}}))
    operations.start(Repo.open(work), release)
    assert git(work, "log", "-1", "--format=%an <%ae>|%cn") == "Deploy Bot <bot@example.com>|Deploy Bot"


@pytest.mark.slow
def test_two_processes_promoting_at_once_commit_each_step_once(work: Path) -> None:
    spec = write_spec(work, strategy=canary([20, 40, 60, 80]))
    release = load_release(spec)
    operations.start(Repo.open(work), release)
    cli = [sys.executable, "-m", "rollgen", "promote", str(spec), "--repo", str(work)]
    state: RolloutState | None = None
    for _ in range(40):
        racers = [subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        codes = [p.wait() for p in racers]
        for p in racers:
            assert p.stdout is not None and p.stderr is not None
            p.stdout.close()
            p.stderr.close()
        state = current_state(Repo.open(work), release)
        assert state is not None
        if state.phase == "completed":
            break
        assert 0 in codes
    assert state is not None and state.phase == "completed"
    counts = step_commits(work)
    assert set(counts.values()) == {1} and len(counts) == state.steps + 1  # every step, then complete
    assert git(work, "status", "--porcelain") == ""


def live_state(repo: Repo, release: Release) -> State | None:
    """What the newest commit on the branch put live, as one reading of its tip says."""
    with branch_tip(repo, release.git.branch, None) as tip:
        return read(repo, release, tip).live_state()


def test_live_state_follows_the_steps_and_the_way_back(tmp_path: Path) -> None:
    """What the newest commit put live: the controller hands its Deployments to the kubernetes gate."""
    work = make_repo(tmp_path / "work")
    release = load_release(write_spec(work, replicas=4, strategy=canary([50], surge=1, unavailable=0)))
    repo = Repo.open(work)
    operations.start(repo, release)
    plan = plan_for(release, "1.0.0", "1.1.0")[1]
    for _ in range(3):
        operations.promote(repo, release)
    current = current_state(repo, release)
    assert current is not None and current.step == 4
    assert live_state(repo, release) == plan.steps[3].state
    way = abort_states(plan, 4)
    assert len(way) > 2  # a real way back: drains and surges before the pre-rollout files
    for expected in way[:-1]:
        operations.abort(repo, release)
        current = current_state(repo, release)
        assert current is not None and current.phase == "aborting"
        assert live_state(repo, release) == expected
    operations.abort(repo, release)
    current = current_state(repo, release)
    assert current is not None and current.phase == "aborted"
    assert live_state(repo, release) is None
