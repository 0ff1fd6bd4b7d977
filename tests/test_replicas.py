from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollgen.errors import RollgenError
from rollgen.replicas import (
    Bounds,
    achieved_weight,
    canary_counts,
    max_running,
    min_available,
    resolve_bounds,
    routed_canary_replicas,
    safe_transition,
)

# ---------------------------------------------------------------- resolve_bounds


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "expected"),
    [
        (10, "25%", "25%", Bounds(3, 2)),  # 2.5 pods: surge rounds up, unavailable down
        (10, 1, 0, Bounds(1, 0)),  # plain ints pass through
        (5, 0, "10%", Bounds(0, 1)),  # 0.5 rounds down to 0, both 0 -> unavailable 1
        (10, "0%", "0%", Bounds(0, 1)),  # explicit zeros get the same rescue
        (3, "34%", 0, Bounds(2, 0)),  # 1.02 pods of surge round up to 2
        (3, 0, "34%", Bounds(0, 1)),  # 1.02 pods of unavailable round down to 1
        (10, "150%", 0, Bounds(15, 0)),  # surge may exceed 100%
        (4, 1, 10, Bounds(1, 4)),  # no more pods can be missing than exist
        (4, 0, "200%", Bounds(0, 4)),  # same cap for a percentage
        (0, "25%", "25%", Bounds(0, 0)),  # nothing to run: the rescue 1 is capped to 0
    ],
)
def test_resolve_bounds(replicas: int, surge: int | str, unavailable: int | str, expected: Bounds) -> None:
    assert resolve_bounds(replicas, surge, unavailable) == expected


@pytest.mark.parametrize("bad", ["25", "x%", "-1%", "25.5%", " 25%", "25%%", "", -1, 2.5, True, None])
def test_resolve_bounds_rejects_malformed_values_naming_them(bad: object) -> None:
    # A ReplicaError: a ValueError to callers, a RollgenError (a message, no traceback) to the CLI.
    with pytest.raises(RollgenError):
        resolve_bounds(10, bad, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="maxSurge") as surge_error:
        resolve_bounds(10, bad, 1)  # type: ignore[arg-type]
    assert repr(bad) in str(surge_error.value)
    with pytest.raises(ValueError, match="maxUnavailable") as unavailable_error:
        resolve_bounds(10, 1, bad)  # type: ignore[arg-type]
    assert repr(bad) in str(unavailable_error.value)


def test_resolve_bounds_rejects_negative_replicas() -> None:
    with pytest.raises(ValueError, match="-1"):
        resolve_bounds(-1, 1, 0)


def test_bounds_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="unavailable"):
        Bounds(1, -1)


# ---------------------------------------------------------------- canary_counts

