"""A plan as people and programs read it: the table ``rollgen plan`` prints, and plain data for ``-o json|yaml``.

The table has one row per commit (row 0 is the state before the rollout); the
two pod columns are named for the stable and the new version, and the traffic
column gives both versions' shares in that same order, with what splits them:
``pods`` (a replica-ratio canary), ``route`` (Istio or Gateway API weights) or
``selector`` (the Service's version selector). Warnings and the steps' notes
follow the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rollgen.durations import format_duration
from rollgen.plan.model import Plan, State, Step, Wait
from rollgen.spec.model import Analysis, Pause

_HEADER = ("step", "action", "asked", "weight")
_TAIL = ("total", "min avail", "traffic", "gates", "pause")
_TEXT_COLUMNS = {1, 8, 9, 10}  # left-aligned; numbers align right


def format_plan(plan: Plan) -> str:
    """The plan as a text table, then its warnings and the steps' notes (no trailing newline).

    >>> from rollgen.plan.steps import Step, Workload
    >>> before = State((Workload("1.0", "app-1-0", 2),))
    >>> after = State((Workload("2.0", "app-2-0", 2),))
    >>> plan = Plan("app", "prod", "1.0", "2.0", "recreate", 2, before,
    ...             (Step(1, "remove", State(()), 0.0, 0, note="downtime"), Step(2, "create", after, 100.0, 0)))
    >>> print(format_plan(plan))
    app in prod: recreate, 1.0 -> 2.0, 2 replicas
    <BLANKLINE>
    step  action   asked  weight  1.0  2.0  total  min avail  traffic     gates  pause
       0  initial      -      0%    2    -      2          -  100:0 pods
       1  remove       -      0%    -    -      0          0  none
       2  create       -    100%    -    2      2          0  0:100 pods
    <BLANKLINE>
    notes:
      step 1: downtime
    """
    rows = [(*_HEADER, plan.stable, plan.version, *_TAIL)]
    # Nothing of the new version runs before the rollout, so its weight is 0 under every strategy.
    rows.append(("0", "initial", "-", "0%", *_pods(plan, plan.initial), "-", _traffic(plan, plan.initial), "", ""))
    for step in plan.steps:
        asked = "-" if step.set_weight is None else f"{step.set_weight}%"
        rows.append(
            (
                str(step.index),
                step.action,
                asked,
                _percent(step.weight),
                *_pods(plan, step.state),
                str(step.min_available),
                _traffic(plan, step.state),
                _gates(step.after),
                _pauses(step.after),
            )
        )
    lines = [_title(plan), "", *_aligned(rows)]
    if plan.warnings:
        lines += ["", "warnings:", *(f"  {warning}" for warning in plan.warnings)]
    # Inserted surge/drain steps share one note: list it once, with all its steps.
    noted: dict[str, list[int]] = {}
    for step in plan.steps:
        if step.note:
            noted.setdefault(step.note, []).append(step.index)
    if noted:
        lines += ["", "notes:", *(f"  {_steps_label(indexes)}: {note}" for note, indexes in noted.items())]
    return "\n".join(lines)


def plan_to_data(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-able data with stable keys, in the spec's camelCase vocabulary.

    Waits read like the canary steps they came from: ``{"pause": {"duration":
    "10m"}}``, ``{"pause": {}}`` (until promoted), ``{"analysis": {"gates": [...]}}``.
    """
    return {
        "release": plan.release,
        "namespace": plan.namespace,
        "strategy": str(plan.strategy),
        "traffic": plan.traffic,
        "stable": plan.stable,
        "version": plan.version,
        "replicas": plan.replicas,
        "maxSurge": plan.max_surge,
        "maxUnavailable": plan.max_unavailable,
        "digest": plan.digest(),
        "initial": _state_data(plan.initial),
        "steps": [_step_data(step) for step in plan.steps],
        "warnings": list(plan.warnings),
    }


def _step_data(step: Step) -> dict[str, Any]:
    return {
        "index": step.index,
        "action": step.action,
        "setWeight": step.set_weight,
        "weight": step.weight,
        "minAvailable": step.min_available,
        "state": _state_data(step.state),
        "after": [_wait_data(wait) for wait in step.after],
        "note": step.note,
    }


def _state_data(state: State) -> dict[str, Any]:
    return {
        "workloads": [{"name": w.name, "version": w.version, "replicas": w.replicas} for w in state.workloads],
        "totalPods": state.total_pods,
        "serviceVersion": state.service_version,
        "previewVersion": state.preview_version,
        "weights": [{"version": version, "weight": weight} for version, weight in state.weights],
    }


def _wait_data(wait: Wait) -> dict[str, Any]:
    if isinstance(wait, Analysis):
        return {"analysis": {"gates": list(wait.gates)}}
    return {"pause": {} if wait.seconds is None else {"duration": format_duration(wait.seconds)}}


def _steps_label(indexes: list[int]) -> str:
    """``step 3`` or ``steps 1, 4-10, 12`` for ascending step numbers."""
    runs: list[list[int]] = []
    for index in indexes:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    spans = ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)
    return f"{'step' if len(indexes) == 1 else 'steps'} {spans}"


def _title(plan: Plan) -> str:
    how = plan.strategy if plan.traffic is None else f"{plan.strategy} (traffic: {plan.traffic})"
    bounds = ""
    if plan.max_surge is not None:
        bounds = f", maxSurge {plan.max_surge}, maxUnavailable {plan.max_unavailable}"
    return (
        f"{plan.release} in {plan.namespace}: {how}, {plan.stable} -> {plan.version}, {plan.replicas} replicas{bounds}"
    )


def _pods(plan: Plan, state: State) -> tuple[str, str, str]:
    """Pods of the stable and the new version (``-`` without a Deployment of it), and in all."""
    present = {w.version for w in state.workloads}
    stable, new = (str(state.replicas(v)) if v in present else "-" for v in (plan.stable, plan.version))
    return stable, new, str(state.total_pods)


def _traffic(plan: Plan, state: State) -> str:
    """Stable and new version's traffic shares, ``stable:new``, and what splits them."""
    if state.weights:
        routed = dict(state.weights)
        return f"{routed.get(plan.stable, 0)}:{routed.get(plan.version, 0)} route"
    if state.service_version is not None:
        new = 100 if state.service_version == plan.version else 0
        preview = "" if state.preview_version is None else f", preview {state.preview_version}"
        return f"{100 - new}:{new} selector{preview}"
    if not state.total_pods:
        return "none"
    new_share = 100.0 * state.replicas(plan.version) / state.total_pods
    return f"{_number(100 - new_share)}:{_number(new_share)} pods"


def _gates(waits: tuple[Wait, ...]) -> str:
    return ", ".join(gate for wait in waits if isinstance(wait, Analysis) for gate in wait.gates)


def _pauses(waits: tuple[Wait, ...]) -> str:
    return ", ".join(
        "until promoted" if wait.seconds is None else format_duration(wait.seconds)
        for wait in waits
        if isinstance(wait, Pause)
    )


def _percent(value: float) -> str:
    return f"{_number(value)}%"


def _number(value: float) -> str:
    """One decimal at most: ``27.3``, ``25``."""
    return f"{value:.1f}".removesuffix(".0")


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(w) if i in _TEXT_COLUMNS else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=False))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines
