"""rollgen's reading of the condition language: what the ported tables do not pin down.

The tables (test_tables.py) hold Argo Rollouts' and expr-lang's own cases; here are
the rules rollgen adds or must get right on its own: the one-series vector, positions
of errors, the bounds that keep a hostile condition from hanging a gate, and imports.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest

from rollgen.errors import RollgenError
from rollgen.gates.conditions import ConditionError, parse
from rollgen.gates.conditions.builtins import CALLS
from rollgen.gates.conditions.checker import BUILTINS, ENVIRONMENT, LOOPS
from rollgen.gates.conditions.evaluate import MAX_ITEMS, MAX_STEPS, evaluate
from rollgen.gates.conditions.lexer import MAX_LENGTH, tokenize
from testkit.tools import REPO_ROOT

# (condition, result, expected)
TRUE_AND_FALSE = [
    ("result >= 0.99", 0.995, True),
    ("result >= 0.99", 0.98, False),
    ("result >= 0.99", [0.995], True),  # rollgen's extension: a one-series vector stands for its value
    ("result == 1", [1.0], True),
    ("0.99 <= result", [0.995], True),
    ("result[0] >= 0.99", [0.995, 0.1], True),
    ("result[-1] < 0.5", [0.995, 0.1], True),
    ("len(result) > 0 && result[0] > 1", [], False),  # short-circuit: result[0] never read
    ("len(result) == 0 || result[0] > 1", [], True),
    ("result.status == 'UP' and result.checks[1].ok", {"status": "UP", "checks": [{"ok": False}, {"ok": True}]}, True),
    ("result['a-b'] == 1", {"a-b": 1}, True),
    ("result.missing == nil", {"present": 1}, True),  # a missing key reads nil, as in expr-lang
    ("result.status == 1", {"status": "UP"}, False),  # inside a map, types are unknown: false, not an error
    ("!(result < 1)", 2.0, True),
    ("not not true", None, True),
    ("result < 1 || result > 3 && false", 0.5, True),  # && binds tighter than ||
    ("(result < 1 || result > 3) && false", 0.5, False),
    ("1 < result < 3", 2.0, True),  # a chain of comparisons is their &&
    ("isNaN(result)", math.nan, True),
    ("result >= 0.5", math.nan, False),  # NaN compares false, as in IEEE 754
    ("result == .5", 0.5, True),
    ("result == 'it\\'s'", "it's", True),
    ("result", True, True),
    ("result.ready", {"ready": False}, False),
    ("result >= 'b'", "c", True),
    ("len(result) == 2", "ab", True),
    ("result.version startsWith '6.' && result.version not matches '-rc'", {"version": "6.5.0"}, True),
    ("result.code in [200, 204]", {"code": 204.0}, True),
    ("result.region in ['eu', 'us']", {"region": "us"}, True),
    ("(result.ratio ?? 0) > 0.9", {"ratio": None}, False),
    ("result?.a?.b == nil", {"a": None}, True),
    ("result.errors / result.total < 0.01", {"errors": 1.0, "total": 1000.0}, True),
    ("count(result, {.ok}) >= 2", [{"ok": True}, {"ok": True}, {"ok": False}], True),
    ("any(result, {.name == 'db' && !.ok})", [{"name": "db", "ok": False}], True),
    ("none(result, # > 0.5) and one(result, # == 0.2)", [0.1, 0.2], True),
    ("sum(result) / len(result) < 0.5", [0.25, 0.5], True),
    ("abs(result - 1) < 0.01", 1.005, True),
    ("min(result) > 0 ? max(result) < 1 : false", [0.3, 0.6], True),
]


@pytest.mark.parametrize(("text", "result", "expected"), TRUE_AND_FALSE)
def test_evaluates(text: str, result: object, expected: bool) -> None:
    assert evaluate(parse(text), result) is expected


# (condition, 0-based offset, part of the message): refused before anything is measured
REFUSED = [
    ("", 0, "expected a value, found end of condition"),
    ("result >= ", 10, "expected a value"),
    ("result >= = 1", 10, "expected a value, found '='"),
    ("result = 1", 7, "unexpected '='"),
    ("foo > 1", 0, "unknown name foo; the variable is result"),
    ("__import__('os')", 0, "unknown name __import__"),
    ("result == null", 10, "unknown name null (expr-lang writes nil)"),
    ("(result > 1", 11, "expected ')'"),
    ("result > 1)", 10, "unexpected ')'"),
    ("result[0 > 1", 12, "expected ']'"),
    ("len result", 0, "len is a function: call it, as in len(result)"),
    ("isNaN > 1", 0, "isNaN is a function: call it"),
    ("trim(result) == 'x'", 0, "trim() is an expr-lang builtin rollgen conditions do not support"),
    ("now() > 1", 0, "now() is an expr-lang builtin"),
    ("let x = 1; x > 0", 0, "'let' is not supported"),
    ("if result > 1 { true } else { false }", 0, "'if' is not supported"),
    ("result > 1; true", 10, "sequences (;) are not supported"),
    ("result | len() > 0", 7, "the pipe operator | is not supported"),
    ("result[1:2] == [1]", 8, "slices are not supported"),
    ("{a: 1}.a == 1", 0, "map literals are not supported"),
    ("b'x' == result", 0, "bytes literals are not supported"),
    ("$env.result > 1", 0, "$env is not supported"),
    ("# > 0", 0, "# stands for an element only inside a predicate"),
    ("all(result)", 10, "all() expects a predicate"),
    ("all()", 4, "all() expects at least 2 arguments"),
    ("map(result, #acc)", 12, "unknown pointer #acc"),
    ("all(result, #index > 0)", 12, "unknown pointer #index"),  # only map has #index, as in expr-lang
    ("result.x()", 7, "methods are not supported"),
    ("len(result) + 1", 12, "expected bool, but got int"),
    ("'open", 0, "string literal not terminated"),
    ("(" * 101 + "true" + ")" * 101, 100, "nested deeper than 100 levels"),
    ("!" * 101 + "true", 100, "nested deeper than 100 levels"),
    ("true" + " && true" * 101, 5, "nested deeper than 100 levels"),  # flat, but a tree 101 deep
    ("x" * (MAX_LENGTH + 1), MAX_LENGTH, f"condition longer than {MAX_LENGTH} characters"),
]


@pytest.mark.parametrize(("text", "offset", "message"), REFUSED)
def test_refusals_point_at_the_culprit(text: str, offset: int, message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse(text)
    assert message in caught.value.message
    assert caught.value.offset == offset


# (condition, result, 0-based offset, part of the message): cannot be judged for this result
ERRORS = [
    ("result == 'ok'", 1.0, 7, "invalid operation: == (mismatched types float64 and string)"),
    ("result > 1", "2", 7, "invalid operation: > (mismatched types string and int)"),
    ("result > 1", [1.0, 2.0], 7, "cannot compare a list of 2 with a number: pick one (result[0])"),
    ("result > 1", [], 7, "cannot compare an empty list with a number"),
    ("result > 1", ["a"], 7, "cannot compare a list of 1 with a number"),
    ("result[0] > 1", [], 6, "index out of range: 0 (array length is 0)"),
    ("result[0.5] > 1", [1.0], 7, "array elements can only be selected using an integer (got float64)"),
    ("result.x > 1", {"y": 1}, 9, "invalid operation: nil > int"),
    ("result.x > 1", [1.0], 7, "array elements can only be selected using an integer (got string)"),
    ("result[0] > 1", 3.0, 6, "type float64[int] is undefined"),
    ("result && true", 1.0, 7, "invalid operation: && (mismatched types float64 and bool)"),
    ("!result", "yes", 0, "invalid operation: ! (mismatched type string)"),
    ("result", 0.5, 0, "expected bool, but got float64"),
    ("len(result) > 0", 1.0, 0, "invalid argument for len (type float64)"),
    ("isNaN(result)", "NaN", 6, "cannot use string as argument (type float64) to call isNaN"),
    ("isNaN(result)", [math.nan], 6, "cannot use []interface {} as argument (type float64) to call isNaN"),
    ("-result < 0", "1", 0, "invalid operation: - (mismatched type string)"),
    ("result == true", 1.0, 7, "invalid operation: == (mismatched types float64 and bool)"),
    ("result.a.b > 1", {"a": 1.0}, 9, "cannot fetch b from float64"),
    ("result.a.b > 1", {"a": "text"}, 9, "invalid operation: int(string)"),  # a string's [i] is its i-th byte
    ("asFloat(result) > 1", "1e400", 0, 'strconv.ParseFloat: parsing "1e400": value out of range'),
    ("asInt(result) > 1", math.nan, 0, "nan does not fit in an int"),
    ("result matches '('", "x", 7, "matches: missing ): ("),
    ("result.s + result.s + result.s + result.s == ''", {"s": "x" * (1 << 19)}, 20, "string longer than"),
]


@pytest.mark.parametrize(("text", "result", "offset", "message"), ERRORS)
def test_errors_are_errors_not_false(text: str, result: object, offset: int, message: str) -> None:
    condition = parse(text)  # each parses: only this result makes it fail
    with pytest.raises(ConditionError) as caught:
        evaluate(condition, result)
    assert message in caught.value.message
    assert caught.value.offset == offset


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("all(1..999, {all(1..999, {true})})", f"more than {MAX_STEPS} steps"),  # a nested loop over ranges
        ("len(1..2000000) > 0", f"lists of more than {MAX_ITEMS} elements"),
        ("len(1..600000) + len(1..600000) > 0", f"lists of more than {MAX_ITEMS} elements"),  # all together
        ("all(result, {all(result, {all(result, {true})})})", f"more than {MAX_STEPS} steps"),
    ],
)
def test_a_hostile_condition_stops_at_a_bound(text: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        evaluate(parse(text), [0.5] * 100)


def test_deeply_nested_data_is_an_error_not_a_crash() -> None:
    nested: list[object] = [1.0]
    for _ in range(500):
        nested = [nested]
    with pytest.raises(ConditionError, match="nested deeper than"):
        evaluate(parse("result == result"), nested)
    with pytest.raises(ConditionError, match="nested deeper than"):
        evaluate(parse("max(result) > 0"), nested)


def test_dunder_fields_are_plain_keys_not_attributes() -> None:
    # There is no attribute access at all: ".x" only ever reads a key of a JSON object.
    assert evaluate(parse("result.__class__ == 'x'"), {"__class__": "x"}) is True
    with pytest.raises(ConditionError, match="type string has no field __class__"):
        evaluate(parse("result.__class__ == 'x'"), "text")


def test_integer_arithmetic_is_go_int64() -> None:
    assert evaluate(parse("9223372036854775807 + 1 < 0"), None) is True  # wraps, as Go's int does
    assert evaluate(parse("-7 % 3 == -1"), None) is True  # the remainder takes the dividend's sign
    assert evaluate(parse("7 / 2 == 3.5"), None) is True  # `/` is always float division
    assert evaluate(parse("isInf(1 / 0) && isNaN(0 / 0)"), None) is True


def test_condition_error_is_a_rollgen_error_with_the_offset_in_its_text() -> None:
    with pytest.raises(RollgenError, match=r"^offset 7: "):
        parse("result = 1")


def test_a_parsed_condition_is_reusable_and_keeps_its_text() -> None:
    condition = parse("result < 0.1")
    assert condition.text == "result < 0.1"
    assert [evaluate(condition, v) for v in (0.0, 0.5, [0.05])] == [True, False, True]


def test_literal_patterns_are_handed_to_validate() -> None:
    assert parse("result.a matches '^v[0-9]' || result.b matches result.c").patterns == ((17, "^v[0-9]"),)


def test_every_function_the_parser_accepts_is_implemented() -> None:
    assert set(CALLS) | {"isNil", "default"} == set(ENVIRONMENT) | BUILTINS
    assert set(LOOPS) == {"all", "any", "none", "one", "filter", "map", "count", "sum"}


def test_tokens_keep_their_offsets() -> None:
    assert [(t.kind, t.text, t.offset) for t in tokenize("result[0].Values != nil")] == [
        ("name", "result", 0),
        ("bracket", "[", 6),
        ("number", "0", 7),
        ("bracket", "]", 8),
        ("operator", ".", 9),
        ("name", "Values", 10),
        ("operator", "!=", 17),
        ("name", "nil", 20),
        ("end", "", 23),
    ]


def test_importing_the_parser_stays_light() -> None:
    # The spec validator parses every condition: this must not drag in anything heavy, nor the regex
    # engine (only evaluation loads it).
    code = (
        "import sys, rollgen.gates.conditions as c; c.parse('all(result, {# matches \"x\"})');"
        " print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " {'kubernetes', 'jinja2', 'yaml', 'ruamel', 'urllib3', 'json', 're2'}"
        " or m in {'rollgen.pattern', 'rollgen.gates.conditions.evaluate'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_the_examples_of_the_docs_are_conditions() -> None:
    page = (REPO_ROOT / "docs" / "conditions.md").read_text(encoding="utf-8")
    rows = [line.rsplit("|", 2)[1] for line in page.splitlines() if line.startswith("| ") and "`" in line]
    examples = [example for row in rows for example in re.findall(r"`([^`]+)`", row)]
    assert len(examples) > 15
    for example in examples:
        parse(example.replace("\\|", "|"))
