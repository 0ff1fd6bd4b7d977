"""Durations read and printed as Go's ``time`` package does: Go's own tables, the schemas' pattern, and every
place a duration is written (spec fields, a pipeline's soak, the command line's options) as a user meets them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollgen.cli import main
from rollgen.durations import PATTERN, Duration, format_duration, parse_duration, spec_problem
from rollgen.errors import EXIT_OK, EXIT_USAGE
from rollgen.spec.schema import schema
from testkit.cli import rollgen
from testkit.tools import REPO_ROOT
from tests.go_duration_tables import DURATION_TESTS, PARSE_DURATION_ERROR_TESTS, PARSE_DURATION_TESTS, Hour

MAX = (1 << 63) - 1
BEYOND = "9223372036854775808ns"  # one past Go's longest: in the grammar, outside the range


# --- Go's tables -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "nanoseconds"), PARSE_DURATION_TESTS)
def test_parse_duration_table(text: str, nanoseconds: int) -> None:
    assert Duration.parse(text).nanoseconds == nanoseconds


@pytest.mark.parametrize(("text", "expect"), PARSE_DURATION_ERROR_TESTS)
def test_parse_duration_error_table(text: str, expect: str) -> None:
    with pytest.raises(ValueError) as raised:
        Duration.parse(text)
    assert expect in str(raised.value)


@pytest.mark.parametrize(("text", "nanoseconds"), DURATION_TESTS)
def test_duration_string_table(text: str, nanoseconds: int) -> None:
    assert str(Duration(nanoseconds)) == text
    if nanoseconds > 0:
        assert str(Duration(-nanoseconds)) == "-" + text


@pytest.mark.parametrize(("text", "nanoseconds"), [(t, d) for t, d in DURATION_TESTS if d % 1_000_000 == 0])
def test_format_duration_prints_whole_milliseconds_as_go(text: str, nanoseconds: int) -> None:
    assert format_duration(nanoseconds / 1e9) == text


def test_format_duration_reads_like_go() -> None:
    assert [format_duration(s) for s in (3723, 1.5, 0.5, 0, 90, 600, 0.0004)] == [
        "1h2m3s",
        "1.5s",
        "500ms",
        "0s",
        "1m30s",
        "10m0s",
        "0s",
    ]


def test_the_extremes_round_trip() -> None:
    # Go's TestParseDurationRoundTrip (golang.org/issue/48629): the largest and smallest durations print and read back.
    for nanoseconds in (MAX, -MAX - 1):
        assert Duration.parse(str(Duration(nanoseconds))).nanoseconds == nanoseconds


@given(st.integers(min_value=0, max_value=(1 << 31) - 1))
def test_whole_milliseconds_round_trip(milliseconds: int) -> None:
    # As Go's round-trip test: resolutions finer than milliseconds would not come back exactly as printed seconds.
    duration = Duration(milliseconds * 1_000_000)
    assert Duration.parse(str(duration)) == duration
    assert parse_duration(format_duration(duration.seconds)) == duration.seconds


# --- the schemas' pattern is the grammar -----------------------------------------------------------


def test_both_schemas_carry_the_grammar() -> None:
    for kind in ("release", "pipeline"):
        assert schema(kind)["definitions"]["duration"]["pattern"] == PATTERN


# The schema's own validator, so the regex dialect editors and validate run is the one tested.
_SCHEMA = jsonschema_rs.Draft7Validator({"type": "string", "pattern": PATTERN})


def in_range(text: str) -> bool | None:
    """True: Go reads it; False: Go refuses it, though it is in the grammar (past the range); None: not a duration."""
    try:
        Duration.parse(text)
    except ValueError as error:
        return False if "beyond the range" in str(error) else None
    return True


def test_pattern_accepts_every_table_duration_and_refuses_every_malformed_one() -> None:
    for text, _ in PARSE_DURATION_TESTS:
        assert _SCHEMA.is_valid(text), text
    for text, _ in PARSE_DURATION_ERROR_TESTS:
        if any("\udc80" <= c <= "\udcff" for c in text):
            continue  # bytes that are not UTF-8 reach no schema: a YAML document is text
        assert _SCHEMA.is_valid(text) == (in_range(text) is False), text


@given(st.text(alphabet="0123456789.+-nsuµμmhd x\n", max_size=12))
def test_pattern_and_parser_agree(text: str) -> None:
    assert _SCHEMA.is_valid(text) == (in_range(text) is not None)


# --- every duration of every schema ---------------------------------------------------------------


def duration_fields(node: Any) -> Iterator[str]:
    """The name of every property of a schema that is a duration."""
    if isinstance(node, dict):
        for name, child in node.get("properties", {}).items():
            if isinstance(child, dict) and child.get("$ref") == "#/definitions/duration":
                yield name
        for child in node.values():
            yield from duration_fields(child)
    elif isinstance(node, list):
        for child in node:
            yield from duration_fields(child)


SPEC = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: {name}
spec:
  namespace: {name}
  replicas: 4
  image: ghcr.io/example/web
  stable: "1.0.0"
  version: "1.1.0"
  source: {{kustomize: {{base: apps/web/base}}}}
  output: {{path: env/{name}/web}}
  progressDeadline: {deadline}
  liveness: {{assumeAfter: {assume}}}
  strategy:
    canary:
      steps:
        - setWeight: 10
        - pause: {{duration: {pause}}}
        - setWeight: 50
        - pause: {{duration: {pause2}}}
        - analysis: {{gates: [healthz]}}
  gates:
    - name: healthz
      interval: {interval}
      initialDelay: {delay}
      timeout: {timeout}
      http: {{url: "http://127.0.0.1:1/healthz"}}
"""
GO_FORMS = {
    "deadline": "1.5h",
    "assume": ".5m",
    "pause": "10.5s4m",
    "pause2": "1h2m3s4ms5us6ns",
    "interval": "2.5s",
    "delay": "12µs",
    "timeout": '"+500ms"',
}


