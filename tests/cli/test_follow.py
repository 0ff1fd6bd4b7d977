"""An unreachable remote is an outage to wait out, never an abort: ``run`` goes on once it is back, or ends with exit 2."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from rollgen.cli.follow import follow
from rollgen.errors import EXIT_OK, EXIT_USAGE
from rollgen.gitops.errors import RemoteUnavailableError
from rollgen.gitops.repo import Repo
from rollgen.rollout import operations
from rollgen.rollout.reading import current_state
from rollgen.rollout.state import RolloutPhase
from rollgen.spec.load import load_release
from rollgen.spec.model import Release
from testkit.git import git
from testkit.gitservers import git_daemon
from testkit.rollouts import make_repo, write_spec

STRATEGY = {
    "canary": {
        "maxSurge": 1,
        "maxUnavailable": 0,
        "traffic": "replicas",
        "steps": [{"setWeight": 50}, {"pause": {"duration": "20s"}}],
    }
}


class Outage:
    """A served remote, and a fake clock whose sleeps stop the daemon at the first and restart it after ``down_for``."""

    def __init__(self, tmp_path: Path, down_for: float | None) -> None:
        self.stack = ExitStack()
        self.base = tmp_path / "served"
        self.daemon = self.stack.enter_context(git_daemon(self.base))
        self.port = self.daemon.port
        self.down_for = down_for
        self.now = 0.0
        self.down_at: float | None = None
        self.back = False
        self.stopped: ExitStack | None = None

    def clock(self) -> float:
        import time

        return time.time() + self.now  # commits carry real times; the fake clock runs ahead of them

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.down_at is None:
            self.stack.close()  # the remote goes away while the rollout waits out its pause
            self.down_at = self.now
        elif self.down_for is not None and not self.back and self.now - self.down_at >= self.down_for:
            self.stack = ExitStack()
            self.stack.enter_context(git_daemon(self.base, port=self.port))
            self.back = True


@pytest.fixture
def spec(tmp_path: Path) -> Iterator[tuple[Path, Release]]:
    work = make_repo(tmp_path / "work")
    path = write_spec(work, replicas=2, strategy=STRATEGY)
    yield path, load_release(path)


def _start(tmp_path: Path, outage: Outage, release: Release) -> Path:
    work = tmp_path / "work"
    url = outage.daemon.create("gitops")
    git(work, "push", "-q", url, "main")
    clone = tmp_path / "controller"
    git(tmp_path, "clone", "-q", url, clone.name)
    operations.start(Repo.open(clone), release, remote="origin")
    return clone


def _follow(clone: Path, release: Release, outage: Outage, **patience: float) -> int:
    """``rollgen run`` in the controller's clone, on the outage's clock."""
    return follow(
        Repo.open(clone),
        release,
        remote="origin",
        out=io.StringIO(),
        live=False,
        clock=outage.clock,
        sleep=outage.sleep,
        **patience,
    )


def test_run_waits_out_an_outage_during_a_pause_and_completes(tmp_path: Path, spec: tuple[Path, Release]) -> None:
    _, release = spec
    outage = Outage(tmp_path, down_for=10.0)
    try:
        clone = _start(tmp_path, outage, release)
        code = _follow(clone, release, outage)
        assert outage.back
        assert code == EXIT_OK
        state = current_state(Repo.open(clone), release, remote="origin")
        assert state is not None and state.phase is RolloutPhase.COMPLETED
    finally:
        outage.stack.close()


def test_run_gives_up_on_a_remote_gone_for_good_with_the_error_not_an_abort(
    tmp_path: Path, spec: tuple[Path, Release]
) -> None:
    _, release = spec
    outage = Outage(tmp_path, down_for=None)
    try:
        clone = _start(tmp_path, outage, release)
        with pytest.raises(RemoteUnavailableError) as raised:
            _follow(clone, release, outage, patience=120.0)
        assert raised.value.exit_code == EXIT_USAGE
        assert "unreachable for" in str(raised.value) and "run again" in str(raised.value)
        assert outage.now - (outage.down_at or 0) >= 60  # it did wait, with backoff, before giving up
        state = current_state(Repo.open(clone), release)
        assert state is not None and state.phase is RolloutPhase.WAITING  # nothing was aborted
    finally:
        outage.stack.close()


def test_one_pass_against_an_unreachable_remote_exits_2_not_1(tmp_path: Path, spec: tuple[Path, Release]) -> None:
    from testkit.cli import rollgen

    spec_file, release = spec
    outage = Outage(tmp_path, down_for=None)
    clone = _start(tmp_path, outage, release)
    outage.stack.close()  # the remote is gone before the pass begins
    done = rollgen("advance", str(spec_file), "--repo", str(clone))
    assert done.returncode == EXIT_USAGE, done.stderr
    said = (done.stdout + done.stderr).lower()  # advance reports one line per release
    assert "unable to connect" in said or "could not read" in said
    assert "traceback" not in said
