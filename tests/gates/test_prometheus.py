"""The prometheus gate against Debian's prometheus on loopback, scraping a real metrics endpoint."""

from __future__ import annotations

import math
import time

import pytest

from rollgen.gates.analysis import CheckResult, Phase, run
from rollgen.gates.prometheus import value_of
from rollgen.gates.registry import measure
from rollgen.spec.model import Gate
from testkit.gates import context, gate
from testkit.gateservers import HealthApp, MetricsApp, PrometheusServer, refused_url

# The spec's example query, over 5 s rather than 1 m so a flipped error rate shows within seconds.
SUCCESS_RATE = (
    'sum(rate(http_requests_total{app="{{ release }}",version="{{ version }}",code!~"5.."}[5s]))'
    ' / sum(rate(http_requests_total{app="{{ release }}",version="{{ version }}"}[5s]))'
)


def success_rate_gate(prometheus: PrometheusServer, **settings: object) -> Gate:
    settings.setdefault("success_condition", "result >= 0.99")
    settings.setdefault("failure_condition", "result < 0.9")
    return gate("prometheus", {"address": prometheus.url, "query": SUCCESS_RATE}, **settings)


# version -> error rate its requests have, all set up front so Prometheus gathers them at once
VERSIONS = {"6.5.0": 0.0, "6.6.0-bad": 0.5, "6.7.0-meh": 0.05, "7.0.0": 0.0}


@pytest.fixture(scope="module", autouse=True)
def serving(metrics_app: MetricsApp, prometheus: PrometheusServer) -> None:
    """Every version in VERSIONS serves with its error rate, and Prometheus has their rates."""
    for version, error_rate in VERSIONS.items():
        metrics_app.set_error_rate(version, error_rate)
    for version in VERSIONS:
        prometheus.wait_for(SUCCESS_RATE.replace("{{ release }}", "podinfo").replace("{{ version }}", version))


def test_a_healthy_version_passes(prometheus: PrometheusServer) -> None:
    result = measure(success_rate_gate(prometheus), context(version="6.5.0"))
    assert result.phase is Phase.SUCCESSFUL, result.message
    assert result.value == [pytest.approx(1.0)]
    assert 'version="6.5.0"' in result.message  # the templated query is shown


def test_a_timeout_with_a_fraction_reaches_prometheus(prometheus: PrometheusServer) -> None:
    # timeout: 1.5s, as a spec may now write it; Prometheus refuses "1.5s" in its own duration syntax.
    result = measure(success_rate_gate(prometheus, timeout=1.5), context(version="6.5.0"))
    assert result.phase is Phase.SUCCESSFUL, result.message


def test_an_erroring_version_fails(prometheus: PrometheusServer) -> None:
    result = measure(success_rate_gate(prometheus), context(version="6.6.0-bad"))
    assert result.phase is Phase.FAILED, result.message
    assert result.value == [pytest.approx(0.5, abs=0.05)]
    assert "failureCondition 'result < 0.9' holds" in result.message


def test_between_the_conditions_is_inconclusive(prometheus: PrometheusServer) -> None:
    result = measure(success_rate_gate(prometheus), context(version="6.7.0-meh"))
    assert result.phase is Phase.INCONCLUSIVE, result.message


def test_no_traffic_is_inconclusive_never_successful(prometheus: PrometheusServer) -> None:
    # No series for this version at all: the query returns an empty vector.
    result = measure(success_rate_gate(prometheus), context(version="9.9.9-unseen"))
    assert result.phase is Phase.INCONCLUSIVE
    assert result.value == []
    assert "no data (empty result)" in result.message


def test_no_data_fails_when_the_failure_condition_says_so(prometheus: PrometheusServer) -> None:
    failing = success_rate_gate(prometheus, failure_condition="len(result) == 0 || result < 0.9")
    result = measure(failing, context(version="9.9.9-unseen"))
    assert result.phase is Phase.FAILED, result.message


@pytest.mark.parametrize(
    ("query", "value"),
    [("vector(0) / vector(0)", "nan"), ("vector(1) / vector(0)", "inf"), ("scalar(vector(0)) / 0", "nan")],
)
def test_nan_and_inf_are_no_data(prometheus: PrometheusServer, query: str, value: str) -> None:
    # `isNaN(result) || result >= 0.99` would pass NaN if conditions were asked: they are not.
    lenient = gate(
        "prometheus", {"address": prometheus.url, "query": query}, success_condition="isNaN(result) || result >= 0.99"
    )
    result = measure(lenient, context())
    assert result.phase is Phase.INCONCLUSIVE, result.message
    assert "no data" in result.message
    got = result.value[0] if isinstance(result.value, list) else result.value
    assert math.isnan(got) if value == "nan" else math.isinf(got)


