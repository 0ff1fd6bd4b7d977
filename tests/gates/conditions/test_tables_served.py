"""The ported tables through rollgen as a user runs it: ``rollgen validate`` on specs holding every
condition, and gates judging each condition on a result a real server serves (an http gate against a
loopback server answering the result as JSON; a prometheus gate against Debian's prometheus for the
results JSON cannot carry, NaN and Inf)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from rollgen.cli.demo import demo_release, init_gitops
from rollgen.gates.analysis import Phase
from rollgen.gates.conditions import ConditionError, parse
from rollgen.gates.conditions.lexer import MAX_LENGTH
from rollgen.gates.registry import measure
from testkit.cli import rollgen
from testkit.gates import context, gate
from testkit.gateservers import HealthApp, PrometheusServer
from testkit.tools import REPO_ROOT, require_tool
from tests.gates.conditions.tables import ARGO_CONDITIONS, ARGO_MEASUREMENTS, EXPR_CASES, case_id

SPEC = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: web
spec:
  namespace: prod
  replicas: 1
  image: registry.local:5000/team/web
  stable: "1"
  version: "2"
  source: {kustomize: {base: apps/web/base}}
  output: {path: env/prod/web}
  strategy: {recreate: {}}
  liveness: {assumeAfter: 2m}
  gates:
"""
CONDITION_PREFIX = "      successCondition: "


def _quoted(text: str) -> tuple[str, bool]:
    """``text`` as a YAML scalar, and whether its characters sit one to one after the opening quote."""
    if "'" not in text:
        return f"'{text}'", True
    if '"' not in text and "\\" not in text:
        return f'"{text}"', True
    return json.dumps(text), False


