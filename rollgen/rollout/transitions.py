"""The rules of a rollout: where it stands and what is asked give the next commit, or a refusal.

Pure: every function takes values read once from the branch (the state, the
spec against Git, how far an abort got) and returns a :data:`Transition`,
None when what is asked is on the branch already (a rerun, a racing process),
or raises the refusal a user reads. :mod:`rollgen.rollout.operations` reads,
renders and commits what these decide; :mod:`rollgen.rollout.changes` words
the commit.

One rollout, as its commits record it (``step``/``action``)::

    1/n start   2/n advance ... n/n advance   n/n complete            (done)
                       \\-> i/n abort ... i/n abort   0/n abort          (aborted)

>>> from rollgen.gitops.trailers import Action
>>> state = RolloutState(release="prod/web", rollout="r1", step=2, steps=3, action=Action.ADVANCE,
...     phase=RolloutPhase.PROGRESSING, from_label="1.0", to_label="2.0", plan="p", commit="c", since=0,
...     plan_step=None)
>>> promote(state, "prod/web", full=False, wanted=None)
Forward(from_label='1.0', to_label='2.0', step=3, action=<Action.ADVANCE: 'advance'>, rollout='r1', revisions={}, reason='')
>>> promote(state, "prod/web", full=False, wanted=2) is None  # the step asked for is there
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rollgen.errors import NothingToDo, NotSoError, UsageError
from rollgen.gitops.trailers import Action, one_line
from rollgen.plan.model import Plan, State
from rollgen.plan.steps import abort_states
from rollgen.render.revision import Revision, revision_label
from rollgen.rollout.drift import Next, Trigger
from rollgen.rollout.state import RolloutPhase, RolloutState, plan_for
from rollgen.spec.model import Release


@dataclass(frozen=True, kw_only=True)
class Forward:
    """Put plan step ``step`` of the rollout ``from_label -> to_label`` live.

    ``rollout`` is None for a new rollout (its id comes from the tip it
    begins on); ``revisions`` names the new revision by label; ``reason``
    (why it began) goes into the commit message.
    """

    from_label: str
    to_label: str
    step: int
    action: Action
    rollout: str | None = None
    revisions: Mapping[str, Revision] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class Complete:
    """The commit after the last step: files unchanged, action ``complete``."""


@dataclass(frozen=True, kw_only=True)
class Mark:
    """A ``pause`` or ``resume`` commit: files unchanged, the step's record with ``action``."""

    action: Action


@dataclass(frozen=True, kw_only=True)
class WalkBack:
    """Abort commit ``done`` of ``way``: abort state ``state`` on the way back."""

    state: State
    done: int
    way: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class Restore:
    """The last abort commit: the output's files as they were before the rollout."""

    reason: str


Transition = Forward | Complete | Mark | WalkBack | Restore


@dataclass(frozen=True, kw_only=True)
class Seen:
    """What the branch runs against what the spec asks for (:func:`rollgen.rollout.drift.next_action`)."""

    live: Mapping[str, Revision]
    desired: Revision
    trigger: Trigger

    def desired_label(self, other: Revision | None) -> str:
        """The spec's revision's label, rolled out against ``other``."""
        return revision_label(self.desired, other)


def begin(
    release: Release, key: str, state: RolloutState | None, seen: Seen, action: Action, reason: str
) -> Forward | None:
    """Step 1 of a new rollout towards the spec's revision: ``start``, or ``retry`` after an abort.

    What runs is read from Git; a spec's ``stable``, when given, must name it.
    Refuses while a rollout of the release is in progress (a rerun of this
    same start is None). :func:`as_undo` then turns a start back to the
    revision the last rollout replaced into an ``undo``.
    """
    trigger = seen.trigger
    if state is not None and state.phase.unfinished:
        if trigger.next is Next.CONTINUE and state.step == 1 and state.action in (action, Action.UNDO):
            return None  # this start already landed (a rerun, or a racing process)
        raise NotSoError(
            f"{state.release}: rollout {state.rollout} ({state.from_label} -> "
            f"{state.to_label}) is in progress at step {state.step}/{state.steps}; "
            "promote or abort it first"
        )
    if action is Action.RETRY and (state is None or state.phase is not RolloutPhase.ABORTED):
        raise NotSoError(f"{key}: nothing to retry: " + describe(state, "no aborted rollout"))
    if trigger.next is Next.ADOPT:
        if release.stable is None:
            raise UsageError(
                f"{key}: {release.output_path} holds no revision rollgen wrote and no rollout is recorded; "
                f"run rollgen adopt first, so that what runs is committed before anything changes"
            )
        # A human named the stable of an output rollgen never wrote: it is built from the base now.
        return _first_step(release.stable, seen.desired_label(None), action, seen, reason)
    if trigger.next is Next.NOTHING:
        raise NothingToDo(f"{key}: nothing to roll out: {trigger.reason}")
    from_label = trigger.from_label or (state.running if state is not None else "")
    if release.stable is not None and release.stable != from_label:
        running = seen.live.get(from_label)
        if running is None or running.version != release.stable:
            raise UsageError(
                f"{key}: the spec's stable is {release.stable} but Git says {from_label} runs; "
                f"set stable: {from_label!r}, or leave stable out (it is read from Git)"
            )
    to_label = trigger.to_label or seen.desired_label(seen.live.get(from_label))
    return _first_step(from_label, to_label, action, seen, reason)


