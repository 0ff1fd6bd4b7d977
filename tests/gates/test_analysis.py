from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest

from rollgen.gates.analysis import (
    ERROR_RETRY_INTERVAL,
    AnalysisError,
    CheckResult,
    GateVerdict,
    Measurement,
    MeasurementPolicy,
    Phase,
    assess,
    measure_if_due,
    run,
)

LETTERS = {
    "S": Phase.SUCCESSFUL,
    "F": Phase.FAILED,
    "I": Phase.INCONCLUSIVE,
    "E": Phase.ERROR,
    "P": Phase.PENDING,
}


def taken(phases: str, every: float = 1.0, start: float = 0.0) -> list[Measurement]:
    """Measurements from letters, one every ``every`` seconds: "SFE" = Successful, Failed, Error."""
    return [Measurement(LETTERS[c], None, c, start + i * every) for i, c in enumerate(phases)]


FLAPPING: dict[str, Any] = {"interval": 1.0, "count": 5, "failure_limit": 1}

# (policy, measurements, phase, part of the message) — Argo Rollouts' assessMetricStatus, case by case.
CASES: list[tuple[dict[str, Any], str, Phase, str]] = [
    ({}, "", Phase.RUNNING, "no measurement yet"),
    ({}, "S", Phase.SUCCESSFUL, "1 of 1 measurements taken"),
    ({}, "F", Phase.FAILED, "1 failed measurements > failureLimit 0"),
    ({}, "I", Phase.INCONCLUSIVE, "1 inconclusive measurements > inconclusiveLimit 0"),
    # errors are retried: the default consecutiveErrorLimit 4 tolerates four in a row
    ({}, "EEEE", Phase.RUNNING, "retrying after error"),
    ({}, "EEEEE", Phase.ERROR, "5 errors in a row > consecutiveErrorLimit 4"),
    ({}, "EEEES", Phase.SUCCESSFUL, "1 of 1"),
    ({"consecutive_error_limit": 0}, "E", Phase.ERROR, "1 errors in a row > consecutiveErrorLimit 0"),
    # a flapping metric: failureLimit 1 tolerates exactly one failure among the five
    (FLAPPING, "SFS", Phase.RUNNING, "3 of 5 measured"),
    (FLAPPING, "SFSSS", Phase.SUCCESSFUL, "5 of 5"),
    (FLAPPING, "SFSF", Phase.FAILED, "2 failed measurements > failureLimit 1"),
    (FLAPPING, "FSSSF", Phase.FAILED, "2 failed"),
    # errors do not count towards count, and any counted measurement resets the run of errors
    ({"interval": 1.0, "count": 2}, "EES", Phase.RUNNING, "1 of 2 measured"),
    ({"interval": 1.0, "count": 2}, "EESEEEES", Phase.SUCCESSFUL, "2 of 2"),
    ({"interval": 1.0, "count": 3}, "EEEESEEEEE", Phase.ERROR, "5 errors in a row"),
    # inconclusive has its own limit
    ({"interval": 1.0, "count": 3, "inconclusive_limit": 1}, "ISS", Phase.SUCCESSFUL, "3 of 3"),
    ({"interval": 1.0, "count": 3, "inconclusive_limit": 1}, "SII", Phase.INCONCLUSIVE, "2 inconclusive"),
    # failure is judged before inconclusive and error when one measurement crosses several limits
    ({"interval": 1.0, "count": 9, "failure_limit": 1, "inconclusive_limit": 1}, "IFIF", Phase.INCONCLUSIVE, "2 inc"),
    # final verdicts are sticky: what comes after changes nothing
    ({}, "FS", Phase.FAILED, "1 failed"),
    ({}, "SF", Phase.SUCCESSFUL, "1 of 1"),
    # interval without count: measure until something fails (Argo's background analysis)
    ({"interval": 1.0}, "S" * 50, Phase.RUNNING, "50 measured"),
    ({"interval": 1.0}, "S" * 50 + "F", Phase.FAILED, "1 failed"),
    # Pending ("not synced yet") is neither counted nor an error, and does not reset errors
    ({}, "P", Phase.RUNNING, "waiting: P"),
    ({}, "PPPPPPPPPPS", Phase.SUCCESSFUL, "1 of 1"),
    ({"consecutive_error_limit": 1}, "EPE", Phase.ERROR, "2 errors in a row"),
    ({"interval": 1.0, "count": 2}, "SPPPP", Phase.RUNNING, "1 of 2 measured; waiting"),
]


@pytest.mark.parametrize(("policy", "phases", "phase", "message"), CASES)
def test_assess_follows_argo_rollouts(policy: dict[str, Any], phases: str, phase: Phase, message: str) -> None:
    verdict = assess(MeasurementPolicy(**policy), taken(phases), started_at=0.0)
    assert verdict.phase is phase
    assert message in verdict.message
    assert (verdict.next_measurement_at is None) == phase.final


