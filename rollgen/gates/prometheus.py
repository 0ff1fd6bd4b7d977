"""The ``prometheus`` gate: an instant PromQL query judged by the gate's conditions.

``result`` is a float for a scalar, a list of floats (one per series) for a
vector, and a string for a string; a one-series vector also compares as a number
(``result >= 0.99``). An empty vector, NaN or ±Inf is no data: Inconclusive unless
``failureCondition`` holds (see ``rollgen.gates.analysis``). A Prometheus that errors
(an HTTP status other than 2xx, whatever the body says), times out or cannot be
reached is an Error, and so is an answer that is not in Prometheus's shape (a
sample value that is not a number string, such as a JSON ``true``): a broken
check, not a measurement of the app. Redirects are followed only within the
address's origin (see :mod:`rollgen.web`).

    spec: {address: http://127.0.0.1:9090, query: 'sum(rate(...{version="{{ version }}"}[1m]))',
           headers: {Authorization: {env: PROMETHEUS_TOKEN}}}

A header's value is written out or read when sent (``{env: NAME}``, ``{file: PATH}``,
see :mod:`rollgen.secrets`); a reference that gives no value is an Error naming it.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rollgen.gates.analysis import CheckResult, Phase
from rollgen.gates.headers import hidden, request_headers
from rollgen.gates.judge import judge
from rollgen.gates.kind import GateContext, GateError
from rollgen.gates.template import render
from rollgen.redact import redact
from rollgen.secrets import Secrets
from rollgen.web import fetch


def _number(text: Any) -> float:
    # Prometheus sends every sample value as a string: "0.5", "NaN", "+Inf". Anything else
    # (a JSON true, a bare number, null) is not Prometheus's answer: an Error, never a guess
    # (Python would read true as 1.0, and a gate would pass on it).
    if not isinstance(text, str):
        raise GateError(f"sample value {json.dumps(text)} is not a number string, as Prometheus sends them")
    try:
        return float(text)
    except ValueError:
        raise GateError(f"sample value {text[:40]!r} is not a number") from None


def value_of(data: Mapping[str, Any]) -> Any:
    """The ``result`` a query's ``data`` stands for.

    >>> value_of({"resultType": "vector", "result": [{"metric": {}, "value": [1.0, "0.25"]}]})
    [0.25]
    >>> value_of({"resultType": "scalar", "result": [1.0, "NaN"]})
    nan
    """
    kind, result = data.get("resultType"), data["result"]
    if kind == "vector":
        return [_number(sample["value"][1]) for sample in result]
    if kind == "scalar":
        return _number(result[1])
    if kind == "string":
        return str(result[1])
    if kind == "matrix":
        raise GateError("the query returns a range vector: gate on an instant vector (wrap it in e.g. avg_over_time)")
    raise GateError(f"unknown Prometheus resultType {kind!r}")


@dataclass(frozen=True)
class Prometheus:
    name: str = "prometheus"
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({"headers": MappingProxyType({})}))
    conditions: bool = True

    def check(self, config: Mapping[str, Any], context: GateContext) -> CheckResult:
        values = context.template_values()
        headers = request_headers(config["headers"], values, Secrets.of_process(context.root))
        with hidden(tuple(headers.values())) as hide:  # Prometheus' error text may echo what it was sent
            return hide(self._judged(config, values, headers))

    def _judged(self, config: Mapping[str, Any], values: Mapping[str, str], headers: dict[str, str]) -> CheckResult:
        timeout = float(config["timeout"])
        query = render(config["query"], values)
        # Prometheus gets the timeout too, so a heavy query is cut short server-side: as plain seconds, which
        # it reads exactly, where its own duration strings have no fractions (a 1.5s gate timeout is bad_data).
        params = urllib.parse.urlencode({"query": query, "timeout": repr(timeout)})
        url = f"{str(config['address']).rstrip('/')}/api/v1/query?{params}"
        response = fetch(url, timeout=timeout, headers=headers)
        try:
            answer = json.loads(response.body)
        except ValueError:
            raise GateError(
                f"Prometheus answered HTTP {response.status} with something that is not JSON: {response.text[:200]!r}"
            ) from None
        # Both must say so: a proxy or a broken Prometheus may answer 500 with a success body.
        if not 200 <= response.status < 300 or not isinstance(answer, dict) or answer.get("status") != "success":
            error = answer.get("error", response.text[:200]) if isinstance(answer, dict) else response.text[:200]
            kind = answer.get("errorType", "error") if isinstance(answer, dict) else "error"
            return CheckResult(Phase.ERROR, None, f"Prometheus HTTP {response.status}, {kind}: {error}")
        try:
            value = value_of(answer["data"])
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise GateError(f"unexpected Prometheus answer ({error}): {response.text[:200]!r}") from None
        result = judge(value, config.get("successCondition"), config.get("failureCondition"))
        return CheckResult(result.phase, result.value, f"{result.message} [query: {redact(query)}]")


KIND = Prometheus()
