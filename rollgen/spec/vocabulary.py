"""The fixed words of a release spec, shared by validation and the typed model.

Kept apart from the model so validation reads them without building the
model's classes (``rollgen validate`` must start fast). The gate kinds are the
table (:data:`rollgen.gates.facts.FACTS`, cheap to import).
"""

from __future__ import annotations

from typing import Literal

from rollgen.gates.facts import FACTS

GATE_KINDS = tuple(FACTS)
# The kinds that tell whether a commit is live; the controller judges them after every commit.
LIVENESS_KINDS = tuple(kind for kind, facts in FACTS.items() if facts.liveness)
# The gate judged after every wave of the ``waves`` shorthand. Specs do not declare
# it: the controller builds it from ``waves.restartLimit`` as a kubernetes gate.
WAVES_RESTARTS_GATE = "waves-restarts"
# What a webhook can be told about (spec.notifications[].events; sent by rollgen.controller.notify).
EventKind = Literal[
    "started", "step", "gate-failed", "paused", "resumed", "aborted", "completed", "promoted", "detected"
]
EVENT_KINDS: tuple[EventKind, ...] = (
    "started",
    "step",
    "gate-failed",
    "paused",
    "resumed",
    "aborted",
    "completed",
    "promoted",
    "detected",
)

DEFAULT_BRANCH = "main"
"""The branch a release's steps are committed to when its spec names none (``git.branch``)."""
