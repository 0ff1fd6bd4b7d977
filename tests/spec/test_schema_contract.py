"""The schema is a public contract: valid draft-07, closed objects, documented fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema

from testkit.tools import REPO_ROOT

SCHEMA = json.loads((REPO_ROOT / "schemas" / "release.schema.json").read_text())


def objects(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield where, node
        for key, value in node.items():
            yield from objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from objects(value, f"{where}/{i}")


def test_is_valid_draft_07() -> None:
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_every_object_is_closed() -> None:
    open_objects = [
        where
        for where, node in objects(SCHEMA)
        if "properties" in node and node.get("additionalProperties") is not False
    ]
    assert open_objects == []


def test_every_field_has_a_description() -> None:
    undocumented = [
        f"{where}/properties/{name}"
        for where, node in objects(SCHEMA)
        for name, field in node.get("properties", {}).items()
        if not field.get("description")
    ]
    assert undocumented == []


def test_examples_carry_the_editor_modeline() -> None:
    for example in (REPO_ROOT / "examples").glob("*.yaml"):
        first = example.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/release.schema.json", example


def test_python_jsonschema_agrees_on_the_examples() -> None:
    """A second, independent validator accepts what rollgen accepts (the schema is not tied to one engine)."""
    import yaml

    validator = jsonschema.Draft7Validator(SCHEMA)
    for example in (REPO_ROOT / "examples").glob("*.yaml"):
        errors = list(validator.iter_errors(yaml.safe_load(example.read_text())))
        assert errors == [], example
