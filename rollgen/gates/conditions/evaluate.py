"""Judge a parsed condition against a result, as Argo Rollouts' EvalCondition does, within fixed bounds.

Each evaluation first type-checks the condition with the result's own type
(:mod:`~rollgen.gates.conditions.checker`), then walks the tree with
expr-lang's run-time rules (:mod:`~rollgen.gates.conditions.operators`,
:mod:`~rollgen.gates.conditions.builtins`). A condition must come out true
or false; anything else is an error, as in Argo Rollouts.

    >>> from rollgen.gates.conditions import parse
    >>> evaluate(parse("all(result.values, {asFloat(.value) >= 9900})"), {"values": [{"value": "9950"}]})
    True
    >>> evaluate(parse("default(result, 0) < 5"), None)
    True
    >>> evaluate(parse("result.ready"), {"ready": "yes"})
    Traceback (most recent call last):
    ...
    rollgen.gates.conditions.lexer.ConditionError: offset 7: expected bool, but got string

Bounded: a loop only ever runs over data (the result's lists, or a range),
every node evaluated counts against :data:`MAX_STEPS`, and the lists a
condition builds (ranges, ``filter``, ``map``, literals) against
:data:`MAX_ITEMS`, expr-lang's own memory budget. A hostile condition is an
error at the node that crossed the line, never a hang.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, assert_never

from rollgen.gates.conditions import operators as op
from rollgen.gates.conditions.builtins import CALLS
from rollgen.gates.conditions.checker import Typing, check, nature_of
from rollgen.gates.conditions.lexer import ConditionError
from rollgen.gates.conditions.nodes import (
    Array,
    Binary,
    Call,
    Chain,
    Conditional,
    Literal,
    Loop,
    Member,
    Node,
    Pointer,
    Result,
    Unary,
)
from rollgen.gates.conditions.operators import Fault, go_type
from rollgen.gates.conditions.parser import Condition
from rollgen.gates.pattern import PatternError, compile_pattern

# Node evaluations per condition and result: a real condition over a large result takes a few
# thousand (`all(result, # < 1000)` takes 3 per element); a nested loop over ranges, written to burn
# time, stops here within about half a second.
MAX_STEPS: Final = 500_000
# Elements of the lists a condition builds, all together: expr-lang's default memory budget.
MAX_ITEMS: Final = 1_000_000

_BINARY: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "==": op.equal,
    "!=": lambda a, b: not op.equal(a, b),
    "<": lambda a, b: op.order("<", a, b),
    "<=": lambda a, b: op.order("<=", a, b),
    ">": lambda a, b: op.order(">", a, b),
    ">=": lambda a, b: op.order(">=", a, b),
    "+": op.add,
    "-": op.subtract,
    "*": op.multiply,
    "/": op.divide,
    "%": op.modulo,
    "**": op.power,
    "^": op.power,
    "in": op.is_in,
    "contains": lambda a, b: (pair := op.text_pair("contains", a, b)) is not None and pair[1] in pair[0],
    "startsWith": lambda a, b: (pair := op.text_pair("startsWith", a, b)) is not None and pair[0].startswith(pair[1]),
    "endsWith": lambda a, b: (pair := op.text_pair("endsWith", a, b)) is not None and pair[0].endswith(pair[1]),
}


def evaluate(condition: Condition, result: Any) -> bool:
    """Whether ``condition`` holds for ``result``; a :class:`ConditionError` when it cannot be judged."""
    value = value_of(condition.root, result)
    if not isinstance(value, bool):
        raise ConditionError(condition.root.offset, f"expected bool, but got {go_type(value)}")
    return value


def value_of(root: Node, result: Any) -> Any:
    """What the expression ``root`` (see ``syntax_tree``) evaluates to for ``result``, whatever its type."""
    typing = check(root, nature_of(result))
    return _Run(result, typing).value(root)


class _NilChain(Exception):
    """A ``?.`` met nil: the chain it belongs to is nil."""


class _Run:
    def __init__(self, result: Any, typing: Typing) -> None:
        self.result = result
        self.typing = typing
        self.steps = 0
        self.items = 0
        self.scopes: list[tuple[Any, int]] = []  # (element, index) of the predicates being run
        self.patterns: dict[str, Any] = {}

    def value(self, node: Node) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ConditionError(node.offset, f"condition takes more than {MAX_STEPS} steps to evaluate")
        try:
            return self.dispatch(node)
        except Fault as fault:
            raise ConditionError(node.offset, fault.message) from None

    def grow(self, node: Node, size: int) -> None:
        self.items += max(size, 0)
        if self.items >= MAX_ITEMS:
            raise ConditionError(node.offset, f"memory budget exceeded: lists of more than {MAX_ITEMS} elements")

    def dispatch(self, node: Node) -> Any:
        match node:
            case Literal():
                if isinstance(node.value, int) and node in self.typing.as_float:
                    return float(node.value)  # a float64 parameter takes it: Go converts the literal
                return node.value
            case Result():
                return self.result
            case Array():
                self.grow(node, len(node.items))
                return [self.value(item) for item in node.items]
            case Pointer():
                element, index = self.scopes[-1]
                return element if node.name == "" else index
            case Unary():
                return self.unary(node)
            case Binary():
                return self.binary(node)
            case Conditional():
                branch = node.then if _boolean("?:", self.value(node.condition)) else node.otherwise
                return self.value(branch)
            case Member():
                target = self.value(node.target)
                if node.optional and target is None:
                    raise _NilChain
                return op.member(target, self.value(node.key))
            case Chain():
                try:
                    return self.value(node.node)
                except _NilChain:
                    return None
            case Call():
                return self.call(node)
            case Loop():
                return self.loop(node)
            case _:
                assert_never(node)

    def unary(self, node: Unary) -> Any:
        operand = self.value(node.operand)
        if node.operator in ("not", "!"):
            return not _boolean(node.operator, operand)
        return op.negate(operand) if node.operator == "-" else operand

    def binary(self, node: Binary) -> Any:
        operator = node.operator
        if operator in ("and", "&&", "or", "||"):
            left = _boolean(operator, self.value(node.left))
            # Short-circuit, as expr-lang does: `len(result) > 0 && result[0] > 1` reads no missing element.
            if left is (operator in ("or", "||")):
                return left
            return self.value(node.right)  # unchecked, as expr-lang leaves it: `true && 1` is 1
        if operator == "??":
            left = self.value(node.left)
            return left if left is not None else self.value(node.right)
        left, right = self.value(node.left), self.value(node.right)
        if node in self.typing.unwrap:
            left, right = _single(left), _single(right)
        if operator == "..":
            low, high = op.to_int(left), op.to_int(right)
            self.grow(node, high - low + 1)
            return list(range(low, high + 1))
        if operator == "matches":
            pair = op.text_pair("matches", left, right)
            return pair is not None and self.pattern(pair[1]).search(pair[0]) is not None
        if operator == "in" and _string_literals(node.right):
            return op.in_strings(left, frozenset(right))
        if isinstance(left, list) or isinstance(right, list):
            self.count(len(left) if isinstance(left, list) else len(right))
        return _BINARY[operator](left, right)

    def pattern(self, text: str) -> Any:
        if text not in self.patterns:
            try:
                self.patterns[text] = compile_pattern(text)
            except PatternError as error:
                raise Fault(f"matches: {error}") from None
        return self.patterns[text]

    def count(self, steps: int) -> None:
        """Charge ``steps`` more: an operation that walks a whole list costs its length."""
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise Fault(f"condition takes more than {MAX_STEPS} steps to evaluate")

    def call(self, node: Call) -> Any:
        arguments = [self.value(argument) for argument in node.arguments]
        # Argo Rollouts' isNil and default read `result` itself, whatever they are given.
        if node.function == "isNil":
            return self.result is None
        if node.function == "default":
            return arguments[1] if self.result is None else self.result
        if node.function in ("max", "min", "mean"):  # they walk their lists
            self.count(sum(len(a) for a in arguments if isinstance(a, list)))
        return CALLS[node.function](*arguments)

    def loop(self, node: Loop) -> Any:
        collection = self.value(node.collection)
        if not isinstance(collection, list):
            raise Fault(f"{node.function}() runs over a list, not {go_type(collection)}")
        if node.predicate is None:
            self.count(len(collection))
            return self.total(node, collection)
        outcomes = []
        for index, element in enumerate(collection):
            self.scopes.append((element, index))
            outcome = self.value(node.predicate)
            self.scopes.pop()
            if node.function in ("map", "sum"):
                outcomes.append(outcome)
                continue
            holds = _boolean(f"the predicate of {node.function}()", outcome)
            if node.function == "all" and not holds:
                return False
            if node.function == "none" and holds:
                return False
            if node.function == "any" and holds:
                return True
            outcomes.append(holds)
        if node.function in ("all", "none", "any"):
            return node.function != "any"
        if node.function == "one":
            return outcomes.count(True) == 1
        if node.function == "count":
            return outcomes.count(True)
        if node.function == "sum":
            return self.total(node, outcomes)
        kept = (
            outcomes if node.function == "map" else [e for e, holds in zip(collection, outcomes, strict=True) if holds]
        )
        self.grow(node, len(kept))
        return kept

    @staticmethod
    def total(node: Loop, values: list[Any]) -> Any:
        if node.function == "count":  # count(list): how many are true; each must be a bool
            return sum(_boolean("count()", value) for value in values)
        total: Any = 0
        for value in values:
            total = op.add(value, total)
        return total


def _boolean(what: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise Fault(f"{what} needs a bool, got {go_type(value)}")
    return value


def _single(value: Any) -> Any:
    """rollgen's one extension: a list of one number, next to a number, stands for that number."""
    if not isinstance(value, list):
        return value
    if len(value) == 1 and op.is_number(value[0]):
        return value[0]
    shown = "an empty list" if not value else f"a list of {len(value)}"
    raise Fault(f"cannot compare {shown} with a number: pick one (result[0]) or use all()/any()")


def _string_literals(node: Node) -> bool:
    return (
        isinstance(node, Array)
        and bool(node.items)
        and all(isinstance(item, Literal) and isinstance(item.value, str) for item in node.items)
    )
