"""The newRelic gate against New Relic's NerdGraph on loopback: NRQL rows, GraphQL errors, keys by reference."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rollgen.gates.analysis import Phase
from rollgen.gates.kind import GateError
from rollgen.gates.newrelic import NewRelic
from rollgen.gates.registry import config_of, measure
from testkit.gates import FakeClock, context, gate
from testkit.providerservers import NEW_RELIC_ACCOUNT, NEW_RELIC_KEY, FakeNerdGraph

NRQL = (
    "SELECT percentage(count(*), WHERE error IS true) AS errors FROM Transaction WHERE tags.version = '{{ version }}'"
)


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEW_RELIC_API_KEY", NEW_RELIC_KEY)


def newrelic_gate(app: FakeNerdGraph, success: str | None = "result.errors < 1", **settings: Any) -> Any:
    config = {
        "address": f"{app.url}/graphql",
        "accountId": NEW_RELIC_ACCOUNT,
        "query": NRQL,
        "apiKey": {"env": "NEW_RELIC_API_KEY"},
        **settings,
    }
    return gate("newRelic", config, success_condition=success, timeout=5.0)


def test_one_row_is_the_result_and_the_query_goes_as_graphql_variables(nerdgraph: FakeNerdGraph) -> None:
    nerdgraph.measured["6.5.0"] = 0.4
    result = measure(newrelic_gate(nerdgraph), context())
    assert result.phase is Phase.SUCCESSFUL and result.value == {"errors": 0.4}, result.message
    method, path, headers, body = nerdgraph.requests[0]
    assert (method, path, headers["API-Key"]) == ("POST", "/graphql", NEW_RELIC_KEY)
    sent = json.loads(body)
    assert sent["variables"] == {
        "accountId": NEW_RELIC_ACCOUNT,
        "query": NRQL.replace("{{ version }}", "6.5.0"),
        "timeout": 5,
    }
    assert "actor { account(id: $accountId) { nrql(query: $query, timeout: $timeout) { results } } }" in sent["query"]


def test_a_bad_row_fails(nerdgraph: FakeNerdGraph) -> None:
    nerdgraph.measured["6.5.0"] = 12.5
    result = measure(newrelic_gate(nerdgraph), context())
    assert result.phase is Phase.FAILED and "successCondition 'result.errors < 1' does not hold" in result.message


def test_several_rows_are_the_list_of_rows(nerdgraph: FakeNerdGraph) -> None:
    nerdgraph.measured["6.5.0"] = 0.5
    nerdgraph.rows = 3  # a FACET query: one row per facet
    result = measure(newrelic_gate(nerdgraph, success="len(result) == 3 && result[2].errors < 1"), context())
    assert result.phase is Phase.SUCCESSFUL and [r["facet"] for r in result.value] == ["web-0", "web-1", "web-2"]


def test_no_row_is_no_data(nerdgraph: FakeNerdGraph) -> None:
    nerdgraph.measured["6.5.0"] = None
    result = measure(newrelic_gate(nerdgraph), context())
    assert result.phase is Phase.INCONCLUSIVE and "no data (no rows)" in result.message


def test_graphql_errors_are_an_error_even_with_http_200(
    nerdgraph: FakeNerdGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEW_RELIC_API_KEY", "NRAK-WRONGWRONGWRONG0000")
    result = measure(newrelic_gate(nerdgraph), context())
    assert result.phase is Phase.ERROR and "NerdGraph: Invalid API key" in result.message
    assert "NRAK-" not in result.message
    nerdgraph.failure = (200, {"errors": [{"message": "NRQL Syntax Error: Error at line 1 position 7"}]})
    assert "NRQL Syntax Error" in measure(newrelic_gate(nerdgraph), context()).message


def test_the_account_by_reference(nerdgraph: FakeNerdGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    nerdgraph.measured["6.5.0"] = 0.1
    spec = newrelic_gate(nerdgraph, accountId={"env": "NEW_RELIC_ACCOUNT_ID"})
    assert measure(spec, context()).message.endswith("accountId: environment variable NEW_RELIC_ACCOUNT_ID is not set")
    monkeypatch.setenv("NEW_RELIC_ACCOUNT_ID", f"{NEW_RELIC_ACCOUNT}\n")
    assert measure(spec, context()).phase is Phase.SUCCESSFUL
    monkeypatch.setenv("NEW_RELIC_ACCOUNT_ID", "acme")
    assert "accountId: the value read is not a number" in measure(spec, context()).message


def test_a_rate_limit_is_waited_out_when_it_fits_and_an_error_otherwise(nerdgraph: FakeNerdGraph) -> None:
    nerdgraph.measured["6.5.0"] = 0.1
    nerdgraph.limited, nerdgraph.retry_after = 1, "Wed, 15 Nov 2023 22:13:23 GMT"  # a date: 3 s after the clock
    clock = FakeClock(now=1_700_086_400.0)
    kind = NewRelic(clock=clock.clock)
    assert kind.check(config_of(newrelic_gate(nerdgraph)), context()).phase is Phase.SUCCESSFUL
    assert clock.slept == [3.0]
    nerdgraph.limited, nerdgraph.retry_after = 1, "30"
    with pytest.raises(GateError, match=r"New Relic rate limit \(HTTP 429\): it asks to wait 30s"):
        kind.check(config_of(newrelic_gate(nerdgraph)), context())


def test_a_slow_nerdgraph_is_an_error_within_the_timeout(nerdgraph: FakeNerdGraph) -> None:
    nerdgraph.stall = 2.0
    spec = gate("newRelic", {**newrelic_gate(nerdgraph).config}, timeout=0.3)
    result = measure(spec, context())
    assert result.phase is Phase.ERROR and "no answer within 0.3s" in result.message
