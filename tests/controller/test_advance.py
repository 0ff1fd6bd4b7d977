"""The controller's pure decision, one tick at a time: measurements so far + now -> verdict."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

import testkit.git
from rollgen.cli.progress import Display
from rollgen.controller.advance import Pass
from rollgen.controller.decision import (
    LIVE,
    Abort,
    Advance,
    Decision,
    Hold,
    Measure,
    WaitUntil,
    decide,
    gate_named,
    record_key,
    stages_of,
)
from rollgen.errors import UsageError
from rollgen.gates.analysis import Measurement, MeasurementPolicy, Phase
from rollgen.gitops.trailers import Action
from rollgen.plan.model import State, Step
from rollgen.plan.steps import WAVES_RESTARTS_GATE
from rollgen.rollout.state import RolloutPhase, RolloutState
from rollgen.spec.model import (
    Analysis,
    Canary,
    Gate,
    GitSettings,
    KustomizeSource,
    Pause,
    Release,
    Waves,
)

ARGO = Gate("synced", "argocd", {"application": "podinfo"}, MeasurementPolicy(interval=1.0))
RATE = Gate(
    "success-rate",
    "prometheus",
    {"address": "http://p", "query": "q"},
    MeasurementPolicy(interval=10.0, count=3, failure_limit=1),
)
SMOKE = Gate("smoke", "http", {"url": "http://x"}, MeasurementPolicy(inconclusive_limit=0))


def release(*gates: Gate, waves: Waves | None = None, assume: float | None = None) -> Release:
    """A release with ``gates``; ``assume`` is its spec.liveness.assumeAfter (0: no wait, for specs without one)."""
    strategy = Canary(waves=waves) if waves else Canary()
    return Release(
        "podinfo",
        "prod",
        4,
        "podinfo",
        "1.0",
        "2.0",
        KustomizeSource("base"),
        "out",
        strategy,
        gates=gates,
        liveness_assume_after=assume,
    )


def step(*after: Analysis | Pause) -> Step:
    return Step(1, "setWeight", State(()), 25.0, 4, 25, tuple(after))


def m(phase: Phase, at: float) -> Measurement:
    return Measurement(phase, None, phase.value.lower(), at)


S, F, P, I, E = Phase.SUCCESSFUL, Phase.FAILED, Phase.PENDING, Phase.INCONCLUSIVE, Phase.ERROR  # noqa: E741 - one letter per phase keeps the table readable
T0 = 1000.0  # the step's commit time

# (name, gates, step waits, measurements by stage/gate, now, deadline, expected decision)
CASES: list[
    tuple[
        str, tuple[Gate, ...], tuple[Analysis | Pause, ...], dict[str, list[Measurement]], float, float | None, Decision
    ]
] = [
    ("nothing to judge: advance at once", (), (), {}, T0, None, Advance()),
    ("liveness first: not measured yet", (ARGO,), (), {}, T0, None, Measure(LIVE, ("synced",), T0)),
    (
        "not synced yet: look again after the gate's interval",
        (ARGO,),
        (),
        {"live/synced": [m(P, T0)]},
        T0 + 0.5,
        None,
        WaitUntil("synced: 0 of 1 measured; waiting: pending", T0 + 1),
    ),
    (
        "not synced, re-check due",
        (ARGO,),
        (),
        {"live/synced": [m(P, T0)]},
        T0 + 1,
        None,
        Measure(LIVE, ("synced",), T0),
    ),
    (
        "stuck sync past progressDeadline aborts",
        (ARGO,),
        (),
        {"live/synced": [m(P, T0 + 9)]},
        T0 + 10,
        T0 + 10,
        Abort("progressDeadline passed before the step was live (synced: 0 of 1 measured; waiting: pending)"),
    ),
    (
        "a wait never sleeps past the deadline",
        (ARGO,),
        (),
        {"live/synced": [m(P, T0 + 9.5)]},
        T0 + 9.6,
        T0 + 10,
        WaitUntil("synced: 0 of 1 measured; waiting: pending", T0 + 10),
    ),
    ("live: advance", (ARGO,), (), {"live/synced": [m(P, T0), m(S, T0 + 1)]}, T0 + 1, None, Advance()),
    (
        "degraded sync aborts",
        (ARGO,),
        (),
        {"live/synced": [m(F, T0 + 1)]},
        T0 + 1,
        None,
        Abort("gate synced: failed: 1 failed measurements > failureLimit 0 (last: Failed: failed)"),
    ),
    (
        "the deadline does not bound analysis",
        (ARGO, RATE),
        (Analysis(("success-rate",)),),
        {"live/synced": [m(S, T0 + 1)], "1:analysis/success-rate": [m(S, T0 + 1)]},
        T0 + 500,
        T0 + 10,
        Measure("1:analysis", ("success-rate",), T0 + 1),
    ),
    (
        "analysis starts when the step went live",
        (ARGO, RATE),
        (Analysis(("success-rate",)),),
        {"live/synced": [m(S, T0 + 4)]},
        T0 + 4,
        None,
        Measure("1:analysis", ("success-rate",), T0 + 4),
    ),
    (
        "running analysis waits for its interval",
        (RATE,),
        (Analysis(("success-rate",)),),
        {"1:analysis/success-rate": [m(S, T0)]},
        T0 + 3,
        None,
        WaitUntil("success-rate: 1 of 3 measured (last: Successful: successful)", T0 + 10),
    ),
    (
        "one failure within failureLimit keeps going",
        (RATE,),
        (Analysis(("success-rate",)),),
        {"1:analysis/success-rate": [m(F, T0), m(S, T0 + 10)]},
        T0 + 20,
        None,
        Measure("1:analysis", ("success-rate",), T0),
    ),
    (
        "a flapping metric past failureLimit aborts",
        (RATE,),
        (Analysis(("success-rate",)),),
        {"1:analysis/success-rate": [m(F, T0), m(S, T0 + 10), m(F, T0 + 20)]},
        T0 + 20,
        None,
        Abort("gate success-rate: failed: 2 failed measurements > failureLimit 1 (last: Failed: failed)"),
    ),
    (
        "inconclusive holds for a human",
        (SMOKE,),
        (Analysis(("smoke",)),),
        {"1:analysis/smoke": [m(I, T0)]},
        T0,
        None,
        Hold(
            "gate smoke: inconclusive: 1 inconclusive measurements > inconclusiveLimit 0 (last: Inconclusive: inconclusive)"
        ),
    ),
    (
        "five errors in a row abort",
        (SMOKE,),
        (Analysis(("smoke",)),),
        {"1:analysis/smoke": [m(E, T0 + i) for i in range(5)]},
        T0 + 5,
        None,
        Abort("gate smoke: error: 5 errors in a row > consecutiveErrorLimit 4 (last: Error: error)"),
    ),
    (
        "gates of one analysis are measured together",
        (RATE, SMOKE),
        (Analysis(("success-rate", "smoke")),),
        {},
        T0,
        None,
        Measure("1:analysis", ("success-rate", "smoke"), T0),
    ),
    (
        "failure wins over a gate still running",
        (RATE, SMOKE),
        (Analysis(("success-rate", "smoke")),),
        {"1:analysis/smoke": [m(F, T0)]},
        T0,
        None,
        Abort("gate smoke: failed: 1 failed measurements > failureLimit 0 (last: Failed: failed)"),
    ),
    (
        "pause with a duration counts from the commit",
        (),
        (Pause(60.0),),
        {},
        T0 + 10,
        None,
        WaitUntil("paused for 60s", T0 + 60),
    ),
    ("pause over: advance", (), (Pause(60.0),), {}, T0 + 60, None, Advance()),
    (
        "pause {} waits for rollgen promote",
        (),
        (Pause(None),),
        {},
        T0 + 10**6,
        None,
        WaitUntil("paused until `rollgen promote`", None),
    ),
    (
        "a pause after analysis starts when the analysis ended",
        (SMOKE,),
        (Analysis(("smoke",)), Pause(30.0)),
        {"1:analysis/smoke": [m(S, T0 + 5)]},
        T0 + 31,
        None,
        WaitUntil("paused for 30s", T0 + 35),
    ),
    (
        "the same gate in two waits is measured twice",
        (SMOKE,),
        (Analysis(("smoke",)), Pause(1.0), Analysis(("smoke",))),
        {"1:analysis/smoke": [m(S, T0)]},
        T0 + 1,
        None,
        Measure("3:analysis", ("smoke",), T0 + 1),
    ),
]


@pytest.mark.parametrize(
    ("gates", "after", "records", "now", "deadline", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide(
    gates: tuple[Gate, ...],
    after: tuple[Analysis | Pause, ...],
    records: dict[str, Sequence[Measurement]],
    now: float,
    deadline: float | None,
    expected: Decision,
) -> None:
    stages = stages_of(release(*gates, assume=0.0), step(*after))  # 0 s: no effect beside a liveness gate
    assert decide(stages, records, T0, now, deadline).decision == expected


def test_in_pull_request_mode_the_merge_is_the_promote() -> None:
    waits = step(Pause(None), Analysis(("success-rate",)), Pause(5.0))
    commit_mode = [s.key for s in stages_of(release(RATE, assume=0.0), waits)]
    assert commit_mode == [LIVE, "1:pause", "2:analysis", "3:pause"]
    pull_requests = replace(release(RATE, assume=0.0), git=GitSettings(mode="pull-request"))
    assert [s.key for s in stages_of(pull_requests, waits)] == [LIVE, "2:analysis", "3:pause"]  # a timed pause waits


ASSUMED = [
    # (what, now after the commit, the decision)
    ("just committed: waits the whole assumeAfter", 0.0, "wait", T0 + 120),
    ("a second before: still waits", 119.0, "wait", T0 + 120),
    ("at assumeAfter: live, then the step's pause", 120.0, "wait", T0 + 120 + 30),
    ("past both: advance", 150.0, "advance", None),
]


@pytest.mark.parametrize(("what", "after", "kind", "until"), ASSUMED, ids=[c[0] for c in ASSUMED])
def test_assume_after_is_a_wait_after_the_commit_that_nothing_skips(
    what: str, after: float, kind: str, until: float | None
) -> None:
    stages = stages_of(release(RATE, assume=120.0), step(Pause(30.0)))
    decision = decide(stages, {}, T0, T0 + after, T0 + 10).decision  # a progressDeadline does not cut it short
    if kind == "advance":
        assert decision == Advance()
    else:
        assert isinstance(decision, WaitUntil) and decision.until == until
    # An abort state waits for the same proof of liveness before the next one.
    back = decide(stages_of(release(RATE, assume=120.0), None, liveness_only=True), {}, T0, T0 + after, None)
    assert isinstance(back.decision, WaitUntil) == (after < 120.0)


def test_without_a_liveness_gate_or_assume_after_no_stage_is_laid_out() -> None:
    with pytest.raises(UsageError, match="assumeAfter"):
        stages_of(release(RATE), step())
    # a liveness gate needs no assumeAfter
    assert [s.key for s in stages_of(release(ARGO), step())] == [LIVE]


def test_a_rollout_ticks_through_liveness_analysis_and_a_pause() -> None:
    """Feed decide its own answers, one tick at a time, as the controller does."""
    stages = stages_of(release(ARGO, RATE), step(Analysis(("success-rate",)), Pause(5.0)))
    records: dict[str, list[Measurement]] = {}
    now, seen = T0, []
    answers = {LIVE: [P, P, S], "1:analysis": [S, F, S]}
    for _ in range(20):
        decision = decide(stages, records, T0, now, T0 + 30).decision
        seen.append(type(decision).__name__)
        if isinstance(decision, Measure):
            for gate in decision.gates:
                records.setdefault(record_key(decision.stage, gate), []).append(m(answers[decision.stage].pop(0), now))
        elif isinstance(decision, WaitUntil):
            assert decision.until is not None
            now = decision.until
        else:
            break
    assert decision == Advance()
    assert now == T0 + 2 + 20 + 5  # live after 2 s, three measurements 10 s apart, then the pause
    assert seen == ["Measure", "WaitUntil"] * 2 + ["Measure"] + ["Measure", "WaitUntil"] * 3 + ["Advance"]


def test_liveness_gates_are_the_cluster_kinds_and_need_one_success() -> None:
    flux = Gate(
        "flux", "flux", {"name": "apps"}, MeasurementPolicy(interval=2.0)
    )  # no count: would measure until failure
    stages = stages_of(release(flux, RATE, SMOKE), step(Analysis(("smoke",))))
    assert [(s.key, [g.gate.name for g in s.gates]) for s in stages] == [(LIVE, ["flux"]), ("1:analysis", ["smoke"])]
    assert stages[0].gates[0].policy.effective_count == 1
    assert stages[0].gates[0].policy.poll_interval == 2.0
    assert [s.key for s in stages_of(release(flux, RATE), step(Analysis(("success-rate",))), liveness_only=True)] == [
        LIVE
    ]


def test_waves_restart_gate_is_a_kubernetes_gate_with_the_waves_limit() -> None:
    cluster = Gate("pods", "kubernetes", {"kubeconfig": "/k", "restartLimit": 9})
    gate = gate_named(release(cluster, waves=Waves(count=2, restart_limit=2)), WAVES_RESTARTS_GATE)
    assert (gate.kind, dict(gate.config)) == ("kubernetes", {"kubeconfig": "/k", "restartLimit": 2})


# --- the display ----------------------------------------------------------------------------------


def a_pass(decision: Decision, *, measured: int = 1, committed: bool = False) -> Pass:
    stages = stages_of(release(RATE, assume=0.0), step(Analysis(("success-rate",))))
    records = {"1:analysis/success-rate": [m(S, T0 + 10 * i) for i in range(measured)]}
    judged = decide(stages, records, T0, T0, None)
    state = RolloutState(
        release="prod/podinfo",
        rollout="r1",
        step=1,
        steps=3,
        action=Action.START,
        phase=RolloutPhase.PROGRESSING,
        from_label="1.0",
        to_label="2.0",
        plan="d",
        commit="a" * 40,
        since=int(T0),
        plan_step=step(Analysis(("success-rate",))),
    )
    after = replace(state, step=2, action=Action.ADVANCE, commit="b" * 40) if committed else state
    return Pass(state=state, after=after, judgement=replace(judged, decision=decision), committed=committed, records={})


def test_plain_output_prints_changes_only_and_never_a_countdown() -> None:
    out = io.StringIO()
    display = Display(out, live=False)
    display.show(a_pass(WaitUntil("w", T0 + 10)), T0 + 1)
    display.show(a_pass(WaitUntil("w", T0 + 10)), T0 + 2)  # only the countdown moved: nothing printed
    display.show(a_pass(WaitUntil("w", T0 + 20), measured=2), T0 + 11)
    lines = out.getvalue().splitlines()
    assert lines[0] == "podinfo 1.0 -> 2.0  step 1/3 setWeight 25% (new version gets 25%)  [progressing]  @aaaaaaa"
    assert [line.split()[1:4] for line in lines[1:]] == [
        ["success-rate", "Running", "1"],
        ["for", "the", "next"],
        ["success-rate", "Running", "2"],
    ]
    assert "next in" not in out.getvalue()


def test_a_terminal_view_is_redrawn_in_place_with_countdowns() -> None:
    out = io.StringIO()
    display = Display(out, live=True)
    display.show(a_pass(WaitUntil("w", T0 + 10)), T0 + 1)
    display.show(a_pass(WaitUntil("w", T0 + 10)), T0 + 2)
    first, second = out.getvalue().split("\x1b[3F\x1b[J")
    assert "next in 9s" in first and "(9s left)" in first and "next in 8s" in second
    display.show(a_pass(Advance(), committed=True), T0 + 3)
    display.show(a_pass(WaitUntil("w", T0 + 10)), T0 + 4)  # a commit stays on screen: no erase after it
    assert out.getvalue().count("\x1b[J") == 2 and "committed advance -> step 2/3 @bbbbbbb" in out.getvalue()


def test_later_commits_are_the_descendants_of_the_step_on_the_branch(tmp_path: Path) -> None:
    """A merge commit of the step's pull request, and later commits on top, carry the step; side history does not."""
    from rollgen.controller.advance import _later_commits
    from rollgen.gitops.repo import Repo

    git = partial(testkit.git.git, tmp_path)

    git("init", "-q", "-b", "main")
    git("commit", "-q", "--allow-empty", "-m", "base")
    git("checkout", "-q", "-b", "step")
    git("commit", "-q", "--allow-empty", "-m", "the step")
    step = git("rev-parse", "HEAD")
    git("checkout", "-q", "main")
    git("commit", "-q", "--allow-empty", "-m", "another release, before the merge")
    side = git("rev-parse", "HEAD")
    git("merge", "-q", "--no-ff", "-m", "merge the step's pull request", "step")
    merge = git("rev-parse", "HEAD")
    git("commit", "-q", "--allow-empty", "-m", "another release, after the merge")
    tip = git("rev-parse", "HEAD")

    later = _later_commits(Repo.open(tmp_path), step, tip)
    assert later == (tip, merge)
    assert side not in later
    assert _later_commits(Repo.open(tmp_path), step, step) == ()
