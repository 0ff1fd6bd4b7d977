"""Measurement semantics of a gate: Argo Rollouts' AnalysisRun, as pure functions of time.

A gate is measured ``count`` times, ``interval`` seconds apart (the first after
``initialDelay``); each measurement is Successful, Failed, Inconclusive or Error.
:func:`assess` folds the measurements taken so far into a :class:`GateVerdict`, with
the rules of Argo Rollouts' ``assessMetricStatus`` checked in this order after
every measurement:

1. failed measurements > ``failureLimit``              -> Failed
2. inconclusive measurements > ``inconclusiveLimit``   -> Inconclusive
3. errors in a row > ``consecutiveErrorLimit``         -> Error
4. counted measurements >= ``count``                   -> Successful
5. otherwise                                           -> Running (measure again at ``next_measurement_at``)

Errors are not counted towards ``count`` (an errored measurement is retried,
after ``interval`` or 10 s without one) and any counted measurement resets the
run of errors. A final verdict is sticky: measurements after it are ignored.
With ``interval`` and no ``count`` the gate measures until it fails (Argo's
background analysis); with neither it measures once.

Failed or Error means abort; Inconclusive means hold for a human; Successful
means advance.

A measurement may also be **Pending**: the thing to judge is not there yet (Argo
CD has not synced the step's commit, a Deployment is still rolling). Pending is
"keep waiting", never a verdict: it is not counted, does not reset or extend the
run of errors, and is re-checked after ``poll_interval``. How long to wait is the
caller's: :func:`run` takes a ``deadline`` (the release's progressDeadline).

No-data policy
--------------
Missing data is never a success. Which phase it gets:

============================================  ==============  =========================
what happened                                 phase           so with default limits
============================================  ==============  =========================
connection refused, DNS failure, TLS error    Error           retried; the 5th in a row aborts
no answer within ``timeout``                  Error           retried; the 5th in a row aborts
server error (HTTP 5xx from Prometheus,       Error           retried; the 5th in a row aborts
Prometheus ``status: error``, bad JSON)
a condition that cannot be judged (type       Error           retried; the 5th in a row aborts
error, index out of range)
empty Prometheus vector, NaN or ±Inf in the   Inconclusive    holds for a human
result, JSON path absent or null              (Failed if ``failureCondition`` holds anyway)
============================================  ==============  =========================

Transport failures are Errors because retrying them is right: a blip should not
abort a rollout, a dead Prometheus should. No data is Inconclusive, not Error,
because it is usually a real answer ("the canary serves no traffic yet") that a
retry will not change and a machine should not wave through; a
``failureCondition`` that matches the missing data (``len(result) == 0``) makes
it a failure on purpose. ``successCondition`` is never consulted without data.

Measurements round-trip through plain JSON (:meth:`Measurement.to_dict`), so a
caller can keep them between processes (the controller keeps them in git notes)
and a cron-driven gate is judged exactly like a long-running one:

    >>> policy = MeasurementPolicy(interval=30.0, count=3, failure_limit=1)
    >>> taken = [Measurement(Phase.SUCCESSFUL, 0.99, "", 100.0), Measurement(Phase.FAILED, 0.5, "", 130.0)]
    >>> saved = [m.to_dict() for m in taken]
    >>> verdict = assess(policy, [Measurement.from_dict(d) for d in saved], started_at=100.0)
    >>> verdict.phase, verdict.next_measurement_at
    (<Phase.RUNNING: 'Running'>, 160.0)
    >>> assess(policy, taken + [Measurement(Phase.SUCCESSFUL, 1.0, "", 160.0)], started_at=100.0).phase
    <Phase.SUCCESSFUL: 'Successful'>
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from rollgen.errors import RollgenError
from rollgen.redact import redact

# Argo Rollouts' DefaultErrorRetryInterval: how soon an errored measurement is retried
# when the gate has no interval of its own.
ERROR_RETRY_INTERVAL: Final = 10.0


class AnalysisError(RollgenError):
    """A measurement policy that cannot be followed, or a stored measurement that cannot be read."""


class Phase(enum.StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"

    @property
    def final(self) -> bool:
        """Whether this phase ends a measurement (or an analysis): not Pending nor Running."""
        return self not in (Phase.PENDING, Phase.RUNNING)


@dataclass(frozen=True)
class CheckResult:
    """What one check of a gate found, before it is stamped with a time.

    ``value`` is what the conditions judged (a float, a list of floats, JSON, an
    exit code) or None; ``message`` says why, for a human.
    """

    phase: Phase
    value: Any = None
    message: str = ""


@dataclass(frozen=True)
class Measurement:
    """A :class:`CheckResult` taken at ``at`` (seconds since the epoch, as the caller's clock says)."""

    phase: Phase
    value: Any
    message: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        """A dict of JSON types only (non-finite floats are tagged, since JSON has none).

        >>> Measurement(Phase.INCONCLUSIVE, [math.nan], "no data", 5.0).to_dict()
        {'phase': 'Inconclusive', 'value': [{'nonFinite': 'NaN'}], 'message': 'no data', 'at': 5.0}
        """
        return {"phase": str(self.phase), "value": _encode(self.value), "message": self.message, "at": self.at}

    @classmethod
    def from_dict(cls, data: Any) -> Measurement:
        """The measurement :meth:`to_dict` made; AnalysisError for anything else."""
        try:
            phase = Phase(data["phase"])
            at = data["at"]
            message = data["message"]
            if not isinstance(at, (int, float)) or isinstance(at, bool) or not isinstance(message, str):
                raise TypeError("'at' must be a number and 'message' a string")
            return cls(phase, _decode(data.get("value")), message, float(at))
        except (KeyError, TypeError, ValueError) as error:
            raise AnalysisError(f"not a stored measurement: {data!r} ({error})") from None


_NON_FINITE = "nonFinite"


def _encode(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {_NON_FINITE: "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_NON_FINITE}:
            return float(value[_NON_FINITE].replace("Inf", "inf"))
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


@dataclass(frozen=True)
class MeasurementPolicy:
    """When to measure a gate and how to judge the measurements (times in seconds).

    The defaults are Argo Rollouts': one measurement, no failure tolerated, four
    errors in a row tolerated, a 30 s timeout per measurement.
    """

    interval: float | None = None
    count: int | None = None
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = 4
    initial_delay: float = 0.0
    timeout: float = 30.0
    # How soon to look again while a gate is Pending (waiting for a sync is cheap to
    # poll, and every second of it delays the rollout).
    poll_interval: float = 2.0

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be >= {low}, got {value}"
            for name, value, low in (
                ("count", self.count, 1),
                ("failureLimit", self.failure_limit, 0),
                ("inconclusiveLimit", self.inconclusive_limit, 0),
                ("consecutiveErrorLimit", self.consecutive_error_limit, 0),
                ("initialDelay", self.initial_delay, 0),
            )
            if value is not None and value < low
        ]
        problems += [
            f"{name} must be > 0, got {value}"
            for name, value in (
                ("interval", self.interval),
                ("timeout", self.timeout),
                ("poll interval", self.poll_interval),
            )
            if value is not None and not value > 0
        ]
        if self.interval is None and self.count is not None and self.count > 1:
            problems.append(f"count {self.count} needs an interval between measurements")
        if problems:
            raise AnalysisError("invalid measurement policy: " + "; ".join(problems))

    @property
    def effective_count(self) -> int | None:
        """How many counted measurements make a success; None: measure until failure.

        >>> MeasurementPolicy().effective_count, MeasurementPolicy(interval=5.0).effective_count
        (1, None)
        """
        if self.count is not None:
            return self.count
        return 1 if self.interval is None else None


@dataclass(frozen=True)
class GateVerdict:
    """Where a gate stands after the measurements so far.

    ``next_measurement_at`` is set only while Running. The counters are Argo's:
    ``count`` is successful + failed + inconclusive (errors are retried, not counted).
    """

    phase: Phase
    message: str
    next_measurement_at: float | None
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    errors: int = 0
    consecutive_errors: int = 0


def assess(policy: MeasurementPolicy, measurements: Iterable[Measurement], started_at: float) -> GateVerdict:
    """The verdict on ``measurements`` (oldest first) of an analysis started at ``started_at``.

    >>> flapping = [Measurement(p, None, "", t) for p, t in
    ...             [(Phase.FAILED, 0.0), (Phase.SUCCESSFUL, 1.0), (Phase.FAILED, 2.0)]]
    >>> assess(MeasurementPolicy(interval=1.0, count=5, failure_limit=1), flapping, 0.0).message
    'failed: 2 failed measurements > failureLimit 1 (last: Failed)'
    """
    successful = failed = inconclusive = errors = consecutive = 0
    last: Measurement | None = None
    verdict: GateVerdict | None = None
    for measurement in measurements:
        last = measurement
        if measurement.phase is Phase.PENDING:
            continue
        if measurement.phase is Phase.SUCCESSFUL:
            successful, consecutive = successful + 1, 0
        elif measurement.phase is Phase.FAILED:
            failed, consecutive = failed + 1, 0
        elif measurement.phase is Phase.INCONCLUSIVE:
            inconclusive, consecutive = inconclusive + 1, 0
        elif measurement.phase is Phase.ERROR:
            errors, consecutive = errors + 1, consecutive + 1
        else:
            raise AnalysisError(f"a measurement cannot be {measurement.phase}")
        count = successful + failed + inconclusive
        phase, why = _judge(policy, count, failed, inconclusive, consecutive)
        if phase is not None:
            # Sticky: once final, later measurements (there should be none) change nothing.
            verdict = GateVerdict(
                phase,
                f"{why} (last: {_describe(measurement)})",
                None,
                count,
                successful,
                failed,
                inconclusive,
                errors,
                consecutive,
            )
            break
    if verdict is not None:
        return verdict
    count = successful + failed + inconclusive
    counters = (count, successful, failed, inconclusive, errors, consecutive)
    if last is None:
        return GateVerdict(Phase.RUNNING, "no measurement yet", started_at + policy.initial_delay, *counters)
    wanted = policy.effective_count
    progress = f"{count} of {wanted} measured" if wanted is not None else f"{count} measured"
    if last.phase is Phase.PENDING:
        return GateVerdict(
            Phase.RUNNING, f"{progress}; waiting: {last.message}", last.at + policy.poll_interval, *counters
        )
    if last.phase is Phase.ERROR:
        retry = policy.interval if policy.interval is not None else ERROR_RETRY_INTERVAL
        return GateVerdict(
            Phase.RUNNING, f"{progress}; retrying after error: {last.message}", last.at + retry, *counters
        )
    # A counted measurement short of the count can only happen with an interval (see __post_init__).
    assert policy.interval is not None
    return GateVerdict(Phase.RUNNING, f"{progress} (last: {_describe(last)})", last.at + policy.interval, *counters)


def _judge(
    policy: MeasurementPolicy, count: int, failed: int, inconclusive: int, consecutive: int
) -> tuple[Phase | None, str]:
    if failed > policy.failure_limit:
        return Phase.FAILED, f"failed: {failed} failed measurements > failureLimit {policy.failure_limit}"
    if inconclusive > policy.inconclusive_limit:
        return Phase.INCONCLUSIVE, (
            f"inconclusive: {inconclusive} inconclusive measurements > inconclusiveLimit {policy.inconclusive_limit}"
        )
    if consecutive > policy.consecutive_error_limit:
        return Phase.ERROR, (
            f"error: {consecutive} errors in a row > consecutiveErrorLimit {policy.consecutive_error_limit}"
        )
    wanted = policy.effective_count
    if wanted is not None and count >= wanted:
        return Phase.SUCCESSFUL, f"successful: {count} of {wanted} measurements taken"
    return None, ""


def _describe(measurement: Measurement) -> str:
    return f"{measurement.phase}: {measurement.message}" if measurement.message else str(measurement.phase)


def measure_if_due(
    policy: MeasurementPolicy,
    measure: Callable[[], CheckResult],
    measurements: Sequence[Measurement],
    started_at: float,
    now: float,
    *,
    clock: Callable[[], float] | None = None,
) -> tuple[GateVerdict, tuple[Measurement, ...]]:
    """One pass, for a cron-driven caller: take a measurement if one is due at ``now``.

    Returns the verdict after that pass and the measurements to keep. A Pending
    measurement replaces a Pending one before it, so waiting for a sync does not
    grow the history. ``measure`` is called at most once. The new measurement is
    stamped with ``clock()`` read when it finished (``now`` without a clock), so
    the next one is due an interval after it ended: a measurement that takes as
    long as the interval (a refused connection tried again within the gate's
    timeout) is not taken again at once, burning the error budget in one go.
    """
    kept = tuple(measurements)
    verdict = assess(policy, kept, started_at)
    if verdict.phase.final or verdict.next_measurement_at is None or verdict.next_measurement_at > now:
        return verdict, kept
    result = measure()
    if kept and kept[-1].phase is Phase.PENDING:
        kept = kept[:-1]
    # Redacted once more where measurements are kept (git notes, status output), whatever the gate.
    finished = clock() if clock is not None else now
    kept += (Measurement(result.phase, result.value, redact(result.message), finished),)
    return assess(policy, kept, started_at), kept


def run(
    policy: MeasurementPolicy,
    measure: Callable[[], CheckResult],
    *,
    started_at: float | None = None,
    measurements: Sequence[Measurement] = (),
    deadline: float | None = None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    on_measurement: Callable[[GateVerdict, tuple[Measurement, ...]], None] | None = None,
) -> tuple[GateVerdict, tuple[Measurement, ...]]:
    """Measure at the policy's pace until the verdict is final or ``deadline`` passes.

    ``measurements`` resumes an analysis begun by another process (``started_at``
    is then required to place ``initialDelay``); ``on_measurement`` sees every new
    verdict and the measurements to keep (to persist or display them). Past the
    deadline a still-running analysis ends in Error. ``clock`` and ``sleep`` are
    the caller's (this module reads no clock), so tests run without waiting.
    """
    if measurements and started_at is None:
        raise AnalysisError("resuming an analysis needs the time it started")
    start = clock() if started_at is None else started_at
    kept = tuple(measurements)
    while True:
        before = len(kept), kept[-1:]
        verdict, kept = measure_if_due(policy, measure, kept, start, clock(), clock=clock)
        if (len(kept), kept[-1:]) != before and on_measurement is not None:
            on_measurement(verdict, kept)
        if verdict.phase.final:
            return verdict, kept
        assert verdict.next_measurement_at is not None
        now = clock()  # again: the measurement itself took time
        if deadline is not None and max(now, verdict.next_measurement_at) > deadline:
            sleep(max(0.0, deadline - now))
            return replace(
                verdict, phase=Phase.ERROR, message=f"deadline passed: {verdict.message}", next_measurement_at=None
            ), kept
        if verdict.next_measurement_at > now:
            sleep(verdict.next_measurement_at - now)
