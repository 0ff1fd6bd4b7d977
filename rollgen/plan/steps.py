"""The planner: a release as a sequence of committed states (:mod:`rollgen.plan.model`), and the way back.

Everything here is pure: values in, values out. Releases come from validated
specs, and validation (``rollgen.spec.checks``) holds every rule a spec must
meet, with its position; the planner does not check them a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from rollgen.errors import UsageError
from rollgen.names import workload_name
from rollgen.plan.model import Plan, State, Step, StrategyKind, Wait, Workload
from rollgen.replicas import (
    Bounds,
    achieved_weight,
    canary_counts,
    resolve_bounds,
    routed_canary_replicas,
    safe_transition,
)
from rollgen.replicas import min_available as _min_available
from rollgen.spec.model import (
    Analysis,
    BlueGreen,
    Canary,
    CanaryStep,
    IntOrPercent,
    Pause,
    Recreate,
    Release,
    RollingUpdate,
    SetCanaryScale,
    SetWeight,
    Waves,
)
from rollgen.spec.vocabulary import WAVES_RESTARTS_GATE


def stable_of(release: Release) -> str:
    """The version the plan starts from: the spec's ``stable``, or the one Git says runs (filled in by the caller)."""
    if release.stable is None:
        raise UsageError(
            f"release {release.name}: the spec names no stable, and this command does not read Git to find "
            "what runs; name stable in the spec"
        )
    return release.stable


def initial_state(release: Release) -> State:
    """What runs before the rollout, and again after an abort: the stable version, full size.

    Each strategy's final state has this same shape for the new version, so one
    rollout ends where the next one starts. A rolling update changes one
    Deployment in place, so its Deployment is named for the app alone;
    blue/green's Service selects the running version; a routed canary's route
    sends it everything.

    >>> from rollgen.spec.model import BlueGreen, KustomizeSource
    >>> release = Release("podinfo", "prod", 3, "podinfo", "6.4.0", "6.5.0", KustomizeSource("base"), "out", BlueGreen())
    >>> initial_state(release)
    State(workloads=(Workload(version='6.4.0', name='podinfo-6-4-0', replicas=3),), service_version='6.4.0', preview_version=None, weights=())
    """
    strategy, stable = release.strategy, stable_of(release)
    if isinstance(strategy, RollingUpdate):
        return State((Workload(stable, release.name, release.replicas),))
    workloads = (Workload(stable, workload_name(release.name, stable), release.replicas),)
    if isinstance(strategy, BlueGreen):
        return State(workloads, service_version=stable)
    if isinstance(strategy, Canary) and strategy.traffic != "replicas":
        return State(workloads, weights=((stable, 100),))
    return State(workloads)


def plan_release(release: Release) -> Plan:
    """Every commit that rolls ``release`` out, each a safe state reached safely.

    Canary by pod ratio (``traffic: replicas``): each weight becomes Argo
    Rollouts' basic-canary pod counts; when one commit cannot move there within
    ``maxSurge``/``maxUnavailable``, ``surge`` and ``drain`` commits come first,
    and the spec's waits judge the last commit of their step. Then full
    promotion and a ``cleanup`` commit that removes the stable Deployment.

    >>> from rollgen.spec.model import Canary, KustomizeSource, SetWeight
    >>> canary = Canary(max_surge=1, max_unavailable=0, steps=(SetWeight(50), Pause(None)))
    >>> release = Release("podinfo", "prod", 4, "podinfo", "6.4.0", "6.5.0", KustomizeSource("base"), "out", canary)
    >>> for step in plan_release(release).steps:
    ...     pods = " ".join(f"{w.version}={w.replicas}" for w in step.state.workloads)
    ...     print(step.index, step.action, pods, step.min_available, step.after)
    1 surge 6.4.0=4 6.5.0=1 4 ()
    2 drain 6.4.0=3 6.5.0=1 4 ()
    3 surge 6.4.0=3 6.5.0=2 4 ()
    4 setWeight 6.4.0=2 6.5.0=2 4 (Pause(seconds=None),)
    5 surge 6.4.0=2 6.5.0=3 4 ()
    6 drain 6.4.0=1 6.5.0=3 4 ()
    7 surge 6.4.0=1 6.5.0=4 4 ()
    8 promote 6.4.0=0 6.5.0=4 4 ()
    9 cleanup 6.5.0=4 4 ()

    Canary with ``traffic: istio | gatewayAPI``: the stable keeps every pod and
    the canary runs ``ceil(replicas * weight / 100)``. A weight rises only onto
    pods that are already there: when it needs more canary pods, a ``scale``
    commit adds them and the weight follows in the next commit (Argo CD reports
    the first healthy only once they are available). Canary pods never shrink
    during the rollout, so ``setCanaryScale`` may not go below what the current
    weight needs.

    Blue/green: ``preview`` (the new version beside the old, behind the preview
    Service) -> pre-promotion gates and the promotion pause -> ``scale`` to
    full size when ``previewReplicaCount`` was smaller -> ``switch`` (the
    Service selector) -> post-promotion gates and ``scaleDownDelaySeconds`` ->
    ``cleanup``. Rolling update: one ``update`` commit. Recreate: ``remove``
    then ``create``, with the downtime in their notes.
    """
    strategy = release.strategy
    if isinstance(strategy, Canary):
        if strategy.traffic == "replicas":
            return _ratio_canary(release, strategy)
        return _routed_canary(release, strategy)
    if isinstance(strategy, BlueGreen):
        return _blue_green(release, strategy)
    if isinstance(strategy, RollingUpdate):
        return _rolling_update(release, strategy)
    return _recreate(release, strategy)


