from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollgen.errors import UsageError
from rollgen.plan.model import Plan, State, Step, Workload
from rollgen.plan.steps import WAVES_RESTARTS_GATE, abort_states, canary_steps, initial_state, plan_release
from rollgen.spec.model import (
    Analysis,
    BlueGreen,
    Canary,
    CanaryStep,
    IntOrPercent,
    KustomizeSource,
    Pause,
    Recreate,
    Release,
    RollingUpdate,
    SetCanaryScale,
    SetWeight,
    Strategy,
    Traffic,
    Waves,
)

STABLE, NEW = "6.4.0", "6.5.0"


def release(strategy: Strategy, replicas: int = 10) -> Release:
    return Release(
        "podinfo",
        "prod",
        replicas,
        "ghcr.io/stefanprodan/podinfo",
        STABLE,
        NEW,
        KustomizeSource("base"),
        "out",
        strategy,
    )


def canary(
    *steps: CanaryStep, surge: IntOrPercent = 1, unavailable: IntOrPercent = 0, traffic: Traffic = "replicas"
) -> Canary:
    return Canary(max_surge=surge, max_unavailable=unavailable, traffic=traffic, steps=steps)


def pods(state: State) -> tuple[int, int]:
    """(stable, new) pods of a state."""
    return state.replicas(STABLE), state.replicas(NEW)


def counts(state: State) -> dict[str, int]:
    return {w.version: w.replicas for w in state.workloads}


def available(before: State, after: State) -> int:
    """Pods that stay available when ``after`` is applied over ``before`` all at once (test oracle)."""
    a, b = counts(before), counts(after)
    return sum(min(n, b.get(version, 0)) for version, n in a.items())


def running(before: State, after: State) -> int:
    """Pods that may run while ``after`` is applied over ``before``, growth first (test oracle)."""
    a, b = counts(before), counts(after)
    return sum(max(a.get(version, 0), b.get(version, 0)) for version in {*a, *b})


def expected_bounds(replicas: int, surge: IntOrPercent, unavailable: IntOrPercent) -> tuple[int, int]:
    """Argo Rollouts' resolution, written out again so the planner is checked against it, not against itself."""
    s = math.ceil(replicas * int(surge[:-1]) / 100) if isinstance(surge, str) else surge
    u = math.floor(replicas * int(unavailable[:-1]) / 100) if isinstance(unavailable, str) else unavailable
    return s, (1 if s == u == 0 else u)


def spec_steps(plan: Plan) -> list[Step]:
    """The commits the spec asked for (not the inserted surge/drain ones, nor promotion and cleanup)."""
    return [s for s in plan.steps if s.action in ("setWeight", "setCanaryScale")]


# --- canary by replica ratio: a commented table of concrete plans -------------------------------
#
# (replicas, maxSurge, maxUnavailable, weights) -> (stable, canary) at each setWeight commit.
# Counts follow Argo Rollouts' basic canary; with surge, a total of replicas+1 is a candidate.
RATIO_CASES = [
    # 10 pods, surge 1: 25% is 3 of 11 (27.3%) rather than 3 of 10; 50% is exact; 75% is 8 of 11.
    (10, 1, 0, (25, 50, 75), [(8, 3), (5, 5), (3, 8)]),
    # Without surge 15% is 1.5 pods: the ceiling wins the tie (2/8); 50% of 3 is 2/1 (ceiling).
    (10, 0, 1, (15,), [(8, 2)]),
    (3, 0, 1, (50,), [(1, 2)]),
    # One pod and no surge: 49% keeps it stable; 100% moves it.
    (1, 0, 1, (49, 100), [(1, 0), (0, 1)]),
    # Two pods, surge 1: 1% still gets one canary pod, over 3 pods.
    (2, 1, 0, (1,), [(2, 1)]),
    # Percent bounds: 25% of 4 -> surge 1, unavailable 1.
    (4, "25%", "25%", (50,), [(2, 2)]),
    # Both zero -> unavailable 1 (pods move one at a time).
    (5, 0, 0, (20, 60), [(4, 1), (2, 3)]),
]