# (replicas, weight, surge) -> (canary, stable). Every row matches Argo Rollouts'
# basic canary except the five marked "deviation".
CANARY_TABLE = [
    # The brief's fixed points.
    (10, 15, 0, (2, 8)),  # 1.5 pods: floor and ceiling tie, the ceiling wins
    (10, 25, 1, (3, 8)),  # 3 of 11 (27.3%) is closer than 3 of 10 (30%) or 2 of 10 (20%)
    (3, 50, 0, (2, 1)),  # 1.5 of 3: tie, ceiling
    (1, 49, 0, (0, 1)),  # one pod, no surge: zero allowed, 0% is closer than 100%
    (2, 1, 1, (1, 2)),  # canary never 0 at 1%: 1 of 3 (33%) beats 1 of 2 (50%)
    (10, 0, 0, (0, 10)),  # 0%: all stable
    (10, 0, 1, (0, 10)),  # 0% does not use the surge pod
    (10, 100, 0, (10, 0)),  # 100%: all canary
    (10, 100, 1, (10, 0)),  # 100% does not use the surge pod
    # Exact ratios need no surge.
    (10, 10, 0, (1, 9)),  # exactly 1 pod
    (10, 10, 1, (1, 9)),  # exact over 10 beats anything over 11
    (4, 25, 1, (1, 3)),  # exactly 1 of 4
    (100, 37, 1, (37, 63)),  # exactly 37 of 100
    (3, 50, 1, (2, 2)),  # 2 of 4 is exactly 50%, better than 2 of 3
    (7, 50, 1, (4, 4)),  # 4 of 8 exact
    (9, 50, 1, (5, 5)),  # 5 of 10 exact
    (11, 50, 1, (6, 6)),  # 6 of 12 exact
    (5, 50, 1, (3, 3)),  # 2.5 -> 3 of 6 exact, rather than 3 of 5 (60%)
    # Ties between floor and ceiling over the same total: the ceiling wins.
    (10, 5, 0, (1, 9)),  # 0.5 pods; floor 0 would be forbidden anyway
    (5, 30, 0, (2, 3)),  # 1.5 pods
    (7, 50, 0, (4, 3)),  # 3.5 pods
    (9, 50, 0, (5, 4)),  # 4.5 pods
    (1, 50, 0, (1, 0)),  # 0.5 of the only pod: tie, ceiling; zero stable allowed with 1 replica
    # Ties across totals: the unsurged total wins, whichever of floor/ceiling it is.
    (4, 45, 1, (2, 2)),  # 2 of 4 (50%) and 2 of 5 (40%) are both 5 points off
    (4, 55, 1, (2, 2)),  # 2 of 4 (50%, the floor) and 3 of 5 (60%) both 5 off: floor over 4 wins
    # Floor closer than ceiling.
    (10, 33, 0, (3, 7)),  # 3.3 pods: 30% beats 40%
    (10, 33, 1, (3, 7)),  # 3 of 10 (30%) still beats 4 of 11 (36.4%)
    # The surge pod gets closer.
    (10, 5, 1, (1, 10)),  # 1 of 11 (9.1%) beats 1 of 10 (10%)
    (10, 35, 1, (4, 7)),  # 4 of 11 (36.4%) beats 4 of 10 (40%) and 3 of 11
    (10, 45, 1, (5, 6)),  # 5 of 11 (45.5%)
    (20, 33, 1, (7, 14)),  # 7 of 21 (33.3%) beats 7 of 20 (35%) and 6 of 20 (30%)
    (5, 30, 1, (2, 4)),  # 2 of 6 (33.3%) beats 2 of 5 (40%)
    (6, 10, 1, (1, 6)),  # 1 of 7 (14.3%) beats 1 of 6 (16.7%)
    (10, 25, 3, (3, 8)),  # a bigger surge still adds at most one pod
    # Never zero stable or canary strictly between 0% and 100%.
    (10, 1, 0, (1, 9)),  # 0.1 pods round up to 1
    (100, 1, 0, (1, 99)),  # 1 pod exactly
    (3, 1, 0, (1, 2)),  # 0.03 pods round up to 1
    (10, 99, 0, (9, 1)),  # 9.9 would round to 10, leaving no stable
    (10, 99, 1, (10, 1)),  # 10 of 11 (90.9%) beats 9 of 10 (90%)
    (3, 99, 0, (2, 1)),  # 2.97 -> 3 would leave no stable
    (4, 90, 0, (3, 1)),  # 3.6 -> 4 would leave no stable
    (4, 90, 1, (4, 1)),  # 4 of 5 (80%) beats 3 of 4 (75%)
    (2, 75, 1, (2, 1)),  # 2 of 3 (66.7%) beats 1 of 2 (50%)
    # A single replica.
    (1, 51, 0, (1, 0)),  # 51% is closer to 100% than to 0%; zero stable allowed
    (1, 49, 1, (1, 1)),  # with surge there are 2 pods, so neither may be 0
    (1, 5, 1, (1, 1)),  # Argo's own example
    (1, 95, 1, (1, 1)),  # Argo's own example
    (0, 50, 1, (0, 0)),  # no replicas, no pods
    # Only floor and ceiling of the share over `replicas` are candidates, even over replicas + 1.
    (30, 93, 1, (28, 2)),  # 27.9 pods: 28 of 30 (93.3%) beats 28 of 31 (90.3%); 29 of 31 is no candidate
    # Deviation: with no surge and weight == 100 - 50/replicas, Argo finds no candidate
    # (the ceiling leaves no stable, the floor ties with it) and returns (0, replicas).
    (2, 75, 0, (1, 1)),  # deviation: Argo gives (0, 2)
    (5, 90, 0, (4, 1)),  # deviation: Argo gives (0, 5)
    (10, 95, 0, (9, 1)),  # deviation: Argo gives (0, 10)
    (25, 98, 0, (24, 1)),  # deviation: Argo gives (0, 25)
    (50, 99, 0, (49, 1)),  # deviation: Argo gives (0, 50)
    # The same weights with surge: the surge pod gives Argo a candidate, no deviation.
    (2, 75, 1, (2, 1)),  # 2 of 3 (66.7%) beats 1 of 2
    (10, 95, 1, (10, 1)),  # 10 of 11 (90.9%)
]


