"""The syntax tree of a condition: what the parser builds, the checker types and the evaluator walks.

Each node keeps the 0-based offset of the text it stands for (a binary
operation: its operator), so an error at any stage points into the condition.
Nodes compare and hash by identity: the checker's findings are sets of nodes of
one tree, and two equal-looking subtrees at different places are different nodes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, eq=False)
class Literal:
    """``nil``, ``true``/``false``, a number or a string, as written."""

    offset: int
    value: bool | int | float | str | None


@dataclass(frozen=True, kw_only=True, eq=False)
class Array:
    """A list literal: ``[1, 2]``."""

    offset: int
    items: tuple[Node, ...]


@dataclass(frozen=True, kw_only=True, eq=False)
class Result:
    """The variable ``result``: the one name a condition reads."""

    offset: int


@dataclass(frozen=True, kw_only=True, eq=False)
class Pointer:
    """``#`` (the element a predicate is looking at) or ``#index`` (its position, in ``map``)."""

    offset: int
    name: str  # "" or "index"


@dataclass(frozen=True, kw_only=True, eq=False)
class Unary:
    """``not x``, ``!x``, ``-x``, ``+x``."""

    offset: int
    operator: str  # as written: "not", "!", "-" or "+"
    operand: Node


@dataclass(frozen=True, kw_only=True, eq=False)
class Binary:
    """``left operator right``; chained comparisons are joined by ``&&``."""

    offset: int
    operator: str  # as written ("&&" and "and" both)
    left: Node
    right: Node


@dataclass(frozen=True, kw_only=True, eq=False)
class Conditional:
    """``condition ? then : otherwise`` (``a ?: b`` is ``a ? a : b``)."""

    offset: int
    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, kw_only=True, eq=False)
class Member:
    """``target.name``, ``target[key]``, and their optional forms ``?.name`` and ``?.[key]``."""

    offset: int
    target: Node
    key: Node
    optional: bool


@dataclass(frozen=True, kw_only=True, eq=False)
class Chain:
    """Where a chain with ``?.`` ends: a nil met along it makes the whole chain nil."""

    offset: int
    node: Node


@dataclass(frozen=True, kw_only=True, eq=False)
class Call:
    """A function of Argo Rollouts' environment (``isNaN``, ``default``...) or an expr-lang builtin (``len``...)."""

    offset: int
    function: str
    arguments: tuple[Node, ...]


@dataclass(frozen=True, kw_only=True, eq=False)
class Loop:
    """A builtin that runs a predicate over a list: ``all``, ``any``, ``none``, ``one``, ``filter``, ``map``,
    ``count`` and ``sum`` (the last two with an optional predicate)."""

    offset: int
    function: str
    collection: Node
    predicate: Node | None


Node = Literal | Array | Result | Pointer | Unary | Binary | Conditional | Member | Chain | Call | Loop
