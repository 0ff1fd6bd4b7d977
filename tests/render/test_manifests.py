"""Deterministic YAML: the text depends on the value only, and reads back as the same value."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from rollgen.render.manifests import dump_documents, dump_yaml

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=30)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@given(documents)
def test_text_reads_back_as_the_same_value(document: Any) -> None:
    text = dump_yaml(document)
    assert yaml.safe_load(text) == document
    assert text.endswith("\n") and dump_yaml(document) == text


def test_keys_keep_the_order_they_were_built_in() -> None:
    text = dump_yaml({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}})
    assert text == "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"


def test_version_strings_stay_strings() -> None:
    values = ["6.10", "1.0", "true", "0x1F", "1e3", "6.5.0", "null", "08"]
    assert yaml.safe_load(dump_yaml({"v": values})) == {"v": values}


def test_patches_are_literal_blocks_and_shared_values_are_written_twice() -> None:
    patch = {"patch": "- op: add\n  path: /spec/minReplicas\n  value: 2\n"}
    text = dump_yaml({"patches": [patch, patch]})
    assert "&" not in text and "*" not in text
    assert text.count("- patch: |\n    - op: add\n") == 2


def test_long_lines_are_never_folded() -> None:
    assert dump_yaml({"k": "word " * 200}).count("\n") == 1


def test_documents_are_separated_without_a_leading_separator() -> None:
    assert dump_documents([{"a": 1}, {"b": 2}]) == "a: 1\n---\nb: 2\n"
