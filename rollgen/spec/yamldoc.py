"""Load one YAML document into plain data while keeping where every node stood.

Validation reports ``file:line:col``, so the loader keeps the position of
every value and every mapping key, addressed by its path (a tuple of keys and
list indices, the same path JSON Schema errors carry).

The loader composes the YAML node graph (libyaml's parser, YAML 1.2 core-schema
tags) and builds
plain ``dict``/``list``/scalars itself instead of using a constructor, which is
what makes hostile input safe:

* tags other than the YAML core ones (``!!python/...`` and friends) are
  rejected, never constructed;
* aliases are followed but the expanded size is bounded, so an alias bomb
  ("billion laughs") fails fast instead of eating memory;
* duplicate keys, several documents, non-mapping documents, NUL bytes,
  invalid UTF-8, oversized files and excessive nesting each get one clear error.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from rollgen.errors import Problem

MAX_BYTES = 1024 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 64

PathKey: TypeAlias = str | int
JsonPath = tuple[PathKey, ...]

_CORE = "tag:yaml.org,2002:"
_BRACKETS = re.compile(r"[\[\]{}]")
_BOOLS = {"true": True, "false": False}


@dataclass
class Document:
    """Plain data of one YAML document plus the 0-based position of each node."""

    path: str
    data: Any
    values: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    quoted: set[JsonPath] = field(default_factory=set)
    # The source text of unquoted numbers: a hint to quote ``version: 6.10`` must show 6.10, not 6.1.
    numbers: dict[JsonPath, str] = field(default_factory=dict)

    def problem(self, where: JsonPath, message: str, *, at_key: bool = False) -> Problem:
        """A problem at ``where``: its value (or its key), else the nearest enclosing node."""
        table = self.keys if at_key else self.values
        probe = where
        while probe not in table and probe:
            probe = probe[:-1]
            table = self.values
        line, col = table.get(probe, (0, 0))
        return Problem(self.path, line + 1, col + 1, message)


class LoadError(Exception):
    """The file is not a single YAML mapping we are willing to read."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def read_document(path: Path, display: str | None = None) -> Document:
    """Read and parse ``path``; every failure raises :class:`LoadError` with a position."""
    name = display if display is not None else str(path)

    def fail(message: str, line: int = 1, col: int = 1) -> LoadError:
        return LoadError(Problem(name, line, col, message))

    try:
        if path.is_dir():
            raise fail("is a directory, not a release spec file")
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise fail("no such file") from None
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        size = path.stat().st_size
        raise fail(f"file too large ({size / 1024 / 1024:.1f} MiB; a release spec may be at most 1 MiB)")
    return parse_document(raw, name)