def test_verdict_counts_like_an_analysis_run() -> None:
    verdict = assess(
        MeasurementPolicy(interval=1.0, count=9, failure_limit=5, inconclusive_limit=1), taken("SFEIEES"), 0.0
    )
    assert verdict == GateVerdict(
        Phase.RUNNING,
        verdict.message,
        7.0,
        count=4,
        successful=2,
        failed=1,
        inconclusive=1,
        errors=3,
        consecutive_errors=0,
    )


# (policy, measurements taken at 100, 110, ..., when the next one is due)
NEXT: list[tuple[dict[str, Any], str, float]] = [
    ({}, "", 100.0),  # the analysis started at 100
    ({"initial_delay": 60.0}, "", 160.0),
    ({"interval": 30.0, "count": 3}, "S", 130.0),
    ({"interval": 30.0, "count": 3}, "SE", 140.0),  # errors are retried after the interval ...
    ({}, "E", 100.0 + ERROR_RETRY_INTERVAL),  # ... or after 10 s without one, as in Argo
    ({"interval": 30.0, "count": 3}, "SP", 112.0),  # pending: polled every 2 s
    ({"poll_interval": 0.5}, "PP", 110.5),
]


@pytest.mark.parametrize(("policy", "phases", "due"), NEXT)
def test_next_measurement_time(policy: dict[str, Any], phases: str, due: float) -> None:
    verdict = assess(MeasurementPolicy(**policy), taken(phases, every=10.0, start=100.0), started_at=100.0)
    assert verdict.next_measurement_at == due


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"count": 0}, "count must be >= 1, got 0"),
        ({"failure_limit": -1}, "failureLimit must be >= 0"),
        ({"inconclusive_limit": -1}, "inconclusiveLimit must be >= 0"),
        ({"consecutive_error_limit": -1}, "consecutiveErrorLimit must be >= 0"),
        ({"initial_delay": -1.0}, "initialDelay must be >= 0"),
        ({"interval": 0.0}, "interval must be > 0"),
        ({"timeout": 0.0}, "timeout must be > 0"),
        ({"count": 3}, "count 3 needs an interval"),
    ],
)
def test_impossible_policies_are_rejected(policy: dict[str, Any], message: str) -> None:
    with pytest.raises(AnalysisError, match=message):
        MeasurementPolicy(**policy)


def test_measurements_round_trip_through_strict_json() -> None:
    originals = [
        Measurement(Phase.SUCCESSFUL, 0.995, "result >= 0.99", 1.5),
        Measurement(Phase.INCONCLUSIVE, [math.nan, math.inf, -math.inf], "no data: NaN", 2.0),
        Measurement(Phase.SUCCESSFUL, {"status": "ok", "checks": [1, None, True]}, "", 3.0),
        Measurement(Phase.PENDING, None, "Application at 1234567, waiting for abcdef0", 4.0),
        Measurement(Phase.ERROR, "text", "connection refused", 5),
    ]
    text = json.dumps([m.to_dict() for m in originals], allow_nan=False)
    loaded = [Measurement.from_dict(d) for d in json.loads(text)]
    assert loaded[0] == originals[0]
    assert loaded[2:] == originals[2:]
    assert isinstance(loaded[4].at, float)
    nan, inf, minus_inf = loaded[1].value
    assert math.isnan(nan) and inf == math.inf and minus_inf == -math.inf
    policy = MeasurementPolicy(interval=1.0, count=5)
    assert assess(policy, loaded, 0.0) == assess(policy, originals, 0.0)


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "Successful",
        {"phase": "Great", "value": 1, "message": "", "at": 1.0},
        {"phase": "Failed"},
        {"phase": "Failed", "value": 1, "message": "", "at": "yesterday"},
        {"phase": "Failed", "message": 3, "at": 1},
    ],
)
def test_unreadable_stored_measurements_are_errors(data: Any) -> None:
    with pytest.raises(AnalysisError, match="not a stored measurement"):
        Measurement.from_dict(data)


