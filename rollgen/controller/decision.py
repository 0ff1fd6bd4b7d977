"""The advance/abort decision: what must pass after a step's commit, and what to do now.

Pure (no I/O, no clock): :func:`stages_of` lays out what must pass after a
step's commit before the next one, and :func:`decide` turns the measurements
taken so far into one :class:`Decision` for ``now``. The controller
(:mod:`rollgen.controller.advance`) does the I/O around it.

What must pass after a commit, in order (each stage starts when the one before
ended; the first at the commit's time):

1. **live**: every liveness gate of the spec (argocd / flux / kubernetes, see
   :mod:`rollgen.gates.registry`), with the commit's SHA, measured until one
   success each ("Pending" = not synced yet). The release's
   ``progressDeadline`` (from the commit) bounds this stage only: past it a
   step that is not live aborts. Without a liveness gate, the spec's
   ``liveness: {assumeAfter}`` is the stage: a wait of that long after the
   commit. Without either nothing proves a commit live, and no stage is laid out.
2. then each of the step's ``after`` waits: ``pause: {duration}`` (over at
   start + duration), ``pause: {}`` (waits for ``rollgen promote``), or
   ``analysis`` (its gates measured in parallel by Argo Rollouts' rules).

Verdicts: Failed or Error aborts, Inconclusive holds for a human (``rollgen
promote`` or ``rollgen abort``), Running waits until its next measurement.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

from rollgen.errors import UsageError
from rollgen.gates.analysis import GateVerdict, Measurement, MeasurementPolicy, Phase, assess
from rollgen.gates.facts import is_liveness
from rollgen.plan.model import Step
from rollgen.spec.model import Analysis, Canary, Gate, Release
from rollgen.spec.vocabulary import WAVES_RESTARTS_GATE

LIVE: Final = "live"


# --- decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Advance:
    """Every stage passed: commit the next step (or, at the last step, the rollout is complete)."""

    reason: str = "all gates passed"


@dataclass(frozen=True)
class WaitUntil:
    """Nothing to do before ``until`` (None: until a human runs ``rollgen promote``)."""

    reason: str
    until: float | None


@dataclass(frozen=True)
class Abort:
    """A gate failed or errored, or the step missed its progressDeadline."""

    reason: str


@dataclass(frozen=True)
class Hold:
    """A gate was inconclusive: a human decides (``rollgen promote`` or ``rollgen abort``)."""

    reason: str


@dataclass(frozen=True)
class Measure:
    """Measurements are due now: ``gates`` of ``stage``, whose analysis started at ``started_at``."""

    stage: str
    gates: tuple[str, ...]
    started_at: float


Decision = Advance | WaitUntil | Abort | Hold | Measure


# --- stages ---------------------------------------------------------------------------------------


class PauseEnd(enum.Enum):
    """How a pause ends when not after a duration."""

    PROMOTE = "promote"
    """``pause: {}``: a human runs ``rollgen promote``."""


@dataclass(frozen=True)
class StageGate:
    """A gate as one stage measures it."""

    gate: Gate
    policy: MeasurementPolicy


@dataclass(frozen=True)
class GateStage:
    """One thing that must pass after a commit: gates measured together, or a pause.

    ``key`` names the stage in stored measurements (``live``, ``1:analysis``,
    ``2:pause``...); ``pause`` is None for gate stages, else the pause in
    seconds, or :attr:`PauseEnd.PROMOTE` for a pause that waits for ``rollgen promote``.
    """

    key: str
    gates: tuple[StageGate, ...] = ()
    pause: float | PauseEnd | None = None


def liveness_gates(release: Release) -> tuple[Gate, ...]:
    """The spec's gates that tell whether a commit is live (the registry's liveness kinds)."""
    return tuple(g for g in release.gates if is_liveness(g.kind))


def gate_named(release: Release, name: str) -> Gate:
    """The spec's gate ``name``; the waves restart check is built from ``waves.restartLimit``.

    The restart check borrows the cluster settings (kubeconfig, context) of the
    spec's first kubernetes gate, so it reads the same cluster.
    """
    if name != WAVES_RESTARTS_GATE:
        return release.gate(name)
    strategy = release.strategy
    limit = strategy.waves.restart_limit if isinstance(strategy, Canary) and strategy.waves is not None else 0
    cluster = next((g.config for g in release.gates if g.kind == "kubernetes"), {})
    connection = {k: v for k, v in cluster.items() if k in ("kubeconfig", "context")}
    return Gate(name, "kubernetes", {**connection, "restartLimit": limit})


def stages_of(release: Release, step: Step | None, *, liveness_only: bool = False) -> tuple[GateStage, ...]:
    """What must pass after ``step``'s commit, in order (only liveness for abort states)."""
    live = tuple(StageGate(g, _liveness_policy(g)) for g in liveness_gates(release))
    if live:
        stages = [GateStage(LIVE, live)]
    elif release.liveness_assume_after is not None:
        # The spec's explicit choice: a commit counts as live this long after it, never sooner.
        stages = [GateStage(LIVE, pause=release.liveness_assume_after)]
    else:
        # validate refuses such a spec; a Release built any other way must not race through its steps.
        raise UsageError(
            f"release {release.name}: no argocd, flux or kubernetes gate and no spec.liveness.assumeAfter: "
            "nothing proves a step live; add a liveness gate or state liveness: {assumeAfter: <duration>}"
        )
    if step is None or liveness_only:
        return tuple(stages)
    for number, wait in enumerate(step.after, start=1):
        if isinstance(wait, Analysis):
            gates = tuple(gate_named(release, name) for name in wait.gates)
            stages.append(GateStage(f"{number}:analysis", tuple(StageGate(g, g.policy) for g in gates)))
        elif wait.seconds is not None:
            stages.append(GateStage(f"{number}:pause", pause=wait.seconds))
        elif release.git.mode != "pull-request":  # with pull requests, merging the next step is the approval
            stages.append(GateStage(f"{number}:pause", pause=PauseEnd.PROMOTE))
    return tuple(stages)


