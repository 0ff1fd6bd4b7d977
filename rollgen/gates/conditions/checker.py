"""The static types of a condition, as expr-lang's checker reasons about them before it runs anything.

Argo Rollouts compiles each condition against the measured value itself, so
expr-lang knows the type of ``result`` (a float, a string, a list, a map)
and refuses, before evaluating anything, what cannot work with it: ``result ==
"ok"`` on a float is an error there, not ``false``. Values *inside* a list or
a map have no static type (Go's ``interface {}``, here :data:`UNKNOWN`), so
``result.status == 1`` on ``{"status": "UP"}`` is simply false. This module
reproduces those rules, so a condition is an error exactly where it is one in
Argo Rollouts. ``parse`` runs it once with ``result`` unknown (what ``validate``
can know); each evaluation runs it again with the result's own type.

    >>> check(Binary(offset=7, operator="==", left=Result(offset=0), right=Literal(offset=10, value="ok")), FLOAT)
    Traceback (most recent call last):
    ...
    rollgen.gates.conditions.lexer.ConditionError: offset 7: invalid operation: == (mismatched types float64 and string)

Besides the verdict, checking records what evaluation needs to know of the
types: integer literals Go converts to float for a float parameter (so
``isNaN(1)`` is ``false`` but ``isNaN(len(result))`` an error), and the
comparisons where a one-element list stands for its element (rollgen's one
extension: ``result >= 0.99`` on a one-series Prometheus vector, an error in
Argo Rollouts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, assert_never

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


@dataclass(frozen=True)
class Nature:
    """A static type: ``kind`` is unknown, nil, bool, int, float, string, array or map."""

    kind: str
    elem: Nature | None = None  # an array's or a map's elements

    def __str__(self) -> str:
        if self.kind == "array":
            return f"[]{self.elem}"
        if self.kind == "map":
            return f"map[string]{self.elem}"
        return _GO_NAMES.get(self.kind, self.kind)

    @property
    def unknown(self) -> bool:
        return self.kind == "unknown"

    @property
    def number(self) -> bool:
        return self.kind in ("int", "float")

    def element(self) -> Nature:
        return self.elem if self.elem is not None else UNKNOWN


_GO_NAMES: Final = {"unknown": "interface {}", "float": "float64"}

UNKNOWN: Final = Nature("unknown")
NIL: Final = Nature("nil")
BOOL: Final = Nature("bool")
INT: Final = Nature("int")
FLOAT: Final = Nature("float")
STRING: Final = Nature("string")
ANY_ARRAY: Final = Nature("array", UNKNOWN)
ANY_MAP: Final = Nature("map", UNKNOWN)


def nature_of(value: Any) -> Nature:
    """The static type Argo Rollouts gives ``result``: JSON arrays and objects hold values of unknown type.

    >>> str(nature_of([0.5])), str(nature_of({"a": 1})), str(nature_of(None))
    ('[]interface {}', 'map[string]interface {}', 'nil')
    """
    if value is None:
        return NIL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return STRING
    if isinstance(value, (list, tuple)):
        return ANY_ARRAY
    if isinstance(value, dict):
        return ANY_MAP
    return UNKNOWN


# Argo Rollouts' own functions (utils/evaluate/evaluate.go): parameter types and result type.
ENVIRONMENT: Final[dict[str, tuple[tuple[Nature, ...], Nature]]] = {
    "asInt": ((UNKNOWN,), INT),
    "asFloat": ((UNKNOWN,), FLOAT),
    "isNaN": ((FLOAT,), BOOL),
    "isInf": ((FLOAT,), BOOL),
    "isNil": ((UNKNOWN,), BOOL),
    "default": ((UNKNOWN, UNKNOWN), UNKNOWN),
}
# expr-lang's builtins rollgen runs, besides the predicate ones in LOOPS.
BUILTINS: Final = frozenset({"len", "abs", "max", "min", "mean"})
# Builtins that run a predicate: whether the predicate may be left out.
LOOPS: Final = {
    "all": False,
    "any": False,
    "none": False,
    "one": False,
    "filter": False,
    "map": False,
    "count": True,
    "sum": True,
}
FUNCTIONS: Final = frozenset({*ENVIRONMENT, *BUILTINS, *LOOPS})


@dataclass(frozen=True)
class Typing:
    """What evaluation needs of the static types: the condition's type, and nodes of the checked tree."""

    nature: Nature
    as_float: frozenset[Node]  # integer literals Go passes as float64
    unwrap: frozenset[Node]  # comparisons where a one-element list stands for its element
    patterns: tuple[tuple[int, str], ...]  # (offset, regex) of each `matches "literal"`


