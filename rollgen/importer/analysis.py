"""Argo Rollouts AnalysisTemplate metrics as rollgen gates: ``prometheus``, ``web`` as ``http``, ``datadog``,
``newRelic`` and ``cloudWatch``.

A metric keeps its measurement settings (``interval``, ``count``,
``failureLimit``, ...: rollgen measures the way an AnalysisRun does), and its
durations and conditions as written (the grammars are Argo's): one rollgen
cannot read is a ``rollgen validate`` error at its line in the imported spec,
never a gate dropped or a condition rewritten. Template arguments
(``{{args.NAME}}``) are substituted with the value the Rollout (or the
template's default) gives; an argument taken from the cluster (``valueFrom``)
cannot be, and the metric is left out with a note; but a header that takes one
(a token from a Secret) becomes a reference, ``{env: NAME}``, read where rollgen
runs. The providers' keys, which Argo Rollouts reads from Secrets, become
references too (``apiKey: {env: DD_API_KEY}``), each with a note naming the
variables to set: a key is never written in a spec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from rollgen.durations import is_go_duration
from rollgen.gates.template import NAMES as TEMPLATE_NAMES
from rollgen.importer.conversion import PLACEHOLDER, Notes, dns_label
from rollgen.importer.documents import Manifest
from rollgen.spec.yamldoc import JsonPath

_ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")
_POLICY = ("interval", "initialDelay", "count", "failureLimit", "inconclusiveLimit", "consecutiveErrorLimit")
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
            if key in ("interval", "initialDelay") and not (type(value) is int or is_go_duration(value)):
                notes.add(template, (*where, key), f"{key} {value!r} is not a duration rollgen reads: left out")
            elif key not in ("interval", "initialDelay") and not isinstance(value, int):
                notes.add(template, (*where, key), f"{key} {value!r} is not a plain number: left out")
            else:
                gate[key] = value
        for key in ("successCondition", "failureCondition"):
            if key in metric:
                # As Argo evaluates it: the template's arguments substituted, the rest as written.
                condition = _substitute(str(metric[key]), args)
                if condition is None:
                    notes.add(
                        template,
                        (*where, key),
                        f"metric {metric.get('name')}: {key} uses an argument with no value given: metric left out",
                    )
                    return None
                gate[key] = condition
        convert = _PROVIDERS.get(str(kind))
        if convert is None:
            notes.add(
                template,
                (*where, "provider", *((kind,) if kind else ())),
                f"metric {metric.get('name')}: provider {kind} is not converted: rollgen measures Prometheus "
                "(prometheus), Datadog (datadog), New Relic (newRelic) and CloudWatch (cloudWatch) queries, HTTP "
                "endpoints (http) and local commands (command)",
            )
            return None
        gate_kind, converter = convert
        settings = converter(self, template, (*where, "provider", str(kind)), provider[kind], gate, args)
        substituted = _substitute(settings, args)
        if substituted is None:
            notes.add(
                template,
                where,
                f"metric {metric.get('name')} uses an argument with no value given: metric left out",
            )
            return None
        unknown = sorted(
            {n for text in _texts(substituted) for n in PLACEHOLDER.findall(text) if n not in TEMPLATE_NAMES}
        )
        if unknown:
            notes.add(
                template,
                where,
                f"metric {metric.get('name')} uses {', '.join(unknown)}, which rollgen cannot fill in: metric left out",
            )
            return None
        return {**gate, gate_kind: substituted}

    def _prometheus(
        self, template: Manifest, where: JsonPath, p: Mapping[str, Any], gate: dict[str, Any], args: Arguments
    ) -> dict[str, Any]:
        self.notes.unconverted(
            template,
            where,
            p,
            frozenset({"address", "query", "timeout", "headers"}),
            {
                "authentication": "rollgen sends headers only (a token by reference: headers: {Authorization: {env: NAME}})"
            },
        )
        settings: dict[str, Any] = {"address": p.get("address"), "query": p.get("query")}
        if p.get("headers"):
            settings["headers"] = self._headers(template, (*where, "headers"), p["headers"], args)
        if isinstance(p.get("timeout"), int):
            gate["timeout"] = f"{p['timeout']}s"
        return settings

    def _web(
        self, template: Manifest, where: JsonPath, w: Mapping[str, Any], gate: dict[str, Any], args: Arguments
    ) -> dict[str, Any]:
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
            settings["headers"] = self._headers(template, (*where, "headers"), w["headers"], args)
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

    def _headers(self, template: Manifest, where: JsonPath, headers: Any, args: Arguments) -> dict[str, Any]:
        """Argo's ``[{key, value}]`` headers; one that takes an argument from the cluster (a Secret, through
        ``valueFrom``) becomes a reference, read where rollgen runs, with a note naming the variable."""
        converted: dict[str, Any] = {}
        for i, header in enumerate(headers if isinstance(headers, list) else ()):
            name, value = str(header.get("key")), str(header.get("value"))
            secret = next((a for a in _ARG.findall(value) if a in args and args[a] is None), None)
            if secret is None:
                converted[name] = value
                continue
            variable = _variable(secret)
            converted[name] = {"env": variable}
            self.notes.add(
                template,
                (*where, i, "value"),
                f"header {name} takes argument {secret} from the cluster: rollgen reads the whole header value from "
                f"${variable} where it runs (set it to {_ARG.sub('<' + secret + '>', value)!r}), never from the spec",
            )
        return converted

    def _datadog(
        self, template: Manifest, where: JsonPath, d: Mapping[str, Any], gate: dict[str, Any], args: Arguments
    ) -> dict[str, Any]:
        self.notes.unconverted(
            template,
            where,
            d,
            frozenset(
                {"interval", "query", "queries", "formula", "apiVersion", "aggregator", "secretRef", "requestTimeout"}
            ),
            {},
        )
        settings = {k: d[k] for k in ("apiVersion", "query", "queries", "formula", "aggregator") if d.get(k)}
        self._window(template, where, d, settings)
        if is_go_duration(d.get("requestTimeout")):
            gate["timeout"] = d["requestTimeout"]
        secret = (d.get("secretRef") or {}).get("name") or "datadog"
        self.notes.add(
            template,
            where,
            f"datadog keys: Argo Rollouts reads them from the Secret {secret} (api-key, app-key) or DD_API_KEY and "
            "DD_APP_KEY; rollgen reads $DD_API_KEY and $DD_APP_KEY where it runs (apiKey and appKey by reference), "
            "and a site other than datadoghq.com needs datadog.address",
        )
        return {**settings, "apiKey": {"env": "DD_API_KEY"}, "appKey": {"env": "DD_APP_KEY"}}

    def _newrelic(
        self, template: Manifest, where: JsonPath, n: Mapping[str, Any], gate: dict[str, Any], args: Arguments
    ) -> dict[str, Any]:
        self.notes.unconverted(template, where, n, frozenset({"profile", "query", "timeout"}), {})
        if isinstance(n.get("timeout"), int) and n["timeout"] > 0:
            gate["timeout"] = f"{n['timeout']}s"
        self.notes.add(
            template,
            where,
            f"newRelic: Argo Rollouts reads the account and key from the Secret {n.get('profile') or 'newrelic'} "
            "(account-id, personal-api-key); rollgen reads $NEW_RELIC_ACCOUNT_ID and $NEW_RELIC_API_KEY where it "
            "runs, and an account in the EU region needs newRelic.address: https://api.eu.newrelic.com/graphql",
        )
        return {
            "accountId": {"env": "NEW_RELIC_ACCOUNT_ID"},
            "query": n.get("query"),
            "apiKey": {"env": "NEW_RELIC_API_KEY"},
        }

    def _cloudwatch(
        self, template: Manifest, where: JsonPath, c: Mapping[str, Any], gate: dict[str, Any], args: Arguments
    ) -> dict[str, Any]:
        self.notes.unconverted(template, where, c, frozenset({"interval", "metricDataQueries"}), {})
        settings: dict[str, Any] = {"metricDataQueries": _whole_periods(c.get("metricDataQueries") or [])}
        self._window(template, where, c, settings)
        self.notes.add(
            template,
            where,
            "cloudWatch: credentials and the region come from the standard AWS sources where rollgen runs "
            "(AWS_REGION, as for Argo Rollouts; or set cloudWatch.region), and the gate needs rollgen[aws]",
        )
        return settings

    def _window(self, template: Manifest, where: JsonPath, given: Mapping[str, Any], settings: dict[str, Any]) -> None:
        """A provider's query window (its own ``interval``), when rollgen reads the duration."""
        if "interval" not in given:
            return
        if is_go_duration(given["interval"]):
            settings["interval"] = given["interval"]
        else:
            self.notes.add(
                template,
                (*where, "interval"),
                f"interval {given['interval']!r} is not a duration rollgen reads: left out",
            )


