"""The small, safe expression language of ``successCondition`` and ``failureCondition``.

A condition is judged against one variable, ``result``: a float (a Prometheus
scalar), a list of floats (a Prometheus vector), a string, or whatever JSON an
HTTP gate's ``jsonPath`` picked (dict, list, string, number, bool, null). It is
tokenized, parsed and interpreted here, never handed to ``eval``: a condition
can read ``result`` and nothing else.

    >>> parse("result >= 0.99").evaluate(0.995)
    True
    >>> parse("len(result) > 0 && result[0] < 0.9").evaluate([0.5, 0.7])
    True
    >>> parse("result.status == 'ok' or not isNaN(result.value)").evaluate({"status": "down", "value": 1})
    True

Grammar (lowest precedence first)::

    or      := and (("||" | "or") and)*
    and     := not (("&&" | "and") not)*
    not     := ("!" | "not") not | compare
    compare := unary (("==" | "!=" | "<" | "<=" | ">" | ">=") unary)?
    unary   := "-" unary | postfix
    postfix := primary ("[" or "]" | "." NAME)*
    primary := NUMBER | STRING | true | false | null | result
             | len "(" or ")" | isNaN "(" or ")" | "(" or ")"

Types are strict, because a condition that quietly coerces is one that quietly
passes: ``&&``/``||``/``!`` want booleans, ordering wants two numbers or two
strings, ``==`` between a string and a number is an error, not ``false``. The one
convenience: a one-element list next to a number stands for its element, so
``result >= 0.99`` works on a Prometheus vector with a single series (as
``result[0] >= 0.99`` does). Comparisons with NaN are false, as in IEEE 754; use
``isNaN(result)`` to ask. Every error is a :class:`ConditionError` with the
0-based character offset of the culprit:

    >>> parse("result >= ")
    Traceback (most recent call last):
    ...
    rollgen.gates.conditions.parser.ConditionError: offset 10: expected a value, found end of condition
    >>> parse("result[1] > 0").evaluate([0.5])
    Traceback (most recent call last):
    ...
    rollgen.gates.conditions.parser.ConditionError: offset 6: index 1 out of range for a list of 1

This module imports nothing heavy: the spec validator parses every condition.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Final

from rollgen.errors import RollgenError

# Nesting deeper than this is not a real condition; refusing it keeps the
# recursive-descent parser and interpreter far from Python's recursion limit.
MAX_DEPTH: Final = 64


class ConditionError(RollgenError):
    """A condition that cannot be parsed, or cannot be judged against a result."""

    def __init__(self, offset: int, message: str) -> None:
        self.offset = offset
        self.message = message
        super().__init__(f"offset {offset}: {message}")


# --- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "string", "name", "op" or "end"
    text: str
    offset: int
    value: float | str | None = None


_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Longest first, so "<=" is never read as "<" then "=".
_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ",", ".", "-")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}


def tokenize(text: str) -> tuple[Token, ...]:
    """The tokens of ``text``, ending with an ``end`` token.

    >>> [t.text for t in tokenize("result[0]>=.5")]
    ['result', '[', '0', ']', '>=', '.5', '']
    """
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "'\"":
            token, i = _string(text, i)
            tokens.append(token)
        elif number := _NUMBER.match(text, i):
            # ".5" is a number but "result.x" is member access: a dot after a value is an operator.
            if char == "." and tokens and (tokens[-1].kind != "op" or tokens[-1].text in (")", "]")):
                tokens.append(Token("op", ".", i))
                i += 1
                continue
            tokens.append(Token("number", number.group(), i, float(number.group())))
            i = number.end()
        elif name := _NAME.match(text, i):
            tokens.append(Token("name", name.group(), i))
            i = name.end()
        else:
            op = next((op for op in _OPERATORS if text.startswith(op, i)), None)
            if op is None:
                raise ConditionError(i, f"unexpected character {char!r}")
            tokens.append(Token("op", op, i))
            i += len(op)
    tokens.append(Token("end", "", len(text)))
    return tuple(tokens)


def _string(text: str, start: int) -> tuple[Token, int]:
    quote = text[start]
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return Token("string", text[start : i + 1], start, "".join(chars)), i + 1
        if char == "\\":
            escaped = text[i + 1 : i + 2]
            if escaped not in _ESCAPES:
                raise ConditionError(i, f"unknown escape \\{escaped} in string")
            chars.append(_ESCAPES[escaped])
            i += 2
        else:
            chars.append(char)
            i += 1
    raise ConditionError(start, "unterminated string")


# --- syntax tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Constant:
    offset: int
    value: Any


@dataclass(frozen=True)
class Variable:
    offset: int


@dataclass(frozen=True)
class Index:
    offset: int  # of the "[" or "."
    target: Node
    key: Node


@dataclass(frozen=True)
class Call:
    offset: int
    function: str
    argument: Node


@dataclass(frozen=True)
class Negate:
    offset: int
    operand: Node


@dataclass(frozen=True)
class Not:
    offset: int
    operand: Node


@dataclass(frozen=True)
class Compare:
    offset: int  # of the operator
    operator: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical:
    offset: int  # of the operator
    operator: str  # "and" or "or"
    left: Node
    right: Node


Node = Constant | Variable | Index | Call | Negate | Not | Compare | Logical

_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_FUNCTIONS = frozenset({"len", "isNaN"})
_CONSTANTS: dict[str, Any] = {"true": True, "false": False, "null": None, "nil": None}


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.position = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.position]

    def _take(self) -> Token:
        token = self.token
        self.position += 1
        return token

    def _is(self, *texts: str) -> bool:
        return self.token.kind in ("op", "name") and self.token.text in texts

    def _expect(self, text: str) -> Token:
        if not (self.token.kind == "op" and self.token.text == text):
            raise ConditionError(self.token.offset, f"expected {text!r}, found {_describe(self.token)}")
        return self._take()

    def parse(self) -> Node:
        node = self._or()
        if self.token.kind != "end":
            raise ConditionError(self.token.offset, f"unexpected {_describe(self.token)}")
        return node

    def _or(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(self.token.offset, f"condition nested deeper than {MAX_DEPTH} levels")
        node = self._and()
        while self._is("||", "or"):
            op = self._take()
            node = Logical(op.offset, "or", node, self._and())
        self.depth -= 1
        return node

    def _and(self) -> Node:
        node = self._not()
        while self._is("&&", "and"):
            op = self._take()
            node = Logical(op.offset, "and", node, self._not())
        return node

    def _not(self) -> Node:
        if self._is("!", "not"):
            op = self._take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ConditionError(op.offset, f"condition nested deeper than {MAX_DEPTH} levels")
            node: Node = Not(op.offset, self._not())
            self.depth -= 1
            return node
        return self._compare()

    def _compare(self) -> Node:
        node = self._unary()
        if self.token.kind == "op" and self.token.text in _COMPARISONS:
            op = self._take()
            node = Compare(op.offset, op.text, node, self._unary())
            if self.token.kind == "op" and self.token.text in _COMPARISONS:
                raise ConditionError(self.token.offset, "chained comparison: combine two comparisons with &&")
        return node

    def _unary(self) -> Node:
        if self._is("-"):
            op = self._take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ConditionError(op.offset, f"condition nested deeper than {MAX_DEPTH} levels")
            node: Node = Negate(op.offset, self._unary())
            self.depth -= 1
            return node
        return self._postfix()

    def _postfix(self) -> Node:
        node = self._primary()
        while self._is("[", "."):
            op = self._take()
            if op.text == "[":
                key = self._or()
                self._expect("]")
                node = Index(op.offset, node, key)
            elif self.token.kind == "name":
                name = self._take()
                node = Index(op.offset, node, Constant(name.offset, name.text))
            else:
                raise ConditionError(
                    self.token.offset, f"expected a field name after '.', found {_describe(self.token)}"
                )
        return node

    def _primary(self) -> Node:
        token = self.token
        if token.kind in ("number", "string"):
            self._take()
            return Constant(token.offset, token.value)
        if token.kind == "name":
            self._take()
            if token.text == "result":
                return Variable(token.offset)
            if token.text in _CONSTANTS:
                return Constant(token.offset, _CONSTANTS[token.text])
            if token.text in _FUNCTIONS:
                self._expect("(")
                argument = self._or()
                self._expect(")")
                return Call(token.offset, token.text, argument)
            raise ConditionError(
                token.offset,
                f"unknown name {token.text!r}: the variable is 'result', the functions are len() and isNaN()",
            )
        if self._is("("):
            self._take()
            node = self._or()
            self._expect(")")
            return node
        raise ConditionError(token.offset, f"expected a value, found {_describe(token)}")


def _describe(token: Token) -> str:
    return "end of condition" if token.kind == "end" else repr(token.text)


# --- evaluation -----------------------------------------------------------------------------


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _unwrap(value: object, other: object) -> object:
    """A one-element list compared with a number stands for its element (a one-series vector)."""
    if isinstance(value, (list, tuple)) and len(value) == 1 and _is_number(other):
        return value[0]
    return value


def _evaluate(node: Node, result: object) -> object:
    if isinstance(node, Constant):
        return node.value
    if isinstance(node, Variable):
        return result
    if isinstance(node, Index):
        return _index(node, _evaluate(node.target, result), _evaluate(node.key, result))
    if isinstance(node, Call):
        return _call(node, _evaluate(node.argument, result))
    if isinstance(node, Negate):
        operand = _evaluate(node.operand, result)
        if not _is_number(operand):
            raise ConditionError(node.offset, f"cannot negate a {_type_name(operand)}")
        return -operand  # type: ignore[operator]
    if isinstance(node, Not):
        return not _boolean(node.operand, _evaluate(node.operand, result), "!")
    if isinstance(node, Compare):
        return _compare(node, _evaluate(node.left, result), _evaluate(node.right, result))
    left = _boolean(node.left, _evaluate(node.left, result), node.operator)
    # Short-circuit like every other language, so `len(result) > 0 && result[0] > 1` is safe.
    if node.operator == "and" and not left:
        return False
    if node.operator == "or" and left:
        return True
    return _boolean(node.right, _evaluate(node.right, result), node.operator)


def _boolean(node: Node, value: object, operator: str) -> bool:
    if not isinstance(value, bool):
        raise ConditionError(node.offset, f"{operator!r} needs true or false, got a {_type_name(value)}")
    return value


def _index(node: Index, target: object, key: object) -> object:
    if isinstance(target, (list, tuple)):
        if not isinstance(key, (int, float)) or isinstance(key, bool) or not float(key).is_integer():
            raise ConditionError(node.offset, f"a list index must be a whole number, got {key!r}")
        position = int(key)
        if not -len(target) <= position < len(target):
            raise ConditionError(node.offset, f"index {position} out of range for a list of {len(target)}")
        return target[position]
    if isinstance(target, dict):
        if not isinstance(key, str):
            raise ConditionError(node.offset, f"an object key must be a string, got a {_type_name(key)}")
        if key not in target:
            raise ConditionError(node.offset, f"no field {key!r} (fields: {', '.join(sorted(map(str, target)))})")
        return target[key]
    raise ConditionError(node.offset, f"cannot index a {_type_name(target)}")


def _call(node: Call, argument: object) -> object:
    if node.function == "len":
        if not isinstance(argument, (list, tuple, dict, str)):
            raise ConditionError(node.offset, f"len() needs a list, object or string, got a {_type_name(argument)}")
        return len(argument)
    argument = _unwrap(argument, 0.0)
    if not _is_number(argument):
        raise ConditionError(node.offset, f"isNaN() needs a number, got a {_type_name(argument)}")
    return math.isnan(argument)  # type: ignore[arg-type]


def _compare(node: Compare, left: object, right: object) -> bool:
    left, right = _unwrap(left, right), _unwrap(right, left)
    same = _type_name(left) == _type_name(right)
    if node.operator in ("==", "!="):
        if not same and left is not None and right is not None:
            raise ConditionError(node.offset, f"cannot compare a {_type_name(left)} with a {_type_name(right)}")
        return (left == right) == (node.operator == "==")
    if not same or not isinstance(left, (int, float, str)) or isinstance(left, bool):
        raise ConditionError(node.offset, f"cannot order a {_type_name(left)} and a {_type_name(right)}")
    a: Any = left
    b: Any = right
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.operator]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Condition:
    """A parsed condition, ready to judge any number of results."""

    text: str
    root: Node

    def evaluate(self, result: object) -> bool:
        """Whether the condition holds for ``result``; a ConditionError when it cannot be judged.

        >>> parse("result == 'ok'").evaluate("ok")
        True
        >>> parse("result").evaluate(1.0)
        Traceback (most recent call last):
        ...
        rollgen.gates.conditions.parser.ConditionError: offset 0: a condition must be true or false, got a number
        """
        value = _evaluate(self.root, result)
        if not isinstance(value, bool):
            raise ConditionError(self.root.offset, f"a condition must be true or false, got a {_type_name(value)}")
        return value


def parse(text: str) -> Condition:
    """Parse ``text`` or raise :class:`ConditionError` at the offending offset.

    >>> parse("result > 1 &&").root
    Traceback (most recent call last):
    ...
    rollgen.gates.conditions.parser.ConditionError: offset 13: expected a value, found end of condition
    """
    return Condition(text, _Parser(text).parse())