def check(root: Node, result: Nature) -> Typing:
    """Type ``root`` with ``result`` of type ``result``; a :class:`ConditionError` where expr-lang refuses it."""
    checker = _Checker(result)
    nature = checker.visit(root)
    return Typing(nature, frozenset(checker.as_float), frozenset(checker.unwrap), tuple(checker.patterns))


def _mismatch(node: Binary, left: Nature, right: Nature) -> ConditionError:
    return ConditionError(node.offset, f"invalid operation: {node.operator} (mismatched types {left} and {right})")


def _maybe(left: Nature, right: Nature, *kinds: str) -> bool:
    """expr-lang's MaybeCompatible: one side unknown and the other of one of ``kinds`` (or both unknown)."""
    return (left.unknown and (right.unknown or right.kind in kinds)) or (right.unknown and left.kind in kinds)


def _assignable(value: Nature, to: Nature) -> bool:
    if value.kind == "nil":
        return to.kind in ("unknown", "array", "map")
    return to.unknown or value == to


def _comparable(left: Nature, right: Nature) -> bool:
    return (
        left.unknown
        or right.unknown
        or "nil" in (left.kind, right.kind)
        or (left.number and right.number)
        or left.kind == right.kind == "array"
        or _assignable(left, right)
    )


def _promote(left: Nature, right: Nature) -> Nature:
    if left.unknown or right.unknown:
        return UNKNOWN
    return FLOAT if "float" in (left.kind, right.kind) else INT


# Nesting deeper than this is not a real condition. Refusing it (the parser counts nested expressions,
# the checker the height of the tree, which a long `a && b && c...` grows too) keeps the recursive
# parser, checker and evaluator far from Python's recursion limit.
MAX_DEPTH: Final = 100

_NUMBER_KINDS: Final = ("int", "float")
_COMPARISONS: Final = frozenset({"==", "!=", "<", "<=", ">", ">="})