class FakeTime:
    """A clock that only moves when slept on or when a check takes time."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(time: FakeTime, phases: str, took: float = 0.25) -> Iterator[CheckResult]:
    for letter in phases:
        time.now += took  # every check takes a little while
        yield CheckResult(LETTERS[letter], None, letter)
    raise AssertionError("measured more often than the script allows")


def test_run_measures_at_the_interval_until_the_count() -> None:
    time = FakeTime()
    results = scripted(time, "SSS")
    verdict, measurements = run(
        MeasurementPolicy(interval=30.0, count=3, initial_delay=5.0),
        lambda: next(results),
        clock=time.clock,
        sleep=time.sleep,
    )
    assert verdict.phase is Phase.SUCCESSFUL
    # Each check takes 0.25 s and is stamped when it ends; the next begins an interval after that.
    assert [m.at for m in measurements] == [1005.25, 1035.5, 1065.75]
    assert time.sleeps == [5.0, 30.0, 30.0]


def test_run_aborts_a_flapping_metric_at_the_failure_limit() -> None:
    time = FakeTime()
    results = scripted(time, "SFSF")
    seen: list[Phase] = []
    verdict, measurements = run(
        MeasurementPolicy(**FLAPPING),
        lambda: next(results),
        clock=time.clock,
        sleep=time.sleep,
        on_measurement=lambda v, ms: seen.append(v.phase),
    )
    assert verdict.phase is Phase.FAILED
    assert "".join(m.message for m in measurements) == "SFSF"
    assert seen == [Phase.RUNNING] * 3 + [Phase.FAILED]


def test_run_keeps_one_pending_measurement_while_waiting() -> None:
    time = FakeTime()
    results = scripted(time, "PPPPS")
    verdict, measurements = run(MeasurementPolicy(), lambda: next(results), clock=time.clock, sleep=time.sleep)
    assert verdict.phase is Phase.SUCCESSFUL
    assert [m.phase for m in measurements] == [Phase.SUCCESSFUL]
    assert time.sleeps == [2.0] * 4  # polled 2 s after each check ended


def test_run_gives_up_at_the_deadline_with_an_error() -> None:
    time = FakeTime()
    results = scripted(time, "P" * 5)
    verdict, measurements = run(
        MeasurementPolicy(), lambda: next(results), deadline=1008.0, clock=time.clock, sleep=time.sleep
    )
    assert verdict.phase is Phase.ERROR
    assert verdict.message.startswith("deadline passed: 0 of 1 measured; waiting: P")
    assert time.now == 1008.0  # it waited for the whole deadline, no longer
    assert [m.phase for m in measurements] == [Phase.PENDING]


def test_a_cron_driven_analysis_matches_a_long_running_one() -> None:
    # Each "process" loads the stored measurements, makes one pass and stores them again.
    policy = MeasurementPolicy(interval=10.0, count=4, failure_limit=1)
    script = "SEFSS"
    stored = "[]"
    calls = 0
    now = 0.0

    def measure() -> CheckResult:
        nonlocal calls
        calls += 1
        return CheckResult(LETTERS[script[calls - 1]], calls, "")

    verdict = assess(policy, [], 0.0)
    while not verdict.phase.final:
        now += 3.0  # cron fires every 3 s, whatever the interval
        loaded = [Measurement.from_dict(d) for d in json.loads(stored)]
        verdict, kept = measure_if_due(policy, measure, loaded, started_at=0.0, now=now)
        stored = json.dumps([m.to_dict() for m in kept])
    cron_measurements = [Measurement.from_dict(d) for d in json.loads(stored)]

    time = FakeTime(0.0)
    results = scripted(time, script, took=0.0)
    long_verdict, long_measurements = run(policy, lambda: next(results), clock=time.clock, sleep=time.sleep)
    assert verdict.phase is long_verdict.phase is Phase.SUCCESSFUL
    assert [m.phase for m in cron_measurements] == [m.phase for m in long_measurements]
    # cron can only be late, never early: each measurement no sooner than the interval allows
    gaps = [b.at - a.at for a, b in itertools.pairwise(cron_measurements)]
    assert all(gap >= 10.0 for gap in gaps) and max(gaps) < 13.0


def test_measure_if_due_does_not_measure_early() -> None:
    def never() -> CheckResult:
        raise AssertionError("measured before it was due")

    policy = MeasurementPolicy(interval=30.0, count=2)
    verdict, kept = measure_if_due(policy, never, taken("S", start=100.0), started_at=100.0, now=129.0)
    assert verdict.phase is Phase.RUNNING and verdict.next_measurement_at == 130.0
    assert len(kept) == 1


def test_a_measurement_as_slow_as_its_retry_is_not_taken_again_at_once() -> None:
    # An unreachable gate: each try waits out the gate's timeout (11 s) before it errs. Error
    # measurements are retried 10 s apart, counted from when the last one ended, so a pass that
    # measures whatever is due takes one measurement, not the whole error budget in a row.
    time = FakeTime(0.0)
    results = scripted(time, "EEEEE", took=11.0)
    policy = MeasurementPolicy()  # no interval: one measurement, errors retried
    kept: tuple[Measurement, ...] = ()
    verdict, kept = measure_if_due(policy, lambda: next(results), kept, 0.0, time.clock(), clock=time.clock)
    assert [m.at for m in kept] == [11.0] and verdict.next_measurement_at == 21.0
    again, kept = measure_if_due(policy, lambda: next(results), kept, 0.0, time.clock(), clock=time.clock)
    assert len(kept) == 1 and not again.phase.final  # not due yet: the pass moves on


def test_resuming_needs_the_start_time() -> None:
    with pytest.raises(AnalysisError, match="needs the time it started"):
        run(
            MeasurementPolicy(),
            lambda: CheckResult(Phase.SUCCESSFUL),
            measurements=taken("E"),
            clock=lambda: 0.0,
            sleep=lambda _: None,
        )
