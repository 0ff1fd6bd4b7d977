"""Each chart's README.md lists what its values.schema.json holds (regenerate with ``python tools/chart_readme.py``),
and the two schemas are written so that Helm checks what they say."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from testkit.tools import REPO_ROOT
from tools import chart_readme

CHARTS = sorted(p.parent for p in (REPO_ROOT / "charts").glob("*/values.schema.json"))


def schema_of(chart: Path) -> dict[str, Any]:
    return json.loads((chart / "values.schema.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("chart", CHARTS, ids=lambda p: p.name)
def test_readme_is_generated_from_the_current_schema(chart: Path) -> None:
    current = (chart / "README.md").read_text()
    assert chart_readme.MARKER in current
    assert chart_readme.readme(chart, current) == current, (
        f"{chart.name}/README.md drifted: run python tools/chart_readme.py"
    )


def keys(node: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every key of the chart's own objects, as the table names them (Kubernetes shapes are one key)."""
    for name, child in node.get("properties", {}).items():
        yield prefix + name
        yield from keys(child, f"{prefix}{name}.")
        if isinstance(child.get("items"), Mapping):
            yield from keys(child["items"], f"{prefix}{name}[].")


@pytest.mark.parametrize("chart", CHARTS, ids=lambda p: p.name)
def test_every_key_has_a_row_with_its_default(chart: Path) -> None:
    text = (chart / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([^`]+)` \| [^|]*(?:\\\|[^|]*)* \| ([^|]*) \|", text, flags=re.MULTILINE))
    assert sorted(rows) == sorted(keys(schema_of(chart)))
    assert rows["image.repository"]  # a default from values.yaml


def test_check_mode_fails_on_drift_and_writing_mends_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for chart in CHARTS:
        shutil.copytree(chart, tmp_path / chart.name)
    monkeypatch.setattr(chart_readme, "CHARTS", tmp_path)
    assert chart_readme.main(["--check"]) == 0
    schema = tmp_path / "rollgen-app" / "values.schema.json"
    schema.write_text(schema.read_text().replace("The app's container", "The application's container"))
    assert chart_readme.main(["--check"]) == 1
    assert "The app's container" in (tmp_path / "rollgen-app" / "README.md").read_text()  # --check writes nothing
    assert chart_readme.main([]) == 0
    assert chart_readme.main(["--check"]) == 0
    assert "The application's container" in (tmp_path / "rollgen-app" / "README.md").read_text()


def test_the_charts_describe_kubernetes_shapes_alike() -> None:
    """A definition both schemas hold is the same text in both: one shape, checked one way."""
    app, runner = (schema_of(REPO_ROOT / "charts" / name)["definitions"] for name in ("rollgen-app", "rollgen"))
    shared = set(app) & set(runner)
    assert {"container", "volume", "volumeMount", "toleration", "podSecurityContext"} <= shared
    assert {name: app[name] for name in shared} == {name: runner[name] for name in shared}


def refs_with_siblings(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, Mapping):
        if "$ref" in node and set(node) - {"$ref", "description"}:
            yield path
        for key, child in node.items():
            yield from refs_with_siblings(child, f"{path}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from refs_with_siblings(child, f"{path}/{index}")


@pytest.mark.parametrize("chart", CHARTS, ids=lambda p: p.name)
def test_no_check_sits_beside_a_ref(chart: Path) -> None:
    """Draft-07 ignores a $ref's siblings, so a check written there would never run."""
    schema = schema_of(chart)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert list(refs_with_siblings(schema)) == []
    assert schema["additionalProperties"] is False