@pytest.mark.parametrize(("replicas", "surge", "unavailable", "weights", "expected"), RATIO_CASES)
def test_ratio_canary_table(
    replicas: int,
    surge: IntOrPercent,
    unavailable: IntOrPercent,
    weights: Sequence[int],
    expected: list[tuple[int, int]],
) -> None:
    plan = plan_release(
        release(canary(*(SetWeight(w) for w in weights), surge=surge, unavailable=unavailable), replicas)
    )
    asked = spec_steps(plan)
    assert [pods(s.state) for s in asked] == expected
    assert [s.set_weight for s in asked] == list(weights)
    for step in asked:
        stable, new = pods(step.state)
        assert step.weight == pytest.approx(100 * new / (stable + new))
    # Only the planner's own moves sit between them, and the rollout ends promoted and cleaned up.
    assert {s.action for s in plan.steps} <= {"setWeight", "surge", "drain", "promote", "cleanup"}
    assert plan.steps[-1].action == "cleanup"


def test_ratio_canary_four_pods_half_way_in_full() -> None:
    # 4 pods, surge 1, unavailable 0: never more than 5 pods, never fewer than 4 available,
    # so every move is one pod: up, down, up, down.
    plan = plan_release(release(canary(SetWeight(50), Pause(None)), 4))
    assert [(s.action, pods(s.state)) for s in plan.steps] == [
        ("surge", (4, 1)),
        ("drain", (3, 1)),
        ("surge", (3, 2)),
        ("setWeight", (2, 2)),
        ("surge", (2, 3)),
        ("drain", (1, 3)),
        ("surge", (1, 4)),
        ("promote", (0, 4)),
        ("cleanup", (0, 4)),
    ]
    assert [s.index for s in plan.steps] == list(range(1, 10))
    assert all(s.min_available == 4 for s in plan.steps)
    assert plan.steps[-1].state == State((Workload(NEW, "podinfo-6-5-0", 4),))
    assert (plan.max_surge, plan.max_unavailable, plan.traffic) == (1, 0, "replicas")


def test_waits_judge_the_last_commit_of_their_step() -> None:
    ten_minutes, gates = Pause(600.0), Analysis(("success-rate",))
    plan = plan_release(release(canary(SetWeight(25), ten_minutes, gates, SetWeight(50))))
    [first, second] = spec_steps(plan)
    assert first.after == (ten_minutes, gates)
    assert second.after == ()
    assert all(s.after == () for s in plan.steps if s.action in ("surge", "drain"))
    # The first spec step needed a surge commit before it: the waits did not go there.
    assert plan.steps[0].action == "surge"


def test_waits_before_any_weight_judge_the_first_commit() -> None:
    hold = Pause(None)
    plan = plan_release(release(canary(hold, SetWeight(50), surge=0, unavailable=5)))
    assert plan.steps[0].after == (hold,)


def test_a_step_on_the_same_pods_warns_and_keeps_its_place_and_waits() -> None:
    gates = Analysis(("success-rate",))
    plan = plan_release(release(canary(SetWeight(10), SetWeight(14), gates)))
    first, second = spec_steps(plan)
    assert pods(first.state) == pods(second.state) == (9, 1)
    assert second.index == first.index + 1 and second.after == (gates,)
    assert len(plan.warnings) == 1
    assert f"step {second.index} (setWeight 14)" in plan.warnings[0]


def test_a_first_weight_that_moves_no_pod_warns() -> None:
    # One pod and no surge: 49% leaves it stable, the same pods as before the rollout.
    plan = plan_release(release(canary(SetWeight(49), SetWeight(100), surge=0, unavailable=1), 1))
    assert [w.split(" lands")[0] for w in plan.warnings] == ["step 1 (setWeight 49)"]


def test_weights_on_different_pods_do_not_warn() -> None:
    assert plan_release(release(canary(SetWeight(10), SetWeight(20)))).warnings == ()


def test_set_canary_scale_moves_exactly_that_many_pods() -> None:
    plan = plan_release(release(canary(SetCanaryScale(2), SetWeight(50))))
    scaled = next(s for s in plan.steps if s.action == "setCanaryScale")
    assert pods(scaled.state) == (8, 2) and scaled.set_weight is None and scaled.weight == 20.0


def test_weight_100_is_the_promotion() -> None:
    plan = plan_release(release(canary(SetWeight(100), surge=10, unavailable=10)))
    assert [(s.action, pods(s.state)) for s in plan.steps] == [("setWeight", (0, 10)), ("cleanup", (0, 10))]


# --- property tests over random valid canaries -------------------------------------------------

counts_or_percents = st.one_of(st.integers(0, 6), st.integers(0, 100).map(lambda p: f"{p}%"))