def repository(root: Path) -> Path:
    (root / "apps/web/base").mkdir(parents=True)
    (root / "apps/web/base/kustomization.yaml").write_text("resources: [deployment.yaml, service.yaml]\n")
    # validate builds the base as render would: it needs its one Deployment and one Service.
    (root / "apps/web/base/service.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: prod}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n"
    )
    (root / "apps/web/base/deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: prod}\nspec:\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec: {containers: [{name: web, image: ghcr.io/example/web:1.0.0}]}\n"
    )
    return root


def validate(root: Path, *paths: Path) -> tuple[int, list[tuple[int, int, str]]]:
    run = rollgen("validate", "-o", "json", "--repo", str(root), *map(str, paths))
    assert "Traceback" not in run.stderr
    data = json.loads(run.stdout)
    documents = data if isinstance(data, list) else [data]
    return run.returncode, [(p["line"], p["column"], p["message"]) for d in documents for p in d["problems"]]


def test_go_durations_pass_validate_and_reach_the_plan(tmp_path: Path) -> None:
    root = repository(tmp_path)
    (root / "release.yaml").write_text(SPEC.format(name="prod", **GO_FORMS), encoding="utf-8")
    assert validate(root, root / "release.yaml") == (0, [])
    plan = rollgen("plan", "-o", "json", "--repo", str(root), str(root / "release.yaml"))
    assert plan.returncode == 0, plan.stderr
    waits = [wait for step in json.loads(plan.stdout)["steps"] for wait in step["after"]]
    # Printed as Go prints them, to the millisecond.
    assert waits[:2] == [{"pause": {"duration": "4m10.5s"}}, {"pause": {"duration": "1h2m3.004s"}}]


def test_validate_refuses_durations_no_rollout_can_wait_each_at_its_place(tmp_path: Path) -> None:
    root = repository(tmp_path)
    bad = {
        "deadline": BEYOND,
        "assume": "-1m",
        "pause": "1d",
        "pause2": "169h",
        "interval": '"0"',
        "delay": '"3"',
        "timeout": ".",
    }
    (root / "release.yaml").write_text(SPEC.format(name="prod", **bad), encoding="utf-8")
    code, problems = validate(root, root / "release.yaml")
    assert code == 1
    pattern = "is not valid: A Go duration, as Argo Rollouts, Flagger and Flux read it"
    assert [(line, col) for line, col, _ in problems] == [
        (13, 21),
        (14, 27),
        (19, 29),
        (21, 29),
        (25, 17),
        (26, 21),
        (27, 16),
    ]
    messages = [message for _, _, message in problems]
    assert messages[0].startswith(f'progressDeadline: invalid duration "{BEYOND}": beyond the range Go keeps')
    assert messages[1] == "assumeAfter: must not be negative"
    assert messages[2].startswith(f"spec.strategy.canary.steps[1].pause.duration: '1d' {pattern}")
    assert messages[3] == "duration: 169h is longer than 7 days"
    assert messages[4] == "interval: must be longer than 0s"
    assert pattern in messages[5] and pattern in messages[6]


