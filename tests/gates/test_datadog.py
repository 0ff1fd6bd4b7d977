"""The datadog gate against Datadog's query APIs on loopback (v1 series, v2 scalar columns), keys by reference."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from rollgen.gates.analysis import CheckResult, Phase
from rollgen.gates.datadog import Datadog
from rollgen.gates.kind import GateError
from rollgen.gates.registry import config_of, measure
from testkit.gates import FakeClock, context, gate
from testkit.providerservers import DATADOG_KEYS, FakeDatadog

KEYS = {"apiKey": {"env": "DD_API_KEY"}, "appKey": {"env": "DD_APP_KEY"}}
QUERY = "sum:trace.http.request.errors{service:web,version:{{ version }}}.as_count()"


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_API_KEY", DATADOG_KEYS[0])
    monkeypatch.setenv("DD_APP_KEY", DATADOG_KEYS[1])


def datadog_gate(app: FakeDatadog, success: str | None = "result < 0.01", **settings: Any) -> Any:
    config = {"address": app.url, "query": QUERY, **KEYS, **settings}
    return gate("datadog", config, success_condition=success, timeout=5.0)


def checked(app: FakeDatadog, clock: FakeClock | None = None, **settings: Any) -> CheckResult:
    """One check with time injected (the query window and any wait are then known)."""
    spec = datadog_gate(app, **settings)
    return Datadog(clock=(clock or FakeClock()).clock).check(config_of(spec), context())


def test_v1_takes_the_last_point_of_the_series_over_the_window(datadog: FakeDatadog) -> None:
    datadog.measured["6.5.0"] = 0.002
    result = checked(datadog, FakeClock(now=1_700_000_000.4))
    assert result.phase is Phase.SUCCESSFUL and result.value == 0.002, result.message
    (method, path, headers, _), *_ = datadog.requests
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
    assert (method, params["from"], params["to"]) == ("GET", "1699999700", "1700000000")  # interval 5m by default
    assert params["query"] == QUERY.replace("{{ version }}", "6.5.0")
    assert headers["DD-API-KEY"] == DATADOG_KEYS[0] and "[query: sum:trace.http.request.errors{" in result.message


def test_a_bad_value_fails_and_the_window_follows_interval(datadog: FakeDatadog) -> None:
    datadog.measured["6.5.0"] = 0.5
    result = checked(datadog, interval="10m")
    assert result.phase is Phase.FAILED and "successCondition 'result < 0.01' does not hold" in result.message
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(datadog.requests[0][1]).query))
    assert int(params["to"]) - int(params["from"]) == 600


def test_no_series_is_no_data_never_a_success(datadog: FakeDatadog) -> None:
    datadog.measured["6.5.0"] = None
    result = measure(datadog_gate(datadog), context())
    assert result.phase is Phase.INCONCLUSIVE and "no data (no series in the window)" in result.message


def test_v2_sends_queries_and_formula_as_argo_rollouts_does(datadog: FakeDatadog) -> None:
    datadog.measured["6.5.0"] = 0.004
    queries = {"errors": QUERY, "hits": "sum:trace.http.request.hits{version:{{ version }}}.as_count()"}
    result = checked(
        datadog,
        FakeClock(now=1_700_000_000.0),
        apiVersion="v2",
        query=None,
        queries=queries,
        formula="errors / hits",
        aggregator="sum",
    )
    assert result.phase is Phase.SUCCESSFUL and result.value == 0.004, result.message
    method, path, headers, body = datadog.requests[0]
    assert (method, path, headers["Content-Type"]) == ("POST", "/api/v2/query/scalar", "application/json")
    sent = json.loads(body)["data"]
    assert sent["type"] == "scalar_request" and sent["attributes"]["formulas"] == [{"formula": "errors / hits"}]
    assert (sent["attributes"]["from"], sent["attributes"]["to"]) == (1_699_999_700_000, 1_700_000_000_000)
    assert sent["attributes"]["queries"][1] == {
        "aggregator": "sum",
        "data_source": "metrics",
        "name": "hits",
        "query": "sum:trace.http.request.hits{version:6.5.0}.as_count()",
    }


def test_v2_with_one_query_names_it_query_and_a_grouped_answer_is_a_list(datadog: FakeDatadog) -> None:
    datadog.measured["6.5.0"] = 0.5
    datadog.grouped = True  # a `by {host}` query: one value per group, a null where a group has no data
    result = checked(datadog, success="len(result) == 2 && result[1] <= 0.5", apiVersion="v2")
    assert result.phase is Phase.SUCCESSFUL and result.value == [0.25, 0.5], result.message
    assert json.loads(datadog.requests[0][3])["data"]["attributes"]["queries"][0]["name"] == "query"


def test_v2_without_values_is_no_data(datadog: FakeDatadog) -> None:
    datadog.measured["6.5.0"] = None
    result = checked(datadog, apiVersion="v2")
    assert result.phase is Phase.INCONCLUSIVE and "no values in the window" in result.message


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (400, {"errors": ["Error parsing query: unable to parse sum:x{: Rule 'scope_expr' didn't match"]}, "parsing"),
        (500, {"errors": ["Internal Server Error"]}, "HTTP 500: Internal Server Error"),
        (200, {"status": "error", "error": "Query timed out", "series": []}, "Query timed out"),
        (200, {"unexpected": True}, "no series list"),
    ],
)
def test_a_broken_answer_is_an_error_naming_what_datadog_said(
    datadog: FakeDatadog, status: int, body: Any, shown: str
) -> None:
    datadog.failure = (status, body)
    result = measure(datadog_gate(datadog), context())
    assert result.phase is Phase.ERROR and shown in result.message


def test_a_wrong_key_is_an_error_that_never_shows_a_key(datadog: FakeDatadog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_APP_KEY", "dd-app-wrong-0000000000")
    result = measure(datadog_gate(datadog), context())
    assert (
        result.phase is Phase.ERROR and "HTTP 403 (the key is wrong or lacks a permission): Forbidden" in result.message
    )
    assert "dd-app-wrong" not in result.message and DATADOG_KEYS[0] not in result.message


def test_a_missing_key_variable_is_an_error_naming_it(datadog: FakeDatadog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DD_API_KEY")
    result = measure(datadog_gate(datadog), context())
    assert result.phase is Phase.ERROR
    assert result.message == "test-datadog: apiKey: environment variable DD_API_KEY is not set"
    assert datadog.requests == []  # nothing was sent without a key


def test_keys_from_files(datadog: FakeDatadog, tmp_path: Path) -> None:
    (tmp_path / "api-key").write_text(DATADOG_KEYS[0] + "\n")  # as a mounted Secret holds it
    (tmp_path / "app-key").write_text(DATADOG_KEYS[1])
    datadog.measured["6.5.0"] = 0.0
    spec = gate(
        "datadog",
        {
            "address": datadog.url,
            "query": QUERY,
            "apiKey": {"file": "api-key"},
            "appKey": {"file": str(tmp_path / "app-key")},
        },
        timeout=5.0,
    )
    assert measure(spec, context(root=str(tmp_path))).phase is Phase.SUCCESSFUL
    result = measure(spec, context(root=str(tmp_path / "elsewhere")))
    assert (
        result.phase is Phase.ERROR
        and "apiKey: cannot read" in result.message
        and "elsewhere/api-key" in result.message
    )


def test_a_rate_limit_that_fits_the_timeout_is_waited_out_once(datadog: FakeDatadog) -> None:
    datadog.measured["6.5.0"] = 0.001
    datadog.limited, datadog.retry_after = 1, "2"
    clock = FakeClock()
    result = checked(datadog, clock)
    assert result.phase is Phase.SUCCESSFUL, result.message
    assert clock.slept == [2.0] and len(datadog.requests) == 2


@pytest.mark.parametrize(
    ("retry_after", "limited", "shown"),
    [
        ("60", 1, "it asks to wait 60s, more than the"),
        ("1", 2, "it asks to wait 1s"),  # still limited after the one wait: not waited twice
        (None, 1, "without saying how long to wait"),
    ],
)
def test_a_rate_limit_that_outlasts_the_timeout_is_an_error(
    datadog: FakeDatadog, retry_after: str | None, limited: int, shown: str
) -> None:
    datadog.limited, datadog.retry_after = limited, retry_after
    clock = FakeClock()
    with pytest.raises(GateError, match=r"Datadog rate limit \(HTTP 429\)") as caught:
        checked(datadog, clock)
    assert shown in str(caught.value) and sum(clock.slept) <= 1.0


def test_a_slow_datadog_is_an_error_within_the_timeout(datadog: FakeDatadog) -> None:
    datadog.measured["6.5.0"] = 0.0
    datadog.stall = 2.0
    spec = gate("datadog", {"address": datadog.url, "query": QUERY, **KEYS}, timeout=0.3)
    result = measure(spec, context())
    assert result.phase is Phase.ERROR and "no answer within 0.3s" in result.message
