from __future__ import annotations

import math
import subprocess
import sys

import pytest

from rollgen.gates.conditions import ConditionError, parse

# (condition, result, expected)
TRUE_AND_FALSE = [
    ("result >= 0.99", 0.995, True),
    ("result >= 0.99", 0.98, False),
    ("result >= 0.99", [0.995], True),  # a one-series vector stands for its value
    ("result[0] >= 0.99", [0.995, 0.1], True),
    ("result[-1] < 0.5", [0.995, 0.1], True),
    ("len(result) == 0", [], True),
    ("len(result) > 0 && result[0] > 1", [], False),  # short-circuit: result[0] never read
    ("len(result) == 0 || result[0] > 1", [], True),
    ("result == 'ok'", "ok", True),
    ('result != "ok"', "ok", False),
    ("result.status == 'UP' and result.checks[1].ok", {"status": "UP", "checks": [{"ok": False}, {"ok": True}]}, True),
    ("result['a-b'] == 1", {"a-b": 1}, True),
    ("!(result < 1)", 2.0, True),
    ("not result < 1", 2.0, True),
    ("not not true", None, True),
    ("result < 1 || result > 3 && false", 0.5, True),  # && binds tighter than ||
    ("(result < 1 || result > 3) && false", 0.5, False),
    ("isNaN(result)", math.nan, True),
    ("isNaN(result)", [math.nan], True),
    ("result >= 0.5", math.nan, False),  # NaN compares false, as in IEEE 754
    ("result < 0.5", math.nan, False),
    ("result == null", None, True),
    ("result.x == null", {"x": None}, True),
    ("result > -1e-3", 0.0, True),
    ("result == .5", 0.5, True),
    ("result == 'it\\'s'", "it's", True),
    ("result", True, True),
    ("result.ready", {"ready": False}, False),
    ("result >= 'b'", "c", True),
    ("len(result) == 2", "ab", True),
    ("len(result) == 1", {"k": 1}, True),
]


@pytest.mark.parametrize(("text", "result", "expected"), TRUE_AND_FALSE)
def test_evaluates(text: str, result: object, expected: bool) -> None:
    assert parse(text).evaluate(result) is expected


# (condition, 0-based offset, part of the message)
SYNTAX_ERRORS = [
    ("", 0, "expected a value, found end of condition"),
    ("result >= ", 10, "expected a value"),
    ("result > 1 &&", 13, "expected a value"),
    ("result >== 1", 9, "unexpected character '='"),
    ("result = 1", 7, "unexpected character '='"),
    ("foo > 1", 0, "unknown name 'foo'"),
    ("__import__('os')", 0, "unknown name '__import__'"),
    ("(result > 1", 11, "expected ')'"),
    ("result > 1)", 10, "unexpected ')'"),
    ("result[0 > 1", 12, "expected ']'"),
    ("'open", 0, "unterminated string"),
    ("result == 'a\\q'", 12, "unknown escape"),
    ("1 < result < 3", 11, "chained comparison"),
    ("result @ 1", 7, "unexpected character '@'"),
    ("len result", 4, "expected '('"),
    ("result.", 7, "expected a field name"),
    ("(" * 100 + "result" + ")" * 100, 64, "nested deeper"),
    ("!" * 100 + "true", 63, "nested deeper"),
    ("result == [1]", 10, "expected a value, found '['"),
]


@pytest.mark.parametrize(("text", "offset", "message"), SYNTAX_ERRORS)
def test_syntax_errors_point_at_the_culprit(text: str, offset: int, message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse(text)
    assert caught.value.offset == offset
    assert message in caught.value.message


def test_dunder_fields_are_plain_keys_not_attributes() -> None:
    # There is no attribute access at all: ".x" only ever reads a key of a JSON object.
    condition = parse("result.__class__ == 'x'")
    assert condition.evaluate({"__class__": "x"}) is True
    with pytest.raises(ConditionError, match="cannot index a string"):
        condition.evaluate("text")


# (condition, result, 0-based offset, part of the message)
TYPE_ERRORS = [
    ("result == 'ok'", 1.0, 7, "cannot compare a number with a string"),
    ("result > 1", "2", 7, "cannot order a string and a number"),
    ("result > 1", [1.0, 2.0], 7, "cannot order a list and a number"),
    ("result > 1", [], 7, "cannot order a list and a number"),
    ("result[0] > 1", [], 6, "index 0 out of range for a list of 0"),
    ("result[0.5] > 1", [1.0], 6, "whole number"),
    ("result.x > 1", {"y": 1}, 6, "no field 'x' (fields: y)"),
    ("result.x > 1", [1.0], 6, "a list index must be a whole number, got 'x'"),
    ("result[0] > 1", 3.0, 6, "cannot index a number"),
    ("result && true", 1.0, 0, "'and' needs true or false, got a number"),
    ("!result", "yes", 1, "'!' needs true or false, got a string"),
    ("result", 0.5, 0, "must be true or false, got a number"),
    ("len(result) > 0", 1.0, 0, "len() needs a list"),
    ("isNaN(result)", "NaN", 0, "isNaN() needs a number, got a string"),
    ("-result < 0", "1", 0, "cannot negate a string"),
    ("result == true", 1.0, 7, "cannot compare a number with a boolean"),
    ("result > true", True, 7, "cannot order a boolean and a boolean"),
]


@pytest.mark.parametrize(("text", "result", "offset", "message"), TYPE_ERRORS)
def test_type_errors_are_errors_not_false(text: str, result: object, offset: int, message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse(text).evaluate(result)
    assert caught.value.offset == offset
    assert message in caught.value.message


def test_condition_error_is_a_rollgen_error_with_the_offset_in_its_text() -> None:
    from rollgen.errors import RollgenError

    with pytest.raises(RollgenError, match=r"^offset 7: "):
        parse("result = 1")


def test_a_parsed_condition_is_reusable_and_keeps_its_text() -> None:
    condition = parse("result < 0.1")
    assert condition.text == "result < 0.1"
    assert [condition.evaluate(v) for v in (0.0, 0.5, 0.05)] == [True, False, True]


def test_importing_conditions_stays_light() -> None:
    # The spec validator parses every condition: this import must not drag in anything heavy.
    code = "import sys, rollgen.gates.conditions; print(sorted(m for m in sys.modules if m.split('.')[0] in {'kubernetes', 'jinja2', 'yaml', 'ruamel', 'urllib3', 'json'}))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