def may_undo(state: RolloutState | None, step: Forward) -> bool:
    """Whether ``step`` might go back to what ran before ``state``'s rollout (then its files are read)."""
    return state is not None and state.phase is RolloutPhase.COMPLETED and step.action is Action.START


def as_undo(step: Forward, state: RolloutState, replaced: Mapping[str, Revision], desired: Revision) -> Forward:
    """A start back to the revision ``state``'s rollout replaced, as an ``undo``: that revision as it was frozen.

    ``replaced`` holds the revisions the output ran before that rollout.
    """
    back = next((name for name, revision in replaced.items() if revision == desired), None)
    if back is None or back != state.from_label:
        return step
    return Forward(
        from_label=step.from_label,
        to_label=back,
        step=1,
        action=Action.UNDO,
        revisions={back: desired},
        reason=step.reason,
    )


def refuse_same_label(key: str, step: Forward) -> Forward:
    """``step``, unless it would run the new revision under the label that runs now."""
    if step.to_label == step.from_label:
        raise UsageError(
            f"{key}: the spec's revision would run under the label {step.to_label} that runs now; "
            "change the version or the configuration"
        )
    return step


def promote(state: RolloutState | None, key: str, *, full: bool, wanted: int | None) -> Forward | Complete | None:
    """The rollout's next step; after the last one, the ``complete`` commit.

    ``wanted`` is the step the caller means to commit (None: the one after
    the step live): when the branch already holds it, nothing is to be done,
    so callers racing for the same step converge (``steps + 1`` asks for the
    complete commit). ``full`` is Argo Rollouts' ``promote --full``: the
    step is committed with action ``promote`` and waits only to be live.
    """
    if state is not None and state.phase is RolloutPhase.COMPLETED and wanted == state.steps + 1:
        return None  # the complete commit asked for is there
    current = in_progress(state, key, "promote")
    if current.phase is RolloutPhase.ABORTING:
        raise NotSoError(f"{current.release}: rollout {current.rollout} is being aborted; run abort to finish it")
    target = current.step + 1 if wanted is None else wanted
    if current.step >= target:
        return None  # already there
    if current.step != target - 1:
        raise NotSoError(
            f"{current.release}: cannot promote to step {target}: the rollout is at {current.step}/{current.steps}"
        )
    if current.step == current.steps:
        return Complete()
    # A full promotion, once begun, goes on as one (its steps carry no waits).
    action = Action.PROMOTE if full or current.action == Action.PROMOTE else Action.ADVANCE
    return Forward(
        from_label=current.from_label, to_label=current.to_label, step=target, action=action, rollout=current.rollout
    )


def abort(
    release: Release,
    state: RolloutState | None,
    key: str,
    *,
    done: int,
    immediate: bool,
    wanted: int | None,
    reason: str,
) -> WalkBack | Restore | None:
    """The next commit back towards before the rollout (``immediate``: straight to it).

    ``done`` abort commits are on the branch already; ``wanted`` is the abort
    commit the caller aims at (None: the next one). The first abort commit
    records ``reason`` and every later one carries it on.
    """
    current = in_progress(state, key, "abort")
    if current.plan_changed and not immediate:
        raise UsageError(
            f"{current.release}: the spec's plan changed since the rollout began; "
            "abort --now restores the pre-rollout files without it"
        )
    path = abort_way(release, current)
    way = 1 if immediate else len(path)
    target = done + 1 if wanted is None else wanted
    if done >= target:
        return None
    why = current.reason if done else one_line(reason or "a human asked for it (rollgen abort)")
    if done + 1 >= way:
        return Restore(reason=why)
    return WalkBack(state=path[done], done=done + 1, way=way, reason=why)


def pause(state: RolloutState | None, key: str) -> Mark | None:
    """Hold the rollout where it is; an abort is never held (stopping half way back is worse than either end)."""
    current = in_progress(state, key, "pause")
    if current.phase is RolloutPhase.ABORTING:
        raise NotSoError(
            f"{current.release}: rollout {current.rollout} is being aborted; an abort is not held "
            "(it walks back to the pre-rollout files)"
        )
    return None if current.paused else Mark(action=Action.PAUSE)


