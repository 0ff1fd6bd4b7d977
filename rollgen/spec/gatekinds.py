"""Semantic checks of one gate kind's own settings: what its schema cannot say.

- ``http``: ``bodyRegex`` compiles as RE2.
- ``datadog``: ``query`` or ``queries``, never both; ``queries``, ``formula`` and
  ``aggregator`` belong to ``apiVersion: v2``; a formula needs queries, several
  queries need a formula (Argo Rollouts refuses the same templates).
- ``cloudWatch``: each query has ``expression`` or ``metricStat`` (one), its ``id``
  is its own, and at least one query returns data.

Like every check, they read the plain document defensively: it may also have
failed the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from rollgen.errors import Problem
from rollgen.spec.yamldoc import Document, JsonPath


def _gates(doc: Document) -> Iterator[tuple[int, Mapping[str, Any]]]:
    spec = doc.data.get("spec") if isinstance(doc.data, dict) else None
    gates = spec.get("gates") if isinstance(spec, dict) else None
    for i, gate in enumerate(gates if isinstance(gates, list) else ()):
        if isinstance(gate, dict):
            yield i, gate


def _http(doc: Document, where: JsonPath, settings: Mapping[str, Any]) -> Iterator[Problem]:
    regex = settings.get("bodyRegex")
    if isinstance(regex, str):
        from rollgen.gates.pattern import PatternError, compile_pattern

        try:
            compile_pattern(regex)
        except PatternError as exc:
            yield doc.problem((*where, "bodyRegex"), f"bodyRegex: {exc}")


def _datadog(doc: Document, where: JsonPath, settings: Mapping[str, Any]) -> Iterator[Problem]:
    version = settings.get("apiVersion", "v1")
    if "query" in settings and "queries" in settings:
        yield doc.problem((*where, "queries"), "datadog: give query or queries, not both", at_key=True)
    elif "query" not in settings and "queries" not in settings:
        yield doc.problem(where, "datadog needs a query (or, with apiVersion: v2, queries)")
    if version == "v1":
        for key in ("queries", "formula", "aggregator"):
            if key in settings:
                yield doc.problem(
                    (*where, key), f"datadog: {key} needs apiVersion: v2 (the v1 API takes one query)", at_key=True
                )
    queries = settings.get("queries")
    if "formula" in settings and "queries" not in settings:
        yield doc.problem(
            (*where, "formula"), "datadog: a formula combines queries: give queries (name: query)", at_key=True
        )
    if isinstance(queries, dict) and len(queries) > 1 and "formula" not in settings:
        yield doc.problem(
            (*where, "queries"),
            "datadog: several queries need a formula saying how they combine (Datadog's columns come in no set order)",
            at_key=True,
        )


def _cloudwatch(doc: Document, where: JsonPath, settings: Mapping[str, Any]) -> Iterator[Problem]:
    queries = settings.get("metricDataQueries")
    if not isinstance(queries, list):
        return
    seen: dict[str, int] = {}
    for j, query in enumerate(queries):
        if not isinstance(query, dict):
            continue
        at: JsonPath = (*where, "metricDataQueries", j)
        if ("expression" in query) == ("metricStat" in query):
            yield doc.problem(at, "cloudWatch: a query has either an expression or a metricStat")
        name = query.get("id")
        if isinstance(name, str):
            if name in seen:
                yield doc.problem(
                    (*at, "id"), f"cloudWatch: duplicate id {name!r} (first at metricDataQueries[{seen[name]}])"
                )
            seen.setdefault(name, j)
    if queries and all(isinstance(q, dict) and q.get("returnData") is False for q in queries):
        yield doc.problem(
            (*where, "metricDataQueries"), "cloudWatch: every query has returnData: false, so none is judged"
        )


_KINDS: dict[str, Callable[[Document, JsonPath, Mapping[str, Any]], Iterator[Problem]]] = {
    "http": _http,
    "datadog": _datadog,
    "cloudWatch": _cloudwatch,
}


def check_gate_settings(doc: Document) -> Iterator[Problem]:
    """Each gate's kind settings, by the kind's own rules."""
    for i, gate in _gates(doc):
        for kind, check in _KINDS.items():
            if isinstance(gate.get(kind), dict):
                yield from check(doc, ("spec", "gates", i, kind), gate[kind])