def canary_steps(canary: Canary, replicas: int) -> tuple[CanaryStep, ...]:
    """The canary's explicit steps, or the steps its shorthand stands for.

    ``stepWeight``/``maxWeight`` and ``stepWeights`` become weights, each
    followed by the canary's ``analysis``. ``waves`` becomes one canary pod,
    then ``count`` moves of the remaining pods (smaller waves first when they do
    not divide evenly), each followed by the restart check
    (:data:`WAVES_RESTARTS_GATE`) and the canary's ``analysis``.

    >>> gates = Analysis(("success-rate",))
    >>> canary_steps(Canary(step_weight=20, max_weight=50, analysis=gates), 10)
    (SetWeight(weight=20), Analysis(gates=('success-rate',)), SetWeight(weight=40), Analysis(gates=('success-rate',)))
    >>> [s.replicas for s in canary_steps(Canary(waves=Waves(count=3)), 10) if isinstance(s, SetCanaryScale)]
    [1, 4, 7, 10]
    """
    checks = (canary.analysis,) if canary.analysis else ()
    if canary.steps:
        return canary.steps
    if canary.waves is not None:
        return _waves(canary, canary.waves, replicas, checks)
    if canary.step_weights:
        weights = canary.step_weights
    else:
        assert canary.step_weight is not None and canary.max_weight is not None  # validation requires both
        weights = tuple(range(canary.step_weight, canary.max_weight + 1, canary.step_weight))
    return tuple(step for weight in weights for step in (SetWeight(weight), *checks))


