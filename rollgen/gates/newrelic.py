"""The ``newRelic`` gate: an NRQL query through NerdGraph, judged by the gate's conditions, as Argo Rollouts runs it.

One GraphQL request to ``address`` (default the US NerdGraph endpoint; the EU
region's is ``https://api.eu.newrelic.com/graphql``) asking
``actor.account(id).nrql(query, timeout).results``. ``result`` is the row when
the query returns one (``SELECT count(*) ...``: ``result.count``) and the list of
rows when it returns several (a ``FACET`` query), as Argo Rollouts gives it. No
row, or an empty one, is no data: Inconclusive unless ``failureCondition`` holds.
NerdGraph's ``errors`` (it answers HTTP 200 with them), an HTTP error, a rate
limit that outlasts the timeout (see :mod:`rollgen.gates.metricapi`) or an answer
in another shape is an Error. ``apiKey`` (a user key, by reference) is read at each
check and sent only as the ``API-Key`` header; ``accountId`` is a number or a
reference too. NRQL's own timeout is the gate's (at most the 120 s NerdGraph takes).

    spec: {accountId: 1234567, apiKey: {env: NEW_RELIC_API_KEY},
           query: "SELECT percentage(count(*), WHERE error IS true) AS errors FROM Transaction
                   WHERE appVersion = '{{ version }}' SINCE 5 minutes ago"}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rollgen.gates.analysis import CheckResult
from rollgen.gates.judge import judge
from rollgen.gates.kind import GateContext, GateError
from rollgen.gates.metricapi import Clock, ask
from rollgen.gates.template import render
from rollgen.redact import redact
from rollgen.secretref import secret_of
from rollgen.secrets import Secrets

ADDRESS = "https://api.newrelic.com/graphql"
# NerdGraph refuses an NRQL timeout above this many seconds.
_MAX_NRQL_TIMEOUT = 120

QUERY = """query ($accountId: Int!, $query: Nrql!, $timeout: Seconds!) {
  actor { account(id: $accountId) { nrql(query: $query, timeout: $timeout) { results } } }
}"""


def rows_of(answer: Any) -> list[Any]:
    """The NRQL result rows of a NerdGraph answer; GateError for its errors or another shape.

    >>> rows_of({"data": {"actor": {"account": {"nrql": {"results": [{"count": 3}]}}}}})
    [{'count': 3}]
    """
    if not isinstance(answer, dict):
        raise GateError("the answer is not a GraphQL response object")
    errors = answer.get("errors")
    if errors:
        said = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
        raise GateError(f"NerdGraph: {said[:300]}")
    try:
        rows = answer["data"]["actor"]["account"]["nrql"]["results"]
    except (KeyError, TypeError):
        raise GateError("the answer has no data.actor.account.nrql.results") from None
    if not isinstance(rows, list):
        raise GateError("nrql.results is not a list")
    return rows


def value_of(rows: list[Any]) -> tuple[Any, str | None]:
    """``result`` for the rows and, when there is none, why.

    >>> value_of([{"count": 3}]), value_of([])
    (({'count': 3}, None), (None, 'no rows'))
    """
    if not rows:
        return None, "no rows"
    if len(rows) == 1:
        return (None, "the row is empty") if rows[0] in ({}, None) else (rows[0], None)
    return rows, None


def _account(text: str) -> int:
    if not text.isdigit():
        raise GateError("accountId: the value read is not a number (not shown)")
    return int(text)


@dataclass(frozen=True)
class NewRelic:
    name: str = "newRelic"
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({"address": ADDRESS}))
    conditions: bool = True
    clock: Clock = field(default_factory=Clock)

    def check(self, config: Mapping[str, Any], context: GateContext) -> CheckResult:
        secrets = Secrets.of_process(context.root)
        key = secrets.reveal(secret_of(config["apiKey"]), "apiKey")
        account = config["accountId"]
        account = account if isinstance(account, int) else _account(secrets.reveal(secret_of(account), "accountId"))
        nrql = render(str(config["query"]), context.template_values())
        timeout = float(config["timeout"])
        variables = {"accountId": account, "query": nrql, "timeout": max(1, min(_MAX_NRQL_TIMEOUT, int(timeout)))}
        answer = ask(
            "New Relic",
            str(config["address"]),
            timeout=timeout,
            clock=self.clock,
            method="POST",
            headers={"API-Key": key, "Content-Type": "application/json", "Accept": "application/json"},
            body=json.dumps({"query": QUERY, "variables": variables}).encode(),
            secrets=(key,),
        )
        value, missing = value_of(rows_of(answer))
        judged = judge(value, config.get("successCondition"), config.get("failureCondition"), missing)
        return CheckResult(judged.phase, judged.value, f"{judged.message} [query: {redact(nrql, secrets=(key,))}]")


KIND = NewRelic()
