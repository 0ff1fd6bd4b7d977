"""The ported tables as pure evaluation: each case parsed, type-checked and evaluated, no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from rollgen.gates.analysis import Phase
from rollgen.gates.conditions import ConditionError, parse
from rollgen.gates.conditions.checker import UNKNOWN, check
from rollgen.gates.conditions.evaluate import evaluate, value_of
from rollgen.gates.conditions.parser import syntax_tree
from rollgen.gates.judge import judge
from tests.gates.conditions.tables import ARGO_CONDITIONS, ARGO_MEASUREMENTS, EXPR_CASES, case_id, same


@pytest.mark.parametrize("case", ARGO_CONDITIONS, ids=case_id)
def test_argo_rollouts_conditions(case: dict[str, Any]) -> None:
    if "refused" in case:
        with pytest.raises(ConditionError) as refusal:
            parse(case["condition"])
        assert case["refused"] in refusal.value.message
        return
    condition = parse(case["condition"])
    if "error" in case:
        with pytest.raises(ConditionError) as error:
            evaluate(condition, case["result"])
        assert case["error"] in error.value.message
    else:
        assert evaluate(condition, case["result"]) is case["expect"]


@pytest.mark.parametrize("case", ARGO_MEASUREMENTS, ids=case_id)
def test_argo_rollouts_measurements(case: dict[str, Any]) -> None:
    # EvaluateResult's phases, with rollgen's no-data policy where the table says it differs.
    expected = Phase(case.get("rollgen", case["argo"]))
    assert judge(case["result"], case.get("success"), case.get("failure")).phase is expected


@pytest.mark.parametrize("case", EXPR_CASES, ids=case_id)
def test_expr_lang_semantics(case: dict[str, Any]) -> None:
    text, result = case["condition"], case.get("result")
    if "refused" in case:
        with pytest.raises(ConditionError) as refusal:
            check(syntax_tree(text), UNKNOWN)
        assert case["refused"] in refusal.value.message
        assert refusal.value.offset == case.get("offset", refusal.value.offset)
        return
    tree = syntax_tree(text)
    check(tree, UNKNOWN)  # `validate` accepts it: only the result's type, or its value, can fail it
    if "refused_for_result" in case or "error" in case:
        with pytest.raises(ConditionError) as error:
            value_of(tree, result)
        assert case.get("error", case.get("refused_for_result")) in error.value.message
        assert error.value.offset == case.get("offset", error.value.offset)
    else:
        got = value_of(tree, result)
        assert same(got, case["value"]), f"{got!r} is not {case['value']!r}"
