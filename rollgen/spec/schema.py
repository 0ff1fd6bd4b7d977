"""The spec JSON Schemas: where they live and how documents are checked against them.

``schemas/release.schema.json`` and ``schemas/pipeline.schema.json`` are the
public contract (draft-07, what editors' yaml-language-server understands).
Validation uses jsonschema-rs: it reports every error with its instance path
and the resolved schema path, and it imports and runs an order of magnitude
faster than the pure-Python validator, which keeps ``rollgen validate`` quick
enough for a pre-commit hook.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from rollgen.errors import Problem
from rollgen.spec.yamldoc import Document, JsonPath

_PACKAGE = Path(__file__).resolve().parent.parent


def schema_path(kind: str = "release") -> Path:
    """The schema file: inside the installed wheel, or at the top of a source checkout."""
    for candidate in (_PACKAGE / "schemas", _PACKAGE.parent / "schemas"):
        path = candidate / f"{kind}.schema.json"
        if path.is_file():
            return path
    raise FileNotFoundError(f"{kind}.schema.json is missing from the rollgen installation")


@cache
def schema_text(kind: str = "release") -> str:
    return schema_path(kind).read_text(encoding="utf-8")


@cache
def schema(kind: str = "release") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text(kind))
    return loaded


@cache
def _validator(kind: str) -> Any:
    import jsonschema_rs

    return jsonschema_rs.Draft7Validator(schema(kind))


def schema_problems(document: Document, kind: str = "release") -> list[Problem]:
    """Every violation of the ``kind`` schema in ``document``, located at the offending node."""
    problems = []
    for error in _validator(kind).iter_errors(document.data):
        where: JsonPath = tuple(error.instance_path)
        error_kind = type(error.kind).__name__
        node = _schema_node(error.schema_path[:-1], kind)
        if error_kind == "AdditionalProperties":
            allowed = ", ".join(sorted(node.get("properties", {})))
            for name in error.kind.unexpected:
                problems.append(
                    document.problem((*where, name), f"unknown field {name!r}; allowed: {allowed}", at_key=True)
                )
            continue
        message = f"{_field(where)}: {_message(error, error_kind, node)}"
        if error_kind == "Type" and list(error.schema_path[:2]) == ["definitions", "secretRef"]:
            message = f"{_field(where)}: {_by_reference(where, kind)}"  # never the message above: it quotes the value
        if error_kind == "Type" and "string" in _types(node, kind) and where in document.numbers:
            text = document.numbers[where]
            message = f'{_field(where)}: YAML reads an unquoted {text} as a number; quote it: "{text}"'
        problems.append(document.problem(where, message))
    return problems + whole_number_problems(document, kind)


def whole_number_problems(document: Document, kind: str = "release") -> list[Problem]:
    """``replicas: 4.0``: JSON Schema counts 4.0 as an integer, the planner and Kubernetes do not."""
    problems = []
    for where in document.numbers:  # only unquoted numbers can be floats: no walk over the whole document
        value = _value(document.data, where)
        if isinstance(value, float) and value.is_integer() and "integer" in _types(_node_at(where, kind), kind):
            problems.append(
                document.problem(where, f"{_field(where)}: must be a whole number: {int(value)}, not {value}")
            )
    return problems


def _value(data: Any, where: JsonPath) -> Any:
    for part in where:
        data = data[part]
    return data


def _node_at(where: JsonPath, kind: str) -> dict[str, Any]:
    """The schema node that describes the value at ``where`` (empty when the schema does not say)."""
    node: dict[str, Any] = schema(kind)
    for part in where:
        if "$ref" in node:
            node = _schema_node(node["$ref"].lstrip("#/").split("/"), kind)
        child = (
            node.get("items")
            if isinstance(part, int)
            else node.get("properties", {}).get(part, node.get("additionalProperties"))
        )
        if not isinstance(child, dict):
            return {}
        node = child
    return node


def _field(where: JsonPath) -> str:
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "document"


def _message(error: Any, kind: str, node: dict[str, Any]) -> str:
    """Rephrase the validator's message where the schema knows better words."""
    if kind == "MaxProperties" and node.get("maxProperties") == 1:
        return f"choose exactly one of {', '.join(sorted(error.instance))}"
    if kind == "MinProperties" and node.get("maxProperties") == 1:
        return f"choose one of {', '.join(sorted(node.get('properties', {})))}"
    if kind == "Pattern":
        return f"{error.instance!r} is not valid: {node.get('description', 'does not match ' + node['pattern'])}"
    if kind == "Required":
        return f"missing required field {error.kind.property!r}"
    if kind == "Not" and set(node.get("not", {})) == {"required"}:
        return f"give one of {' or '.join(node['not']['required'])}, not both (two spellings of one field)"
    if kind == "MinItems":
        return f"needs at least {node['minItems']} entries, has {len(error.instance)}"
    return str(error.message)


def _by_reference(where: JsonPath, kind: str) -> str:
    """What to write instead of a secret written out (which is not shown: validate's output goes to CI logs)."""
    name = where[-1]
    example = next(iter(_node_at(where, kind).get("examples", ())), {"env": "NAME"})
    return (
        f"a secret is never written in the spec (value not shown): write where it is read when used, "
        f"{name}: {{env: {example['env']}}} (an environment variable) or {name}: {{file: PATH}} (a file, "
        "e.g. a mounted Secret)"
    )


def _types(node: dict[str, Any], kind: str) -> tuple[str, ...]:
    """The JSON types a schema node allows, following one ``$ref``."""
    if "$ref" in node:
        node = _schema_node(node["$ref"].lstrip("#/").split("/"), kind)
    kind = node.get("type", ())
    return (kind,) if isinstance(kind, str) else tuple(kind)


def _schema_node(path: list[Any], kind: str) -> dict[str, Any]:
    node: Any = schema(kind)
    for part in path:
        node = node[part]
    return node if isinstance(node, dict) else {}