@st.composite
def ratio_releases(draw: st.DrawFn) -> Release:
    replicas = draw(st.integers(1, 30))
    weights = sorted(draw(st.sets(st.integers(1, 100), min_size=1, max_size=6)))
    steps: list[CanaryStep] = []
    for weight in weights:
        steps.append(SetWeight(weight))
        steps += draw(st.lists(st.sampled_from([Pause(60.0), Pause(None), Analysis(("success-rate",))]), max_size=2))
    surge, unavailable = draw(counts_or_percents), draw(counts_or_percents)
    return release(canary(*steps, surge=surge, unavailable=unavailable), replicas)


@settings(max_examples=200, deadline=None)
@given(ratio_releases())
def test_every_ratio_canary_plan_is_safe(spec: Release) -> None:
    plan = plan_release(spec)
    assert isinstance(spec.strategy, Canary)
    n = spec.replicas
    surge, unavailable = expected_bounds(n, spec.strategy.max_surge, spec.strategy.max_unavailable)
    states = [plan.initial, *(s.state for s in plan.steps)]
    for before, after, step in zip(states, states[1:], plan.steps, strict=False):
        assert running(before, after) <= n + surge
        assert available(before, after) >= n - min(unavailable, n)
        assert step.min_available == available(before, after)
    weights = [s.weight for s in plan.steps]
    assert weights == sorted(weights)
    assert plan.steps[-1].state == State((Workload(NEW, "podinfo-6-5-0", n),))
    assert [s.index for s in plan.steps] == list(range(1, len(plan.steps) + 1))
    # Every spec weight has its commit, in order, carrying the weight asked.
    asked = [s.weight for s in spec.strategy.steps if isinstance(s, SetWeight)]
    assert [s.set_weight for s in spec_steps(plan)] == asked
    # Every wait the spec wrote is somewhere, in order.
    waits = [s for s in spec.strategy.steps if isinstance(s, (Pause, Analysis))]
    assert [w for s in plan.steps for w in s.after] == waits


@settings(max_examples=150, deadline=None)
@given(ratio_releases(), st.data())
def test_aborting_a_ratio_canary_is_safe_and_exact(spec: Release, data: st.DataObject) -> None:
    plan = plan_release(spec)
    assert isinstance(spec.strategy, Canary)
    n = spec.replicas
    surge, unavailable = expected_bounds(n, spec.strategy.max_surge, spec.strategy.max_unavailable)
    at = data.draw(st.integers(1, len(plan.steps)))
    back = abort_states(plan, at)
    assert back[-1] == plan.initial
    states = [plan.steps[at - 1].state, *back]
    for before, after in itertools.pairwise(states):
        assert before != after
        assert running(before, after) <= n + surge
        assert available(before, after) >= n - min(unavailable, n)


ROUTED: tuple[Traffic, ...] = ("istio", "gatewayAPI")


@st.composite
def routed_releases(draw: st.DrawFn) -> Release:
    replicas = draw(st.integers(1, 30))
    steps: list[CanaryStep] = [SetWeight(w) for w in sorted(draw(st.sets(st.integers(1, 100), min_size=1, max_size=6)))]
    return release(canary(*steps, traffic=draw(st.sampled_from(ROUTED))), replicas)


@settings(max_examples=100, deadline=None)
@given(routed_releases())
def test_routed_weights_rise_only_onto_running_pods(spec: Release) -> None:
    plan = plan_release(spec)
    n = spec.replicas
    states = [plan.initial, *(s.state for s in plan.steps)]
    for before, after in itertools.pairwise(states):
        weight = dict(after.weights).get(NEW, 0)
        if weight > dict(before.weights).get(NEW, 0):
            # The pods that carry the new weight were already up in the commit before.
            assert before.replicas(NEW) >= math.ceil(n * weight / 100)
            assert before.replicas(NEW) == after.replicas(NEW)
        assert sum(w for _, w in after.weights) == 100
        # The stable keeps every pod until nothing routes to it.
        assert after.replicas(STABLE) == n or dict(after.weights).get(STABLE, 0) == 0
    assert [s.weight for s in plan.steps] == sorted(s.weight for s in plan.steps)
    assert plan.steps[-1].state == State((Workload(NEW, "podinfo-6-5-0", n),), weights=((NEW, 100),))
    for at in range(1, len(plan.steps) + 1):
        back = [plan.steps[at - 1].state, *abort_states(plan, at)]
        assert back[-1] == plan.initial
        for before, after in itertools.pairwise(back):
            # Traffic returns to the stable only once it runs in full, and it stays full.
            if dict(after.weights).get(STABLE, 0) > dict(before.weights).get(STABLE, 0):
                assert before.replicas(STABLE) == n
            assert after.replicas(STABLE) == n


