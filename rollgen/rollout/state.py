"""Where a rollout stands, as its newest commit records it: a pure function of the records.

Git history is the only state. :func:`state_of` rebuilds a release's rollout
from the newest commit carrying its trailers (and the pause or resume after
it); :mod:`rollgen.rollout.reading` finds those commits on a branch tip. The
``Rollgen-Wait`` trailer's words are written and read here too.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import re
from dataclasses import dataclass

from rollgen.gitops.trailers import Action, HistoryEntry, StepRecord
from rollgen.plan.model import Plan, Step, Wait
from rollgen.plan.steps import plan_release
from rollgen.spec.model import Analysis, Pause, Release


class RolloutPhase(enum.StrEnum):
    """Where a rollout is, as its newest commit says (the words ``rollgen status`` prints)."""

    PROGRESSING = "progressing"
    """A step is live; its gates (or the commit's liveness) are still to pass."""
    WAITING = "waiting"
    """A step is live and one of its waits is a pause."""
    COMPLETED = "completed"
    ABORTING = "aborting"
    """Part of the way back is committed; the next abort commit follows once it is live."""
    ABORTED = "aborted"
    NONE = "none"
    """No rollout of the release ever began (only ``rollgen status`` says so)."""

    @property
    def in_progress(self) -> bool:
        """A step of the rollout is live and the rollout goes on forward from it."""
        return self in (RolloutPhase.PROGRESSING, RolloutPhase.WAITING)

    @property
    def unfinished(self) -> bool:
        """Going forward or being aborted: another commit of this rollout is to come."""
        return self.in_progress or self is RolloutPhase.ABORTING

    @property
    def over(self) -> bool:
        """Completed or aborted: nothing more happens until a new rollout."""
        return self in (RolloutPhase.COMPLETED, RolloutPhase.ABORTED)


@dataclass(frozen=True, kw_only=True)
class RolloutState:
    """Where one release's rollout stands, as its newest rollgen commit records it.

    ``step`` of ``steps`` is the plan position that commit put live (0 after
    a finished abort; an unfinished abort keeps the step it left).
    ``plan_step`` is that :class:`~rollgen.plan.steps.Step` of the plan rebuilt
    from the spec, None at step 0 or when the spec no longer plans what the
    commit recorded (``plan_changed``). ``since`` is the commit time (Unix
    seconds).
    """

    release: str
    rollout: str
    step: int
    steps: int
    action: Action
    phase: RolloutPhase
    from_label: str
    to_label: str
    plan: str
    commit: str
    since: int
    plan_step: Step | None
    plan_changed: bool = False
    recorded_waits: tuple[Wait, ...] = ()
    walk_back: tuple[int, int] | None = None
    reason: str = ""
    paused_at: int | None = None
    to_config: str = ""
    """The configuration digest of the revision rolled out (empty when the record does not say)."""

    @property
    def paused(self) -> bool:
        """Held by ``rollgen pause``: nothing is measured or committed until ``rollgen resume``."""
        return self.paused_at is not None

    @property
    def promoting_fully(self) -> bool:
        """A ``promote --full`` commit: the rollout goes on as soon as it is live, skipping pauses and analysis."""
        return self.action == Action.PROMOTE and self.phase in (RolloutPhase.PROGRESSING, RolloutPhase.WAITING)

    @property
    def waits(self) -> tuple[Wait, ...]:
        """What must happen after this commit is live before the next one (gates, pauses)."""
        if not self.phase.in_progress or self.plan_changed or self.promoting_fully:
            return ()
        return self.plan_step.after if self.plan_step is not None else self.recorded_waits

    @property
    def running(self) -> str:
        """The version that runs once this state settles (the new one only after completion)."""
        return self.to_label if self.phase is RolloutPhase.COMPLETED else self.from_label

    def waiting_for(self) -> str:
        """What the rollout waits for, in words (empty when nothing)."""
        if self.plan_changed:
            return "the spec's plan changed since this commit: abort, or restore the spec"
        if self.phase is RolloutPhase.ABORTING:
            walked = f"walking back: {self.walk_back[0]} of {self.walk_back[1]} commits; " if self.walk_back else ""
            return f"{walked}the abort's next commit once this one is live (rollgen advance, run or abort)"
        if not self.phase.in_progress:
            return ""
        if self.paused_at is not None:
            return f"rollgen resume (paused at {_iso(self.paused_at)}; nothing is measured or committed meanwhile)"
        parts: list[str] = []
        for wait in self.waits:
            if isinstance(wait, Pause):
                parts.append(
                    "a human (rollgen promote)"
                    if wait.seconds is None
                    else f"pause until {_iso(self.since + wait.seconds)}"
                )
            else:
                parts.append("gates " + ", ".join(wait.gates))
        if not parts:
            parts.append(
                "the commit to be live, then the next step"
                if self.step < self.steps
                else "the commit to be live, then completion"
            )
        return "; ".join(parts)


def release_key(release: Release) -> str:
    """The ``<namespace>/<name>`` the trailers name a release by."""
    return f"{release.namespace}/{release.name}"


def plan_for(release: Release, from_label: str, to_label: str) -> tuple[Release, Plan]:
    """The release with these two versions (an undo swaps them) and its plan."""
    # spec.digest belongs to spec.version: an undo rolling back to another version takes no digest from it.
    digest = release.digest if to_label == release.version else None
    swapped = dataclasses.replace(release, stable=from_label, version=to_label, digest=digest)
    return swapped, plan_release(swapped)


def state_from(last: HistoryEntry | None, step: HistoryEntry | None, release: Release | None) -> RolloutState | None:
    """The state the release's newest record ``last`` says (``step``: the newest step record, when ``last`` holds one).

    A pause or resume commit holds the step before it, and that step's commit
    is what the state names; None when no rollout of the release ever began.
    """
    if last is None:
        return None
    if not last.record.action.marks:
        return state_of(last, release)
    return None if step is None else state_of(step, release, hold=last)


def state_of(entry: HistoryEntry, release: Release | None, hold: HistoryEntry | None = None) -> RolloutState:
    """The state one rollgen commit records; without the spec (``release`` None) no plan step is known.

    ``hold`` is the newest pause or resume commit after ``entry``, if any.
    Without the spec, what the step waits for comes from the commit's
    ``Rollgen-Wait`` trailer.
    """
    record = entry.record
    plan = plan_for(release, record.from_label, record.to_label)[1] if release is not None else None
    same = plan is not None and plan.digest() == record.plan and len(plan.steps) == record.steps
    plan_step = plan.steps[record.step - 1] if plan is not None and same and record.step >= 1 else None
    recorded = waits_of(record.wait) if record.action != Action.ABORT else ()
    phase = _phase(record, plan_step.after if plan_step is not None else () if release is not None else recorded)
    paused = (
        hold is not None
        and hold.record.action == Action.PAUSE
        and hold.record.rollout == record.rollout
        and phase.in_progress
    )
    return RolloutState(
        release=record.release,
        rollout=record.rollout,
        step=record.step,
        steps=record.steps,
        action=record.action,
        phase=phase,
        from_label=record.from_label,
        to_label=record.to_label,
        plan=record.plan,
        commit=entry.sha,
        since=entry.time,
        plan_step=plan_step,
        plan_changed=release is not None and not same,
        recorded_waits=recorded,
        walk_back=_walk_back(record.wait) if record.action == Action.ABORT and record.step else None,
        reason=record.reason,
        paused_at=hold.time if paused and hold is not None else None,
        to_config=record.config,
    )


def wait_text(waits: tuple[Wait, ...]) -> str:
    """What a step waits for, as its commit's ``Rollgen-Wait`` trailer says it (:func:`waits_of` reads it back).

    >>> wait_text((Pause(None), Analysis(("errors", "latency")), Pause(30.0)))
    'pause; gates errors,latency; pause 30'
    >>> waits_of(wait_text((Pause(None), Analysis(("errors", "latency")), Pause(30.0))))
    (Pause(seconds=None), Analysis(gates=('errors', 'latency')), Pause(seconds=30.0))
    """
    return "; ".join(
        ("pause" if wait.seconds is None else f"pause {wait.seconds:g}")
        if isinstance(wait, Pause)
        else "gates " + ",".join(wait.gates)
        for wait in waits
    )


def waits_of(text: str) -> tuple[Wait, ...]:
    """The waits :func:`wait_text` wrote; words it does not know (a newer rollgen's) are skipped."""
    waits: list[Wait] = []
    for part in text.split(";"):
        match part.split():
            case ["pause"]:
                waits.append(Pause(None))
            case ["pause", seconds]:
                try:
                    waits.append(Pause(float(seconds)))
                except ValueError:
                    continue
            case ["gates", names]:
                waits.append(Analysis(tuple(names.split(","))))
    return tuple(waits)


def walk_back_text(done: int, of: int) -> str:
    """The ``Rollgen-Wait`` of an abort commit: it is the ``done``-th of ``of`` commits back.

    >>> _walk_back(walk_back_text(2, 5))
    (2, 5)
    """
    return f"back {done}/{of}"


def _walk_back(text: str) -> tuple[int, int] | None:
    match text.split():
        case ["back", counts] if (found := _COUNTS.fullmatch(counts)) is not None:
            return int(found[1]), int(found[2])
    return None


_COUNTS = re.compile(r"(\d+)/(\d+)")


def _phase(record: StepRecord, waits: tuple[Wait, ...]) -> RolloutPhase:
    if record.action == Action.COMPLETE:
        return RolloutPhase.COMPLETED
    if record.action == Action.ABORT:
        return RolloutPhase.ABORTED if record.step == 0 else RolloutPhase.ABORTING
    if record.action == Action.PROMOTE:
        return RolloutPhase.PROGRESSING  # a full promotion skips the step's pauses
    if any(isinstance(w, Pause) for w in waits):
        return RolloutPhase.WAITING
    return RolloutPhase.PROGRESSING


def _iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