def parse_document(raw: bytes, name: str) -> Document:
    """Parse the bytes of one spec file (see :func:`read_document`)."""
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise LoadError(Problem(name, line, 1, "binary file (contains NUL bytes), not YAML"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise LoadError(Problem(name, line, col, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})")) from None
    if not text.strip():
        raise LoadError(Problem(name, 1, 1, "empty file: expected a Release document"))
    _check_flow_depth(text, name)
    root = _compose(text, name)
    document = Document(name, None)
    document.data = _Builder(document).build(root)
    if not isinstance(document.data, dict):
        kind = type(document.data).__name__ if document.data is not None else "null"
        raise document_error(document, (), f"expected a mapping (a Release document), got {_KIND.get(kind, kind)}")
    return document


_KIND = {"list": "a list", "str": "a string", "int": "a number", "float": "a number", "bool": "a boolean"}


def document_error(document: Document, where: JsonPath, message: str) -> LoadError:
    return LoadError(document.problem(where, message))


def _check_flow_depth(text: str, name: str) -> None:
    """Refuse deeply nested flow collections before parsing: the parser slows down
    quadratically on them (seconds for a few thousand ``[``)."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        if depth > MAX_DEPTH:
            line = text.count("\n", 0, match.start()) + 1
            col = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
            raise LoadError(Problem(name, line, col, f"nesting too deep (more than {MAX_DEPTH} levels)"))


@functools.cache  # built once, on first use: the yaml import stays lazy
def _loader() -> Any:
    """A loader class: libyaml's C parser (when PyYAML has it) with YAML 1.2 core-schema tags.

    libyaml parses 20-40x faster than ruamel.yaml's round-trip scanner and
    reports the same line/column marks; the resolvers below give YAML 1.2
    semantics (``yes``/``on`` stay strings, ``010`` is ten), as ruamel.yaml
    would. Only composing is used: nodes are never constructed into objects.
    """
    import yaml

    class Loader(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # type: ignore[misc]
        pass

    float_pattern = (
        r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    )
    core = (
        ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("int", r"^(?:[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+)$", "-+0123456789"),
        ("float", float_pattern, "-+0123456789."),
        ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    )
    for kind, pattern, first in core:
        Loader.add_implicit_resolver(_CORE + kind, re.compile(pattern), list(first))
    return Loader


def _compose(text: str, name: str) -> Any:
    """Compose exactly one document's node graph, translating parser errors."""
    import yaml

    try:
        nodes = yaml.compose_all(text, Loader=_loader())
        first = next(nodes, None)
        if first is None:
            raise LoadError(Problem(name, 1, 1, "empty document: expected a Release document"))
        second = next(nodes, None)
        if second is not None:
            mark = second.start_mark
            raise LoadError(
                Problem(
                    name, mark.line + 1, mark.column + 1, "several YAML documents in one file; put one Release per file"
                )
            )
        return first
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        message = exc.problem or exc.context or "invalid YAML"
        if "tab character" in message or "'\\t'" in message:
            message = "tab character: YAML indentation must use spaces"
        raise LoadError(Problem(name, line, col, f"invalid YAML: {message}")) from None
    except yaml.YAMLError as exc:  # reader errors (control characters) carry a position of their own
        raise LoadError(Problem(name, 1, 1, f"invalid YAML: {exc}")) from None
    except RecursionError:
        raise LoadError(Problem(name, 1, 1, f"nesting too deep (more than {MAX_DEPTH} levels)")) from None


class _Builder:
    """Turns a node graph into plain data, recording positions and bounding aliases."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.count = 0

    def fail(self, node: Any, message: str) -> LoadError:
        mark = node.start_mark
        return LoadError(Problem(self.document.path, mark.line + 1, mark.column + 1, message))

    def build(self, node: Any, where: JsonPath = (), depth: int = 0) -> Any:
        from yaml.nodes import MappingNode, ScalarNode, SequenceNode

        self.count += 1
        if self.count > MAX_NODES:
            # Where the limit trips says nothing useful; the document as a whole is the problem.
            line, col = self.document.values[()]
            raise LoadError(
                Problem(
                    self.document.path,
                    line + 1,
                    col + 1,
                    f"document expands to more than {MAX_NODES} nodes (an alias bomb?)",
                )
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting too deep (more than {MAX_DEPTH} levels)")
        self.document.values.setdefault(where, (node.start_mark.line, node.start_mark.column))
        tag = str(node.tag)
        if isinstance(node, ScalarNode):
            if node.style in ("'", '"'):
                self.document.quoted.add(where)
            elif tag in (_CORE + "int", _CORE + "float"):
                self.document.numbers[where] = node.value
            return self.scalar(node, tag)
        if isinstance(node, SequenceNode):
            if tag != _CORE + "seq":
                raise self.fail(node, f"unsupported tag {tag!r}: only plain YAML is allowed")
            return [self.build(item, (*where, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if tag != _CORE + "map":
                raise self.fail(node, f"unsupported tag {tag!r}: only plain YAML is allowed")
            return self.mapping(node, where, depth)
        raise self.fail(node, "unsupported YAML node")

    def mapping(self, node: Any, where: JsonPath, depth: int) -> dict[str, Any]:
        from yaml.nodes import ScalarNode

        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, "mapping keys must be plain scalars")
            key = str(key_node.value)
            if key == "<<" and not key_node.style:
                raise self.fail(key_node, "merge keys (<<) are not supported in release specs")
            if key in result:
                first = self.document.keys[(*where, key)]
                raise self.fail(key_node, f"duplicate key {key!r} (first defined at line {first[0] + 1})")
            self.document.keys[(*where, key)] = (key_node.start_mark.line, key_node.start_mark.column)
            result[key] = self.build(value_node, (*where, key), depth + 1)
        return result

    def scalar(self, node: Any, tag: str) -> Any:
        text: str = node.value
        kind = tag[len(_CORE) :] if tag.startswith(_CORE) else None
        if kind == "str":
            return text
        if kind == "null":
            return None
        if kind == "bool":
            return _BOOLS[text.lower()]
        if kind == "int":
            digits = text.replace("_", "")
            try:
                return int(digits, 0) if digits.lstrip("+-")[:2].lower() in ("0x", "0o", "0b") else int(digits, 10)
            except ValueError:
                raise self.fail(node, f"invalid integer {text!r}") from None
        if kind == "float":
            lowered = text.lower()
            if lowered.lstrip("+-") in (".inf",):
                return -math.inf if lowered.startswith("-") else math.inf
            if lowered == ".nan":
                return math.nan
            try:
                return float(text.replace("_", ""))
            except ValueError:
                raise self.fail(node, f"invalid number {text!r}") from None
        raise self.fail(node, f"unsupported tag {tag!r}: only plain YAML is allowed")