def _waves(canary: Canary, waves: Waves, replicas: int, checks: tuple[Analysis, ...]) -> tuple[CanaryStep, ...]:
    rest = replicas - 1
    after: tuple[Analysis, ...] = (Analysis((WAVES_RESTARTS_GATE,)), *checks)
    # Flooring puts the smaller waves first: the least proven version moves the fewest pods.
    pods = (1, *(1 + wave * rest // waves.count for wave in range(1, waves.count + 1)))
    steps: list[CanaryStep] = []
    for count in pods:
        steps += [SetCanaryScale(count), *after]
    return tuple(steps)


def abort_states(plan: Plan, at_step: int) -> tuple[State, ...]:
    """The commits that take the cluster from step ``at_step``'s state back to ``plan.initial``.

    Every move is as safe as the rollout's own: a ratio canary drains within
    the same bounds; a routed canary and blue/green first bring the stable back
    to full size, then send traffic back to it, then remove the new version; a
    rolling update rolls its one Deployment back in place; recreate removes the
    new version before the old one returns. States equal to the one before are
    left out, so aborting at the first step of a one-step plan is one commit.

    >>> from rollgen.spec.model import KustomizeSource
    >>> release = Release("podinfo", "prod", 3, "podinfo", "6.4.0", "6.5.0", KustomizeSource("base"), "out", Recreate())
    >>> plan = plan_release(release)
    >>> [[w.name for w in s.workloads] for s in abort_states(plan, 2)]
    [[], ['podinfo-6-4-0']]
    """
    if not 1 <= at_step <= len(plan.steps):
        raise UsageError(f"cannot abort at step {at_step}: the plan has steps 1 to {len(plan.steps)}")
    current = plan.steps[at_step - 1].state
    way: tuple[State, ...]
    if plan.strategy is StrategyKind.RECREATE:
        way = (State(()),)
    elif plan.strategy is StrategyKind.ROLLING_UPDATE:
        way = ()
    elif plan.traffic == "replicas":
        way = _ratio_abort(plan, current)
    else:
        way = _restore_abort(plan, current)
    states: list[State] = []
    for state in (*way, plan.initial):
        if state != (states[-1] if states else current):
            states.append(state)
    return tuple(states)


def _ratio_abort(plan: Plan, current: State) -> tuple[State, ...]:
    assert plan.max_surge is not None and plan.max_unavailable is not None  # set for every ratio canary
    pods = {plan.stable: current.replicas(plan.stable), plan.version: current.replicas(plan.version)}
    back = {plan.stable: plan.replicas, plan.version: 0}
    path = safe_transition(pods, back, plan.replicas, Bounds(plan.max_surge, plan.max_unavailable))
    # The last move lands on the pods of plan.initial, which the caller commits as is.
    return tuple(_ratio_state(plan.release, plan.stable, plan.version, counts) for counts in path[:-1])


def _restore_abort(plan: Plan, current: State) -> tuple[State, ...]:
    # Traffic goes back only onto stable pods that are running again (after
    # cleanup they are gone), and the new version goes only once nothing routes to it.
    stable = Workload(plan.stable, workload_name(plan.release, plan.stable), plan.replicas)
    restored = replace(current, workloads=(stable, *(w for w in current.workloads if w.version != plan.stable)))
    weights = ((plan.stable, 100), (plan.version, 0)) if current.weights else ()
    return restored, replace(restored, service_version=plan.initial.service_version, weights=weights)


class _Steps:
    """Steps in the making: numbered, each measured from the state before, waits hung on the last commit."""

    def __init__(self, release: Release) -> None:
        self.release = release
        self.initial = initial_state(release)
        self.state = self.initial
        self.steps: list[Step] = []
        self.warnings: list[str] = []
        self._early: list[Wait] = []

    def commit(
        self,
        action: str,
        state: State,
        weight: float,
        *,
        set_weight: int | None = None,
        note: str = "",
        min_available: int | None = None,
    ) -> None:
        if min_available is None:
            min_available = _min_available(_pods(self.state), _pods(state))
        index = len(self.steps) + 1
        self.steps.append(Step(index, action, state, weight, min_available, set_weight, tuple(self._early), note))
        self._early = []
        self.state = state

    def wait(self, *waits: Wait) -> None:
        """Waits judge the last commit; waits written before any commit judge the first one."""
        if self.steps:
            last = self.steps[-1]
            self.steps[-1] = replace(last, after=last.after + waits)
        else:
            self._early.extend(waits)

    def warn_if_unchanged(self, state: State, what: str) -> None:
        if _serving(state) == _serving(self.state):
            pods = ", ".join(f"{w.replicas} of {w.version}" for w in state.workloads)
            self.warnings.append(
                f"step {len(self.steps) + 1} ({what}) lands on the same pods and traffic as the step before ({pods}); "
                f"{self.release.replicas} replicas cannot show the difference"
            )

    def plan(self, traffic: str | None = None, bounds: Bounds | None = None) -> Plan:
        release = self.release
        return Plan(
            release=release.name,
            namespace=release.namespace,
            stable=stable_of(release),
            version=release.version,
            strategy=_STRATEGY_KEYS[type(release.strategy)],
            replicas=release.replicas,
            initial=self.initial,
            steps=tuple(self.steps),
            warnings=tuple(self.warnings),
            traffic=traffic,
            max_surge=None if bounds is None else bounds.surge,
            max_unavailable=None if bounds is None else bounds.unavailable,
        )


_STRATEGY_KEYS: dict[type, StrategyKind] = {
    Canary: StrategyKind.CANARY,
    BlueGreen: StrategyKind.BLUE_GREEN,
    RollingUpdate: StrategyKind.ROLLING_UPDATE,
    Recreate: StrategyKind.RECREATE,
}


def _pods(state: State) -> dict[str, int]:
    return {w.version: w.replicas for w in state.workloads}


def _serving(state: State) -> tuple[frozenset[tuple[str, int]], frozenset[tuple[str, int]]]:
    """Pods and route weights that run; a Deployment scaled to 0 or a weight of 0 changes nothing that serves."""
    return frozenset((v, n) for v, n in _pods(state).items() if n), frozenset((v, w) for v, w in state.weights if w)


def _ratio_state(app: str, stable: str, new: str, pods: Mapping[str, int]) -> State:
    return State(tuple(Workload(v, workload_name(app, v), pods[v]) for v in (stable, new)))


def _new_only(release: Release, service_version: str | None = None, weights: tuple[tuple[str, int], ...] = ()) -> State:
    """The final state: the new version alone, full size."""
    new = Workload(release.version, workload_name(release.name, release.version), release.replicas)
    return State((new,), service_version=service_version, weights=weights)


def _ratio_canary(release: Release, canary: Canary) -> Plan:
    n, stable, new = release.replicas, stable_of(release), release.version
    bounds = _bounds(n, canary.max_surge, canary.max_unavailable)
    steps = _Steps(release)
    pods = {stable: n, new: 0}
    for spec_step in canary_steps(canary, n):
        if isinstance(spec_step, (Pause, Analysis)):
            steps.wait(spec_step)
            continue
        if isinstance(spec_step, SetWeight):
            canary_pods, stable_pods = canary_counts(n, spec_step.weight, bounds.surge)
            target, action, asked = {stable: stable_pods, new: canary_pods}, "setWeight", spec_step.weight
            what = f"setWeight {spec_step.weight}"
        else:
            scale = spec_step.replicas
            target, action, asked = {stable: n - scale, new: scale}, "setCanaryScale", None
            what = f"setCanaryScale {scale}"
        steps.warn_if_unchanged(_ratio_state(release.name, stable, new, target), what)
        _move_pods(steps, pods, target, bounds, action, asked)
        pods = target
    full = {stable: 0, new: n}
    if pods != full:
        _move_pods(steps, pods, full, bounds, "promote", None)
    steps.commit("cleanup", _new_only(release), 100.0, note=f"remove {stable}")
    return steps.plan(canary.traffic, bounds)


def _bounds(replicas: int, max_surge: IntOrPercent, max_unavailable: IntOrPercent) -> Bounds:
    try:
        return resolve_bounds(replicas, max_surge, max_unavailable)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _move_pods(
    steps: _Steps, before: dict[str, int], after: dict[str, int], bounds: Bounds, action: str, set_weight: int | None
) -> None:
    """Commit the way from ``before`` to ``after``: the sub-steps the bounds need, then ``after`` as ``action``."""
    release = steps.release
    app, stable, new = release.name, stable_of(release), release.version
    # safe_transition ends with ``after`` even when nothing moves: an unchanged
    # step is still committed, so it keeps its place and its waits.
    path = safe_transition(before, after, release.replicas, bounds)
    previous = before
    for i, pods in enumerate(path, start=1):
        weight = achieved_weight(pods[new], pods[stable])
        if i == len(path):
            steps.commit(action, _ratio_state(app, stable, new, pods), weight, set_weight=set_weight)
            return
        kind = "surge" if sum(pods.values()) > sum(previous.values()) else "drain"
        floor, ceiling = release.replicas - bounds.unavailable, release.replicas + bounds.surge
        note = f"inserted so that at least {floor} pods stay available and at most {ceiling} run"
        steps.commit(kind, _ratio_state(app, stable, new, pods), weight, note=note)
        previous = pods


def _routed_canary(release: Release, canary: Canary) -> Plan:
    n, stable, new = release.replicas, stable_of(release), release.version
    steps = _Steps(release)
    pods, weight = 0, 0

    def state(canary_pods: int, canary_weight: int) -> State:
        workloads = (
            Workload(stable, workload_name(release.name, stable), n),
            Workload(new, workload_name(release.name, new), canary_pods),
        )
        return State(workloads, weights=((stable, 100 - canary_weight), (new, canary_weight)))

    def move(to_pods: int, to_weight: int, action: str, asked: int | None) -> None:
        if to_pods > pods and to_weight != weight:
            note = f"{new} pods come up before the weight rises to {to_weight}%"
            steps.commit("scale", state(to_pods, weight), float(weight), note=note)
        steps.commit(action, state(to_pods, to_weight), float(to_weight), set_weight=asked)

    for spec_step in canary_steps(canary, n):
        if isinstance(spec_step, (Pause, Analysis)):
            steps.wait(spec_step)
            continue
        if isinstance(spec_step, SetWeight):
            to_pods, to_weight = max(pods, routed_canary_replicas(n, spec_step.weight)), spec_step.weight
            action, asked, what = "setWeight", spec_step.weight, f"setWeight {spec_step.weight}"
        else:
            to_pods, to_weight = spec_step.replicas, weight
            action, asked, what = "setCanaryScale", None, f"setCanaryScale {to_pods}"
        steps.warn_if_unchanged(state(to_pods, to_weight), what)
        move(to_pods, to_weight, action, asked)
        pods, weight = to_pods, to_weight
    if (pods, weight) != (n, 100):
        move(n, 100, "promote", None)
    steps.commit("cleanup", _new_only(release, weights=((new, 100),)), 100.0, note=f"remove {stable}")
    return steps.plan(canary.traffic)


def _blue_green(release: Release, bg: BlueGreen) -> Plan:
    n, blue, green = release.replicas, stable_of(release), release.version
    first = n if bg.preview_replica_count is None else bg.preview_replica_count
    preview = green if bg.preview_service else None
    steps = _Steps(release)

    def both(green_pods: int, serving: str) -> State:
        workloads = (
            Workload(blue, workload_name(release.name, blue), n),
            Workload(green, workload_name(release.name, green), green_pods),
        )
        return State(workloads, service_version=serving, preview_version=preview)

    behind = f"{bg.preview_service} selects it" if preview else "no preview Service"
    steps.commit("preview", both(first, blue), 0.0, note=f"{green} comes up beside {blue}; {behind}")
    steps.wait(*_given(bg.pre_promotion_analysis), *_promotion_pause(bg))
    if first < n:
        steps.commit("scale", both(n, blue), 0.0, note=f"{green} grows to full size before it takes traffic")
    steps.commit("switch", both(n, green), 100.0, note=f"the Service selects {green}; {blue} keeps running")
    steps.wait(*_given(bg.post_promotion_analysis))
    if bg.scale_down_delay_seconds:
        steps.wait(Pause(float(bg.scale_down_delay_seconds)))
    steps.commit("cleanup", _new_only(release, service_version=green), 100.0, note=f"remove {blue}")
    return steps.plan()


def _promotion_pause(bg: BlueGreen) -> tuple[Pause, ...]:
    # As in Argo Rollouts, autoPromotionSeconds counts only when auto-promotion is on.
    if not bg.auto_promotion_enabled:
        return (Pause(None),)
    if bg.auto_promotion_seconds:
        return (Pause(float(bg.auto_promotion_seconds)),)
    return ()


def _given(analysis: Analysis | None) -> tuple[Analysis, ...]:
    return () if analysis is None else (analysis,)


def _rolling_update(release: Release, ru: RollingUpdate) -> Plan:
    n = release.replicas
    bounds = _bounds(n, ru.max_surge, ru.max_unavailable)
    steps = _Steps(release)
    note = (
        f"the Deployment replaces its pods in place: at most {n + bounds.surge} run and at least "
        f"{n - bounds.unavailable} stay available, but nothing controls which version serves a request during the change"
    )
    state = State((Workload(release.version, release.name, n),))
    steps.commit("update", state, 100.0, min_available=n - bounds.unavailable, note=note)
    steps.wait(*_given(ru.analysis))
    return steps.plan(bounds=bounds)


def _recreate(release: Release, recreate: Recreate) -> Plan:
    steps = _Steps(release)
    steps.commit(
        "remove", State(()), 0.0, note=f"downtime starts: no pod of {release.name} runs until the next commit is live"
    )
    steps.commit(
        "create",
        _new_only(release),
        100.0,
        note=f"downtime ends once the {release.replicas} pods of {release.version} are ready",
    )
    steps.wait(*_given(recreate.analysis))
    return steps.plan()