def test_scalars_and_strings_reach_the_conditions(prometheus: PrometheusServer) -> None:
    scalar = gate(
        "prometheus", {"address": prometheus.url, "query": "scalar(vector(3))"}, success_condition="result == 3"
    )
    assert measure(scalar, context()).phase is Phase.SUCCESSFUL
    several = gate(
        "prometheus",
        {"address": prometheus.url, "query": "vector(1) or label_replace(vector(2), 'a', 'b', '', '')"},
        success_condition="len(result) == 2 && (result[0] == 2 || result[1] == 2)",
    )
    assert measure(several, context()).phase is Phase.SUCCESSFUL


def test_a_condition_that_cannot_be_judged_is_an_error(prometheus: PrometheusServer) -> None:
    several = gate(
        "prometheus",
        {"address": prometheus.url, "query": "vector(1) or label_replace(vector(2), 'a', 'b', '', '')"},
        success_condition="result >= 1",
    )  # two series: which one? an Error, never a guess
    result = measure(several, context())
    assert result.phase is Phase.ERROR
    assert "cannot compare a list of 2 with a number" in result.message


def test_a_bad_query_is_an_error_with_prometheus_message(prometheus: PrometheusServer) -> None:
    bad = gate("prometheus", {"address": prometheus.url, "query": "sum(rate(x[1m]"}, success_condition="result > 0")
    result = measure(bad, context())
    assert result.phase is Phase.ERROR
    assert "bad_data" in result.message and "parse error" in result.message


def test_a_range_vector_is_an_error(prometheus: PrometheusServer) -> None:
    result = measure(
        gate("prometheus", {"address": prometheus.url, "query": "up[10s]"}, success_condition="true"), context()
    )
    assert result.phase is Phase.ERROR
    assert "range vector" in result.message


def test_an_unknown_template_name_is_an_error(prometheus: PrometheusServer) -> None:
    typo = gate(
        "prometheus", {"address": prometheus.url, "query": 'up{version="{{ verison }}"}'}, success_condition="true"
    )
    result = measure(typo, context())
    assert result.phase is Phase.ERROR
    assert "unknown name 'verison'" in result.message


def test_an_unreachable_prometheus_is_an_error() -> None:
    result = measure(gate("prometheus", {"address": refused_url(), "query": "up"}, success_condition="true"), context())
    assert result.phase is Phase.ERROR
    assert "Connection refused" in result.message


def test_a_prometheus_that_does_not_answer_in_time_is_an_error(health_app: HealthApp) -> None:
    health_app.answer(200, {"status": "success"}, delay=2.0)
    slow = gate("prometheus", {"address": health_app.url, "query": "up"}, success_condition="true", timeout=0.3)
    result = measure(slow, context())
    assert result.phase is Phase.ERROR
    assert "no answer within 0.3s" in result.message


def test_headers_are_templated_and_sent(health_app: HealthApp) -> None:
    health_app.answer(200, {"status": "success", "data": {"resultType": "scalar", "result": [1.0, "1"]}})
    with_auth = gate(
        "prometheus",
        {"address": health_app.url, "query": "up", "headers": {"X-Scope-OrgID": "{{ release }}"}},
        success_condition="result == 1",
    )
    assert measure(with_auth, context()).phase is Phase.SUCCESSFUL
    assert health_app.seen_headers[0]["X-Scope-OrgID"] == "podinfo"
    assert health_app.seen_paths[0].startswith("/api/v1/query?query=up&timeout=15.0")


