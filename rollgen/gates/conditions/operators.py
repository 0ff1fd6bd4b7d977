"""expr-lang's operators at run time (its vm/runtime), over the values a result holds, with Go's numbers.

Values are Python's JSON values standing for Go's: None is nil, int is Go's
64-bit ``int`` (it wraps on overflow), float is ``float64``, a list is
``[]interface {}``, a dict is ``map[string]interface {}``. The rules are
expr-lang's, including the surprising ones:

- ``/`` is always float division; ``%`` wants two ints; ``**`` is float.
  Division by zero is ±Inf or NaN, as IEEE 754 says; ``1 % 0`` is an error.
- ``==`` between numbers compares values (``1 == 1.0``), between other types
  it is false (``"1" == 1``): only the checker, which knows ``result``'s own
  type, makes a mismatch an error. Ordering anything but two numbers or two
  strings is an error; comparisons with NaN are false.
- A missing map key reads nil; an index out of range is an error; a negative
  index counts from the end.

    >>> divide(1, 0), modulo(-7, 2), equal([1, 2.0], [1.0, 2]), member({"a": 1}, "b")
    (inf, -1, True, None)
"""

from __future__ import annotations

import math
from typing import Any, Final

MIN_INT: Final = -(2**63)
MAX_INT: Final = 2**63 - 1
# Longer strings than this are not a measurement: concatenation stops here (a hostile `x + x + x...`).
MAX_STRING: Final = 1 << 20
# Deeper data than this is not a measurement; comparing it would only recurse.
MAX_NESTING: Final = 100


class Fault(Exception):
    """A run-time error, before the evaluator gives it the offset of the node that raised it."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def go_type(value: Any) -> str:
    """The Go type name of ``value``, as expr-lang's messages print it."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def wrap(value: int) -> int:
    """``value`` as Go's 64-bit int holds it: overflow wraps around."""
    return (value - MIN_INT) % 2**64 + MIN_INT


