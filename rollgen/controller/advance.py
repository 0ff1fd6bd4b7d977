"""The controller's pass: read where a rollout stands from Git once, judge, act.

The judging is :mod:`rollgen.controller.decision` (pure); this module is its I/O:
:func:`advance` (one pass, for cron/CI) reads the branch tip once
(:mod:`rollgen.rollout.reading`), takes the measurements the decision asks for,
keeps them in git notes on the step's commit (:mod:`rollgen.gitops.notes`) and
commits the next step or abort state (:mod:`rollgen.rollout.operations`) on the
same reading; ``rollgen run`` loops it (:mod:`rollgen.cli.follow`).

In pull-request mode an Advance opens the next step's pull request instead of
committing it, and every later pass finds that same pull request open until
it is merged; the merge is the approval, so ``pause: {}`` waits for nothing
else. Once merged, the next pass reads the new step from the branch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rollgen.controller.decision import (
    Abort,
    Advance,
    GateStage,
    Judgement,
    Measure,
    Records,
    WaitUntil,
    decide,
    record_key,
    stages_of,
)
from rollgen.errors import NothingToDo, NotSoError
from rollgen.freeze import FREEZE_FILE, parse_freeze
from rollgen.gates.analysis import Measurement, measure_if_due
from rollgen.gates.kind import GateContext
from rollgen.gates.kube import require_client
from rollgen.gates.registry import measure
from rollgen.gitops.notes import fetch_notes, load_records, save_records
from rollgen.gitops.repo import Repo
from rollgen.gitops.snapshot import Snapshot
from rollgen.plan.model import Workload
from rollgen.rollout import operations
from rollgen.rollout.drift import Next
from rollgen.rollout.holds import Holding, held_for, holding
from rollgen.rollout.ownership import refuse_other_owner
from rollgen.rollout.reading import Reading, branch_tip, read
from rollgen.rollout.state import RolloutPhase, RolloutState, release_key
from rollgen.spec.model import Release

# --- one pass: read Git, measure, persist, act ----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Pass:
    """What one :func:`advance` did.

    ``state`` is where the rollout stood when judged (its commit is the one
    the measurements belong to); ``after`` where it stands now (differs when
    the pass committed); ``judgement`` is None when there was nothing to judge
    (the rollout is over, or its spec changed under it). ``measured`` says
    whether this pass took a measurement (a hold is announced only by the pass
    whose measurement made it).
    """

    state: RolloutState
    after: RolloutState
    judgement: Judgement | None
    committed: bool
    records: Mapping[str, tuple[Measurement, ...]]
    note: str = ""
    measured: bool = False
    first: bool = False
    """This pass began the release's first rollout: no rollout was on the branch before it (``state`` is ``after``)."""

    @property
    def before(self) -> RolloutState | None:
        """Where the rollout stood before this pass (None: there was none), for saying what the pass changed."""
        return None if self.first else self.state

    @property
    def done(self) -> bool:
        return self.after.phase.over


def advance(
    repo: Repo,
    release: Release,
    *,
    remote: str | None = None,
    now: float | None = None,
    clock: Callable[[], float] = time.time,
    view: Snapshot | None = None,
) -> Pass:
    """One pass, for cron or CI: judge the current commit's due gates, then commit what follows.

    Measurements are read from and written back to git notes on the judged
    commit (``refs/notes/rollgen``, pushed with the branch's remote), so any
    process -- the next cron run, a restarted ``rollgen run`` -- carries on
    exactly where this one stopped. ``now`` fixes the time of the pass (tests);
    otherwise ``clock`` is read before every measurement. ``view`` is the
    branch tip (and notes) the caller already fetched and read, shared by a
    pass over many releases (:mod:`rollgen.controller.fleet`); without it the tip is
    fetched and read here.
    """
    require_client(release.gates)  # before anything is read or committed
    at = clock if now is None else _fixed(now)
    if view is not None:
        return _pass(repo, release, remote, _read(repo, view, release), at)
    if remote is not None:
        fetch_notes(repo, remote)
    with branch_tip(repo, release.git.branch, remote) as snapshot:
        return _pass(repo, release, remote, _read(repo, snapshot, release), at)