def test_go_tables_through_validate_each_case_at_its_line(tmp_path: Path) -> None:
    """Every table case as a pause of one spec: the ones a rollout can wait pass, each other is refused where it is."""
    root = repository(tmp_path)
    cases = [text for text, _ in PARSE_DURATION_TESTS + PARSE_DURATION_ERROR_TESTS if text.isprintable()]
    lines = SPEC.format(name="prod", **GO_FORMS).splitlines()
    first = lines.index("        - pause: {duration: 1h2m3s4ms5us6ns}") + 1  # 1-based line of the first case
    lines[first - 1 : first] = [f"        - pause: {{duration: {json.dumps(text)}}}" for text in cases]
    (root / "release.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = []
    for line, text in enumerate(cases, start=first):
        known = in_range(text)
        nanoseconds = Duration.parse(text).nanoseconds if known else 0
        if known is None:
            expected.append((line, "is not valid: A Go duration"))
        elif known is False:
            expected.append((line, "beyond the range Go keeps"))
        elif nanoseconds < 0:
            expected.append((line, "must not be negative"))
        elif nanoseconds > 7 * 24 * Hour:
            expected.append((line, "is longer than 7 days"))
    code, problems = validate(root, root / "release.yaml")
    assert code == 1 and (len(cases), len(expected)) == (61, 29)
    assert [(line, col) for line, col, _ in problems] == [(line, 29) for line, _ in expected]
    for (_, _, message), (_, part) in zip(problems, expected, strict=True):
        assert part in message


PIPELINE = """\
apiVersion: rollgen.io/v1alpha1
kind: Pipeline
metadata:
  name: web
spec:
  environments:
    - name: dev
      release: dev.yaml
      soak: {dev}
    - name: staging
      release: staging.yaml
      soak: {staging}
    - name: production
      release: production.yaml
"""


def test_every_duration_field_of_both_schemas_is_read_with_the_one_parser(tmp_path: Path) -> None:
    """Past Go's range, each field is refused where it stands: no field reads durations its own way."""
    root = repository(tmp_path)
    fields = dict.fromkeys(GO_FORMS, BEYOND)
    for env in ("dev", "staging", "production"):
        (root / f"{env}.yaml").write_text(SPEC.format(name=env, **GO_FORMS), encoding="utf-8")
    (root / "beyond.yaml").write_text(SPEC.format(name="prod", **fields), encoding="utf-8")
    (root / "pipeline.yaml").write_text(PIPELINE.format(dev=BEYOND, staging="-1h"))
    code, problems = validate(root, root / "beyond.yaml", root / "pipeline.yaml")
    assert code == 1
    refused = {message.split(":")[0].split(".")[-1].split("]")[-1] for _, _, message in problems}
    every = set(duration_fields(schema("release"))) | set(duration_fields(schema("pipeline")))
    assert every == {"progressDeadline", "assumeAfter", "duration", "interval", "initialDelay", "timeout", "soak"}
    assert refused == every
    assert all("beyond the range" in m or m.endswith("soak: must not be negative") for _, _, m in problems)
    assert (12, 13, "spec.environments[1].soak: must not be negative") in problems
    # Within the range, the soak reaches the pipeline in seconds.
    (root / "pipeline.yaml").write_text(PIPELINE.format(dev="1.5m", staging="10.5s4m"))
    assert validate(root, root / "pipeline.yaml") == (0, [])


def test_a_bare_integer_still_counts_seconds() -> None:
    assert [Duration.of_spec(v).seconds for v in (30, 0, "30s")] == [30.0, 0.0, 30.0]
    assert spec_problem(-5) is None  # the schema's minimum says it, once
    with pytest.raises(ValueError, match="beyond the range"):
        Duration.of_spec(10**10)
    with pytest.raises(ValueError, match="invalid duration True"):
        Duration.of_spec(True)  # type: ignore[arg-type]


# --- the command line's options ---------------------------------------------------------------------

FLUX = ("bootstrap", "flux", "x.yaml", "--repo-url", "https://git.example/gitops.git", "--out", "o")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("status", "--watch", "--timeout=3x"), '--timeout \'3x\': unknown unit "x" in duration "3x"; expected'),
        (("status", "--watch", "--interval=0"), "--interval '0': must be longer than 0s"),
        (("status", "--watch", "--interval=-500ms"), "--interval '-500ms': must be longer than 0s"),
        (("status", "--watch", "--timeout=1.2.3"), "--timeout '1.2.3': missing unit in duration \"1.2.3s\""),
        (("detect", "x.yaml", "--timeout=soon"), "--timeout 'soon': invalid duration \"soon\""),
        (("detect", "x.yaml", "--timeout", "3000000h"), "--timeout '3000000h': invalid duration \"3000000h\": beyond"),
        ((*FLUX, "--interval=1d"), '--interval \'1d\': unknown unit "d" in duration "1d"'),
        ((*FLUX, "--interval=1.5us"), "--interval '1.5us': Flux reads whole milliseconds"),
    ],
)
def test_a_bad_duration_option_is_a_usage_error_naming_it(
    argv: tuple[str, ...], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(list(argv)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err


@pytest.mark.parametrize("timeout", ["1.5m", "90", "2m30s"])
def test_detect_takes_a_go_duration_or_seconds(timeout: str) -> None:
    assert main(["detect", str(REPO_ROOT / "examples" / "canary.yaml"), "--timeout", timeout]) == EXIT_OK