@pytest.mark.parametrize(("replicas", "weight", "surge", "expected"), CANARY_TABLE)
def test_canary_counts_table(replicas: int, weight: int, surge: int, expected: tuple[int, int]) -> None:
    assert canary_counts(replicas, weight, surge) == expected


@pytest.mark.parametrize(("replicas", "weight", "surge"), [(-1, 50, 0), (10, -1, 0), (10, 101, 0), (10, 50, -1)])
def test_canary_counts_rejects_out_of_range(replicas: int, weight: int, surge: int) -> None:
    with pytest.raises(ValueError):
        canary_counts(replicas, weight, surge)


@settings(max_examples=300, deadline=None)
@given(
    replicas=st.integers(1, 500),
    weights=st.tuples(st.integers(0, 100), st.integers(0, 100)).map(sorted),
    surge=st.integers(0, 3),
)
def test_canary_counts_properties(replicas: int, weights: list[int], surge: int) -> None:
    low_weight, high_weight = weights
    canary, stable = canary_counts(replicas, low_weight, surge)
    higher_canary, _ = canary_counts(replicas, high_weight, surge)
    assert canary >= 0 and stable >= 0
    assert canary + stable <= (replicas + 1 if surge else replicas)
    assert canary + stable >= replicas
    assert higher_canary >= canary  # monotone in weight
    if 0 < low_weight < 100 and not (replicas == 1 and surge == 0):
        assert canary >= 1 and stable >= 1
    if low_weight == 0:
        assert (canary, stable) == (0, replicas)
    if high_weight == 100:
        assert canary_counts(replicas, high_weight, surge) == (replicas, 0)


def _closest_split(replicas: int, weight: int, surge: int) -> tuple[int, int]:
    """Every split of ``replicas`` (and with surge ``replicas + 1``) pods: the closest allowed one.

    Ties go to fewer pods, then to more canary pods.
    """
    zero_allowed = weight in (0, 100) or (replicas == 1 and surge == 0)
    # |100 * canary / total - weight| scaled by replicas * (replicas + 1): exact and integer.
    scale = replicas * (replicas + 1)
    splits = [
        (abs(100 * canary - weight * total) * (scale // total), total, -canary)
        for total in ((replicas, replicas + 1) if surge else (replicas,))
        for canary in range(total + 1)
        if zero_allowed or 0 < canary < total
    ]
    _, total, negative_canary = min(splits)
    return -negative_canary, total + negative_canary


def test_canary_counts_is_the_closest_split_exhaustively_for_small_releases() -> None:
    # Argo only looks at floor and ceiling of replicas * weight / 100; this checks
    # against every split that this never misses a closer one (up to 50 replicas,
    # which covers all five deviations from Argo).
    for replicas in range(1, 51):
        for surge in (0, 1):
            for weight in range(101):
                assert canary_counts(replicas, weight, surge) == _closest_split(replicas, weight, surge), (
                    replicas,
                    weight,
                    surge,
                )


def test_canary_counts_is_monotone_exhaustively_for_small_releases() -> None:
    # The hypothesis test samples; small releases are where rounding bites, so check them all.
    for replicas in range(1, 41):
        for surge in (0, 1):
            counts = [canary_counts(replicas, weight, surge)[0] for weight in range(101)]
            assert counts == sorted(counts), (replicas, surge)


# ---------------------------------------------------------------- routed, achieved, min_available


@pytest.mark.parametrize(
    ("replicas", "weight", "expected"),
    [(10, 15, 2), (10, 10, 1), (10, 0, 0), (10, 100, 10), (3, 1, 1), (3, 34, 2), (0, 50, 0)],
)
def test_routed_canary_replicas_rounds_up(replicas: int, weight: int, expected: int) -> None:
    assert routed_canary_replicas(replicas, weight) == expected


def test_routed_canary_replicas_rejects_bad_weight() -> None:
    with pytest.raises(ValueError, match="150"):
        routed_canary_replicas(10, 150)


@pytest.mark.parametrize(
    ("canary", "stable", "expected"),
    [(0, 0, 0.0), (0, 10, 0.0), (10, 0, 100.0), (1, 3, 25.0), (3, 8, 300 / 11)],
)
def test_achieved_weight(canary: int, stable: int, expected: float) -> None:
    assert achieved_weight(canary, stable) == pytest.approx(expected)


def test_achieved_weight_rejects_negative() -> None:
    with pytest.raises(ValueError, match="stable"):
        achieved_weight(1, -1)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"a": 10, "b": 0}, {"a": 8, "b": 3}, 8),  # new canary pods are not ready yet
        ({"a": 4}, {"b": 4}, 0),  # a version missing from after has 0 pods
        ({"a": 4}, {"a": 4, "b": 2}, 4),  # a version missing from before contributes nothing
        ({"a": 3, "b": 5}, {"a": 5, "b": 3}, 6),  # per version, not per total
        ({}, {}, 0),
    ],
)
def test_min_available(before: dict[str, int], after: dict[str, int], expected: int) -> None:
    assert min_available(before, after) == expected


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"a": 9, "b": 3}, {"a": 10, "b": 0}, 13),  # an abort's growth may land before its drain
        ({"a": 4}, {"b": 4}, 8),  # a version missing from a state has 0 pods
        ({"a": 3, "b": 5}, {"a": 5, "b": 3}, 10),  # per version, not per total
        ({"a": 10}, {"a": 7}, 10),  # a pure drain never runs more than it started with
        ({}, {}, 0),
    ],
)
def test_max_running(before: dict[str, int], after: dict[str, int], expected: int) -> None:
    assert max_running(before, after) == expected


