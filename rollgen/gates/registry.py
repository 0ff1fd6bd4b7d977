"""Every gate kind's implementation, by name; and how a gate is measured once.

What each kind is (liveness, conditions, whether it reads the cluster) is
:mod:`rollgen.gates.facts`, which the spec checks read without this module.
The implementation of a kind (``rollgen.gates.<kind>``) is imported the first
time it is used, and each imports its heavy clients inside ``check``.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Final, Protocol

from rollgen.errors import RollgenError
from rollgen.gates.analysis import CheckResult, MeasurementPolicy, Phase
from rollgen.gates.facts import FACTS
from rollgen.gates.kind import GateContext, GateError, GateKind


class _Implementations(Mapping[str, GateKind]):
    """The kinds' implementations by name, each imported on first use."""

    def __getitem__(self, name: str) -> GateKind:
        facts = FACTS[name]
        kind: GateKind = importlib.import_module(facts.module).KIND
        return kind

    def __iter__(self) -> Iterator[str]:
        return iter(FACTS)

    def __len__(self) -> int:
        return len(FACTS)


KINDS: Final[Mapping[str, GateKind]] = _Implementations()

# How long past its own timeout a check may run before it is abandoned. Every kind
# bounds its own I/O by the timeout; this is the backstop that keeps a bug in one
# from hanging a rollout. Generous, because the first import of the Kubernetes
# client (not bounded by the timeout) can take seconds on a cold disk cache.
GRACE: Final = 10.0


class GateSpec(Protocol):
    """A gate as the release spec declares it (``rollgen.spec.model.Gate`` meets this)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def config(self) -> Mapping[str, Any]: ...
    @property
    def policy(self) -> MeasurementPolicy: ...
    @property
    def success_condition(self) -> str | None: ...
    @property
    def failure_condition(self) -> str | None: ...


def kind_of(name: str) -> GateKind:
    """The kind called ``name``; a GateError naming the known kinds otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise GateError(f"unknown gate kind {name!r}; known kinds: {', '.join(sorted(KINDS))}") from None


def config_of(gate: GateSpec) -> dict[str, Any]:
    """What ``check`` gets: the kind's defaults, the gate's settings, its timeout and conditions."""
    kind = kind_of(gate.kind)
    config: dict[str, Any] = {**kind.defaults, **gate.config, "timeout": gate.policy.timeout}
    conditions = {"successCondition": gate.success_condition, "failureCondition": gate.failure_condition}
    set_conditions = {key: value for key, value in conditions.items() if value is not None}
    if set_conditions and not kind.conditions:
        raise GateError(f"gate {gate.name!r}: a {gate.kind} gate takes no successCondition/failureCondition")
    config.update(set_conditions)
    return config


def measure(gate: GateSpec, context: GateContext) -> CheckResult:
    """Check ``gate`` once for the step in ``context``: never raises, never hangs.

    Whatever goes wrong (an unreachable server, a bad template, a bug) comes back
    as an Error result with a message naming the gate.
    """
    outcome: list[CheckResult] = []

    def check() -> None:
        try:
            outcome.append(kind_of(gate.kind).check(config_of(gate), context))
        except RollgenError as error:
            outcome.append(CheckResult(Phase.ERROR, None, str(error)))
        except Exception as error:
            outcome.append(CheckResult(Phase.ERROR, None, f"unexpected {type(error).__name__}: {error}"))

    # A daemon thread, so a check stuck in a C call cannot keep the process alive either.
    worker = threading.Thread(target=check, name=f"gate-{gate.name}", daemon=True)
    worker.start()
    worker.join(gate.policy.timeout + GRACE)
    if not outcome:
        return CheckResult(Phase.ERROR, None, f"gate {gate.name}: check did not finish within {gate.policy.timeout:g}s")
    result = outcome[0]
    return CheckResult(result.phase, result.value, f"{gate.name}: {result.message}" if result.message else gate.name)
