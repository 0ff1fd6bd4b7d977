"""The ``http`` gate: an endpoint's status, body, a regex over the body, or a JSON field.

Checks run in order and the first that fails decides: the status must be in
``expectedStatus`` (any 2xx when unset), the body must equal ``body`` (ignoring
surrounding whitespace, so ``ok`` matches ``ok\\n``), ``bodyRegex`` must be found
in it. Then ``result`` (the field at ``jsonPath``, else the body text) goes to
the gate's conditions. A missing or null field is no data. No answer within
the timeout, a refused connection or a body that is not JSON when ``jsonPath``
is set is an Error. ``requestBody`` (templated) is sent as the request's body.

``bodyRegex`` is RE2 syntax (:mod:`rollgen.gates.pattern`): matched in linear
time, so the timeout holds whatever the pattern. Redirects are followed only
within the URL's origin, and credentials (URL userinfo, sent as basic auth;
credential-like query values; header values) never appear in a message. A header's
value is written out or read when sent (``{env: NAME}``, ``{file: PATH}``, see
:mod:`rollgen.secrets`); a reference that gives no value is an Error naming it.

    spec: {url: "http://podinfo-canary.prod:9898/healthz", body: "ok"}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rollgen.gates.analysis import CheckResult, Phase
from rollgen.gates.headers import hidden, request_headers
from rollgen.gates.judge import judge
from rollgen.gates.kind import GateContext, GateError
from rollgen.gates.pattern import PatternError, compile_pattern
from rollgen.gates.template import render
from rollgen.redact import redact
from rollgen.secrets import Secrets
from rollgen.web import fetch

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(-?[0-9]+)\]|\[(?:'([^']*)'|\"([^\"]*)\")\]")


class _Absent(Exception):
    pass


def json_path(document: Any, path: str) -> Any:
    """The value at ``path`` (a JSONPath subset: ``$``, ``.name``, ``['name']``, ``[0]``).

    >>> json_path({"a": {"b": [10, 20]}}, "$.a.b[1]")
    20
    >>> json_path({"a-b": {"c": True}}, "$['a-b'].c")
    True
    """
    if not path.startswith("$"):
        raise GateError(f"jsonPath {path!r} must start with '$'")
    steps = list(_STEP.finditer(path, 1))
    if "".join(step.group() for step in steps) != path[1:]:
        raise GateError(f"jsonPath {path!r}: only $.name, $['name'] and $.list[0] are supported")
    value = document
    for step in steps:
        name, index, single, double = step.groups()
        if index is not None:
            if not isinstance(value, list) or not -len(value) <= int(index) < len(value):
                raise _Absent(path[: step.end() + 1])
            value = value[int(index)]
        else:
            key = next(k for k in (name, single, double) if k is not None)
            if not isinstance(value, dict) or key not in value:
                raise _Absent(path[: step.end() + 1])
            value = value[key]
    return value


@dataclass(frozen=True)
class Http:
    name: str = "http"
    defaults: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({"method": "GET", "headers": MappingProxyType({})})
    )
    conditions: bool = True

    def check(self, config: Mapping[str, Any], context: GateContext) -> CheckResult:
        values = context.template_values()
        headers = request_headers(config["headers"], values, Secrets.of_process(context.root))
        # The answer may echo a header (a token in an error page): out of the message and the value kept.
        with hidden(tuple(headers.values())) as hide:
            return hide(self._judged(config, values, headers))

    def _judged(self, config: Mapping[str, Any], values: Mapping[str, str], headers: dict[str, str]) -> CheckResult:
        url = render(config["url"], values)
        body = render(config["requestBody"], values).encode() if "requestBody" in config else None
        pattern = None
        if "bodyRegex" in config:
            try:
                pattern = compile_pattern(config["bodyRegex"])
            except PatternError as error:
                raise GateError(f"bodyRegex {config['bodyRegex']!r}: {error}") from None
        response = fetch(url, timeout=float(config["timeout"]), method=config["method"], headers=headers, data=body)
        shown = redact(f"{config['method']} {url}: HTTP {response.status}", secrets=tuple(headers.values()))
        expected = config.get("expectedStatus")
        if expected is None and not 200 <= response.status < 300:
            return CheckResult(Phase.FAILED, response.status, f"{shown}, expected 2xx")
        if expected is not None and response.status not in expected:
            return CheckResult(Phase.FAILED, response.status, f"{shown}, expected {' or '.join(map(str, expected))}")
        text = response.text
        if "body" in config and text.strip() != str(config["body"]).strip():
            return CheckResult(Phase.FAILED, text[:200], f"{shown}, body {text[:200]!r} is not {config['body']!r}")
        if pattern is not None and pattern.search(text) is None:
            return CheckResult(Phase.FAILED, text[:200], f"{shown}, body does not match {config['bodyRegex']!r}")
        value: Any = text
        missing: str | None = None
        if "jsonPath" in config:
            try:
                # Every JSON number a float64, as Go's encoding/json reads them for Argo Rollouts'
                # web provider: `result.count % 2` is an error there, and so here.
                value = json_path(json.loads(text, parse_int=float), config["jsonPath"])
            except ValueError:
                raise GateError(f"{shown}, body is not JSON: {text[:200]!r}") from None
            except _Absent as absent:
                value, missing = None, f"{absent} not in the response"
        judged = judge(value, config.get("successCondition"), config.get("failureCondition"), missing)
        return CheckResult(judged.phase, judged.value, f"{shown}; {judged.message}")


KIND = Http()