# ---------------------------------------------------------------- safe_transition


def _pairs(path: tuple[dict[str, int], ...]) -> list[tuple[int, int]]:
    return [(state["s"], state["c"]) for state in path]


def test_direct_move_when_already_safe() -> None:
    path = safe_transition({"s": 10, "c": 0}, {"s": 9, "c": 1}, 10, Bounds(1, 1))
    assert path == ({"s": 9, "c": 1},)


def test_a_swap_that_could_grow_first_is_split_without_surge() -> None:
    # 10 -> 9/1 with no surge: applied canary-first, 11 pods would run.
    path = safe_transition({"s": 10, "c": 0}, {"s": 9, "c": 1}, 10, Bounds(0, 1))
    assert _pairs(path) == [(9, 0), (9, 1)]


def test_unchanged_state_is_one_commit() -> None:
    assert safe_transition({"s": 5, "c": 5}, {"s": 5, "c": 5}, 10, Bounds(1, 0)) == ({"s": 5, "c": 5},)


def test_no_surge_goes_one_pod_at_a_time_draining_first() -> None:
    path = safe_transition({"s": 10, "c": 0}, {"s": 0, "c": 10}, 10, Bounds(0, 1))
    expected = [pair for k in range(9, -1, -1) for pair in ((k, 9 - k), (k, 10 - k))]
    assert _pairs(path) == expected


def test_surge_without_unavailability_adds_before_removing() -> None:
    path = safe_transition({"s": 10, "c": 0}, {"s": 7, "c": 3}, 10, Bounds(1, 0))
    assert _pairs(path) == [(10, 1), (9, 1), (9, 2), (8, 2), (8, 3), (7, 3)]


def test_big_bounds_move_in_big_steps() -> None:
    path = safe_transition({"s": 10, "c": 0}, {"s": 0, "c": 10}, 10, Bounds(3, 2))
    # +3 canary (13 pods), drain 5 stable (8 left), +5 canary (13 again), drain the
    # last 5 stable; then the canary grows to 10 (dropping 5 while adding 2 at once
    # could run 15 pods if the canary grew first).
    assert _pairs(path) == [(10, 3), (5, 3), (5, 8), (0, 8), (0, 10)]


def test_one_replica_no_surge_never_runs_two_pods() -> None:
    assert _pairs(safe_transition({"s": 1, "c": 0}, {"s": 0, "c": 1}, 1, Bounds(0, 1))) == [(0, 0), (0, 1)]


def test_one_replica_with_surge_overlaps() -> None:
    assert _pairs(safe_transition({"s": 1, "c": 0}, {"s": 0, "c": 1}, 1, Bounds(1, 0))) == [(1, 1), (0, 1)]


def test_small_before_caps_the_floor() -> None:
    # A 3-pod preview growing to a full 10: only 3 pods were ever available, so
    # the floor is 3, not 9; pure growth is safe in one commit.
    assert safe_transition({"c": 3}, {"c": 10}, 10, Bounds(0, 1)) == ({"c": 10},)


def test_small_states_keep_the_smaller_end_available() -> None:
    # 5 pods across two versions move to 10 of one version; floor = min(9, 5, 10) = 5.
    # Growing b to 7 fills the ceiling; dropping a keeps b's 7 available; then b grows.
    path = safe_transition({"a": 3, "b": 2}, {"b": 10}, 10, Bounds(0, 1))
    assert path == ({"a": 3, "b": 7}, {"a": 0, "b": 7}, {"b": 10})


def test_abort_moves_back_to_stable() -> None:
    path = safe_transition({"s": 8, "c": 3}, {"s": 10, "c": 0}, 10, Bounds(1, 0))
    # Full stable plus surge 1 and nothing unavailable: make room one canary pod at a time.
    assert _pairs(path) == [(8, 2), (9, 2), (9, 1), (10, 1), (10, 0)]


def test_rejects_states_over_the_ceiling() -> None:
    with pytest.raises(ValueError, match="before runs 12 pods"):
        safe_transition({"s": 10, "c": 2}, {"s": 10, "c": 0}, 10, Bounds(1, 0))
    with pytest.raises(ValueError, match="after runs 11 pods"):
        safe_transition({"s": 10, "c": 0}, {"s": 10, "c": 1}, 10, Bounds(0, 1))


@pytest.mark.parametrize(
    ("replicas", "bounds", "message"),
    [(0, Bounds(1, 0), "replicas"), (10, Bounds(0, 0), "surge \\+ unavailable")],
)
def test_rejects_bounds_that_cannot_move(replicas: int, bounds: Bounds, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        safe_transition({"s": 0}, {"s": 0}, replicas, bounds)


def test_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="after\\['c'\\]"):
        safe_transition({"s": 1}, {"c": -1}, 1, Bounds(1, 0))


@st.composite
def transitions(draw: st.DrawFn) -> tuple[dict[str, int], dict[str, int], int, Bounds]:
    replicas = draw(st.integers(1, 50))
    surge = draw(st.integers(0, replicas))
    unavailable = draw(st.integers(0 if surge else 1, replicas))
    ceiling = replicas + surge
    versions = ["a", "b", "c"][: draw(st.integers(1, 3))]

    def state() -> dict[str, int]:
        counts: dict[str, int] = {}
        room = ceiling
        for version in draw(st.permutations(versions)):
            if draw(st.booleans()):  # versions may be missing from a state
                counts[version] = draw(st.integers(0, room))
                room -= counts[version]
        return counts

    return state(), state(), replicas, Bounds(surge, unavailable)


def _assert_safe(before: Mapping[str, int], after: Mapping[str, int], replicas: int, bounds: Bounds) -> None:
    path = safe_transition(before, after, replicas, bounds)
    assert path[-1] == dict(after)
    floor = min(replicas - bounds.unavailable, sum(before.values()), sum(after.values()))
    previous: Mapping[str, int] = before
    for state in path:
        assert max_running(previous, state) <= replicas + bounds.surge
        assert min_available(previous, state) >= floor
        previous = state
    for state in path[:-1]:
        # Every version stays between where it started and where it is going,
        # so no pod is added only to be removed again.
        for version in {*before, *after}:
            start, end = before.get(version, 0), after.get(version, 0)
            assert min(start, end) <= state[version] <= max(start, end)
    if min_available(before, after) >= floor and max_running(before, after) <= replicas + bounds.surge:
        assert path == (dict(after),)


@settings(max_examples=300, deadline=None)
@given(transitions())
def test_safe_transition_properties(case: tuple[dict[str, int], dict[str, int], int, Bounds]) -> None:
    _assert_safe(*case)


def test_safe_transition_exhaustively_for_tiny_two_version_releases() -> None:
    for replicas in range(1, 5):
        for surge in range(3):
            for unavailable in range(0 if surge else 1, replicas + 1):
                bounds = Bounds(surge, unavailable)
                ceiling = replicas + surge
                states = [{"s": s, "c": c} for s in range(ceiling + 1) for c in range(ceiling + 1 - s)]
                for before in states:
                    for after in states:
                        _assert_safe(before, after, replicas, bounds)
