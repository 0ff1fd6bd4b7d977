"""The http gate against a real http.server on loopback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from rollgen.gates.analysis import Phase
from rollgen.gates.http import json_path
from rollgen.gates.kind import GateError
from rollgen.gates.registry import measure
from testkit.gates import COMMIT, context, gate
from testkit.gateservers import HealthApp, refused_url


def check(health_app: HealthApp, config: dict[str, Any], path: str = "/healthz", **settings: Any) -> Any:
    return measure(gate("http", {"url": health_app.url + path, **config}, **settings), context())


def test_the_simplest_case_a_service_that_answers_ok(health_app: HealthApp) -> None:
    result = check(health_app, {"body": "ok"})
    assert result.phase is Phase.SUCCESSFUL, result.message
    assert health_app.seen_paths == ["/healthz"]


@pytest.mark.parametrize(
    ("status", "body", "config", "phase", "message"),
    [
        (200, "ok", {}, Phase.SUCCESSFUL, "HTTP 200"),
        (204, "", {}, Phase.SUCCESSFUL, "HTTP 204"),  # any 2xx when expectedStatus is unset
        (503, "ok", {}, Phase.FAILED, "HTTP 503, expected 2xx"),
        (302, "", {"expectedStatus": [200]}, Phase.FAILED, "expected 200"),
        (404, "", {"expectedStatus": [200, 404]}, Phase.SUCCESSFUL, "HTTP 404"),
        (200, "degraded", {"body": "ok"}, Phase.FAILED, "body 'degraded' is not 'ok'"),
        (200, "  ok\n\n", {"body": "ok"}, Phase.SUCCESSFUL, ""),
        (200, "version=6.5.0 ready", {"bodyRegex": r"version=6\.5\.\d+ ready"}, Phase.SUCCESSFUL, ""),
        (200, "version=6.4.0 ready", {"bodyRegex": r"version=6\.5\."}, Phase.FAILED, "does not match"),
        (200, "up", {"successCondition": "result == 'up'"}, Phase.SUCCESSFUL, "holds"),
        (200, "down", {"successCondition": "result == 'up'"}, Phase.FAILED, "does not hold"),
    ],
)
def test_status_body_and_regex(
    health_app: HealthApp, status: int, body: str, config: dict[str, Any], phase: Phase, message: str
) -> None:
    health_app.answer(status, body)
    settings = {"success_condition": config.pop("successCondition")} if "successCondition" in config else {}
    result = check(health_app, config, **settings)
    assert result.phase is phase, result.message
    assert message in result.message


DOCUMENT = {"status": "UP", "ratio": 0.995, "checks": [{"name": "db", "ok": True}], "nothing": None}


@pytest.mark.parametrize(
    ("path", "success", "failure", "phase", "value"),
    [
        ("$.status", "result == 'UP'", None, Phase.SUCCESSFUL, "UP"),
        ("$.ratio", "result >= 0.99", "result < 0.9", Phase.SUCCESSFUL, 0.995),
        ("$.ratio", "result >= 0.999", "result < 0.9", Phase.INCONCLUSIVE, 0.995),
        ("$.checks[0].ok", "result", None, Phase.SUCCESSFUL, True),
        ("$['checks'][0]['name']", "result == 'db'", None, Phase.SUCCESSFUL, "db"),
        ("$", "result.status == 'UP'", None, Phase.SUCCESSFUL, DOCUMENT),
        # no data: a missing or null field is never a success
        ("$.missing", "true", None, Phase.INCONCLUSIVE, None),
        ("$.checks[3].ok", "true", None, Phase.INCONCLUSIVE, None),
        ("$.nothing", "true", None, Phase.INCONCLUSIVE, None),
        ("$.missing", "true", "result == nil", Phase.FAILED, None),
        # a condition that cannot read the value is an Error
        ("$.status", "result > 1", None, Phase.ERROR, "UP"),
    ],
)
def test_json_path_feeds_the_conditions(
    health_app: HealthApp, path: str, success: str, failure: str | None, phase: Phase, value: Any
) -> None:
    health_app.answer(200, DOCUMENT)
    result = check(health_app, {"jsonPath": path}, success_condition=success, failure_condition=failure)
    assert result.phase is phase, result.message
    assert result.value == value


def test_a_body_that_is_not_json_is_an_error_when_a_field_is_wanted(health_app: HealthApp) -> None:
    health_app.answer(200, "<html>")
    result = check(health_app, {"jsonPath": "$.status"}, success_condition="true")
    assert result.phase is Phase.ERROR
    assert "not JSON" in result.message


def test_templates_method_and_headers_reach_the_server(health_app: HealthApp) -> None:
    config = {
        "method": "POST",
        "headers": {"X-Canary": "{{ version }}", "X-Commit": "{{ commit }}"},
        "requestBody": '{"version": "{{ version }}"}',
    }
    result = check(health_app, config, path="/check?step={{ step }}&release={{ release }}")
    assert result.phase is Phase.SUCCESSFUL, result.message
    assert health_app.seen_paths == ["/check?step=2&release=podinfo"]
    assert health_app.seen_headers[0]["X-Canary"] == "6.5.0"
    assert health_app.seen_headers[0]["X-Commit"] == COMMIT
    assert health_app.seen_bodies == [b'{"version": "6.5.0"}']
    assert "POST" in result.message


def test_a_refused_connection_is_an_error() -> None:
    result = measure(gate("http", {"url": refused_url() + "/healthz"}), context())
    assert result.phase is Phase.ERROR
    assert "Connection refused" in result.message


def test_a_slow_answer_is_an_error_after_the_timeout(health_app: HealthApp) -> None:
    health_app.answer(200, "ok", delay=2.0)
    result = check(health_app, {"body": "ok"}, timeout=0.3)
    assert result.phase is Phase.ERROR
    assert "no answer within 0.3s" in result.message


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"url": "ftp://example.invalid/x"}, "not an http:// or https:// URL"),
        ({"url": "http://127.0.0.1:1/{{ nope }}"}, "unknown name 'nope'"),
        ({"url": "http://127.0.0.1:1/", "bodyRegex": "("}, ""),  # refused before the regex is read
    ],
)
def test_bad_settings_are_errors_not_tracebacks(config: dict[str, Any], message: str) -> None:
    result = measure(gate("http", config), context())
    assert result.phase is Phase.ERROR
    assert message in result.message


def test_an_invalid_regex_is_an_error(health_app: HealthApp) -> None:
    result = check(health_app, {"bodyRegex": "("})
    assert result.phase is Phase.ERROR
    assert "bodyRegex '('" in result.message


@pytest.mark.parametrize("path", ["status", "$..status", "$.a[*]", "$.a b"])
def test_json_path_outside_the_subset_is_rejected(path: str) -> None:
    with pytest.raises(GateError, match="jsonPath"):
        json_path({}, path)


SECRET = "s3cr3t-Value-42"


def test_a_redirect_to_another_origin_is_an_error_and_the_credentials_stay(
    health_app: HealthApp, other_app: HealthApp
) -> None:
    # The other host answers a healthy 200: following it would judge on a stranger's answer.
    health_app.answer(302, b"", headers={"Location": other_app.url + "/healthz"})
    result = check(health_app, {"headers": {"Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET}})
    assert result.phase is Phase.ERROR, result.message
    assert "to another origin" in result.message and SECRET not in result.message
    assert other_app.seen_paths == []


def test_a_same_origin_redirect_is_followed(health_app: HealthApp, other_app: HealthApp) -> None:
    other_app.answer(302, b"", headers={"Location": "/ready"})
    other_app.seen_paths.clear()
    result = measure(gate("http", {"url": other_app.url + "/healthz", "expectedStatus": [302]}), context())
    assert result.phase is Phase.SUCCESSFUL, result.message
    assert other_app.seen_paths[:2] == ["/healthz", "/ready"]


def test_a_catastrophic_regex_cannot_hold_the_gate_past_its_timeout(health_app: HealthApp) -> None:
    health_app.answer(200, "1" * 50_000)
    started = time.monotonic()
    result = check(health_app, {"bodyRegex": "(1+1+)+x"}, timeout=1.0)
    assert time.monotonic() - started < 2
    assert result.phase is Phase.FAILED, result.message
    assert "does not match" in result.message


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_shown(health_app: HealthApp) -> None:
    health_app.answer(503, "down")
    url = health_app.url.replace("http://", f"http://bot:{SECRET}@") + f"/healthz?access_token={SECRET}&v=1"
    result = measure(gate("http", {"url": url}), context())
    assert result.phase is Phase.FAILED
    assert SECRET not in result.message and "access_token=***" in result.message
    assert health_app.seen_headers[0]["Authorization"].startswith("Basic ")
    assert SECRET not in health_app.seen_paths[0].split("access_token=")[0]  # not in the path, only the query


def test_a_header_value_that_cannot_be_sent_is_never_echoed(health_app: HealthApp) -> None:
    result = check(health_app, {"headers": {"X-Api-Key": f"{SECRET}\n"}})
    assert result.phase is Phase.ERROR
    assert "header X-Api-Key" in result.message and SECRET not in result.message


def test_a_header_by_reference_is_read_when_sent_and_never_shown(
    health_app: HealthApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATE_TOKEN", f"Bearer {SECRET}")
    (tmp_path / "api-key").write_text(f"{SECRET}-2\n")  # a mounted Secret's file ends in a line break
    health_app.answer(401, f"token bearer {SECRET.lower()} and key {SECRET.upper()}-2 rejected\n")
    config = {
        "url": health_app.url + "/healthz",
        "headers": {"Authorization": {"env": "GATE_TOKEN"}, "X-Api-Key": {"file": "api-key"}},
        "expectedStatus": [401],
        "body": "ok",
    }
    result = measure(gate("http", config), context(root=str(tmp_path)))
    assert health_app.seen_headers[0]["Authorization"] == f"Bearer {SECRET}"
    assert health_app.seen_headers[0]["X-Api-Key"] == f"{SECRET}-2"
    assert result.phase is Phase.FAILED
    assert SECRET.lower() not in result.message.lower(), result.message  # the echo, whatever its case
    assert SECRET.lower() not in str(result.value).lower()  # nor in the value the notes keep


def test_a_header_whose_variable_is_unset_is_an_error_naming_it(health_app: HealthApp) -> None:
    result = check(health_app, {"headers": {"Authorization": {"env": "ROLLGEN_UNSET_GATE_TOKEN"}}})
    assert result.phase is Phase.ERROR
    assert result.message == "test-http: header Authorization: environment variable ROLLGEN_UNSET_GATE_TOKEN is not set"
    assert health_app.seen_paths == []
