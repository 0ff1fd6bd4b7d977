"""The values table of each chart's README.md, generated from its values.schema.json and values.yaml.

A chart's README.md is prose written by hand, then a marker line, then the
table: every key of the schema (nested keys dotted, list items as ``[]``), its
type, its default from values.yaml and the schema's description. Kubernetes
shapes (``definitions``) are one row each, named by their type.

    python tools/chart_readme.py            rewrite the tables of charts/*/README.md
    python tools/chart_readme.py --check    exit 1 when a table differs from its schema
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

CHARTS = Path(__file__).resolve().parent.parent / "charts"
MARKER = (
    "<!-- Generated from values.schema.json and values.yaml by tools/chart_readme.py: "
    "edit those, then run python tools/chart_readme.py. -->\n"
)
_ABSENT = object()
_LONG = 60  # a default longer than this is left to values.yaml


def rows(schema: Mapping[str, Any], values: Any) -> Iterator[tuple[str, str, str, str]]:
    """(key, type, default, description) for every property, parents before their children."""
    yield from _rows(schema, schema, "", values)


def _rows(root: Mapping[str, Any], node: Mapping[str, Any], prefix: str, values: Any) -> Iterator[tuple[str, ...]]:
    for name, child in node.get("properties", {}).items():
        key = f"{prefix}{name}"
        default = values.get(name, _ABSENT) if isinstance(values, dict) else _ABSENT
        if "properties" in child:  # an object of the chart's own, not a Kubernetes shape: its defaults go below
            yield key, type_text(root, child), "", _description(root, child)
            yield from _rows(root, child, f"{key}.", default)
        else:
            yield key, type_text(root, child), _default(default), _description(root, child)
        items = child.get("items")
        if isinstance(items, Mapping) and "properties" in items:
            yield from _rows(root, items, f"{key}[].", _ABSENT)


def type_text(root: Mapping[str, Any], node: Mapping[str, Any]) -> str:
    """A schema node's type in words: ``list of string``, ``map of string``, ``"a" \\| "b"``, ``object or null``."""
    if "$ref" in node:
        return type_text(root, resolve(root, node["$ref"]))
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    for combinator in ("oneOf", "anyOf"):
        if combinator in node:
            return " or ".join(dict.fromkeys(type_text(root, n) for n in node[combinator]))
    kinds = node.get("type", "any")
    words = [_one_type(root, node, kind) for kind in ([kinds] if isinstance(kinds, str) else kinds)]
    return " or ".join(words)


def _one_type(root: Mapping[str, Any], node: Mapping[str, Any], kind: str) -> str:
    if kind == "array" and isinstance(node.get("items"), Mapping):
        return f"list of {type_text(root, node['items'])}"
    if kind == "object" and "properties" not in node and isinstance(node.get("additionalProperties"), Mapping):
        return f"map of {type_text(root, node['additionalProperties'])}"
    return kind


def resolve(root: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    target: Any = root
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target  # type: ignore[no-any-return]


def _description(root: Mapping[str, Any], node: Mapping[str, Any]) -> str:
    text = node.get("description") or ("$ref" in node and resolve(root, node["$ref"]).get("description")) or ""
    return _escaped(str(text))


def _escaped(text: str) -> str:
    """Markdown table text: a pipe would end the cell, ``<name>`` would be read as an HTML tag."""
    for char in "|<>":
        text = text.replace(char, "\\" + char)
    return text


def _default(value: object) -> str:
    if value is _ABSENT:
        return ""
    text = json.dumps(value, separators=(", ", ": "))
    return "see values.yaml" if len(text) > _LONG else f"`{text}`".replace("|", "\\|")


def table(chart: Path) -> str:
    """The generated part of ``chart``'s README.md."""
    schema = json.loads((chart / "values.schema.json").read_text())
    values = yaml.safe_load((chart / "values.yaml").read_text()) or {}
    lines = ["## Values", "", "| key | type | default | description |", "|---|---|---|---|"]
    lines += [f"| `{key}` | {kind} | {default} | {text} |" for key, kind, default, text in rows(schema, values)]
    return "\n".join(lines) + "\n"


def readme(chart: Path, current: str) -> str:
    """``current`` with everything after the marker replaced by the chart's table (no marker: all is prose)."""
    prose = current[: current.index(MARKER)] if MARKER in current else current
    return prose + MARKER + "\n" + table(chart)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when a README differs, writing nothing")
    args = parser.parse_args(argv)
    drifted = []
    for chart in sorted(p.parent for p in CHARTS.glob("*/values.schema.json")):
        path = chart / "README.md"
        current = path.read_text()
        wanted = readme(chart, current)
        if wanted != current:
            drifted.append(path)
            if not args.check:
                path.write_text(wanted)
    for path in drifted:
        print(f"{path}: {'differs from its schema' if args.check else 'rewritten'}", file=sys.stderr)
    return 1 if args.check and drifted else 0


if __name__ == "__main__":
    sys.exit(main())
