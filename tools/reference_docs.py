"""The spec reference (docs/reference.md), generated from the JSON Schemas of releases and pipelines.

``python -m tools.reference_docs`` rewrites docs/reference.md; ``python -m tools.reference_docs
--check`` exits 1 when the file differs from what the schema gives (a test
runs the same comparison). Every object of the schema gets a section named by
its path in a spec (``spec.strategy.canary``; ``[]`` marks list items) with a
row per field: its type and limits, whether it is required, and the schema's
description. Definitions used in several places are written out at each, so a
section is read on its own.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

Schema = Mapping[str, Any]
REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference.md"


def reference_markdown(release: Schema, pipeline: Schema) -> str:
    """The whole reference page: the release spec's schema, then the pipeline spec's."""
    lines = [
        "# Release spec reference",
        "",
        "<!-- Generated from schemas/release.schema.json and schemas/pipeline.schema.json by "
        "`python -m tools.reference_docs`: edit the schemas, not this file. -->",
        "",
        str(release.get("description", "")),
        "",
        "Every section is one object of a release spec, named by its path (`[]` marks the items of a list). "
        "Durations are Go durations, as Argo Rollouts, Flagger and Flux read them: `30s`, `1.5m`, `1h30m`, `500ms`; "
        "a bare integer counts seconds. `rollgen schema` prints the schema itself.",
        *_sections(release, "Release", ""),
        "",
        "# Pipeline spec reference",
        "",
        str(pipeline.get("description", "")),
        "",
        "A pipeline spec (`kind: Pipeline`) names one release spec per environment; each section is one object "
        "of it, named `Pipeline.` and its path. `rollgen schema --kind pipeline` prints its schema.",
        *_sections(pipeline, "Pipeline", "Pipeline."),
    ]
    return "\n".join(lines) + "\n"


def _sections(schema: Schema, root: str, prefix: str) -> list[str]:
    """A section per object of ``schema``: its heading (``root`` for the document, ``prefix`` + path below it)."""
    lines: list[str] = []
    for path, node in _objects(schema, schema, root, root, prefix):
        lines += ["", f"## {path}", ""]
        if path != root and node.get("description"):
            lines += [str(node["description"]), ""]
        lines += _table(schema, node, path, root, prefix)
    return lines


def _child(path: str, name: str, root: str, prefix: str) -> str:
    return f"{prefix}{name}" if path == root else f"{path}.{name}"


def _resolve(schema: Schema, node: Schema) -> dict[str, Any]:
    """``node`` with its ``$ref`` followed; the referring node's own description wins."""
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return dict(node)
    target = schema
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return {**_resolve(schema, target), **{k: v for k, v in node.items() if k != "$ref"}}


def _objects(schema: Schema, node: Schema, path: str, root: str, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object with fields under ``node``, depth first, in the schema's order."""
    node = _resolve(schema, node)
    if "properties" in node:
        yield path, node
        for name, child in node["properties"].items():
            yield from _objects(schema, child, _child(path, name, root, prefix), root, prefix)
    items = node.get("items")
    if isinstance(items, Mapping):
        yield from _objects(schema, items, f"{path}[]", root, prefix)
    values = node.get("additionalProperties")
    if isinstance(values, Mapping):  # the values of a map (a header by reference): ``*`` stands for any key
        yield from _objects(schema, values, f"{path}.*", root, prefix)


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")


def _table(schema: Schema, node: Schema, path: str, root: str, prefix: str) -> list[str]:
    required = set(node.get("required", ()))
    rows = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, child in node["properties"].items():
        child_path = _child(path, name, root, prefix)
        resolved = _resolve(schema, child)
        description = _cell(str(resolved.get("description", "")))
        rows.append(
            f"| `{name}` | {_type(schema, resolved, child_path)} | {'yes' if name in required else ''} | {description} |"
        )
    return rows


def _cell(text: str) -> str:
    """``text`` safe in a table cell: no bar ends the cell, no <name> reads as an HTML tag."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _type(schema: Schema, node: Schema, path: str) -> str:
    """A field's type with its limits, linking to the section of an object."""
    if "const" in node:
        return f"`{node['const']}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
    kind = node.get("type", "any")
    text = " or ".join(kind) if isinstance(kind, list) else str(kind)
    if "properties" in node:
        return f"{text}, see [{path}](#{_anchor(path)})"
    if text == "array":
        items = _resolve(schema, node.get("items", {}))
        inner = _type(schema, items, f"{path}[]")
        text = f"list of {inner}"
    elif text == "object" and isinstance(node.get("additionalProperties"), Mapping):
        value = _resolve(schema, node["additionalProperties"])
        text = f"map of string to {_type(schema, value, f'{path}.*')}"
    limits = _limits(node)
    return f"{text} ({limits})" if limits else text


def _limits(node: Schema) -> str:
    parts = []
    for key, word in (("minimum", "≥"), ("maximum", "≤")):
        if key in node:
            parts.append(f"{word} {node[key]}")
    for key, word in (("minItems", "at least {} item(s)"), ("maxItems", "at most {} item(s)")):
        if key in node:
            parts.append(word.format(node[key]))
    for key, word in (("minProperties", "at least {} entry"), ("maxProperties", "at most {} entries")):
        if key in node:
            parts.append(word.format(node[key]))
    if "minLength" in node and node["minLength"] > 1:
        parts.append(f"{node['minLength']} to {node.get('maxLength', '…')} characters")
    elif "maxLength" in node:
        parts.append(f"at most {node['maxLength']} characters")
    if "pattern" in node:
        pattern = str(node["pattern"]).replace("|", "\\|")  # a bare | would end the table cell
        parts.append(f"matches `{pattern}`")
    return ", ".join(parts)


def main(argv: list[str]) -> int:
    from rollgen.spec.schema import schema

    text = reference_markdown(schema("release"), schema("pipeline"))
    if argv == ["--check"]:
        if REFERENCE.is_file() and REFERENCE.read_text() == text:
            return 0
        print(f"{REFERENCE} is out of date: run python -m tools.reference_docs", file=sys.stderr)
        return 1
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(text)
    print(f"wrote {REFERENCE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
