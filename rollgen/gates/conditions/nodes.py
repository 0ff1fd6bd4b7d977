"""The syntax tree of a condition: what the parser builds, the checker types and the evaluator walks.

Each node keeps the 0-based offset of the text it stands for (a binary
operation: its operator), so an error at any stage points into the condition.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Nil:
    offset: int


@dataclass(frozen=True, kw_only=True)
class Bool:
    offset: int
    value: bool


@dataclass(frozen=True, kw_only=True)
class Integer:
    offset: int
    value: int


@dataclass(frozen=True, kw_only=True)
class Float:
    offset: int
    value: float


@dataclass(frozen=True, kw_only=True)
class String:
    offset: int
    value: str


@dataclass(frozen=True, kw_only=True)
class Array:
    offset: int
    items: tuple[Node, ...]


@dataclass(frozen=True, kw_only=True)
class Result:
    """The variable ``result``: the one name a condition reads."""

    offset: int


@dataclass(frozen=True, kw_only=True)
class Pointer:
    """``#`` (the element a predicate is looking at) or ``#index`` (its position, in ``map``)."""

    offset: int
    name: str  # "" or "index"


@dataclass(frozen=True, kw_only=True)
class Unary:
    offset: int
    operator: str  # as written: "not", "!", "-" or "+"
    operand: Node


@dataclass(frozen=True, kw_only=True)
class Binary:
    offset: int
    operator: str  # as written ("&&" and "and" both)
    left: Node
    right: Node


@dataclass(frozen=True, kw_only=True)
class Conditional:
    offset: int
    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, kw_only=True)
class Member:
    """``target.name``, ``target[key]``, and their optional forms ``?.name`` and ``?.[key]``."""

    offset: int
    target: Node
    key: Node
    optional: bool


@dataclass(frozen=True, kw_only=True)
class Chain:
    """Where a chain with ``?.`` ends: a nil met along it makes the whole chain nil."""

    offset: int
    node: Node


@dataclass(frozen=True, kw_only=True)
class Call:
    """A function of Argo Rollouts' environment (``isNaN``, ``default``...) or an expr-lang builtin (``len``...)."""

    offset: int
    function: str
    arguments: tuple[Node, ...]


@dataclass(frozen=True, kw_only=True)
class Loop:
    """A builtin that runs a predicate over a list: ``all``, ``any``, ``none``, ``one``, ``filter``, ``map``,
    ``count`` and ``sum`` (the last two with an optional predicate)."""

    offset: int
    function: str
    collection: Node
    predicate: Node | None


Node = (
    Nil
    | Bool
    | Integer
    | Float
    | String
    | Array
    | Result
    | Pointer
    | Unary
    | Binary
    | Conditional
    | Member
    | Chain
    | Call
    | Loop
)
