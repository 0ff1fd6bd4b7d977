"""``rollgen status`` tells the truth at every moment: pauses, aborts and their reasons, gate errors, holds."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgen.cli import main
from rollgen.cli.watch import watch
from rollgen.errors import EXIT_FAILURE, EXIT_OK, TimedOut
from testkit.gateservers import refused_url
from testkit.git import git
from testkit.rollouts import canary, make_repo, write_spec


def status_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["status", *args, "-o", "json"]) == 0
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return rows


def with_gate(spec: Path, url: str, steps: list[dict[str, Any]]) -> Path:
    """The spec with an http gate ``healthz`` on ``url`` and these canary steps (step 1 surges, step 2 sets the weight)."""
    data = yaml.safe_load(spec.read_text())
    # One measurement a minute: each advance pass measures the gate once (a refused connection is retried
    # within its timeout first, so an error measurement takes long enough for the next to be due at once).
    data["spec"]["gates"] = [{"name": "healthz", "interval": "1m", "http": {"url": url}}]
    data["spec"]["strategy"]["canary"]["steps"] = steps
    data["spec"]["strategy"]["canary"]["maxSurge"] = "100%"
    spec.write_text(yaml.safe_dump(data))
    return spec


def at_step_two(tmp_path: Path) -> tuple[Path, str, list[str]]:
    """A canary of three weights started and promoted once: the repository, its spec and ``--repo`` arguments."""
    work = make_repo(tmp_path / "work")
    spec = str(write_spec(work, strategy=canary([25, 50, 75])))
    repo = ["--repo", str(work)]
    assert main(["start", spec, *repo]) == 0
    assert main(["promote", spec, *repo]) == 0
    return work, spec, repo


def test_status_without_the_spec_says_a_pause_waits_for_a_human(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = make_repo(tmp_path / "work")
    spec = str(write_spec(work, strategy=canary([50], surge="100%")))
    assert main(["start", spec, "--repo", str(work)]) == 0
    assert main(["promote", spec, "--repo", str(work)]) == 0  # step 2: setWeight 50, then pause: {}
    [with_spec] = status_json(capsys, spec, "--repo", str(work))
    [without] = status_json(capsys, "--repo", str(work))
    assert with_spec["phase"] == without["phase"] == "waiting"
    assert "a human (rollgen promote)" in without["waitingFor"] == with_spec["waitingFor"]
    assert "Rollgen-Wait: pause" in git(work, "log", "-1", "--format=%B")


def test_an_abort_says_why_in_its_commits_and_in_status_and_how_far_back_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work, spec, repo = at_step_two(tmp_path)
    assert main(["promote", spec, *repo]) == 0
    assert main(["abort", spec, *repo]) == 0
    [row] = status_json(capsys, *repo)
    assert row["phase"] == "aborting" and row["walkBack"]["done"] == 1 and row["walkBack"]["of"] >= 2
    assert f"walking back: 1 of {row['walkBack']['of']} commits" in row["waitingFor"]
    assert row["reason"] == "a human asked for it (rollgen abort)"
    capsys.readouterr()
    assert main(["advance", spec, *repo]) == 1  # the controller takes the next step back
    [row] = status_json(capsys, *repo)
    assert row["phase"] == "aborting" and row["walkBack"]["done"] == 2
    while row["phase"] == "aborting":
        assert main(["abort", spec, *repo]) == 0
        [row] = status_json(capsys, spec, *repo)
    assert row["phase"] == "aborted" and row["reason"] == "a human asked for it (rollgen abort)"
    capsys.readouterr()
    assert main(["status", *repo]) == 0
    assert "aborted at step 0/" in capsys.readouterr().out
    last = git(work, "log", "-1", "--format=%B")
    assert "Rollgen-Reason: a human asked for it (rollgen abort)" in last
    assert "Aborted because a human asked for it (rollgen abort)." in last


def test_a_gate_error_shows_in_status_as_soon_as_it_is_measured_and_the_abort_records_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = make_repo(tmp_path / "work")
    spec = with_gate(
        write_spec(work), refused_url(), [{"setWeight": 50}, {"analysis": {"gates": ["healthz"]}}, {"pause": {}}]
    )
    repo = ["--repo", str(work)]
    assert main(["start", str(spec), *repo]) == 0
    assert main(["advance", str(spec), *repo]) == 0  # step 2, whose gate is judged next
    capsys.readouterr()
    assert main(["advance", str(spec), *repo]) == 0  # one error: retried, not yet an abort
    shown = capsys.readouterr().out
    assert "healthz" in shown and "refused" in shown  # advance's line says it too
    for args in ((), (str(spec),)):
        [row] = status_json(capsys, *args, *repo)
        [gate] = row["gates"]
        assert (gate["gate"], gate["phase"], gate["measurements"]) == ("healthz", "Error", 1)
        assert "refused" in gate["message"]
    assert main(["status", *repo]) == 0
    assert "  gate healthz [1:analysis]: Error at " in capsys.readouterr().out
    from rollgen.controller.advance import advance
    from rollgen.gitops.repo import Repo
    from rollgen.spec.load import load_release

    began = time.time()
    for retry in range(1, 5):  # errors are retried an interval (1m) apart; the fifth in a row aborts (limit 4)
        advance(Repo.open(work), load_release(spec), now=began + 61 * retry)
    [row] = status_json(capsys, *repo)
    assert row["action"] == "abort" and "gate healthz" in row["reason"] and "refused" in row["reason"]
    assert "Rollgen-Reason: gate healthz" in git(work, "log", "-1", "--format=%B")


def test_status_shows_local_history_with_a_warning_when_the_remote_is_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = make_repo(tmp_path / "work")
    spec = str(write_spec(work))
    assert main(["start", spec, "--repo", str(work)]) == 0
    git(work, "remote", "add", "origin", str(tmp_path / "gone.git"))
    for args in ((), (spec,)):
        capsys.readouterr()
        assert main(["status", *args, "--repo", str(work)]) == 0
        out, err = capsys.readouterr()
        assert "prod/web: progressing at step 1/" in out
        assert "warning: cannot reach remote origin" in err and "local history" in err


def test_status_of_an_unknown_branch_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = make_repo(tmp_path / "work")
    assert main(["status", "--repo", str(work), "--branch", "nope"]) == 2
    assert f"no branch 'nope' in {work}" in capsys.readouterr().err


def test_a_paused_rollout_measures_and_commits_nothing_until_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = make_repo(tmp_path / "work")
    spec = str(with_gate(write_spec(work), refused_url(), [{"setWeight": 50}, {"analysis": {"gates": ["healthz"]}}]))
    repo = ["--repo", str(work)]
    assert main(["start", spec, *repo]) == 0
    assert main(["pause", spec, *repo]) == 0
    assert main(["pause", spec, *repo]) == 0  # already paused: nothing committed
    assert "already done" in capsys.readouterr().out
    assert "Rollgen-Action: pause" in git(work, "log", "-1", "--format=%B")
    assert git(work, "diff", "--stat", "HEAD~1", "HEAD") == ""  # a pause changes no file
    head = git(work, "rev-parse", "HEAD")
    capsys.readouterr()
    assert main(["advance", spec, *repo]) == 0
    assert "paused: waiting for rollgen resume" in capsys.readouterr().out
    assert git(work, "rev-parse", "HEAD") == head
    assert git(work, "notes", "--ref=rollgen", "list").strip() == ""  # nothing measured
    [row] = status_json(capsys, *repo)
    assert row["paused"] is True and row["waitingFor"].startswith("rollgen resume (paused at ")
    assert main(["status", spec, *repo]) == 0
    assert "prod/web: progressing, PAUSED at step 1/" in capsys.readouterr().out
    assert main(["resume", spec, *repo]) == 0
    assert main(["resume", spec, *repo]) == 0  # a rerun of the same resume commits nothing
    assert status_json(capsys, *repo)[0]["paused"] is False
    assert main(["advance", spec, *repo]) == 0  # goes on: step 2
    assert main(["advance", spec, *repo]) == 0  # and measures its gate
    [row] = status_json(capsys, spec, *repo)
    assert row["gates"][0]["phase"] == "Error" and row["step"] == 2


def test_an_abort_is_not_held_and_a_held_rollout_can_be_aborted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, spec, repo = at_step_two(tmp_path)
    assert main(["pause", spec, *repo]) == 0
    assert main(["abort", spec, *repo]) == 0  # a human's abort acts on a paused rollout
    capsys.readouterr()
    assert main(["pause", spec, *repo]) == 1
    assert "an abort is not held" in capsys.readouterr().err
    [row] = status_json(capsys, *repo)
    assert row["phase"] == "aborting" and row["paused"] is False
    assert main(["abort", spec, *repo]) == 0  # the walk back goes on past the earlier pause commit


def test_a_human_says_why_an_abort_and_status_shows_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = make_repo(tmp_path / "work")
    spec = str(write_spec(work))
    assert main(["start", spec, "--repo", str(work)]) == 0
    assert main(["abort", spec, "--repo", str(work), "--now", "--reason", "p99 latency\ndoubled in eu-west"]) == 0
    [row] = status_json(capsys, "--repo", str(work))
    assert row["reason"] == "p99 latency doubled in eu-west"
    assert "Aborted because p99 latency doubled in eu-west." in git(work, "log", "-1", "--format=%B")


def test_resume_without_a_pause_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = make_repo(tmp_path / "work")
    spec = str(write_spec(work))
    assert main(["start", spec, "--repo", str(work)]) == 0
    assert main(["resume", spec, "--repo", str(work)]) == 1
    assert "is not paused" in capsys.readouterr().err


# --- status --watch --------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(("last", "code"), [("completed", EXIT_OK), ("aborted", EXIT_FAILURE)])
def test_watch_reads_until_the_rollout_ends_and_says_how(last: str, code: int) -> None:
    phases = iter(["none", "progressing", "waiting", last])
    drawn: list[str] = []
    fake = FakeTime()
    ended = watch(
        lambda: [{"release": "prod/web", "phase": next(phases)}],
        lambda rows: drawn.append(rows[0]["phase"]),
        interval=3,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    assert ended == code and drawn == ["none", "progressing", "waiting", last] and fake.slept == [3, 3, 3]


def test_watch_times_out_with_its_own_exit_code() -> None:
    fake = FakeTime()
    with pytest.raises(TimedOut, match="timed out after 5s waiting for prod/web progressing") as raised:
        watch(
            lambda: [{"release": "prod/web", "phase": "progressing"}],
            lambda rows: None,
            interval=2,
            timeout=5,
            clock=fake.clock,
            sleep=fake.sleep,
        )
    assert raised.value.exit_code == 4 and fake.slept == [2, 2, 1]


def rollgen_status(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rollgen", "status", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_watch_from_the_command_line_takes_no_number_and_exits_as_the_rollout_ended(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "work")
    spec = str(write_spec(work))
    assert main(["start", spec, "--repo", str(work)]) == 0
    # In progress: the bounded watch gives up with exit 4, having printed plain lines (piped). Go durations.
    run = rollgen_status("--watch", spec, "--repo", str(work), "--interval", "200ms", "--timeout", "1s")
    assert run.returncode == 4, run.stderr
    assert "timed out after 1s" in run.stderr and "\x1b[" not in run.stdout
    assert run.stdout.startswith("prod/web: progressing at step 1/")
    assert main(["abort", spec, "--repo", str(work), "--now"]) == 0
    run = rollgen_status(spec, "--repo", str(work), "--watch")
    assert run.returncode == 1 and "aborted at step 0/" in run.stdout
    assert rollgen_status(spec, "--repo", str(work), "--interval", "1").returncode == 2


def test_watch_redraws_in_place_on_a_terminal(tmp_path: Path) -> None:
    import os
    import pty

    work = make_repo(tmp_path / "work")
    spec = str(write_spec(work))
    assert main(["start", spec, "--repo", str(work)]) == 0
    watching = ("--watch", "--interval", "0.2", "--timeout", "1")  # bare numbers count seconds
    leader, follower = pty.openpty()
    try:
        run = subprocess.run(
            [sys.executable, "-m", "rollgen", "status", spec, "--repo", str(work), *watching],
            stdout=follower,
            check=False,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: all read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert run.returncode == 4
    text = seen.decode()
    assert text.count("prod/web: progressing at step 1/") >= 2  # drawn again...
    assert "\x1b[1F\x1b[J" in text  # ...over the last view, not below it


# --- paths and help --------------------------------------------------------------------------


def test_path_errors_name_the_path_tried(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    run = rollgen_status("--repo", str(missing))
    assert run.returncode == 2 and f"{missing}: no such directory" in run.stderr and "PosixPath" not in run.stderr
    outside = tmp_path / "outside"
    outside.mkdir()
    run = rollgen_status(cwd=outside)
    assert run.returncode == 2 and f"{outside} is not in a git repository" in run.stderr


def test_every_commands_help_runs_and_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    from rollgen.cli import COMMANDS

    for name, (_, description, _, _) in COMMANDS.items():
        assert main([name, "--help"]) == 0
        assert " ".join(description.split()[:6]) in " ".join(capsys.readouterr().out.split())
    assert main(["status", "--help"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "--watch" in said and "exit 0 all completed, 1 any aborted, 4 on --timeout" in said
    assert main(["render", "--help"]) == 0
    assert "step-00/ ... step-NN/" in " ".join(capsys.readouterr().out.split())


def test_runs_display_shows_each_gates_last_message_a_hold_and_the_walk_back() -> None:
    from rollgen.cli.progress import frame
    from rollgen.controller.advance import Pass
    from rollgen.controller.decision import GateView, Judgement, WaitUntil
    from rollgen.gates.analysis import GateVerdict, Measurement, Phase
    from rollgen.gitops.trailers import Action
    from rollgen.rollout.state import RolloutPhase, RolloutState

    common = {"release": "prod/web", "rollout": "r1", "steps": 5, "from_label": "1.0", "to_label": "1.1"}
    gating = RolloutState(
        **common, step=2, action=Action.ADVANCE, phase=RolloutPhase.PROGRESSING, plan="d", commit="c" * 40,
        since=0, plan_step=None, paused_at=10,
    )  # fmt: skip
    error = Measurement(Phase.ERROR, None, "GET http://127.0.0.1:9/healthz: connection refused", 5.0)
    judged = Judgement(WaitUntil("", 15.0), (GateView("1:analysis", "healthz", GateVerdict(Phase.RUNNING, "", 15.0)),))
    shown = frame(
        Pass(state=gating, after=gating, judgement=judged, committed=False, records={"1:analysis/healthz": (error,)}),
        now=6.0,
    )
    assert "[progressing, PAUSED]" in shown.lines[0]
    assert "last Error: GET http://127.0.0.1:9/healthz: connection refused" in shown.lines[1]
    back = RolloutState(
        **common, step=4, action=Action.ABORT, phase=RolloutPhase.ABORTING, plan="d", commit="c" * 40, since=0,
        plan_step=None, walk_back=(2, 5), reason="gate healthz: Error",
    )  # fmt: skip
    shown = frame(Pass(state=back, after=back, judgement=None, committed=False, records={}), now=0.0)
    assert shown.lines[1] == "  walking back: 2 of 5 commits, because gate healthz: Error"
