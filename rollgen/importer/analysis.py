"""Argo Rollouts AnalysisTemplate metrics as rollgen gates: Prometheus as ``prometheus``, web as ``http``.

A metric keeps its measurement settings (``interval``, ``count``,
``failureLimit``, ...: rollgen measures the way an AnalysisRun does) and its
conditions when rollgen's condition language reads them. Template arguments
(``{{args.NAME}}``) are substituted with the value the Rollout (or the
template's default) gives; an argument taken from the cluster (``valueFrom``)
cannot be, and the metric is left out with a note.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from rollgen.conditions import ConditionError, parse
from rollgen.gates.template import NAMES as TEMPLATE_NAMES
from rollgen.importer.conversion import PLACEHOLDER, Notes, dns_label
from rollgen.importer.documents import Manifest
from rollgen.spec.yamldoc import JsonPath

_ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")
_POLICY = ("interval", "initialDelay", "count", "failureLimit", "inconclusiveLimit", "consecutiveErrorLimit")
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h))+$")
_METRIC_KEYS = frozenset({"name", "provider", "successCondition", "failureCondition", *_POLICY})
_METRIC_WHY = {
    "dryRun": "rollgen has no dry-run gates: a gate always decides",
    "consecutiveSuccessLimit": "rollgen gates count measurements, not runs of successes",
}
_TEMPLATE_WHY = {
    "dryRun": "rollgen has no dry-run gates: a gate always decides",
    "measurementRetention": "measurements are kept in git notes, all of them",
}


class Gates:
    """The gates made so far, by name, so that a template used by several steps becomes its gates once."""

    def __init__(self, manifests: tuple[Manifest, ...], notes: Notes) -> None:
        self.manifests = manifests
        self.notes = notes
        self.made: dict[str, dict[str, Any]] = {}
        self._from: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[str]] = {}

    def for_analysis(self, owner: Manifest, where: JsonPath, ref: Mapping[str, Any]) -> list[str]:
        """Gate names for an analysis reference (``templates`` and ``args``) at ``where`` in ``owner``."""
        self.notes.unconverted(owner, where, ref, frozenset({"templates", "args", "startingStep"}), _TEMPLATE_WHY)
        given: dict[str, str | None] = {}
        for i, arg in enumerate(ref.get("args", []) or []):
            if isinstance(arg, Mapping) and "name" in arg:
                value = arg.get("value")
                if value is None:
                    self.notes.add(
                        owner,
                        (*where, "args", i, "valueFrom"),
                        f"argument {arg['name']} comes from the cluster (valueFrom), which a commit cannot read",
                    )
                given[str(arg["name"])] = None if value is None else str(value)
        names: list[str] = []
        for i, entry in enumerate(ref.get("templates", []) or []):
            names += self._template(owner, (*where, "templates", i), entry, given)
        return names

    def _template(
        self, owner: Manifest, where: JsonPath, entry: Mapping[str, Any], given: dict[str, str | None]
    ) -> list[str]:
        name = entry.get("templateName")
        kind = "ClusterAnalysisTemplate" if entry.get("clusterScope") else "AnalysisTemplate"
        template = next((m for m in self.manifests if m.kind == kind and m.name == name), None)
        if template is None:
            self.notes.add(owner, where, f"{kind} {name} is not among the input files: its gates are left out")
            return []
        args = {
            str(a["name"]): None if a.get("value") is None else str(a["value"])
            for a in template.data.get("spec", {}).get("args", []) or []
            if isinstance(a, Mapping) and "name" in a
        } | given  # the Rollout's values win; valueFrom (None) cannot be read from a commit
        key = (kind, str(name), tuple(sorted((k, v or "") for k, v in args.items())))
        if key in self._from:
            return self._from[key]
        spec = template.data.get("spec", {})
        self.notes.unconverted(template, ("spec",), spec, frozenset({"metrics", "args"}), _TEMPLATE_WHY)
        names = []
        for i, metric in enumerate(spec.get("metrics", []) or []):
            gate = self._metric(template, ("spec", "metrics", i), metric, args)
            if gate is not None:
                gate_name = dns_label(f"{name}-{metric['name']}" if metric["name"] != name else str(name))
                while gate_name in self.made:
                    gate_name = dns_label(f"{gate_name}-{len(self.made)}")
                self.made[gate_name] = {"name": gate_name, **gate}
                names.append(gate_name)
        self._from[key] = names
        return names

    def _metric(
        self, template: Manifest, where: JsonPath, metric: Mapping[str, Any], args: Mapping[str, str | None]
    ) -> dict[str, Any] | None:
        notes = self.notes
        notes.unconverted(template, where, metric, _METRIC_KEYS, _METRIC_WHY)
        provider = metric.get("provider", {}) or {}
        kind = next(iter(provider), None)
        gate: dict[str, Any] = {}
        for key in _POLICY:
            value = metric.get(key)
            if value is None:
                continue
            if key in ("interval", "initialDelay") and not (isinstance(value, str) and _DURATION.match(value)):
                notes.add(template, (*where, key), f"{key} {value!r} is not a duration rollgen reads: left out")
            elif key not in ("interval", "initialDelay") and not isinstance(value, int):
                notes.add(template, (*where, key), f"{key} {value!r} is not a plain number: left out")
            else:
                gate[key] = value
        for key in ("successCondition", "failureCondition"):
            if key in metric:
                condition = _condition(str(metric[key]))
                if condition is None:
                    notes.add(
                        template,
                        (*where, key),
                        f"metric {metric.get('name')}: {key} is outside rollgen's condition language: metric left out",
                    )
                    return None
                gate[key] = condition
        settings: dict[str, Any]
        if kind == "prometheus":
            settings = self._prometheus(template, (*where, "provider", "prometheus"), provider[kind], gate)
            text = settings.get("query")
        elif kind == "web":
            settings = self._web(template, (*where, "provider", "web"), provider[kind], gate)
            text = settings.get("url")
        else:
            notes.add(
                template,
                (*where, "provider", *((kind,) if kind else ())),
                f"metric {metric.get('name')}: provider {kind} is not converted: rollgen measures "
                "Prometheus queries (prometheus), HTTP endpoints (http) and local commands (command)",
            )
            return None
        substituted = _substitute(str(text or ""), args)
        if substituted is None:
            notes.add(
                template,
                where,
                f"metric {metric.get('name')} uses an argument with no value given: metric left out",
            )
            return None
        unknown = sorted({n for n in PLACEHOLDER.findall(substituted) if n not in TEMPLATE_NAMES})
        if unknown:
            notes.add(
                template,
                where,
                f"metric {metric.get('name')} uses {', '.join(unknown)}, which rollgen cannot fill in: metric left out",
            )
            return None
        settings["query" if kind == "prometheus" else "url"] = substituted
        return {**gate, kind if kind == "prometheus" else "http": settings}

    def _prometheus(
        self, template: Manifest, where: JsonPath, p: Mapping[str, Any], gate: dict[str, Any]
    ) -> dict[str, Any]:
        self.notes.unconverted(
            template,
            where,
            p,
            frozenset({"address", "query", "timeout", "headers"}),
            {"authentication": "rollgen sends static headers only (put a token in headers)"},
        )
        settings: dict[str, Any] = {"address": p.get("address"), "query": p.get("query")}
        if p.get("headers"):
            settings["headers"] = {str(h["key"]): str(h["value"]) for h in p["headers"]}
        if isinstance(p.get("timeout"), int):
            gate["timeout"] = f"{p['timeout']}s"
        return settings

    def _web(self, template: Manifest, where: JsonPath, w: Mapping[str, Any], gate: dict[str, Any]) -> dict[str, Any]:
        self.notes.unconverted(
            template,
            where,
            w,
            frozenset({"url", "method", "headers", "body", "jsonBody", "jsonPath", "timeoutSeconds"}),
            {"insecure": "rollgen always verifies TLS certificates"},
        )
        settings: dict[str, Any] = {"url": w.get("url")}
        if w.get("method"):
            settings["method"] = str(w["method"]).upper()
        if w.get("headers"):
            settings["headers"] = {str(h["key"]): str(h["value"]) for h in w["headers"]}
        if "body" in w:
            settings["requestBody"] = str(w["body"])
        elif "jsonBody" in w:
            settings["requestBody"] = json.dumps(w["jsonBody"], sort_keys=True)
        if w.get("jsonPath"):
            # Argo writes JSON paths as Kubernetes JSONPath templates: {$.data.ok}
            settings["jsonPath"] = str(w["jsonPath"]).strip().removeprefix("{").removesuffix("}")
        if isinstance(w.get("timeoutSeconds"), int):
            gate["timeout"] = f"{w['timeoutSeconds']}s"
        return settings


def _substitute(text: str, args: Mapping[str, str | None]) -> str | None:
    missing = [name for name in _ARG.findall(text) if args.get(name) is None]
    if missing:
        return None
    return _ARG.sub(lambda m: str(args[m.group(1)]), text)


def _condition(text: str) -> str | None:
    """``text`` when rollgen's condition language parses it, else ``None``."""
    try:
        parse(text)
    except ConditionError:
        return None
    return text
