"""Spec against Git, purely: what the next pass does for each pairing of desired revision, output and record."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from rollgen.gitops.trailers import Action
from rollgen.render.revision import Revision
from rollgen.rollout.drift import Next, next_action
from rollgen.rollout.state import RolloutPhase, RolloutState

V1 = Revision("1.0.0", "aaaaaaaaaa")
V1_NEW_CONFIG = Revision("1.0.0", "bbbbbbbbbb")
V2 = Revision("1.1.0", "aaaaaaaaaa")
V3 = Revision("1.2.0", "aaaaaaaaaa")


def state(phase: RolloutPhase, to: str = "1.1.0", step: int = 2) -> RolloutState:
    action = {RolloutPhase.COMPLETED: Action.COMPLETE, RolloutPhase.ABORTED: Action.ABORT}.get(phase, Action.ADVANCE)
    return RolloutState(
        release="prod/web",
        rollout="r",
        step=0 if phase is RolloutPhase.ABORTED else step,
        steps=6,
        action=action,
        phase=phase,
        from_label="1.0.0",
        to_label=to,
        plan="p",
        commit="c" * 40,
        since=0,
        plan_step=None,
    )


PROGRESS = state(RolloutPhase.PROGRESSING)
CASES = [
    # (what, desired, output's revisions by label, last record, next, from, to)
    ("nothing written by rollgen: adopt first", V2, {}, None, Next.ADOPT, "", ""),
    ("adopted, spec unchanged", V1, {"1.0.0": V1}, None, Next.NOTHING, "", ""),
    ("adopted, version bumped", V2, {"1.0.0": V1}, None, Next.START, "1.0.0", "1.1.0"),
    (
        "adopted, base changed: config-only label",
        V1_NEW_CONFIG,
        {"1.0.0": V1},
        None,
        Next.START,
        "1.0.0",
        "1.0.0-bbbbbb",
    ),
    (
        "a digest pinned later is a new revision",
        replace(V1, digest="sha256:1"),
        {"1.0.0": V1},
        None,
        Next.START,
        "1.0.0",
        "1.0.0-aaaaaa",
    ),
    ("rolling out what the spec asks", V2, {"1.0.0": V1, "1.1.0": V2}, PROGRESS, Next.CONTINUE, "", ""),
    (
        "newer spec mid-rollout: walk back, then the newest",
        V3,
        {"1.0.0": V1, "1.1.0": V2},
        PROGRESS,
        Next.SUPERSEDE,
        "1.0.0",
        "1.2.0",
    ),
    ("spec reverted mid-rollout: walk back only", V1, {"1.0.0": V1, "1.1.0": V2}, PROGRESS, Next.SUPERSEDE, "", ""),
    (
        "walking back goes on whatever the spec",
        V3,
        {"1.0.0": V1, "1.1.0": V2},
        state(RolloutPhase.ABORTING),
        Next.CONTINUE,
        "",
        "",
    ),
    ("completed, in sync", V2, {"1.1.0": V2}, state(RolloutPhase.COMPLETED), Next.NOTHING, "", ""),
    (
        "completed, spec reverted: a rollout back",
        V1,
        {"1.1.0": V2},
        state(RolloutPhase.COMPLETED),
        Next.START,
        "1.1.0",
        "1.0.0",
    ),
    (
        "aborted, spec unchanged: held, never retried in a loop",
        V2,
        {"1.0.0": V1},
        state(RolloutPhase.ABORTED),
        Next.BLOCKED,
        "",
        "",
    ),
    (
        "aborted, the same configuration recorded: held",
        V2,
        {"1.0.0": V1},
        dataclasses.replace(state(RolloutPhase.ABORTED), to_config=V2.config),
        Next.BLOCKED,
        "",
        "",
    ),
    (
        "aborted, the configuration fixed under the same version: a new rollout",
        V2,
        {"1.0.0": V1},
        dataclasses.replace(state(RolloutPhase.ABORTED), to_config="cccccccccc"),
        Next.START,
        "1.0.0",
        "1.1.0",
    ),
    ("aborted, spec moved on", V3, {"1.0.0": V1}, state(RolloutPhase.ABORTED), Next.START, "1.0.0", "1.2.0"),
    ("aborted, spec reverted", V1, {"1.0.0": V1}, state(RolloutPhase.ABORTED), Next.NOTHING, "", ""),
    ("an output from before revisions: versions compared", V2, {}, state(RolloutPhase.COMPLETED), Next.NOTHING, "", ""),
    ("aborted back to files rollgen did not write: held", V2, {}, state(RolloutPhase.ABORTED), Next.BLOCKED, "", ""),
]


@pytest.mark.parametrize(
    ("what", "desired", "live", "last", "expected", "from_label", "to_label"), CASES, ids=[c[0] for c in CASES]
)
def test_next_action(
    what: str,
    desired: Revision,
    live: dict[str, Revision],
    last: RolloutState | None,
    expected: Next,
    from_label: str,
    to_label: str,
) -> None:
    trigger = next_action(desired, live, last)
    assert (trigger.next, trigger.from_label, trigger.to_label) == (expected, from_label, to_label)
    assert trigger.reason  # status prints it as the next pass's plan