def test_a_header_by_reference_is_sent_and_an_echo_of_it_is_never_shown(
    health_app: HealthApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_TOKEN", "Bearer prom-0123456789-SECRET")
    health_app.answer(401, {"status": "error", "errorType": "auth", "error": "bad token prom-0123456789-secret"})
    spec = gate(
        "prometheus",
        {"address": health_app.url, "query": "up", "headers": {"Authorization": {"env": "PROMETHEUS_TOKEN"}}},
    )
    result = measure(spec, context())
    assert health_app.seen_headers[0]["Authorization"] == "Bearer prom-0123456789-SECRET"
    assert result.phase is Phase.ERROR and "HTTP 401, auth: bad token ***" in result.message
    monkeypatch.delenv("PROMETHEUS_TOKEN")
    assert measure(spec, context()).message.endswith(
        "header Authorization: environment variable PROMETHEUS_TOKEN is not set"
    )


def test_something_that_is_not_prometheus_is_an_error(health_app: HealthApp) -> None:
    health_app.answer(200, "<html>login</html>")
    result = measure(
        gate("prometheus", {"address": health_app.url, "query": "up"}, success_condition="true"), context()
    )
    assert result.phase is Phase.ERROR
    assert "not JSON" in result.message


def test_value_of_reads_every_result_type() -> None:
    assert value_of({"resultType": "vector", "result": []}) == []
    assert value_of({"resultType": "string", "result": [1.0, "hello"]}) == "hello"
    assert value_of({"resultType": "vector", "result": [{"value": [1, "+Inf"]}, {"value": [1, "-2"]}]}) == [
        math.inf,
        -2.0,
    ]


def test_a_flip_to_errors_aborts_a_running_analysis(metrics_app: MetricsApp, prometheus: PrometheusServer) -> None:
    # The whole loop against the real server: healthy for two measurements, then the error
    # rate goes up and the next measurement fails the analysis (failureLimit 0).
    # While the 5 s window slides over the flip the rate passes between the two conditions:
    # those Inconclusive measurements are tolerated so the test sees the failure itself.
    checked = success_rate_gate(prometheus, interval=1.0, count=30, inconclusive_limit=30)
    measured: list[Phase] = []

    def measure_and_flip() -> CheckResult:
        result = measure(checked, context(version="7.0.0"))
        measured.append(result.phase)
        if len(measured) == 2:
            metrics_app.set_error_rate("7.0.0", 1.0)
        return result

    verdict, measurements = run(checked.policy, measure_and_flip, clock=time.time, sleep=time.sleep)
    assert verdict.phase is Phase.FAILED, verdict.message
    assert measured[:2] == [Phase.SUCCESSFUL, Phase.SUCCESSFUL]
    assert measured[-1] is Phase.FAILED
    assert len(measurements) < 12  # a 5 s rate window turns within a few measurements


def test_an_http_error_status_is_an_error_whatever_the_body_says(health_app: HealthApp) -> None:
    health_app.answer(500, {"status": "success", "data": {"resultType": "scalar", "result": [1.0, "1"]}})
    result = measure(
        gate("prometheus", {"address": health_app.url, "query": "up"}, success_condition="result == 1"), context()
    )
    assert result.phase is Phase.ERROR, result.message
    assert "HTTP 500" in result.message


@pytest.mark.parametrize("sample", [True, 1, None, [1]])
def test_a_sample_that_is_not_a_number_string_is_an_error(health_app: HealthApp, sample: object) -> None:
    # Prometheus sends every sample value as a string ("1", "NaN"); a JSON true is not 1.0.
    health_app.answer(200, {"status": "success", "data": {"resultType": "vector", "result": [{"value": [1, sample]}]}})
    result = measure(
        gate("prometheus", {"address": health_app.url, "query": "up"}, success_condition="result == 1"), context()
    )
    assert result.phase is Phase.ERROR, result.message
    assert "not a number" in result.message


def test_a_redirect_to_another_origin_is_an_error(health_app: HealthApp, other_app: HealthApp) -> None:
    other_app.answer(200, {"status": "success", "data": {"resultType": "scalar", "result": [1.0, "1"]}})
    health_app.answer(302, b"", headers={"Location": other_app.url + "/api/v1/query?query=vector(1)"})
    checked = gate(
        "prometheus",
        {"address": health_app.url, "query": "up", "headers": {"Authorization": "Bearer prom-SECRET-token"}},
        success_condition="result == 1",
    )
    result = measure(checked, context())
    assert result.phase is Phase.ERROR, result.message
    assert "another origin" in result.message and "prom-SECRET-token" not in result.message
    assert other_app.seen_paths == []


def test_credentials_in_the_address_never_show(health_app: HealthApp) -> None:
    health_app.answer(200, "<html>")
    address = health_app.url.replace("http://", "http://bot:prom-SECRET@")
    result = measure(gate("prometheus", {"address": address, "query": "up"}, success_condition="true"), context())
    assert result.phase is Phase.ERROR
    assert "prom-SECRET" not in result.message
    assert health_app.seen_headers[0]["Authorization"].startswith("Basic ")
