"""Building gates and step contexts for gate tests."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from rollgen.gates.analysis import MeasurementPolicy
from rollgen.gates.kind import GateContext
from rollgen.gates.metricapi import Clock
from rollgen.spec.model import Gate

COMMIT = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
OLD_COMMIT = "a" * 40
ROOT = str(Path(__file__).resolve().parents[1])  # this checkout: a command gate's relative workingDir starts here


def gate(
    kind: str,
    config: dict[str, Any],
    *,
    success_condition: str | None = None,
    failure_condition: str | None = None,
    **policy: Any,
) -> Gate:
    """A gate as the spec layer builds it (camelCase kind config, durations in seconds)."""
    # Generous: a loaded CI machine may take seconds to import and configure the Kubernetes client.
    policy.setdefault("timeout", 15.0)
    return Gate(
        f"test-{kind}",
        kind,
        MappingProxyType(config),
        MeasurementPolicy(**policy),
        success_condition,
        failure_condition,
    )


def context(**overrides: Any) -> GateContext:
    values: dict[str, Any] = {
        "release": "podinfo",
        "namespace": "prod",
        "version": "6.5.0",
        "stable": "6.4.0",
        "commit": COMMIT,
        "step": 2,
        "deployments": (("podinfo-6-5-0", 1), ("podinfo-6-4-0", 3)),
        "root": ROOT,
    }
    values.update(overrides)
    return GateContext(**values)


class FakeClock:
    """Time for a metric gate's check: a fixed wall clock, and sleeps that are counted, not slept."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.elapsed = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.elapsed += seconds

    @property
    def clock(self) -> Clock:
        return Clock(now=lambda: self.now, monotonic=lambda: self.elapsed, sleep=self.sleep)
