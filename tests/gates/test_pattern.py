"""bodyRegex patterns in RE2, and the redaction every message goes through."""

from __future__ import annotations

import time

import pytest

from rollgen.gates.analysis import CheckResult, MeasurementPolicy, Phase, measure_if_due
from rollgen.gates.pattern import PatternError, compile_pattern
from rollgen.redact import redact


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    started = time.monotonic()
    assert compile_pattern("(1+1+)+x").search("1" * 1_000_000) is None
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("text", ["(a)\\1", "(?=x)y", "(", "a{2,1}"])
def test_a_pattern_the_engine_cannot_compile_is_a_pattern_error(text: str) -> None:
    with pytest.raises(PatternError, match="RE2 syntax"):
        compile_pattern(text)


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("GET https://bot:pw-123456@prom.example/q failed", "pw-123456"),
        ("GET http://tok-123456@prom.example/ failed", "tok-123456"),
        ("GET http://h/q?query=up&access_token=tok-123456", "tok-123456"),
        ("GET http://h/q?apikey=tok-123456&x=1", "tok-123456"),
        ("GET http://h/q?x=1&token=tok-123456#f", "tok-123456"),
        ("Authorization: Bearer tok-123456", "tok-123456"),
        ("PRIVATE-TOKEN: tok-123456", "tok-123456"),
    ],
)
def test_credentials_are_hidden(text: str, hidden: str) -> None:
    assert hidden not in redact(text)
    assert "***" in redact(text)


def test_ordinary_messages_are_left_alone() -> None:
    message = "result [0.995]: successCondition 'result >= 0.99' holds [query: sum(rate(x{code!~\"5..\"}[1m]))]"
    assert redact(message) == message


def test_a_kept_measurement_is_redacted_whatever_the_gate_said() -> None:
    policy = MeasurementPolicy(interval=1.0, count=1)
    leaky = CheckResult(Phase.ERROR, None, "GET https://bot:pw-123456@h/x?access_token=tok-123456: refused")
    _, kept = measure_if_due(policy, lambda: leaky, (), 0.0, 0.0)
    assert "pw-123456" not in kept[-1].message and "tok-123456" not in kept[-1].message
