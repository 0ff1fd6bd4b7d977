"""The shared judgement of prometheus and http results, and the no-data policy in its table form."""

from __future__ import annotations

import math
from typing import Any

import pytest

from rollgen.gates.analysis import Phase
from rollgen.gates.judge import judge, missing_data

S, F = "result >= 0.99", "result < 0.9"

# (value, successCondition, failureCondition, phase): Argo Rollouts' evaluation rules
RULES = [
    (0.5, None, None, Phase.SUCCESSFUL),
    (0.995, S, None, Phase.SUCCESSFUL),
    (0.95, S, None, Phase.FAILED),
    (0.95, None, F, Phase.SUCCESSFUL),
    (0.5, None, F, Phase.FAILED),
    (0.995, S, F, Phase.SUCCESSFUL),
    (0.5, S, F, Phase.FAILED),
    (0.95, S, F, Phase.INCONCLUSIVE),
    (0.5, "result < 1", "result < 0.9", Phase.FAILED),  # both hold: failure wins
    ("x", S, None, Phase.ERROR),
    ("x", None, F, Phase.ERROR),
]


@pytest.mark.parametrize(("value", "success", "failure", "phase"), RULES)
def test_conditions_decide_like_argo(value: Any, success: str | None, failure: str | None, phase: Phase) -> None:
    assert judge(value, success, failure).phase is phase


# The no-data policy: never Successful; Failed only when failureCondition says so.
NO_DATA = [
    ([], S, None, Phase.INCONCLUSIVE),
    ([], None, None, Phase.INCONCLUSIVE),
    ([], "len(result) == 0", None, Phase.INCONCLUSIVE),  # not even a success condition written for it
    ([], S, "len(result) == 0", Phase.FAILED),
    ([], S, F, Phase.INCONCLUSIVE),  # F cannot read an empty list: it did not match
    (math.nan, "isNaN(result)", None, Phase.INCONCLUSIVE),
    (math.nan, S, "isNaN(result)", Phase.FAILED),
    ([0.995, math.nan], S, None, Phase.INCONCLUSIVE),
    (math.inf, S, None, Phase.INCONCLUSIVE),
    (-math.inf, S, F, Phase.FAILED),
    (None, S, None, Phase.INCONCLUSIVE),
]


@pytest.mark.parametrize(("value", "success", "failure", "phase"), NO_DATA)
def test_no_data_is_never_a_success(value: Any, success: str | None, failure: str | None, phase: Phase) -> None:
    result = judge(value, success, failure)
    assert result.phase is phase
    assert "no data" in result.message


def test_an_explicit_reason_for_missing_data_is_reported() -> None:
    result = judge(None, S, None, missing="$.ratio not in the response")
    assert result.phase is Phase.INCONCLUSIVE
    assert result.message == "no data ($.ratio not in the response): not judged by successCondition"


def test_errors_name_the_condition_and_offset() -> None:
    result = judge([1.0, 2.0], "result[5] > 1", None)
    assert result.phase is Phase.ERROR
    assert "successCondition 'result[5] > 1' at offset 6: index out of range: 5 (array length is 2)" in result.message


def test_missing_data_reasons() -> None:
    assert missing_data(0.0) is None and missing_data("") is None and missing_data({}) is None
    assert missing_data([1.0, math.inf]) == "infinite value"
