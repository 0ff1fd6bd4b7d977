"""The ``datadog`` gate: a Datadog metrics query judged by the gate's conditions, as Argo Rollouts runs it.

Two APIs, chosen by ``apiVersion`` (default ``v1``, as in Argo Rollouts):

- ``v1``: ``GET /api/v1/query`` with ``query`` over the window ``[now - interval,
  now]`` (seconds). ``result`` is the value of the last point of the first
  series: a float.
- ``v2``: ``POST /api/v2/query/scalar`` with ``query`` (named ``query``) or
  ``queries`` (a name per query) and an optional ``formula`` over them, each
  reduced by ``aggregator`` (default ``last``) over the window (milliseconds).
  ``result`` is the first number column: a float for an ungrouped query, a list
  of floats (one per group, nulls left out) for a ``by {tag}`` query.

``interval`` here is Datadog's time window (default ``5m``), not the gate's
``interval`` between measurements. No series, no points, a null last point or
no value is no data: Inconclusive unless ``failureCondition`` holds. An HTTP
error, a rate limit that outlasts the timeout (see :mod:`rollgen.gates.metricapi`),
Datadog's own ``errors`` or an answer in another shape is an Error. ``apiKey`` and
``appKey`` are references (``{env: DD_API_KEY}``), read at each check, sent only
as the ``DD-API-KEY`` and ``DD-APPLICATION-KEY`` headers and never shown.

    spec: {query: "sum:requests.errors{service:web,version:{{ version }}}.as_count()",
           apiKey: {env: DD_API_KEY}, appKey: {env: DD_APP_KEY}}
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rollgen.durations import parse_duration
from rollgen.gates.analysis import CheckResult
from rollgen.gates.judge import judge
from rollgen.gates.kind import GateContext, GateError
from rollgen.gates.metricapi import Clock, ask
from rollgen.gates.template import render, render_strings
from rollgen.redact import redact
from rollgen.secretref import secret_of
from rollgen.secrets import Secrets

ADDRESS = "https://api.datadoghq.com"


def _number(value: Any, where: str) -> float:
    # bool is an int in Python: a JSON true must not pass for 1.0.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GateError(f"{where} {json.dumps(value)[:40]} is not a number")
    return float(value)


def value_v1(answer: Any) -> tuple[float | None, str | None]:
    """``result`` of a v1 answer and, when there is none, why.

    >>> value_v1({"status": "ok", "series": [{"pointlist": [[1e12, 0.5], [1.00006e12, 0.25]]}]})
    (0.25, None)
    >>> value_v1({"status": "ok", "series": []})
    (None, 'no series in the window')
    """
    if not isinstance(answer, dict) or not isinstance(answer.get("series"), list):
        raise GateError("the answer has no series list, as /api/v1/query answers")
    if answer.get("status") == "error" or answer.get("error"):
        raise GateError(f"Datadog: {str(answer.get('error') or 'status error')[:300]}")
    series = answer["series"]
    if not series:
        return None, "no series in the window"
    points = series[0].get("pointlist") if isinstance(series[0], dict) else None
    if not isinstance(points, list):
        raise GateError("the first series has no pointlist")
    if not points:
        return None, "no points in the window"
    last = points[-1]
    if not isinstance(last, list) or len(last) != 2:
        raise GateError("the last point is not a [time, value] pair")
    if last[1] is None:
        return None, "the last point is null"
    return _number(last[1], "the last point's value"), None


def value_v2(answer: Any) -> tuple[float | list[float] | None, str | None]:
    """``result`` of a v2 scalar answer and, when there is none, why.

    >>> columns = [{"name": "a", "type": "number", "values": [0.5, None, 0.75]},
    ...            {"name": "host", "type": "group", "values": [["h1"], ["h2"], ["h3"]]}]
    >>> value_v2({"data": {"type": "scalar_response", "attributes": {"columns": columns}}})
    ([0.5, 0.75], None)
    >>> value_v2({"data": {"attributes": {"columns": [{"name": "a", "type": "number", "values": [2]}]}}})
    (2.0, None)
    """
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict):
        raise GateError("the answer has no data object, as /api/v2/query/scalar answers")
    errors = answer.get("errors") or data.get("errors")
    if errors:
        raise GateError(f"Datadog: {str(errors)[:300]}")
    columns = (data.get("attributes") or {}).get("columns")
    if not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns):
        raise GateError("the answer has no columns list")
    numbers = next((c for c in columns if c.get("type") in (None, "number")), None)
    grouped = any(c.get("type") == "group" for c in columns)
    if numbers is None:
        return None, "no number column"
    raw = numbers.get("values")
    if not isinstance(raw, list):
        raise GateError(f"column {numbers.get('name')!r} has no values list")
    # A null is Datadog's "no data for this group": left out, as Argo Rollouts does.
    values = [_number(v, f"a value of column {numbers.get('name')!r}") for v in raw if v is not None]
    if not values:
        return None, "no values in the window"
    return (values if grouped else values[0]), None


@dataclass(frozen=True)
class Datadog:
    name: str = "datadog"
    defaults: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({"address": ADDRESS, "apiVersion": "v1", "interval": "5m"})
    )
    conditions: bool = True
    clock: Clock = field(default_factory=Clock)

    def check(self, config: Mapping[str, Any], context: GateContext) -> CheckResult:
        values = context.template_values()
        secrets = Secrets.of_process(context.root)
        keys = {
            "DD-API-KEY": secrets.reveal(secret_of(config["apiKey"]), "apiKey"),
            "DD-APPLICATION-KEY": secrets.reveal(secret_of(config["appKey"]), "appKey"),
        }
        now = int(self.clock.now())
        window = int(parse_duration(config["interval"]))
        address = str(config["address"]).rstrip("/")
        headers = {"Accept": "application/json", **keys}
        hidden = tuple(keys.values())
        timeout = float(config["timeout"])
        if config["apiVersion"] == "v1":
            query = render(str(config["query"]), values)
            params = urllib.parse.urlencode({"query": query, "from": now - window, "to": now})
            answer = ask(
                "Datadog",
                f"{address}/api/v1/query?{params}",
                timeout=timeout,
                clock=self.clock,
                headers=headers,
                secrets=hidden,
            )
            value: Any
            value, missing = value_v1(answer)
            shown = query
        else:
            queries = render_strings(config.get("queries") or {"query": config["query"]}, values)
            formula = render(str(config["formula"]), values) if "formula" in config else None
            aggregator = str(config.get("aggregator", "last"))
            body = {
                "data": {
                    "type": "scalar_request",
                    "attributes": {
                        "from": (now - window) * 1000,
                        "to": now * 1000,
                        "queries": [
                            {"aggregator": aggregator, "data_source": "metrics", "name": name, "query": text}
                            for name, text in queries.items()
                        ],
                        "formulas": [{"formula": formula}] if formula else [],
                    },
                }
            }
            answer = ask(
                "Datadog",
                f"{address}/api/v2/query/scalar",
                timeout=timeout,
                clock=self.clock,
                method="POST",
                headers={**headers, "Content-Type": "application/json"},
                body=json.dumps(body).encode(),
                secrets=hidden,
            )
            value, missing = value_v2(answer)
            shown = formula or "; ".join(queries.values())
        judged = judge(value, config.get("successCondition"), config.get("failureCondition"), missing)
        return CheckResult(judged.phase, judged.value, f"{judged.message} [query: {redact(shown, secrets=hidden)}]")


KIND = Datadog()