def write_spec(path: Path, conditions: list[str]) -> dict[int, tuple[str, bool]]:
    """A spec with one prometheus gate per condition; the line of each condition, with its text."""
    lines = SPEC.splitlines()
    where: dict[int, tuple[str, bool]] = {}
    for i, text in enumerate(conditions):
        scalar, exact = _quoted(text)
        lines.append(f"    - name: g{i}")
        lines.append(CONDITION_PREFIX + scalar)
        where[len(lines)] = (text, exact)
        lines.append('      prometheus: {address: "http://prometheus:9090", query: up}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return where


def _condition_cases() -> list[dict[str, Any]]:
    """Every case whose text is a condition (true or false): Argo Rollouts' all, expr-lang's boolean ones."""
    boolean = [c for c in EXPR_CASES if isinstance(c.get("value"), bool) or "refused" in c]
    return ARGO_CONDITIONS + boolean


def test_the_schema_and_the_parser_agree_on_the_longest_condition() -> None:
    schema = json.loads((REPO_ROOT / "schemas" / "release.schema.json").read_text())
    lengths = re.findall(r'"(?:success|failure)Condition": \{[^}]*?"maxLength": (\d+)', json.dumps(schema))
    assert lengths and {int(n) for n in lengths} == {MAX_LENGTH}


def test_validate_accepts_every_condition_the_tables_judge(tmp_path: Path) -> None:
    accepted = [c["condition"] for c in _condition_cases() if "refused" not in c]
    spec = tmp_path / "accepted.yaml"
    write_spec(spec, accepted)
    run = rollgen("validate", str(spec), cwd=tmp_path)
    assert (run.returncode, run.stdout) == (0, ""), run.stdout + run.stderr


def test_validate_refuses_every_refused_condition_at_its_position(tmp_path: Path) -> None:
    refused = [c for c in _condition_cases() if "refused" in c]
    # expr-lang compiles a literal pattern with the condition: a bad one is refused up front too.
    texts = [c["condition"] for c in refused] + ["result matches '[+'"]
    spec = tmp_path / "refused.yaml"
    where = write_spec(spec, texts)
    run = rollgen("validate", str(spec), cwd=tmp_path)
    assert run.returncode == 1
    reported = {}
    for line in run.stdout.splitlines():
        match = re.fullmatch(rf"{re.escape(str(spec))}:(\d+):(\d+): successCondition: (.*)", line)
        assert match, line
        reported[int(match[1])] = (int(match[2]), match[3])
    assert sorted(reported) == sorted(where), run.stdout
    for line, (text, exact) in where.items():
        col, message = reported[line]
        try:
            ((offset, _),) = parse(text).patterns  # the last gate: its pattern is what is refused
            expected = "matches: missing ]: [+"
        except ConditionError as error:
            offset, expected = error.offset, error.message
        assert message.startswith(expected), (text, message)
        if exact:  # the column of the culprit: the condition starts one past the quote
            assert col == len(CONDITION_PREFIX) + 2 + offset, (text, col)
    for case in refused:
        assert any(case["refused"] in message for _, message in reported.values()), case


def _served_phase(case: dict[str, Any]) -> Phase:
    """The phase a gate whose successCondition is the case's gives its result: rollgen's no-data policy
    (nothing, an empty list) before the condition's own verdict."""
    if case["result"] is None or case["result"] == []:
        return Phase.INCONCLUSIVE
    if "error" in case:
        return Phase.ERROR
    return Phase.SUCCESSFUL if case["expect"] else Phase.FAILED


SERVED = [c for c in ARGO_CONDITIONS if "refused" not in c and c.get("served", True)]
NOT_JSON = [c for c in ARGO_CONDITIONS if not c.get("served", True)]


@pytest.mark.parametrize("case", SERVED, ids=case_id)
def test_an_http_gate_judges_each_condition_on_the_served_json(health_app: HealthApp, case: dict[str, Any]) -> None:
    health_app.answer(200, {"data": case["result"]})
    checked = gate("http", {"url": health_app.url, "jsonPath": "$.data"}, success_condition=case["condition"])
    result = measure(checked, context())
    assert result.phase is _served_phase(case), result.message
    if result.phase is Phase.ERROR:
        assert case["error"] in result.message


# PromQL answering the results JSON cannot carry: a scalar NaN and +Inf.
PROMQL = {"nan": "0 / 0", "inf": "1 / 0"}


def _promql(value: float) -> str:
    return PROMQL["nan" if math.isnan(value) else "inf"]


@pytest.mark.parametrize("case", NOT_JSON, ids=case_id)
def test_a_prometheus_gate_judges_the_conditions_on_nan_and_inf(
    prometheus: PrometheusServer, case: dict[str, Any]
) -> None:
    checked = gate(
        "prometheus", {"address": prometheus.url, "query": _promql(case["result"])}, success_condition=case["condition"]
    )
    result = measure(checked, context())
    # NaN and Inf are no data: a successCondition is never asked, whatever it would say.
    assert result.phase is Phase.INCONCLUSIVE, result.message
    assert "no data" in result.message


@pytest.mark.parametrize("case", ARGO_MEASUREMENTS, ids=case_id)
def test_gates_give_each_measurement_its_phase(
    health_app: HealthApp, prometheus: PrometheusServer, case: dict[str, Any]
) -> None:
    value = case["result"]
    if isinstance(value, float) and not math.isfinite(value):
        config: dict[str, Any] = {"address": prometheus.url, "query": _promql(value)}
        kind = "prometheus"
    else:
        health_app.answer(200, {"data": value})
        config, kind = {"url": health_app.url, "jsonPath": "$.data"}, "http"
    checked = gate(kind, config, success_condition=case.get("success"), failure_condition=case.get("failure"))
    result = measure(checked, context())
    assert result.phase is Phase(case.get("rollgen", case["argo"])), result.message


SKYWALKING = "all(result.service_apdex.values.values, {asFloat(.value) >= 9900})"
CLOUDWATCH = "len(result[0].Values) >= 5 and all(result[0].Values, {# <= 0.01})"


@pytest.mark.parametrize(("apdex", "code", "shown"), [("9950", 0, "COMPLETED"), ("9800", 1, "ABORTED")])
def test_a_rollout_goes_on_or_aborts_on_the_documented_conditions(
    tmp_path: Path, health_app: HealthApp, capsys: pytest.CaptureFixture[str], apdex: str, code: int, shown: str
) -> None:
    from rollgen.cli import main

    require_tool("git")
    require_tool("kubectl")
    # One endpoint answering what SkyWalking's and CloudWatch's providers hand Argo Rollouts.
    health_app.answer(
        200,
        {
            "skywalking": {"service_apdex": {"label": None, "values": {"values": [{"value": apdex}]}}},
            "cloudwatch": [{"Id": "errors", "Values": [0.001, 0.0, 0.002, 0.01, 0.004]}],
        },
    )
    gates = [
        {"name": "apdex", "successCondition": SKYWALKING, "http": {"url": health_app.url, "jsonPath": "$.skywalking"}},
        {"name": "errors", "successCondition": CLOUDWATCH, "http": {"url": health_app.url, "jsonPath": "$.cloudwatch"}},
    ]
    steps = ({"setWeight": 50}, {"analysis": {"gates": ["apdex", "errors"]}})
    work = init_gitops(tmp_path, {"release.yaml": json.dumps(demo_release("1.0.0", "2.0.0", gates, steps))})
    spec = str(work / "release.yaml")
    assert main(["validate", spec, "--repo", str(work)]) == 0
    assert main(["start", spec, "--repo", str(work)]) == 0
    assert main(["run", spec, "--repo", str(work)]) == code
    out = capsys.readouterr().out
    assert shown in out
    if code:
        assert f"successCondition {SKYWALKING!r} does not hold" in out