def _pass(repo: Repo, release: Release, remote: str | None, reading: Reading, at: Callable[[], float]) -> Pass:
    """One pass on ``reading``, the tip read once: the operations it calls commit on it unless it moved."""
    found, trigger = reading.state, reading.seen.trigger
    freeze, now = parse_freeze(reading.snapshot.read(FREEZE_FILE)), at()
    held = holding(freeze, release.windows, now)
    if held is not None and trigger.next in (Next.START, Next.SUPERSEDE):
        return _held(release, found, held, trigger.reason)
    if trigger.next is Next.START:
        why = f"Started by rollgen advance: {trigger.reason}."
        started = operations.start(repo, release, remote=remote, reason=why, reading=reading)
        return _acted(found, started, trigger.reason)
    if trigger.next is Next.SUPERSEDE:
        # The newest spec wins: walk back safely first (each abort commit waits for liveness);
        # the pass after the last one rolls the newest revision out from what runs again.
        why = f"Walked back by rollgen advance: {trigger.reason}."
        back = operations.abort(repo, release, remote=remote, reason=why, reading=reading)
        return _acted(found, back, trigger.reason)
    if found is None:
        raise NothingToDo(f"{release_key(release)}: nothing to do: {trigger.reason}")
    state = found
    if state.phase.over:
        note = trigger.reason if trigger.next is Next.BLOCKED else ""
        return Pass(state=state, after=state, judgement=None, committed=False, records={}, note=note)
    if state.plan_changed or state.paused:
        # Paused: nothing is measured or committed until rollgen resume (an abort is never paused).
        note = ("paused: waiting for " if state.paused else "") + state.waiting_for()
        return Pass(state=state, after=state, judgement=None, committed=False, records={}, note=note)
    aborting = state.phase is RolloutPhase.ABORTING
    # Aborts, full promotions and the rollback window (an undo, or the spec reverted to the revision
    # that ran before) wait for each commit to be live, nothing else; the plan's bounds still hold.
    liveness_only = aborting or state.promoting_fully or reading.is_rollback()
    stages = stages_of(release, state.plan_step, liveness_only=liveness_only)
    records = load_records(repo, state.commit)
    # The deadline does not run while a freeze or a window holds the rollout.
    paused = held_for(freeze, release.windows, since=state.since, now=now) if freeze or release.windows else 0.0
    deadline = None if release.progress_deadline is None else state.since + release.progress_deadline + paused
    measured = False
    later = _later_commits(repo, state.commit, reading.tip)
    # Gates resolve the spec's relative paths (a command's workingDir) from here, not the cwd.
    root = repo.git.text("rev-parse", "--show-toplevel") if repo.worktree is not None else None
    live = reading.live_state()
    workloads = live.workloads if live is not None else ()
    while True:
        judgement = decide(stages, records, state.since, at(), deadline)
        if not isinstance(judgement.decision, Measure):
            break
        measured_at = _measure(release, state, later, workloads, stages, judgement.decision, records, at, root)
        records = {**records, **measured_at}
        measured = True
    decision = judgement.decision
    outcome = None
    if aborting and not isinstance(decision, WaitUntil):
        # Every abort state is committed once the one before is live, or proved it cannot
        # be (a failed gate, the deadline): stopping half way back would be worse.
        outcome = operations.abort(repo, release, remote=remote, reading=reading)
    elif isinstance(decision, Advance) and held is not None:
        outcome = None  # the next step waits for the hold to end; the measurements are kept
    elif isinstance(decision, Advance):
        outcome = operations.promote(
            repo, release, to=state.step + 1, full=state.promoting_fully, remote=remote, reading=reading
        )
    elif isinstance(decision, Abort):
        outcome = operations.abort(repo, release, remote=remote, reason=decision.reason, reading=reading)
    # After the commit: the abort's reaction time does not wait for bookkeeping.
    if measured:
        save_records(repo, state.commit, records, remote)
    if outcome is None:
        note = held.line if held is not None and isinstance(decision, Advance) else ""
        return Pass(
            state=state,
            after=state,
            judgement=judgement,
            committed=False,
            records=records,
            note=note,
            measured=measured,
        )
    pull = outcome.pull_request
    notes = [f"waiting for pull request #{pull.number} to be merged: {pull.url}"] if pull is not None else []
    note = "; ".join([*notes, *(f"warning: {w}" for w in outcome.warnings)])
    # A promote or abort starts from this rollout, so the branch always has a state afterwards.
    assert outcome.state is not None
    return Pass(
        state=state,
        after=outcome.state,
        judgement=judgement,
        committed=outcome.committed,
        records=records,
        note=note,
        measured=measured,
    )


