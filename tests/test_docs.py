"""docs/: the reference is what the schema gives (regenerate with ``python -m tools.reference_docs``), every field
of the schema has its row, and every relative link in the docs and the README leads to a file."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from rollgen.spec.schema import schema
from testkit.tools import REPO_ROOT
from tools import reference_docs

DOCS = REPO_ROOT / "docs"


def test_reference_is_generated_from_the_current_schema() -> None:
    assert reference_docs.REFERENCE == DOCS / "reference.md"
    assert DOCS.joinpath("reference.md").read_text() == reference_docs.reference_markdown(
        schema(), schema("pipeline")
    ), "docs/reference.md drifted from the schemas: run python -m tools.reference_docs"


def fields(node: Mapping[str, Any], root: Mapping[str, Any]) -> Iterator[str]:
    """The name of every property anywhere in the schema, following references."""
    if "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        yield from fields(target, root)
    for name, child in node.get("properties", {}).items():
        yield name
        yield from fields(child, root)
    for inner in ("items", "additionalProperties"):
        if isinstance(node.get(inner), Mapping):
            yield from fields(node[inner], root)


def test_every_schema_field_has_a_row() -> None:
    text = reference_docs.reference_markdown(schema(), schema("pipeline"))
    rows = re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE)
    expected = [*fields(schema(), schema()), *fields(schema("pipeline"), schema("pipeline"))]
    assert sorted(rows) == sorted(expected)


def test_check_mode_fails_on_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference_docs, "REFERENCE", tmp_path / "reference.md")
    assert reference_docs.main(["--check"]) == 1  # missing
    assert reference_docs.main([]) == 0
    assert reference_docs.main(["--check"]) == 0
    (tmp_path / "reference.md").write_text(reference_docs.REFERENCE.read_text().replace("Pods", "Pod", 1))
    assert reference_docs.main(["--check"]) == 1


@pytest.mark.parametrize("page", [REPO_ROOT / "README.md", *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_relative_links_lead_to_files(page: Path) -> None:
    for target in re.findall(r"\]\(([\w./-]+)(?:#[^)]*)?\)", page.read_text()):
        if "://" not in target and not target.startswith("mailto:"):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_the_architecture_names_every_package_and_no_other() -> None:
    """docs/architecture.md's map lists each package of rollgen/ (a directory with __init__.py), and only those."""
    text = (DOCS / "architecture.md").read_text()
    named = set(re.findall(r"^  ([a-z_]+)/ ", text.split("```")[1], re.MULTILINE))
    packages = {p.parent.name for p in (REPO_ROOT / "rollgen").glob("*/__init__.py")}
    assert named == packages
