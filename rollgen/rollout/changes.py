"""A transition as the commit that makes it: the files, the message, the record (pure).

:mod:`rollgen.rollout.transitions` decides what comes next; these functions
word it, given the files rendered for it. The record's trailers are the
rollout's state in Git (:mod:`rollgen.gitops.trailers`); their names and
values are a file format, the same as every earlier rollgen wrote.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from rollgen.gitops.change import Change
from rollgen.gitops.trailers import Action, StepRecord
from rollgen.plan.model import Plan
from rollgen.plan.table import format_plan
from rollgen.render.revision import live_revisions
from rollgen.rollout.state import RolloutState, wait_text, walk_back_text
from rollgen.rollout.transitions import Forward, WalkBack


def forward(key: str, root: str, plan: Plan, step: Forward, rollout: str, files: Mapping[str, bytes]) -> Change:
    """The commit putting plan step ``step.step`` live; ``step.reason`` (why it began) goes into the message."""
    index = step.step
    planned = plan.steps[index - 1]
    rolled = live_revisions(files).get(step.to_label)  # absent only while no pod of it runs (recreate's step 1)
    record = StepRecord(
        key,
        rollout,
        index,
        len(plan.steps),
        plan.digest(),
        step.action,
        step.from_label,
        step.to_label,
        wait=wait_text(planned.after),
        config=rolled.config if rolled is not None else "",
    )
    weight = f" {planned.set_weight}%" if planned.set_weight is not None else ""
    subject = f"{key}: step {index}/{len(plan.steps)} {planned.action}{weight} ({step.from_label} -> {step.to_label})"
    body = _table_lines(plan, index) + (f"\n\n{step.reason}" if step.reason else "")
    return Change(root=root, files=files, message=f"{subject}\n\n{body}", record=record)


def mark(root: str, current: RolloutState, action: Action, files: Mapping[str, bytes]) -> Change:
    """A pause or resume commit: the output's files as they are, the step's record with ``action``."""
    subject = (
        f"{current.release}: {action.value} at step {current.step}/{current.steps} "
        f"({current.from_label} -> {current.to_label})"
    )
    return Change(root=root, files=files, message=subject, record=record_of(current, current.step, action))


def complete(root: str, current: RolloutState, files: Mapping[str, bytes]) -> Change:
    """The commit after the last step: files unchanged, action ``complete``."""
    subject = f"{current.release}: complete {current.from_label} -> {current.to_label}"
    return Change(root=root, files=files, message=subject, record=record_of(current, current.steps, Action.COMPLETE))


def walk_back(root: str, current: RolloutState, step: WalkBack, files: Mapping[str, bytes]) -> Change:
    """Abort commit ``step.done`` of ``step.way``: an abort state on the way back."""
    subject = (
        f"{current.release}: abort {step.done}/{step.way} from step {current.step}/{current.steps} "
        f"({current.from_label} -> {current.to_label})"
    )
    record = dataclasses.replace(
        record_of(current, current.step, Action.ABORT), wait=walk_back_text(step.done, step.way), reason=step.reason
    )
    return Change(root=root, files=files, message=_with_reason(subject, step.reason), record=record)


def restore(root: str, current: RolloutState, reason: str, files: Mapping[str, bytes]) -> Change:
    """The last abort commit: ``files`` are the output's as they were before the rollout's first commit."""
    subject = (
        f"{current.release}: abort, {current.from_label} restored "
        f"(rollout {current.from_label} -> {current.to_label} stopped at step {current.step})"
    )
    record = dataclasses.replace(record_of(current, 0, Action.ABORT), reason=reason)
    return Change(root=root, files=files, message=_with_reason(subject, reason), record=record)


def record_of(current: RolloutState, step: int, action: Action) -> StepRecord:
    """The record of a commit of ``current``'s rollout at ``step`` with ``action`` (no wait, no reason)."""
    return StepRecord(
        current.release,
        current.rollout,
        step,
        current.steps,
        current.plan,
        action,
        current.from_label,
        current.to_label,
        config=current.to_config,
    )


def _with_reason(subject: str, reason: str) -> str:
    """An abort commit's message: its subject, and why the rollout is aborted in a sentence."""
    return f"{subject}\n\nAborted because {reason.rstrip('.')}."


def _table_lines(plan: Plan, index: int) -> str:
    """The plan table's header and the row of step ``index``."""
    lines = format_plan(plan).split("\n")
    return f"{lines[2]}\n{lines[3 + index]}"
