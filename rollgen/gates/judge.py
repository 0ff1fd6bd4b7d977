"""A measured value judged by a gate's ``successCondition`` and ``failureCondition``.

Argo Rollouts' rules, plus rollgen's no-data policy (see ``rollgen.gates.analysis``):

========================  ===========================  ===================================
conditions set            holds                        phase
========================  ===========================  ===================================
neither                   -                            Successful (the check itself decided)
success only              success / not                Successful / Failed
failure only              failure / not                Failed / Successful
both                      failure (whatever success)   Failed
both                      success only                 Successful
both                      neither                      Inconclusive
any, value missing        failure holds                Failed
any, value missing        otherwise                    Inconclusive (never Successful)
any                       cannot be judged             Error
========================  ===========================  ===================================

    >>> judge(0.95, "result >= 0.99", "result < 0.9").phase
    <Phase.INCONCLUSIVE: 'Inconclusive'>
    >>> judge([], "result >= 0.99", None, missing="empty vector").message
    'no data (empty vector): not judged by successCondition'
"""

from __future__ import annotations

import math
from typing import Any

from rollgen.gates.analysis import CheckResult, Phase
from rollgen.gates.conditions import ConditionError, parse
from rollgen.gates.conditions.evaluate import evaluate


def _evaluate(role: str, text: str, value: Any) -> bool:
    try:
        return evaluate(parse(text), value)
    except ConditionError as error:
        raise ConditionError(error.offset, f"{role} {text!r} at offset {error.offset}: {error.message}") from None


def missing_data(value: Any) -> str | None:
    """Why ``value`` holds no data to judge (None, NaN, ±Inf, an empty list), or None if it does.

    >>> missing_data([0.5, float("nan")]), missing_data([0.5]), missing_data([])
    ('NaN', None, 'empty result')
    """
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "infinite value"
    if isinstance(value, (list, tuple)):
        if not value:
            return "empty result"
        return next((why for why in map(missing_data, value) if why is not None), None)
    return None


def judge(value: Any, success: str | None, failure: str | None, missing: str | None = None) -> CheckResult:
    """The phase of one measurement whose result is ``value``.

    ``missing`` (why there is no data; by default :func:`missing_data` decides)
    applies the no-data policy: only ``failure`` is consulted.
    """
    missing = missing if missing is not None else missing_data(value)
    if missing is not None:
        if failure is not None:
            try:
                if _evaluate("failureCondition", failure, value):
                    return CheckResult(
                        Phase.FAILED, value, f"no data ({missing}) and failureCondition {failure!r} holds"
                    )
            except ConditionError:
                pass  # a failure condition that cannot read missing data did not match it
        judged_by = "successCondition" if success is not None else "any condition"
        return CheckResult(Phase.INCONCLUSIVE, value, f"no data ({missing}): not judged by {judged_by}")
    try:
        succeeded = success is not None and _evaluate("successCondition", success, value)
        failed = failure is not None and _evaluate("failureCondition", failure, value)
    except ConditionError as error:
        return CheckResult(Phase.ERROR, value, f"result {_short(value)}: {error.message}")
    shown = f"result {_short(value)}"
    if failed:
        return CheckResult(Phase.FAILED, value, f"{shown}: failureCondition {failure!r} holds")
    if success is None:
        return CheckResult(
            Phase.SUCCESSFUL,
            value,
            shown if failure is None else f"{shown}: failureCondition {failure!r} does not hold",
        )
    if succeeded:
        return CheckResult(Phase.SUCCESSFUL, value, f"{shown}: successCondition {success!r} holds")
    if failure is None:
        return CheckResult(Phase.FAILED, value, f"{shown}: successCondition {success!r} does not hold")
    return CheckResult(Phase.INCONCLUSIVE, value, f"{shown}: neither successCondition nor failureCondition holds")


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
