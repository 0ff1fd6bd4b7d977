"""Replica math for rollouts: surge/unavailable bounds, canary pod counts, safe transitions.

Everything here is pure integer arithmetic (fractions where a ratio must be
compared exactly), so a plan computed today is the plan computed tomorrow.

The canary-by-replica-ratio numbers deliberately reproduce the pod counts
Argo Rollouts' basic canary (no traffic routing) chooses for a ``setWeight``
step, so a release moved from Argo Rollouts to rollgen runs the same pods at
every step. The one deliberate difference is documented in
:func:`canary_counts`.

A *state* is a mapping from version name to the replica count of that
version's Deployment, e.g. ``{"v1": 8, "v2": 2}``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from rollgen.errors import RollgenError

__all__ = [
    "Bounds",
    "ReplicaError",
    "achieved_weight",
    "canary_counts",
    "max_running",
    "min_available",
    "resolve_bounds",
    "routed_canary_replicas",
    "safe_transition",
]


class ReplicaError(RollgenError, ValueError):
    """A count, weight, bound or state that replica math cannot work with.

    A ``ValueError`` for callers checking plain values, and a ``RollgenError``
    so that one that slips past them reaches the user as a message, not a traceback.
    """


@dataclass(frozen=True)
class Bounds:
    """How far a transition may stray from ``replicas`` pods, in absolute pods.

    ``surge`` extra pods may run on top of ``replicas``; ``unavailable`` of the
    ``replicas`` may be missing. Build one from spec values with
    :func:`resolve_bounds`.

    >>> Bounds(surge=1, unavailable=0)
    Bounds(surge=1, unavailable=0)
    >>> Bounds(surge=-1, unavailable=0)
    Traceback (most recent call last):
    ...
    rollgen.replicas.ReplicaError: Bounds.surge must be a non-negative int, got -1
    """

    surge: int
    unavailable: int

    def __post_init__(self) -> None:
        _require_count("Bounds.surge", self.surge)
        _require_count("Bounds.unavailable", self.unavailable)


# Kubernetes' IntOrString percentages: digits followed by "%", nothing else.
_PERCENT = re.compile(r"(\d+)%")


def resolve_bounds(replicas: int, max_surge: int | str, max_unavailable: int | str) -> Bounds:
    """Turn ``maxSurge``/``maxUnavailable`` spec values into pod counts.

    Percentages are of ``replicas``; surge rounds up and unavailable rounds
    down, so a percentage never makes a rollout less safe than asked. If both
    resolve to 0 (``maxUnavailable: 10%`` of 5 pods rounds down to 0) nothing
    could ever move, so unavailable becomes 1, as Kubernetes and Argo Rollouts
    do. Unavailable is capped at ``replicas``: no more pods than exist can be
    missing (Argo Rollouts caps it the same way).

    >>> resolve_bounds(10, "25%", "25%")
    Bounds(surge=3, unavailable=2)
    >>> resolve_bounds(5, 0, "10%")
    Bounds(surge=0, unavailable=1)
    >>> resolve_bounds(4, 1, 10)
    Bounds(surge=1, unavailable=4)
    >>> resolve_bounds(4, "25", 0)
    Traceback (most recent call last):
    ...
    rollgen.replicas.ReplicaError: maxSurge must be a non-negative integer or a percentage like '25%', got '25'
    """
    _require_count("replicas", replicas)
    surge = _scaled("maxSurge", max_surge, replicas, round_up=True)
    unavailable = _scaled("maxUnavailable", max_unavailable, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return Bounds(surge=surge, unavailable=min(unavailable, replicas))


def _scaled(name: str, value: int | str, replicas: int, *, round_up: bool) -> int:
    if isinstance(value, str):
        match = _PERCENT.fullmatch(value)
        if match is None:
            raise ReplicaError(f"{name} must be a non-negative integer or a percentage like '25%', got {value!r}")
        numerator = int(match.group(1)) * replicas
        return -(-numerator // 100) if round_up else numerator // 100
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ReplicaError(f"{name} must be a non-negative integer or a percentage like '25%', got {value!r}")
    return value


def canary_counts(replicas: int, weight: int, surge: int) -> tuple[int, int]:
    """``(canary, stable)`` pods for a basic canary (no traffic routing) at ``weight`` percent.

    Without a traffic router the share of requests a version gets is its share
    of the pods, so the counts approximate ``weight`` as closely as the rules
    allow - the same counts Argo Rollouts' basic canary picks:

    * The candidate canary counts are ``floor`` and ``ceil`` of
      ``replicas * weight / 100``, each over a total of ``replicas`` and, when
      ``surge > 0``, also over ``replicas + 1`` (one surge pod can make the
      ratio closer: 25% of 10 is 3 of 11, 27.3%, rather than 3 of 10).
    * Neither version may be left with zero pods at a weight strictly between
      0 and 100, except with a single replica and no surge, where there is no
      other choice.
    * The candidate whose pod ratio is closest to ``weight`` wins; on equal
      distance the earlier one in the order (ceil, floor) over ``replicas``,
      then (ceil, floor) over ``replicas + 1`` wins, so the ceiling wins ties
      and the unsurged total is preferred.

    These few candidates are enough: the result is always the closest split
    of ``replicas`` (or, with surge, ``replicas + 1``) pods that the zero rule
    allows, ties going to fewer pods and then to more canary pods (the tests
    check it against every split). Ratios are compared exactly; Argo compares
    float64, and a port of its code agrees with this one for every weight and
    every count up to 3000 replicas, surge 0 to 2, except for the deviation below.

    The one deliberate difference from Argo Rollouts: with no surge, when the
    ceiling would leave no stable pod and the floor ties with it - exactly
    when ``weight == 100 - 50 / replicas``: 2 replicas at 75%, 5 at 90%, 10 at
    95%, 25 at 98%, 50 at 99% - Argo is left with no candidate and falls back
    to ``(0, replicas)``, a canary step with no canary. Here the floor stays a
    candidate, giving 1/1, 4/1, 9/1, 24/1 and 49/1.

    >>> canary_counts(10, 15, 0)   # 1.5 pods: the tie goes to the ceiling
    (2, 8)
    >>> canary_counts(10, 25, 1)   # 3 of 11 (27.3%) beats 3 of 10 (30%)
    (3, 8)
    >>> canary_counts(3, 50, 0)
    (2, 1)
    >>> canary_counts(1, 49, 0)    # one pod, no surge: it stays stable
    (0, 1)
    >>> canary_counts(2, 1, 1)     # never zero canary at 1%: 1 of 3
    (1, 2)
    >>> canary_counts(4, 0, 1), canary_counts(4, 100, 1)
    ((0, 4), (4, 0))
    """
    _require_count("replicas", replicas)
    _require_count("surge", surge)
    _require_weight(weight)
    if replicas == 0:
        return 0, 0
    exact = Fraction(replicas * weight, 100)
    high, low = math.ceil(exact), math.floor(exact)
    zero_allowed = weight in (0, 100) or (replicas == 1 and surge == 0)
    totals = (replicas, replicas + 1) if surge > 0 else (replicas,)
    # Order matters: min() keeps the first of equal keys, which encodes the tie-breaks.
    candidates = [(canary, total) for total in totals for canary in (high, low) if zero_allowed or 0 < canary < total]
    # Non-empty: for 0 < weight < 100 and replicas >= 2, high <= replicas and
    # low >= 1 whenever high == replicas, so one of them is within (0, replicas);
    # with one replica, either zero is allowed or surge offers 1 of 2.
    canary, total = min(candidates, key=lambda c: abs(Fraction(100 * c[0], c[1]) - weight))
    return canary, total - canary


def routed_canary_replicas(replicas: int, weight: int) -> int:
    """Canary pods for a traffic-routed canary at ``weight`` percent.

    With a router (Istio, Gateway API) traffic follows the route weights, not
    the pod ratio, so the canary only needs enough pods to carry its share
    (rounded up, so a non-zero weight always has a pod) and the stable stays
    at full size until promotion.

    >>> routed_canary_replicas(10, 15), routed_canary_replicas(10, 0), routed_canary_replicas(3, 1)
    (2, 0, 1)
    """
    _require_count("replicas", replicas)
    _require_weight(weight)
    return -(-replicas * weight // 100)


def achieved_weight(canary: int, stable: int) -> float:
    """Percentage of the pods that run the canary; ``0.0`` when there are none.

    >>> achieved_weight(2, 8), round(achieved_weight(3, 8), 2)
    (20.0, 27.27)
    >>> achieved_weight(0, 0)
    0.0
    """
    _require_count("canary", canary)
    _require_count("stable", stable)
    total = canary + stable
    return 100 * canary / total if total else 0.0


def min_available(before: Mapping[str, int], after: Mapping[str, int]) -> int:
    """Pods that stay available when ``after`` is applied over ``before`` all at once.

    A GitOps engine applies every Deployment of a commit together: a version
    that shrinks loses its pods at once, a version that grows gains pods that
    are not ready yet. So only ``min(before, after)`` of each version counts
    (a version missing from a state has 0 pods).

    >>> min_available({"v1": 10, "v2": 0}, {"v1": 8, "v2": 3})
    8
    >>> min_available({"v1": 4}, {"v2": 4})
    0
    """
    _require_state("before", before)
    _require_state("after", after)
    return sum(min(count, after.get(version, 0)) for version, count in before.items())


def max_running(before: Mapping[str, int], after: Mapping[str, int]) -> int:
    """Pods that may run at once when ``after`` is applied over ``before`` all at once.

    The mirror of :func:`min_available`: the engine may apply a growing
    Deployment before a shrinking one, and a terminating pod still runs, so
    each version counts ``max(before, after)``.

    >>> max_running({"v1": 10, "v2": 0}, {"v1": 9, "v2": 1})
    11
    >>> max_running({"v1": 4}, {"v2": 4})
    8
    """
    _require_state("before", before)
    _require_state("after", after)
    return sum(max(before.get(version, 0), after.get(version, 0)) for version in {*before, *after})


def safe_transition(
    before: Mapping[str, int], after: Mapping[str, int], replicas: int, bounds: Bounds
) -> tuple[dict[str, int], ...]:
    """The states to commit, one per commit, to move from ``before`` to ``after`` safely.

    The result ends with ``after`` itself; anything before it is an inserted
    intermediate state. It is just ``(dict(after),)`` when the direct move is
    already safe. A move from one state to the next is safe when, whatever
    order the engine applies its Deployments in:

    * at most ``replicas + bounds.surge`` pods run (:func:`max_running`), and
    * at least ``floor = min(replicas - bounds.unavailable, sum(before), sum(after))``
      pods stay available (:func:`min_available`).

    The floor is capped by the two ends because a state can be legitimately
    smaller than ``replicas - unavailable`` (a blue/green preview of 3 pods,
    a canary that starts from nothing); the transition must then never drop
    below the smaller end, but cannot be asked to do better than the ends do.

    Algorithm (greedy; each commit moves as far as the bounds allow):

    1. If ``current -> after`` is safe, commit ``after`` and stop.
    2. Surge: if a version must grow and fewer than ``replicas + surge`` pods
       are running, grow the growing versions (in order: ``after``'s keys,
       then ``before``'s) by as much of that headroom as they need. Only
       growing, so no pod becomes unavailable; go to 1.
    3. Drain: otherwise shrink the shrinking versions (same order) by up to
       ``sum(current) - floor`` pods in total. Only shrinking, so the count
       never exceeds the bound; go to 1.

    Intermediate states grow or shrink only, never both, so each is safe in
    any order of application. The last move may do both only when it is safe
    in every order. Every intermediate state names every version of
    ``before`` and ``after`` (0 when it has no pods).

    It terminates: every step moves each version towards ``after`` and never
    past it, and one of 2 or 3 can always move when ``current != after``.
    If no version grows the move is a pure drain to ``after``, safe at once.
    If some grows and no headroom is left, ``sum(current) = replicas + surge``
    exceeds ``sum(after)`` (which fits the bound), so some version shrinks,
    and ``surge + unavailable >= 1`` leaves room to drain.

    With ``surge=0, unavailable=1`` the move from 10/0 to 0/10 drains one stable
    pod, adds one canary pod, and so on, down to the last stable pod:

    >>> path = safe_transition({"v1": 10, "v2": 0}, {"v1": 0, "v2": 10}, 10, Bounds(0, 1))
    >>> [(s["v1"], s["v2"]) for s in path[:4]], len(path), path[-2:]
    ([(9, 0), (9, 1), (8, 1), (8, 2)], 20, ({'v1': 0, 'v2': 9}, {'v1': 0, 'v2': 10}))

    With ``surge=1, unavailable=0`` the canary comes up first:

    >>> safe_transition({"v1": 4, "v2": 0}, {"v1": 2, "v2": 2}, 4, Bounds(1, 0))
    ({'v1': 4, 'v2': 1}, {'v1': 3, 'v2': 1}, {'v1': 3, 'v2': 2}, {'v1': 2, 'v2': 2})

    One replica, no surge: two pods may never run, and ``1 - 1 = 0`` may be
    unavailable, so the old pod goes before the new one comes:

    >>> safe_transition({"v1": 1, "v2": 0}, {"v1": 0, "v2": 1}, 1, Bounds(0, 1))
    ({'v1': 0, 'v2': 0}, {'v1': 0, 'v2': 1})

    Raises :class:`ReplicaError` (a ``ValueError``) if ``before`` or ``after`` itself exceeds
    ``replicas + surge`` (the caller planned an unsafe state), if
    ``replicas < 1``, or if ``surge + unavailable < 1`` (nothing could move).
    """
    _require_state("before", before)
    _require_state("after", after)
    _require_count("replicas", replicas)
    if replicas < 1:
        raise ReplicaError(f"replicas must be at least 1, got {replicas}")
    if bounds.surge + bounds.unavailable < 1:
        raise ReplicaError(f"surge + unavailable must be at least 1 for pods to move, got {bounds}")
    ceiling = replicas + bounds.surge
    for name, state in (("before", before), ("after", after)):
        if sum(state.values()) > ceiling:
            raise ReplicaError(
                f"{name} runs {sum(state.values())} pods, more than replicas + surge = {ceiling}: {dict(state)}"
            )
    floor = min(replicas - bounds.unavailable, sum(before.values()), sum(after.values()))
    versions = list(dict.fromkeys([*after, *before]))
    target = {v: after.get(v, 0) for v in versions}
    current = {v: before.get(v, 0) for v in versions}
    path: list[dict[str, int]] = []
    while min_available(current, target) < floor or max_running(current, target) > ceiling:
        total = sum(current.values())
        growing = [v for v in versions if current[v] < target[v]]
        if growing and total < ceiling:
            current = _move_towards(current, target, growing, ceiling - total)
        else:
            shrinking = [v for v in versions if current[v] > target[v]]
            current = _move_towards(current, target, shrinking, total - floor)
        path.append(current)
    path.append(dict(after))
    return tuple(path)


def _move_towards(current: dict[str, int], target: dict[str, int], movers: list[str], budget: int) -> dict[str, int]:
    """``current`` with ``movers`` moved towards ``target``, in order, by ``budget`` pods in total."""
    step = dict(current)
    for version in movers:
        gap = target[version] - current[version]
        move = min(budget, abs(gap))
        step[version] += move if gap > 0 else -move
        budget -= move
    return step


def _require_count(name: str, value: int) -> None:
    # bool is an int subclass; True replicas is a caller bug, not 1 replica.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ReplicaError(f"{name} must be a non-negative int, got {value!r}")


def _require_weight(weight: int) -> None:
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
        raise ReplicaError(f"weight must be an int from 0 to 100, got {weight!r}")


def _require_state(name: str, state: Mapping[str, int]) -> None:
    for version, count in state.items():
        _require_count(f"{name}[{version!r}]", count)