def to_int(value: Any) -> int:
    """expr-lang's ToInt, as an index or a range bound: floats truncate toward zero."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        # Go's conversion of NaN, ±Inf or an out-of-range float is whatever the CPU gives
        # (amd64 and arm64 differ): refused rather than made up.
        if not math.isfinite(value) or not MIN_INT <= value < 2**63:
            raise Fault(f"{value} does not fit in an int")
        return int(value)
    raise Fault(f"invalid operation: int({go_type(value)})")


def to_float(value: Any) -> float:
    if is_number(value):
        return float(value)
    raise Fault(f"invalid operation: float({go_type(value)})")


def equal(left: Any, right: Any, depth: int = 0) -> bool:
    """expr-lang's Equal: numbers by value, lists element by element, anything else by Go's DeepEqual."""
    if depth > MAX_NESTING:
        raise Fault(f"values nested deeper than {MAX_NESTING} levels")
    if is_number(left) and is_number(right):
        if isinstance(left, int) and isinstance(right, int):
            return left == right
        return float(left) == float(right)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(equal(a, b, depth + 1) for a, b in zip(left, right, strict=True))
    return _deep_equal(left, right, depth)


def _deep_equal(left: Any, right: Any, depth: int) -> bool:
    # Go's reflect.DeepEqual: the same type all the way down (1 and 1.0 differ inside a map).
    if depth > MAX_NESTING:
        raise Fault(f"values nested deeper than {MAX_NESTING} levels")
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(_deep_equal(a, b, depth + 1) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_deep_equal(left[k], right[k], depth + 1) for k in left)
    return bool(left == right)


def order(operator: str, left: Any, right: Any) -> bool:
    """``<``, ``<=``, ``>``, ``>=`` between two numbers or two strings."""
    a: Any
    b: Any
    if is_number(left) and is_number(right):
        a, b = (left, right) if isinstance(left, int) and isinstance(right, int) else (float(left), float(right))
    elif isinstance(left, str) and isinstance(right, str):
        a, b = left, right
    else:
        raise Fault(f"invalid operation: {go_type(left)} {operator} {go_type(right)}")
    if operator == "<":
        return bool(a < b)
    if operator == "<=":
        return bool(a <= b)
    if operator == ">":
        return bool(a > b)
    return bool(a >= b)


def _numbers(operator: str, left: Any, right: Any) -> tuple[Any, Any, bool]:
    """Both operands, and whether both are ints (else both are made floats)."""
    if not (is_number(left) and is_number(right)):
        raise Fault(f"invalid operation: {go_type(left)} {operator} {go_type(right)}")
    if isinstance(left, int) and isinstance(right, int):
        return left, right, True
    return float(left), float(right), False


def add(left: Any, right: Any) -> Any:
    if isinstance(left, str) and isinstance(right, str):
        if len(left) + len(right) > MAX_STRING:
            raise Fault(f"string longer than {MAX_STRING} characters")
        return left + right
    a, b, ints = _numbers("+", left, right)
    return wrap(a + b) if ints else a + b


def subtract(left: Any, right: Any) -> Any:
    a, b, ints = _numbers("-", left, right)
    return wrap(a - b) if ints else a - b


def multiply(left: Any, right: Any) -> Any:
    a, b, ints = _numbers("*", left, right)
    return wrap(a * b) if ints else a * b


def divide(left: Any, right: Any) -> float:
    """Always a float, as in expr-lang; by zero: ±Inf, or NaN for 0/0 (Python would raise)."""
    a, b, _ = _numbers("/", left, right)
    a, b = float(a), float(b)
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def modulo(left: Any, right: Any) -> int:
    """Go's ``%``: ints only, the remainder takes the dividend's sign (Python's takes the divisor's)."""
    if not (isinstance(left, int) and isinstance(right, int)) or isinstance(left, bool) or isinstance(right, bool):
        raise Fault(f"invalid operation: {go_type(left)} % {go_type(right)}")
    if right == 0:
        raise Fault("integer divide by zero")
    remainder = abs(left) % abs(right)
    return wrap(-remainder if left < 0 else remainder)


def power(left: Any, right: Any) -> float:
    """Go's math.Pow: where Python's raises, Go answers ±Inf or NaN."""
    x, y = to_float(left), to_float(right)
    odd = math.isfinite(y) and y == math.floor(y) and math.fmod(y, 2) != 0
    try:
        return math.pow(x, y)
    except OverflowError:
        return -math.inf if x < 0 and odd else math.inf
    except ValueError:  # 0 to a negative power, or a negative number to a fraction
        if x == 0:
            return math.copysign(math.inf, x) if odd else math.inf
        return math.nan


def negate(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return wrap(-value)
    if isinstance(value, float):
        return -value
    raise Fault(f"invalid operation: - {go_type(value)}")


def member(base: Any, key: Any) -> Any:
    """expr-lang's Fetch: ``base[key]`` and ``base.key``."""
    if isinstance(base, (list, str)):
        index = to_int(key)
        size = len(base) if isinstance(base, list) else len(base.encode())
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise Fault(f"index out of range: {index} (array length is {size})")
        # A string's element is a byte, as in Go.
        return base[index] if isinstance(base, list) else base.encode()[index]
    if isinstance(base, dict):
        return base.get(_map_key(key))
    raise Fault(f"cannot fetch {key} from {go_type(base)}")


def _map_key(key: Any) -> str:
    if key is None:
        return ""  # Go looks up the key type's zero value
    if not isinstance(key, str):
        raise Fault(f"reflect.Value.MapIndex: value of type {go_type(key)} is not assignable to type string")
    return key


def is_in(needle: Any, haystack: Any) -> bool:
    """``needle in haystack``."""
    if haystack is None:
        return False
    if isinstance(haystack, list):
        return any(equal(item, needle) for item in haystack)
    if isinstance(haystack, dict):
        return _map_key(needle) in haystack
    raise Fault(f'operator "in" not defined on {go_type(haystack)}')


def in_strings(needle: Any, strings: frozenset[str]) -> bool:
    """``needle in ["a", "b"]``: expr-lang's optimizer makes a list of string literals a set of strings,
    so a needle that is not a string is an error there, not false."""
    return _map_key(needle) in strings


def text_pair(operator: str, left: Any, right: Any) -> tuple[str, str] | None:
    """The two strings ``contains``, ``startsWith``, ``endsWith`` and ``matches`` compare; None if either is nil."""
    if left is None or right is None:
        return None
    for value in (left, right):
        if not isinstance(value, str):
            raise Fault(f"{operator}: interface conversion: interface {{}} is {go_type(value)}, not string")
    return left, right