def _held(release: Release, found: RolloutState | None, held: Holding, why: str) -> Pass:
    """The pass that would have begun a rollout (or walked one back for a newer spec) while a hold stands."""
    note = f"{held.line}; not begun: {why}"
    if found is None:
        raise NothingToDo(f"{release_key(release)}: {note}")
    return Pass(state=found, after=found, judgement=None, committed=False, records={}, note=note)


def _fixed(now: float) -> Callable[[], float]:
    def clock() -> float:
        return now

    return clock


def _read(repo: Repo, snapshot: Snapshot, release: Release) -> Reading:
    """The release as ``snapshot`` records it, with the spec against it.

    A release whose output holds nothing rollgen wrote is not guessed at: it is adopted first.
    """
    reading = read(repo, release, snapshot)
    if reading.seen.trigger.next is Next.ADOPT:
        # Another release's output is refused as such, not offered for adoption.
        refuse_other_owner(repo.git, snapshot, release_key(release), release.output_path)
        raise NotSoError(
            f"{release_key(release)}: no rollout on {release.git.branch} and {release.output_path} holds no "
            "revision rollgen wrote; adopt what runs first: rollgen adopt SPEC (then every spec change is rolled "
            "out from Git)"
        )
    return reading


def _acted(before: RolloutState | None, outcome: operations.Outcome, why: str) -> Pass:
    """The pass that began a rollout, or began walking one back, because the spec differs from Git."""
    pull = outcome.pull_request
    note = why if pull is None else f"{why}; waiting for pull request #{pull.number} to be merged: {pull.url}"
    after = outcome.state if outcome.state is not None else before
    if after is None:  # a proposed first start: the branch holds no rollout until the merge
        raise NothingToDo(f"{note}")
    return Pass(
        state=before or after,
        after=after,
        judgement=None,
        committed=outcome.committed,
        records={},
        note=note,
        first=before is None and outcome.committed,
    )


# Argo CD and Flux sync the branch tip, which may be past the step's commit: other
# releases' commits in a monorepo, the merge commit of the step's pull request.
# Their sync carries the step too. Bounded: a step waits minutes, not thousands of commits.
_MAX_LATER = 1000


def _later_commits(repo: Repo, commit: str, tip: str | None) -> tuple[str, ...]:
    """The commits between ``commit`` and ``tip`` that descend from ``commit`` (newest first)."""
    if tip is None or tip == commit:
        return ()
    listed = repo.git.run("rev-list", "--ancestry-path", f"--max-count={_MAX_LATER}", f"{commit}..{tip}", ok=(0, 128))
    return tuple(listed.text.split()) if listed.returncode == 0 else ()


def _measure(
    release: Release,
    state: RolloutState,
    later: tuple[str, ...],
    workloads: tuple[Workload, ...],
    stages: Sequence[GateStage],
    due: Measure,
    records: Records,
    clock: Callable[[], float],
    root: str | None,
) -> dict[str, tuple[Measurement, ...]]:
    """Measure the due gates in parallel (a slow gate must not delay the others' verdicts)."""
    stage = next(s for s in stages if s.key == due.stage)
    gates = {g.gate.name: g for g in stage.gates if g.gate.name in due.gates}
    context = GateContext(
        release=release.name,
        namespace=release.namespace,
        version=state.to_label,
        stable=state.from_label,
        commit=state.commit,
        step=state.step,
        deployments=tuple((w.name, w.replicas) for w in workloads),
        later_commits=later,
        root=root,
    )

    def one(name: str) -> tuple[str, tuple[Measurement, ...]]:
        key = record_key(due.stage, name)
        spec = gates[name]
        kept = measure_if_due(
            spec.policy, lambda: measure(spec.gate, context), records.get(key, ()), due.started_at, clock(), clock=clock
        )[1]
        return key, kept

    if len(gates) == 1:
        return dict([one(next(iter(gates)))])
    with ThreadPoolExecutor(max_workers=len(gates)) as pool:
        return dict(pool.map(one, gates))