def _liveness_policy(gate: Gate) -> MeasurementPolicy:
    # Liveness is proven by one success: a gate written with an interval and no
    # count would otherwise measure "until it fails" and never let the step be live.
    # While not synced it is re-checked at its own interval, so a 1 s gate reacts in 1 s.
    policy = gate.policy
    return replace(policy, count=policy.count or 1, poll_interval=policy.interval or policy.poll_interval)


# --- the decision ---------------------------------------------------------------------------------

Records = Mapping[str, Sequence[Measurement]]
"""Measurements taken after one commit, by :func:`record_key` (stage and gate)."""


def record_key(stage: str, gate: str) -> str:
    return f"{stage}/{gate}"


@dataclass(frozen=True)
class GateView:
    """One gate's verdict at one stage, for the display and for deciding."""

    stage: str
    gate: str
    verdict: GateVerdict


@dataclass(frozen=True)
class Judgement:
    """A :class:`Decision` with what it was based on: the verdicts of the current stage's gates."""

    decision: Decision
    gates: tuple[GateView, ...] = ()


def decide(
    stages: Sequence[GateStage], records: Records, committed_at: float, now: float, deadline: float | None
) -> Judgement:
    """What to do at ``now`` about a commit made at ``committed_at``, given the measurements so far.

    ``deadline`` is when the commit must be live (commit time + progressDeadline)
    or None. Stages are walked in order; the first one not passed decides.
    """
    start = committed_at
    for stage in stages:
        if stage.pause is not None:
            if stage.pause is PauseEnd.PROMOTE:
                return Judgement(WaitUntil("paused until `rollgen promote`", None))
            if now < start + stage.pause:
                why = (
                    f"the commit counts as live {stage.pause:g}s after it (spec.liveness.assumeAfter)"
                    if stage.key == LIVE
                    else f"paused for {stage.pause:g}s"
                )
                return Judgement(WaitUntil(why, start + stage.pause))
            start += stage.pause
            continue
        views = tuple(
            GateView(
                stage.key, g.gate.name, assess(g.policy, records.get(record_key(stage.key, g.gate.name), ()), start)
            )
            for g in stage.gates
        )
        judged = _judge_stage(stage, views, start, now, deadline if stage.key == LIVE else None)
        if judged is not None:
            return Judgement(judged, views)
        # Passed: the next stage starts when the last of these gates succeeded.
        start = max((records[record_key(stage.key, v.gate)][-1].at for v in views), default=start)
    return Judgement(Advance())


def _judge_stage(
    stage: GateStage, views: Sequence[GateView], start: float, now: float, deadline: float | None
) -> Decision | None:
    """The decision a gate stage makes, or None when every gate passed."""
    for phases, outcome in (((Phase.FAILED, Phase.ERROR), Abort), ((Phase.INCONCLUSIVE,), Hold)):
        bad = [v for v in views if v.verdict.phase in phases]
        if bad:
            return outcome("; ".join(f"gate {v.gate}: {v.verdict.message}" for v in bad))
    running = [v for v in views if v.verdict.phase is Phase.RUNNING]
    if not running:
        return None
    if deadline is not None and now >= deadline:
        waiting = "; ".join(f"{v.gate}: {v.verdict.message}" for v in running)
        return Abort(f"progressDeadline passed before the step was live ({waiting})")
    due = tuple(v.gate for v in running if _next(v) <= now)
    if due:
        return Measure(stage.key, due, start)
    until = min(_next(v) for v in running)
    if deadline is not None:
        until = min(until, deadline)
    return WaitUntil("; ".join(f"{v.gate}: {v.verdict.message}" for v in running), until)


def _next(view: GateView) -> float:
    assert view.verdict.next_measurement_at is not None  # set while Running
    return view.verdict.next_measurement_at