# --- canary with traffic routing ---------------------------------------------------------------


def test_istio_canary_scales_before_each_weight() -> None:
    # 10 pods: 25% needs ceil(2.5) = 3 canary pods, 50% 5, 75% 8; the stable keeps 10 throughout.
    plan = plan_release(release(canary(SetWeight(25), Pause(600.0), SetWeight(50), SetWeight(75), traffic="istio")))
    assert [(s.action, pods(s.state), s.state.weights) for s in plan.steps] == [
        ("scale", (10, 3), ((STABLE, 100), (NEW, 0))),
        ("setWeight", (10, 3), ((STABLE, 75), (NEW, 25))),
        ("scale", (10, 5), ((STABLE, 75), (NEW, 25))),
        ("setWeight", (10, 5), ((STABLE, 50), (NEW, 50))),
        ("scale", (10, 8), ((STABLE, 50), (NEW, 50))),
        ("setWeight", (10, 8), ((STABLE, 25), (NEW, 75))),
        ("scale", (10, 10), ((STABLE, 25), (NEW, 75))),
        ("promote", (10, 10), ((STABLE, 0), (NEW, 100))),
        ("cleanup", (0, 10), ((NEW, 100),)),
    ]
    assert plan.steps[1].after == (Pause(600.0),)
    assert plan.initial.weights == ((STABLE, 100),)
    assert (plan.max_surge, plan.max_unavailable) == (None, None)


def test_routed_weight_on_pods_already_running_is_one_commit() -> None:
    # 10% and 5% of 10 pods both need 1 pod: the second weight is a commit of its own, no scale first.
    plan = plan_release(release(canary(SetWeight(5), SetWeight(10), traffic="gatewayAPI")))
    assert [s.action for s in plan.steps[:3]] == ["scale", "setWeight", "setWeight"]
    assert plan.warnings == ()


def test_routed_abort_after_cleanup_brings_the_stable_back_first() -> None:
    plan = plan_release(release(canary(SetWeight(50), traffic="istio")))
    back = abort_states(plan, len(plan.steps))
    assert [(pods(s), s.weights) for s in back] == [
        ((10, 10), ((NEW, 100),)),
        ((10, 10), ((STABLE, 100), (NEW, 0))),
        ((10, 0), ((STABLE, 100),)),
    ]
    assert back[-1] == plan.initial


# --- blue/green, rolling update, recreate ------------------------------------------------------


def test_blue_green_previews_then_switches_then_removes_blue() -> None:
    smoke, soak = Analysis(("smoke",)), Analysis(("soak",))
    strategy = BlueGreen(
        preview_service="podinfo-preview",
        auto_promotion_enabled=False,
        preview_replica_count=2,
        pre_promotion_analysis=smoke,
        post_promotion_analysis=soak,
        scale_down_delay_seconds=60,
    )
    plan = plan_release(release(strategy, 4))
    assert plan.initial == State((Workload(STABLE, "podinfo-6-4-0", 4),), service_version=STABLE)
    assert [
        (s.action, pods(s.state), s.state.service_version, s.state.preview_version, s.after) for s in plan.steps
    ] == [
        ("preview", (4, 2), STABLE, NEW, (smoke, Pause(None))),
        ("scale", (4, 4), STABLE, NEW, ()),
        ("switch", (4, 4), NEW, NEW, (soak, Pause(60.0))),
        ("cleanup", (0, 4), NEW, None, ()),
    ]
    assert [s.weight for s in plan.steps] == [0.0, 0.0, 100.0, 100.0]
    assert [s.min_available for s in plan.steps] == [4, 6, 8, 4]


def test_blue_green_auto_promotion_seconds_and_no_preview_service() -> None:
    plan = plan_release(release(BlueGreen(auto_promotion_seconds=300, scale_down_delay_seconds=0), 3))
    assert [(s.action, s.state.preview_version, s.after) for s in plan.steps] == [
        ("preview", None, (Pause(300.0),)),
        ("switch", None, ()),
        ("cleanup", None, ()),
    ]


def test_blue_green_abort_after_cleanup_restores_blue_then_switches_back() -> None:
    plan = plan_release(release(BlueGreen(preview_service="preview"), 3))
    back = abort_states(plan, len(plan.steps))
    assert [(pods(s), s.service_version, s.preview_version) for s in back] == [
        ((3, 3), NEW, None),
        ((3, 3), STABLE, None),
        ((3, 0), STABLE, None),
    ]
    assert back[-1] == plan.initial
    assert [pods(s) for s in abort_states(plan, 1)] == [(3, 0)]


