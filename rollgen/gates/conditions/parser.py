"""Parse a condition the way expr-lang parses it, and refuse what rollgen does not run.

The grammar and the precedences are expr-lang's (parser/parser.go and
parser/operator), lowest first::

    ?:  ternary (a ? b : c, and a ?: b)        ==  !=  <  >  <=  >=  in  matches
    or  ||                                      contains  startsWith  endsWith (and not in, not matches...)
    and &&                                      ..   + -   * / %   ** ^ (right)   ?? (tightest)
    unary: not ! (below comparisons: `not a == b` is `(not a) == b`), - + (above * /)

``1 < result < 3`` is ``1 < result && result < 3``, as in expr-lang.
Postfix: ``.name``, ``[index]`` (negative counts from the end), ``?.name`` and
``?.[index]`` (nil when the value on the left is nil). A predicate is
``{...}`` or a bare expression; in it ``#`` is the element and ``.field``
reads the element's field; ``#index`` is the position, in ``map``.

Refused, each by name: an unknown name or function (the one variable is
``result``), ``let``, ``if``, ``;``, the pipe ``|``, map literals, slices
``a[1:2]``, methods ``x.f()``, bytes literals, ``$env``, and expr-lang builtins
rollgen does not run (``upper``, ``now``...): a condition either means in
rollgen what it means in Argo Rollouts, or ``validate`` says why not.

    >>> parse("result >= ").root
    Traceback (most recent call last):
    ...
    rollgen.gates.conditions.lexer.ConditionError: offset 10: expected a value, found end of condition
    >>> parse("upper(result) == 'OK'").root
    Traceback (most recent call last):
    ...
    rollgen.gates.conditions.lexer.ConditionError: offset 0: upper() is an expr-lang builtin rollgen conditions do not support (they support abs, all, any, asFloat, asInt, count, default, filter, isInf, isNaN, isNil, len, map, max, mean, min, none, one, sum)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from rollgen.gates.conditions.checker import FUNCTIONS, LOOPS, MAX_DEPTH, UNKNOWN, check
from rollgen.gates.conditions.lexer import ConditionError, Token, tokenize
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

_BINARY: Final = {
    "|": 0,
    "or": 10,
    "||": 10,
    "and": 15,
    "&&": 15,
    "==": 20,
    "!=": 20,
    "<": 20,
    ">": 20,
    ">=": 20,
    "<=": 20,
    "in": 20,
    "matches": 20,
    "contains": 20,
    "startsWith": 20,
    "endsWith": 20,
    "..": 25,
    "+": 30,
    "-": 30,
    "*": 60,
    "/": 60,
    "%": 60,
    "**": 100,
    "^": 100,
    "??": 500,
}
_RIGHT_ASSOCIATIVE: Final = frozenset({"**", "^"})
_UNARY: Final = {"not": 50, "!": 50, "-": 90, "+": 90}
_CHAINED: Final = frozenset({"<", ">", "<=", ">="})  # `a < b < c` reads as `a < b && b < c`
_NEGATABLE: Final = frozenset({"in", "matches", "contains", "startsWith", "endsWith"})  # `not in`...
# expr-lang's other builtins: named apart from unknown names, so the refusal says what it is.
_EXPR_BUILTINS: Final = frozenset({
    "find", "findIndex", "findLast", "findLastIndex", "groupBy", "sortBy", "reduce", "type", "ceil", "floor",
    "round", "int", "float", "string", "trim", "trimPrefix", "trimSuffix", "upper", "lower", "split", "splitAfter",
    "replace", "repeat", "join", "indexOf", "lastIndexOf", "hasPrefix", "hasSuffix", "median", "toJSON", "fromJSON",
    "toBase64", "fromBase64", "now", "duration", "date", "timezone", "first", "last", "get", "take", "keys",
    "values", "toPairs", "fromPairs", "reverse", "uniq", "concat", "flatten", "sort", "bitand", "bitor", "bitxor",
    "bitnand", "bitnot", "bitshl", "bitshr", "bitushr",
})  # fmt: skip
_SUPPORTED: Final = ", ".join(sorted(FUNCTIONS, key=str.lower))


@dataclass(frozen=True, kw_only=True)
class Condition:
    """A parsed condition, ready to judge any number of results (see :mod:`rollgen.gates.conditions.evaluate`)."""

    text: str
    root: Node
    patterns: tuple[tuple[int, str], ...]  # (offset, regex) of each `matches "..."`, for validate to compile


def parse(text: str) -> Condition:
    """Parse and type-check ``text`` (``result`` of any type), or raise :class:`ConditionError` at the culprit.

    What can never be true or false is refused here, not at the gate: ``1`` is an
    error in Argo Rollouts too (``expected bool, but got int``), but only once measured.

    >>> parse("result > 1 &&").root
    Traceback (most recent call last):
    ...
    rollgen.gates.conditions.lexer.ConditionError: offset 13: expected a value, found end of condition
    >>> parse("len(result) + 1").root
    Traceback (most recent call last):
    ...
    rollgen.gates.conditions.lexer.ConditionError: offset 12: expected bool, but got int
    """
    root = syntax_tree(text)
    typing = check(root, UNKNOWN)
    if typing.nature.kind not in ("bool", "unknown"):
        raise ConditionError(root.offset, f"expected bool, but got {typing.nature}")
    return Condition(text=text, root=root, patterns=typing.patterns)


def syntax_tree(text: str) -> Node:
    """The tree of any expression (of any type: ``parse`` wants a condition), not yet type-checked."""
    return _Parser(tokenize(text)).parse()


def _unsupported(token: Token, what: str) -> ConditionError:
    return ConditionError(token.offset, f"{what} not supported in rollgen conditions")


def _number(token: Token) -> Literal:
    text = token.text.replace("_", "").lower()
    try:
        if text.startswith(("0x", "0b", "0o")):
            return _integer(token, int(text, 0))
        if "." in text or "e" in text:
            value = float(text)
            if value == float("inf"):
                raise ConditionError(token.offset, f"float literal {token.text} is too large")
            return Literal(offset=token.offset, value=value)
        return _integer(token, int(text, 10))
    except ValueError:
        raise ConditionError(token.offset, f"invalid number literal {token.text!r}") from None


def _integer(token: Token, value: int) -> Literal:
    if value >= 2**63:
        raise ConditionError(token.offset, f"integer literal {token.text} is too large")
    return Literal(offset=token.offset, value=value)


class _Parser:
    def __init__(self, tokens: tuple[Token, ...]) -> None:
        self.tokens = tokens
        self.position = 0
        self.depth = 0  # expression nesting
        self.predicates = 0  # predicate nesting: where `#` and `.field` mean the element

    @property
    def token(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        token = self.token
        self.position += 1
        return token

    def expect(self, kind: str, text: str) -> Token:
        if not self.token.is_(kind, text):
            raise ConditionError(self.token.offset, f"expected {text!r}, found {self.token.describe()}")
        return self.advance()

    def parse(self) -> Node:
        node = self.expression(0)
        if self.token.is_("operator", ";"):
            raise _unsupported(self.token, "sequences (;) are")
        if self.token.kind != "end":
            raise ConditionError(self.token.offset, f"unexpected {self.token.describe()}")
        return node

    def expression(self, precedence: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(self.token.offset, f"condition nested deeper than {MAX_DEPTH} levels")
        if precedence == 0 and self.token.is_("operator", "let", "if"):
            raise _unsupported(self.token, f"{self.token.text!r} is")
        node = self.operations(self.primary(), precedence)
        if precedence == 0:
            node = self.conditional(node)
        self.depth -= 1
        return node

    def operations(self, left: Node, precedence: int) -> Node:
        previous = ""
        while (op := self.token).kind == "operator":
            negated: Token | None = None
            if op.text == "not":  # after a value, `not` starts `not in`, `not matches`...
                following = self.tokens[self.position + 1]
                if not (following.kind == "operator" and following.text in _NEGATABLE):
                    raise ConditionError(following.offset, f"unexpected {following.describe()} after 'not'")
                if _BINARY[following.text] < precedence:
                    break
                negated, op = op, following
                self.advance()
            if op.text not in _BINARY or _BINARY[op.text] < precedence:
                break
            self.advance()
            if op.text == "|":
                raise _unsupported(op, "the pipe operator | is")
            if previous == "??" and op.text != "??":
                raise ConditionError(
                    op.offset, f"operator {op.text} and ?? cannot be mixed: wrap one of them in parentheses"
                )
            if op.text in _CHAINED:
                left = self.comparison(left, op)
            else:
                tighter = 0 if op.text in _RIGHT_ASSOCIATIVE else 1
                right = self.expression(_BINARY[op.text] + tighter)
                left = Binary(offset=op.offset, operator=op.text, left=left, right=right)
                if negated is not None:
                    left = Unary(offset=negated.offset, operator="not", operand=left)
            previous = op.text
        return left

    def comparison(self, left: Node, op: Token) -> Node:
        node: Node | None = None
        while True:
            right = self.expression(_BINARY[op.text] + 1)
            compared = Binary(offset=op.offset, operator=op.text, left=left, right=right)
            node = compared if node is None else Binary(offset=op.offset, operator="&&", left=node, right=compared)
            if not (self.token.kind == "operator" and self.token.text in _CHAINED):
                return node
            left, op = right, self.advance()

    def conditional(self, node: Node) -> Node:
        while self.token.is_("operator", "?"):
            mark = self.advance()
            if self.token.is_("operator", ":"):  # `a ?: b` is `a ? a : b`
                self.advance()
                then = node
            else:
                then = self.expression(0)
                self.expect("operator", ":")
            node = Conditional(offset=mark.offset, condition=node, then=then, otherwise=self.expression(0))
        return node

    def primary(self) -> Node:
        token = self.token
        if token.kind == "operator" and token.text in _UNARY:
            self.advance()
            operand = self.expression(_UNARY[token.text])
            return self.postfix(Unary(offset=token.offset, operator=token.text, operand=operand))
        if token.is_("bracket", "("):
            self.advance()
            node = self.expression(0)
            if self.token.is_("operator", ";"):
                raise _unsupported(self.token, "sequences (;) are")
            self.expect("bracket", ")")
            return self.postfix(node)
        if self.predicates and token.is_("operator", "#", "."):
            name = ""
            if token.text == "#":  # `.field` leaves the dot to postfix: it reads a field of `#`
                self.advance()
                if self.token.kind == "name":
                    name = self.advance().text
            return self.postfix(Pointer(offset=token.offset, name=name))
        return self.secondary()

    def secondary(self) -> Node:
        token = self.token
        if token.kind == "name":
            self.advance()
            if token.text in ("true", "false", "nil"):
                return Literal(offset=token.offset, value={"true": True, "false": False, "nil": None}[token.text])
            if self.token.is_("bracket", "("):
                return self.postfix(self.call(token))
            return self.postfix(self.name(token))
        if token.kind == "number":
            self.advance()
            return _number(token)
        if token.kind == "string":
            self.advance()
            return self.postfix(Literal(offset=token.offset, value=token.value))
        if token.kind == "bytes":
            raise _unsupported(token, "bytes literals are")
        if token.is_("bracket", "["):
            return self.postfix(self.array())
        if token.is_("bracket", "{"):
            raise _unsupported(token, "map literals are")
        if token.is_("operator", "#", "."):
            raise ConditionError(
                token.offset,
                f"{token.text} stands for an element only inside a predicate, such as all(result, {{# > 0}})",
            )
        if token.is_("operator", "::"):
            raise _unsupported(token, "'::' is")
        raise ConditionError(token.offset, f"expected a value, found {token.describe()}")

    def name(self, token: Token) -> Node:
        if token.text == "result":
            return Result(offset=token.offset)
        if token.text in FUNCTIONS:
            raise ConditionError(token.offset, f"{token.text} is a function: call it, as in {token.text}(result)")
        if token.text == "$env":
            raise _unsupported(token, "$env is")
        hint = " (expr-lang writes nil)" if token.text == "null" else "; the variable is result"
        raise ConditionError(token.offset, f"unknown name {token.text}{hint}")

    def call(self, token: Token) -> Node:
        name = token.text
        if name in LOOPS:
            return self.loop(token)
        if name in FUNCTIONS:
            return Call(offset=token.offset, function=name, arguments=self.arguments())
        if name in _EXPR_BUILTINS:
            raise ConditionError(
                token.offset,
                f"{name}() is an expr-lang builtin rollgen conditions do not support (they support {_SUPPORTED})",
            )
        raise ConditionError(token.offset, f"unknown name {name}; the functions are {_SUPPORTED}")

    def arguments(self) -> tuple[Node, ...]:
        self.expect("bracket", "(")
        return self.items(")")

    def items(self, close: str) -> tuple[Node, ...]:
        """Expressions separated by commas (a trailing one allowed) up to ``close``, which is consumed."""
        items: list[Node] = []
        while not self.token.is_("bracket", close):
            if items:
                self.expect("operator", ",")
                if self.token.is_("bracket", close):
                    break
            items.append(self.expression(0))
        self.expect("bracket", close)
        return tuple(items)

    def loop(self, token: Token) -> Loop:
        self.expect("bracket", "(")
        if self.token.is_("bracket", ")"):
            raise ConditionError(
                self.token.offset, f"{token.text}() expects at least {2 - LOOPS[token.text]} arguments"
            )
        collection = self.expression(0)
        predicate = None
        if not (LOOPS[token.text] and self.token.is_("bracket", ")")):
            if self.token.is_("bracket", ")"):
                raise ConditionError(
                    self.token.offset, f"{token.text}() expects a predicate, as in {token.text}(result, {{# > 0}})"
                )
            self.expect("operator", ",")
            predicate = self.predicate()
        if self.token.is_("operator", ","):
            self.advance()
        self.expect("bracket", ")")
        return Loop(offset=token.offset, function=token.text, collection=collection, predicate=predicate)

    def predicate(self) -> Node:
        braced = self.token.is_("bracket", "{")
        if braced:
            self.advance()
        self.predicates += 1
        node = self.expression(0)
        self.predicates -= 1
        if self.token.is_("operator", ";"):
            raise _unsupported(self.token, "sequences (;) are")
        if braced:
            self.expect("bracket", "}")
        return node

    def array(self) -> Array:
        start = self.expect("bracket", "[")
        return Array(offset=start.offset, items=self.items("]"))

    def postfix(self, node: Node) -> Node:
        while True:
            token = self.token
            optional = token.is_("operator", "?.")
            if optional and self.tokens[self.position + 1].is_("bracket", "["):
                self.advance()  # `?.[key]`: an optional index
                token = self.token
            if token.is_("operator", ".", "?."):
                node = self.field(node, optional)
            elif token.is_("bracket", "["):
                self.advance()
                if self.token.is_("operator", ":"):
                    raise _unsupported(self.token, "slices are")
                key = self.expression(0)
                if self.token.is_("operator", ":"):
                    raise _unsupported(self.token, "slices are")
                self.expect("bracket", "]")
                node = Member(offset=token.offset, target=node, key=key, optional=optional)
                if optional:
                    node = Chain(offset=token.offset, node=node)
            else:
                return node

    def field(self, node: Node, optional: bool) -> Node:
        self.advance()
        name = self.advance()
        # Words the lexer made operators (`in`, `not`, `matches`...) are field names after a dot.
        if not (name.kind == "name" or (name.kind == "operator" and name.text[:1].isalpha())):
            raise ConditionError(name.offset, f"expected a field name after '.', found {name.describe()}")
        if self.token.is_("bracket", "("):
            raise ConditionError(
                name.offset, "methods are not supported in rollgen conditions: results hold no methods"
            )
        chained = isinstance(node, Chain)
        target = node.node if isinstance(node, Chain) else node
        member: Node = Member(
            offset=name.offset, target=target, key=Literal(offset=name.offset, value=name.text), optional=optional
        )
        return Chain(offset=name.offset, node=member) if chained or optional else member
