"""The functions a condition calls: Argo Rollouts' own and expr-lang's builtins, with their results.

Argo Rollouts adds six functions to expr-lang's (utils/evaluate/evaluate.go):

- ``asInt(x)``, ``asFloat(x)``: a number, or a string read by Go's strconv
  (``asInt("1.1")`` and ``asFloat("NotANum")`` are errors).
- ``isNaN(x)``, ``isInf(x)``: on a float64 (anything else, nil included, is an error).
- ``isNil(x)`` and ``default(x, fallback)``: as Argo Rollouts wrote them, these
  look at ``result`` itself whatever ``x`` is (so ``default(result, 0)`` is
  ``result``, or 0 when it is nil). The evaluator answers those two.

expr-lang's: ``len`` (characters of a string, not bytes), ``abs``, ``max`` and
``min`` (of numbers or of lists of numbers, nested lists included; nil for an
empty list), ``mean`` (0.0 for an empty list).

    >>> as_float("1_000.5"), as_int(1.9), maximum([[3, 1.5], 2])
    (1000.5, 1, 3)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Final

from rollgen.gates.conditions.operators import MAX_NESTING, MIN_INT, Fault, go_type, is_number, order, to_int, wrap

_DIGITS: Final = r"[0-9](?:_?[0-9])*"  # Go allows an underscore between two digits
_DECIMAL: Final = re.compile(rf"[+-]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?")
_HEX_DIGITS: Final = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_HEX_FLOAT: Final = re.compile(
    rf"[+-]?0[xX]_?(?:{_HEX_DIGITS}(?:\.(?:{_HEX_DIGITS})?)?|\.{_HEX_DIGITS})[pP][+-]?{_DIGITS}"
)
_INFINITY: Final = re.compile(r"[+-]?(?:inf|infinity)", re.IGNORECASE)
_INTEGER: Final = re.compile(r"[+-]?[0-9]+")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_go_float(text: str) -> float:
    """Go's ``strconv.ParseFloat(text, 64)``: stricter than Python's float() (no spaces, no "+nan"),
    and a number beyond float64 is an error, not Inf."""
    if _INFINITY.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if text.lower() == "nan":
        return math.nan
    try:
        if _DECIMAL.fullmatch(text):
            value = float(text.replace("_", ""))
        elif _HEX_FLOAT.fullmatch(text):
            value = float.fromhex(text.replace("_", ""))
        else:
            raise Fault(f"strconv.ParseFloat: parsing {_quote(text)}: invalid syntax")
    except OverflowError:
        value = math.inf
    if math.isinf(value):
        raise Fault(f"strconv.ParseFloat: parsing {_quote(text)}: value out of range")
    return value


def parse_go_int(text: str) -> int:
    """Go's ``strconv.ParseInt(text, 10, 64)``: decimal digits with an optional sign, nothing else."""
    if not _INTEGER.fullmatch(text):
        raise Fault(f"strconv.ParseInt: parsing {_quote(text)}: invalid syntax")
    value = int(text)
    if not MIN_INT <= value <= -MIN_INT - 1:
        raise Fault(f"strconv.ParseInt: parsing {_quote(text)}: value out of range")
    return value


def _unsupported(function: str, value: Any) -> Fault:
    shown = "<nil>" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)
    return Fault(f"{function}() not supported on {go_type(value)} {shown}")


def as_int(value: Any) -> int:
    if isinstance(value, str):
        return parse_go_int(value)
    if is_number(value):
        return to_int(value)  # Go's int64(float) truncates toward zero
    raise _unsupported("asInt", value)


def as_float(value: Any) -> float:
    if isinstance(value, str):
        return parse_go_float(value)
    if is_number(value):
        return float(value)
    raise _unsupported("asFloat", value)


def _float_argument(value: Any) -> float:
    # expr-lang calls a func(float64) bool with a type assertion: anything but a float64 (nil, an int
    # that is not a literal) fails; only integer literals are made floats, by the checker.
    if not isinstance(value, float):
        raise Fault(f"interface conversion: interface {{}} is {go_type(value)}, not float64")
    return value


def is_nan(value: Any) -> bool:
    return math.isnan(_float_argument(value))


def is_inf(value: Any) -> bool:
    return math.isinf(_float_argument(value))


def length(value: Any) -> int:
    if isinstance(value, (list, dict, str)):
        return len(value)
    raise Fault(f"invalid argument for len (type {go_type(value)})")


def absolute(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return wrap(abs(value))
    if isinstance(value, float):
        return -value if value < 0 else value  # keeps -0.0 and NaN as Go does
    raise Fault(f"invalid argument for abs (type {go_type(value)})")


def _extreme(name: str, better: str, arguments: list[Any], depth: int = 0) -> Any:
    """expr-lang's minMax: the best number among the arguments and the (nested) lists among them."""
    if depth > MAX_NESTING:
        raise Fault(f"{name}: lists nested deeper than {MAX_NESTING} levels")
    best = None
    for argument in arguments:
        if isinstance(argument, list):
            for item in argument:
                found = _extreme(name, better, [item], depth + 1) if isinstance(item, list) else item
                if isinstance(item, list) and found is None:
                    continue
                if not is_number(found):
                    raise Fault(f"invalid argument for {name} (type {go_type(found)})")
                if best is None or order(better, best, found):
                    best = found
        elif is_number(argument):
            if best is None or order(better, best, argument):
                best = argument
        elif len(arguments) == 1:
            return argument  # expr-lang hands back a lone argument it cannot compare
        else:
            raise Fault(f"invalid argument for {name} (type {go_type(argument)})")
    return best


def maximum(*arguments: Any) -> Any:
    return _extreme("max", "<", list(arguments))


def minimum(*arguments: Any) -> Any:
    return _extreme("min", ">", list(arguments))


def _sum_count(arguments: list[Any], depth: int = 0) -> tuple[float, int]:
    if depth > MAX_NESTING:
        raise Fault(f"mean: lists nested deeper than {MAX_NESTING} levels")
    total, count = 0.0, 0
    for argument in arguments:
        if isinstance(argument, list):
            nested_total, nested_count = _sum_count(argument, depth + 1)
            total, count = total + nested_total, count + nested_count
        elif is_number(argument):
            total, count = total + argument, count + 1
        else:
            raise Fault(f"invalid argument for mean (type {go_type(argument)})")
    return total, count


def mean(*arguments: Any) -> float:
    total, count = _sum_count(list(arguments))
    return total / count if count else 0.0


# The functions the evaluator calls with the arguments' values (isNil and default need `result`: see evaluate).
CALLS: Final[dict[str, Callable[..., Any]]] = {
    "asInt": as_int,
    "asFloat": as_float,
    "isNaN": is_nan,
    "isInf": is_inf,
    "len": length,
    "abs": absolute,
    "max": maximum,
    "min": minimum,
    "mean": mean,
}