Arguments = Mapping[str, str | None]
Converter = Callable[[Gates, Manifest, JsonPath, Mapping[str, Any], dict[str, Any], Arguments], dict[str, Any]]
# Argo Rollouts' provider -> rollgen's gate kind, and how its settings convert.
_PROVIDERS: dict[str, tuple[str, Converter]] = {
    "prometheus": ("prometheus", Gates._prometheus),
    "web": ("http", Gates._web),
    "datadog": ("datadog", Gates._datadog),
    "newRelic": ("newRelic", Gates._newrelic),
    "cloudWatch": ("cloudWatch", Gates._cloudwatch),
}


def _variable(argument: str) -> str:
    """The environment variable a secret argument is read from: ``api-token`` -> ``API_TOKEN``."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", argument).strip("_").upper() or "SECRET"
    return name if not name[0].isdigit() else f"_{name}"


def _whole_periods(queries: Any) -> Any:
    """CloudWatch queries with Argo's int-or-string periods as numbers (``"300"`` -> 300)."""
    if isinstance(queries, Mapping):
        return {
            k: int(v) if k == "period" and isinstance(v, str) and v.isdigit() else _whole_periods(v)
            for k, v in queries.items()
        }
    if isinstance(queries, list):
        return [_whole_periods(v) for v in queries]
    return queries


def _texts(data: Any) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, Mapping):
        return [t for v in data.values() for t in _texts(v)]
    if isinstance(data, list):
        return [t for v in data for t in _texts(v)]
    return []


def _substitute(settings: Any, args: Arguments) -> Any:
    """``settings`` with every ``{{args.NAME}}`` filled in, or None when an argument has no value."""
    if isinstance(settings, str):
        if any(args.get(name) is None for name in _ARG.findall(settings)):
            return None
        return _ARG.sub(lambda m: str(args[m.group(1)]), settings)
    if isinstance(settings, Mapping):
        done = {k: _substitute(v, args) for k, v in settings.items()}
        return None if any(v is None for k, v in done.items() if settings[k] is not None) else done
    if isinstance(settings, list):
        items = [_substitute(v, args) for v in settings]
        return None if any(v is None for v in items) else items
    return settings