def test_rolling_update_is_one_commit_to_one_unversioned_deployment() -> None:
    plan = plan_release(release(RollingUpdate(max_surge=1, max_unavailable=0, analysis=Analysis(("smoke",))), 3))
    assert plan.initial == State((Workload(STABLE, "podinfo", 3),))
    [step] = plan.steps
    assert step.state == State((Workload(NEW, "podinfo", 3),))
    assert step.min_available == 3 and step.after == (Analysis(("smoke",)),)
    assert "at most 4 run and at least 3 stay available" in step.note
    assert "nothing controls which version serves" in step.note
    assert abort_states(plan, 1) == (plan.initial,)


def test_recreate_removes_then_creates_and_says_so() -> None:
    plan = plan_release(release(Recreate(analysis=Analysis(("smoke",))), 3))
    assert [(s.action, s.state.workloads, s.min_available) for s in plan.steps] == [
        ("remove", (), 0),
        ("create", (Workload(NEW, "podinfo-6-5-0", 3),), 0),
    ]
    assert "downtime starts" in plan.steps[0].note and "downtime ends" in plan.steps[1].note
    assert plan.steps[1].after == (Analysis(("smoke",)),)
    assert abort_states(plan, 1) == (plan.initial,)


@pytest.mark.parametrize(
    "strategy",
    [
        canary(SetWeight(30)),
        canary(SetWeight(30), traffic="istio"),
        BlueGreen(preview_service="preview"),
        RollingUpdate(),
        Recreate(),
    ],
)
def test_a_rollout_ends_where_the_next_one_starts(strategy: Strategy) -> None:
    # The final state is the pre-rollout state of the next release (6.5.0 -> 6.6.0), so
    # the rendered files of one rollout's end and the next one's start are the same.
    plan = plan_release(release(strategy, 3))
    following = Release("podinfo", "prod", 3, "img", NEW, "6.6.0", KustomizeSource("base"), "out", strategy)
    assert plan.steps[-1].state == initial_state(following)
    assert plan.initial == initial_state(release(strategy, 3))


def test_abort_outside_the_plan_is_rejected() -> None:
    plan = plan_release(release(Recreate(), 3))
    for at in (0, 3):
        with pytest.raises(UsageError, match="the plan has steps 1 to 2"):
            abort_states(plan, at)


# --- shorthands --------------------------------------------------------------------------------


def test_step_weight_up_to_max_weight_with_analysis_after_each() -> None:
    gates = Analysis(("success-rate",))
    steps = canary_steps(Canary(step_weight=10, max_weight=35, analysis=gates), 10)
    assert steps == (SetWeight(10), gates, SetWeight(20), gates, SetWeight(30), gates)


def test_step_weights_list() -> None:
    assert canary_steps(Canary(step_weights=(5, 50)), 10) == (SetWeight(5), SetWeight(50))


def test_waves_one_pod_then_equal_waves_with_restart_checks() -> None:
    gates = Analysis(("success-rate",))
    steps = canary_steps(Canary(waves=Waves(count=3, restart_limit=2), analysis=gates), 10)
    restarts = Analysis((WAVES_RESTARTS_GATE,))
    assert steps == tuple(s for n in (1, 4, 7, 10) for s in (SetCanaryScale(n), restarts, gates))
    plan = plan_release(release(Canary(max_surge=1, max_unavailable=0, waves=Waves(count=3)), 10))
    assert [pods(s.state) for s in spec_steps(plan)] == [(9, 1), (6, 4), (3, 7), (0, 10)]
    assert all(s.after == (restarts,) for s in spec_steps(plan))
    assert plan.steps[-1].action == "cleanup" and plan.steps[-2].action == "setCanaryScale"


def test_bad_bounds_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match="maxSurge must be"):
        plan_release(release(canary(SetWeight(10), surge="25")))


@settings(max_examples=100, deadline=None)
@given(ratio_releases())
def test_the_plan_digest_is_the_one_every_recorded_commit_was_made_with(spec: Release) -> None:
    # Commits record plan digests: a digest computed differently would read every rollout as re-planned.
    plan = plan_release(spec)
    canonical = json.dumps(dataclasses.asdict(plan), sort_keys=True, separators=(",", ":"), default=str)
    assert plan.digest() == hashlib.sha256(canonical.encode()).hexdigest()[:16]