class _Checker:
    def __init__(self, result: Nature) -> None:
        self.result = result
        self.scopes: list[tuple[Nature, bool]] = []  # (collection, whether #index exists)
        self.as_float: set[Node] = set()
        self.unwrap: set[Node] = set()
        self.patterns: list[tuple[int, str]] = []
        self.depth = 0

    def visit(self, node: Node) -> Nature:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(node.offset, f"condition nested deeper than {MAX_DEPTH} levels")
        nature = self.nature(node)
        self.depth -= 1
        return nature

    def nature(self, node: Node) -> Nature:
        match node:
            case Literal():
                return nature_of(node.value)
            case Result():
                return self.result
            case Array():
                return self.array(node)
            case Pointer():
                return self.pointer(node)
            case Unary():
                return self.unary(node)
            case Binary():
                return self.binary(node)
            case Conditional():
                return self.conditional(node)
            case Member():
                return self.member(node)
            case Chain():
                return self.visit(node.node)
            case Call():
                return self.call(node)
            case Loop():
                return self.loop(node)
            case _:
                assert_never(node)

    def array(self, node: Array) -> Nature:
        natures = [self.visit(item) for item in node.items]
        if natures and all(n.kind == natures[-1].kind for n in natures):
            return Nature("array", natures[-1])
        return ANY_ARRAY

    def pointer(self, node: Pointer) -> Nature:
        if not self.scopes:
            raise ConditionError(node.offset, "# is only meaningful inside a predicate, such as all(result, {# > 0})")
        collection, has_index = self.scopes[-1]
        if node.name == "":
            return collection.element()
        if node.name == "index" and has_index:
            return INT
        raise ConditionError(node.offset, f"unknown pointer #{node.name}")

    def unary(self, node: Unary) -> Nature:
        operand = self.visit(node.operand)
        if node.operator in ("not", "!"):
            if operand.kind == "bool" or operand.unknown:
                return BOOL
        elif operand.number or operand.unknown:
            return operand
        raise ConditionError(node.offset, f"invalid operation: {node.operator} (mismatched type {operand})")

    def binary(self, node: Binary) -> Nature:
        left, right = self.visit(node.left), self.visit(node.right)
        op = node.operator
        if op in _COMPARISONS and {left.kind, right.kind} in ({"array", "int"}, {"array", "float"}):
            self.unwrap.add(node)
            return BOOL
        if op in ("==", "!="):
            if _comparable(left, right):
                return BOOL
        elif op in ("and", "&&", "or", "||"):
            if left.kind == right.kind == "bool" or _maybe(left, right, "bool"):
                return BOOL
        elif op in ("<", "<=", ">", ">="):
            if (left.number and right.number) or left.kind == right.kind == "string":
                return BOOL
            if _maybe(left, right, *_NUMBER_KINDS, "string"):
                return BOOL
        elif op in ("-", "*", "+"):
            if left.number and right.number:
                return _promote(left, right)
            if op == "+" and left.kind == right.kind == "string":
                return STRING
            if _maybe(left, right, *_NUMBER_KINDS, *(("string",) if op == "+" else ())):
                return UNKNOWN
        elif op in ("/", "**", "^"):
            if (left.number and right.number) or _maybe(left, right, *_NUMBER_KINDS):
                return FLOAT
        elif op == "%":
            if left.kind == right.kind == "int" or _maybe(left, right, "int"):
                return INT
        elif op == "in":
            return self.membership(node, left, right)
        elif op in ("matches", "contains", "startsWith", "endsWith"):
            if op == "matches" and isinstance(node.right, Literal) and isinstance(node.right.value, str):
                self.patterns.append((node.right.offset, node.right.value))
            if left.kind == right.kind == "string" or _maybe(left, right, "string"):
                return BOOL
        elif op == "..":
            if left.kind == right.kind == "int" or _maybe(left, right, "int"):
                return Nature("array", INT)
        elif op == "??":
            return self.coalesce(left, right)
        raise _mismatch(node, left, right)

    def membership(self, node: Binary, left: Nature, right: Nature) -> Nature:
        if right.kind == "map":
            if not left.unknown and not _assignable(left, STRING):
                raise ConditionError(node.offset, f"cannot use {left} as type string in map key")
            return BOOL
        if right.kind == "array":
            if not _comparable(left, right.element()):
                raise ConditionError(node.offset, f"cannot use {left} as type {right.element()} in array")
            return BOOL
        if right.unknown or (left.unknown and right.kind == "string"):
            return BOOL
        raise _mismatch(node, left, right)

    @staticmethod
    def coalesce(left: Nature, right: Nature) -> Nature:
        if left.kind == "nil" or right.kind == "nil":
            return right if left.kind == "nil" else left
        return left if _assignable(right, left) else UNKNOWN

    def conditional(self, node: Conditional) -> Nature:
        condition = self.visit(node.condition)
        if condition.kind != "bool" and not condition.unknown:
            raise ConditionError(node.condition.offset, f"non-bool expression (type {condition}) used as condition")
        then, otherwise = self.visit(node.then), self.visit(node.otherwise)
        if then.kind == "nil" or otherwise.kind == "nil":
            return otherwise if then.kind == "nil" else then
        return then if _assignable(then, otherwise) else UNKNOWN

    def member(self, node: Member) -> Nature:
        base, key = self.visit(node.target), self.visit(node.key)
        if base.unknown:
            return UNKNOWN
        name = node.key.value if isinstance(node.key, Literal) and isinstance(node.key.value, str) else None
        if base.kind == "nil" and name is not None:
            raise ConditionError(node.offset, f"type nil has no field {name}")
        if base.kind == "map":
            if not key.unknown and not _assignable(key, STRING):
                raise ConditionError(node.key.offset, f"cannot use {key} to get an element from {base}")
            return base.element()
        if base.kind == "array":
            if key.kind != "int" and not key.unknown:
                raise ConditionError(
                    node.key.offset, f"array elements can only be selected using an integer (got {key})"
                )
            return base.element()
        if name is not None:
            raise ConditionError(node.offset, f"type {base} has no field {name}")
        raise ConditionError(node.offset, f"type {base}[{key}] is undefined")

    def call(self, node: Call) -> Nature:
        if node.function in ENVIRONMENT:
            return self.environment_call(node)
        natures = [self.visit(argument) for argument in node.arguments]
        name, count = node.function, len(natures)
        if name in ("len", "abs"):
            if count != 1:
                raise ConditionError(node.offset, f"invalid number of arguments (expected 1, got {count})")
            (argument,) = natures
            accepted = ("array", "map", "string", "unknown") if name == "len" else ("int", "float", "unknown")
            if argument.kind not in accepted:
                raise ConditionError(node.offset, f"invalid argument for {name} (type {argument})")
            return INT if name == "len" else argument
        # max, min, mean: numbers, or lists of them (only known at run time)
        if not natures:
            raise ConditionError(node.offset, f"not enough arguments to call {name}")
        for argument in natures:
            if argument.unknown or argument.kind == "array":
                return UNKNOWN
            if not argument.number:
                raise ConditionError(node.offset, f"invalid argument for {name} (type {argument})")
        return natures[0]

    def environment_call(self, node: Call) -> Nature:
        parameters, returns = ENVIRONMENT[node.function]
        if len(node.arguments) != len(parameters):
            many = "too many" if len(node.arguments) > len(parameters) else "not enough"
            for argument in node.arguments:
                self.visit(argument)
            raise ConditionError(node.offset, f"{many} arguments to call {node.function}")
        for argument, parameter in zip(node.arguments, parameters, strict=True):
            nature = self.visit(argument)
            if parameter.kind == "float" and nature.kind == "int":
                self.floats(argument)  # Go converts integer literals; any other int fails at run time
            elif nature.kind == "nil" and not parameter.unknown:
                raise ConditionError(
                    argument.offset, f"cannot use nil as argument (type {parameter}) to call {node.function}"
                )
            elif not nature.unknown and not _assignable(nature, parameter):
                raise ConditionError(
                    argument.offset, f"cannot use {nature} as argument (type {parameter}) to call {node.function}"
                )
        return returns

    def floats(self, node: Node) -> None:
        """Mark the integer literals expr-lang turns into floats where a float64 parameter takes ``node``."""
        if isinstance(node, Literal) and type(node.value) is int:
            self.as_float.add(node)
        elif isinstance(node, Unary):
            self.floats(node.operand)
        elif isinstance(node, Binary) and node.operator in ("+", "-", "*"):
            self.floats(node.left)
            self.floats(node.right)

    def loop(self, node: Loop) -> Nature:
        collection = self.visit(node.collection)
        if collection.kind != "array" and not collection.unknown:
            raise ConditionError(node.collection.offset, f"builtin {node.function} takes only array (got {collection})")
        if node.predicate is None:  # count(list) or sum(list)
            return INT if node.function == "count" else collection.element()
        self.scopes.append((collection, node.function == "map"))
        out = self.visit(node.predicate)
        self.scopes.pop()
        if out.kind == "nil":
            raise ConditionError(node.predicate.offset, f"the predicate of {node.function} returns no value")
        if node.function in ("map", "sum"):
            return Nature("array", out) if node.function == "map" else out
        if out.kind != "bool" and not out.unknown:
            raise ConditionError(node.predicate.offset, f"predicate should return boolean (got {out})")
        if node.function == "filter":
            return Nature("array", collection.element())
        return INT if node.function == "count" else BOOL