def resume(state: RolloutState | None, key: str, last: Action | None) -> Mark | None:
    """Let a paused rollout go on; ``last`` is the action of the release's newest commit."""
    current = in_progress(state, key, "resume")
    if current.paused:
        return Mark(action=Action.RESUME)
    if last == Action.RESUME:
        return None  # this resume already landed
    raise NotSoError(f"{current.release}: rollout {current.rollout} is not paused; nothing to resume")


def undo(state: RolloutState | None, key: str) -> Forward | None:
    """Take a completed release back to its previous revision: a new rollout with the labels swapped."""
    if state is not None and state.action == Action.UNDO and state.step == 1:
        return None  # this one already landed
    if state is None or state.phase is not RolloutPhase.COMPLETED:
        raise NotSoError(f"{key}: nothing to undo: " + describe(state, "no completed rollout"))
    return Forward(from_label=state.to_label, to_label=state.from_label, step=1, action=Action.UNDO)


def in_progress(state: RolloutState | None, key: str, verb: str) -> RolloutState:
    """``state``, when a rollout is under way for ``verb`` to act on; else the refusal."""
    if state is None or not state.phase.unfinished:
        # Aborting what is not going on is done already; promoting it is asking for what is not so.
        error = NothingToDo if verb == "abort" else NotSoError
        raise error(f"{key}: nothing to {verb}: " + describe(state, "no rollout has begun"))
    if state.plan_changed and verb != "abort":
        raise UsageError(
            f"{key}: the spec no longer plans rollout {state.rollout} "
            f"({state.from_label} -> {state.to_label}, plan {state.plan}); "
            "restore the spec, or abort --now"
        )
    return state


def abort_way(release: Release, state: RolloutState) -> tuple[State, ...]:
    """The states an abort of ``state``'s rollout walks through, one commit each."""
    return abort_states(plan_for(release, state.from_label, state.to_label)[1], state.step)


def live_state(release: Release, state: RolloutState, done: int) -> State | None:
    """The State the newest commit of ``state`` put live: its plan step's, or the abort state on the way back.

    ``done`` is how many abort commits are on the branch. None when the spec
    no longer plans the rollout, or after a finished abort (the output then
    holds the pre-rollout files, which no plan state names).
    """
    if state.plan_changed or state.phase is RolloutPhase.ABORTED:
        return None
    if state.phase is not RolloutPhase.ABORTING:
        return state.plan_step.state if state.plan_step is not None else None
    way = abort_way(release, state)
    return way[done - 1] if 1 <= done <= len(way) else None


def is_rollback(state: RolloutState, first: Action | None) -> bool:
    """Whether ``state``'s rollout goes back to the revision that ran before (an ``undo``): the rollback window.

    ``first`` is the action of the rollout's first commit (None: not read, as
    it is not needed when the newest commit tells).
    """
    if state.action == Action.UNDO:
        return True
    if state.action == Action.START or not state.phase.in_progress:
        return False
    return first == Action.UNDO


def needs_first(state: RolloutState) -> bool:
    """Whether :func:`is_rollback` needs the action of the rollout's first commit."""
    return state.action not in (Action.UNDO, Action.START) and state.phase.in_progress


def planned(release: Release, key: str, state: RolloutState | None, seen: Seen) -> tuple[Release, Plan]:
    """The rollout Git says comes next, for a spec that names no stable: the one under way, else the one to start.

    NothingToDo when what runs is what the spec asks; UsageError when rollgen
    has not adopted the output yet.
    """
    if state is not None and state.phase.unfinished:
        return plan_for(release, state.from_label, state.to_label)
    trigger = seen.trigger
    if trigger.next is Next.ADOPT:
        raise UsageError(
            f"{key}: the spec names no stable and {release.output_path} on {release.git.branch} holds no revision "
            "rollgen wrote; adopt what runs first (rollgen adopt SPEC), or name stable in the spec"
        )
    if trigger.next is not Next.START:
        raise NothingToDo(f"{key}: nothing to plan: {trigger.reason}")
    to_label = trigger.to_label or seen.desired_label(seen.live.get(trigger.from_label))
    return plan_for(release, trigger.from_label, to_label)


def describe(state: RolloutState | None, none: str) -> str:
    """The last rollout in words, for a refusal (``none`` when there is none)."""
    if state is None:
        return none
    return (
        f"the last rollout {state.rollout} ({state.from_label} -> {state.to_label}) is "
        f"{state.phase} at step {state.step}/{state.steps}"
    )


def _first_step(from_label: str, to_label: str, action: Action, seen: Seen, reason: str) -> Forward:
    return Forward(
        from_label=from_label,
        to_label=to_label,
        step=1,
        action=action,
        revisions={to_label: seen.desired},
        reason=reason,
    )
