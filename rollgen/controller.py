"""The controller: the only loop. Read where a rollout stands from Git, judge, act.

The judging is :mod:`rollgen.decision` (pure); this module is its I/O:
:func:`advance` (one pass, for cron/CI) reads the state from Git
(:mod:`rollgen.state`), takes the measurements the decision asks for, keeps
them in git notes on the step's commit (:mod:`rollgen.gitops.notes`) and
commits the next step or abort state (:mod:`rollgen.rollout`);
:func:`follow` loops :func:`advance` with a live display (:mod:`rollgen.progress`).

In pull-request mode an Advance opens the next step's pull request instead of
committing it, and every later pass finds that same pull request open until
it is merged; the merge is the approval, so ``pause: {}`` waits for nothing
else. Once merged, the next pass reads the new step from the branch.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, TextIO

from rollgen import rollout
from rollgen.analysis import Measurement, measure_if_due
from rollgen.decision import (
    Abort,
    Advance,
    Judgement,
    Measure,
    Records,
    Stage,
    WaitUntil,
    decide,
    record_key,
    stages_of,
)
from rollgen.drift import Next
from rollgen.errors import EXIT_FAILURE, EXIT_OK, NothingToDo, NotSoError
from rollgen.gates.kind import GateContext
from rollgen.gates.kube import require_client
from rollgen.gates.registry import measure
from rollgen.gitops.errors import RemoteUnavailableError
from rollgen.gitops.notes import fetch_notes, load_records, save_records
from rollgen.gitops.repo import Repo
from rollgen.gitops.snapshot import Snapshot
from rollgen.ownership import refuse_other_owner
from rollgen.plan import Workload
from rollgen.progress import Display, summary
from rollgen.spec.model import Release
from rollgen.state import RolloutPhase, RolloutState, branch_tip, read_state, release_key

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
    pass over many releases (:mod:`rollgen.fleet`); without it the tip is
    fetched and read here.
    """
    require_client(release.gates)  # before anything is read or committed
    at = clock if now is None else _fixed(now)
    found, tip, seen = _read(repo, release, remote) if view is None else _seen(repo, view, release)
    trigger = seen.trigger
    if trigger.next is Next.START:
        started = rollout.start(repo, release, remote=remote, reason=f"Started by rollgen advance: {trigger.reason}.")
        return _acted(found, started, trigger.reason)
    if trigger.next is Next.SUPERSEDE:
        # The newest spec wins: walk back safely first (each abort commit waits for liveness);
        # the pass after the last one rolls the newest revision out from what runs again.
        back = rollout.abort(repo, release, remote=remote, reason=f"Walked back by rollgen advance: {trigger.reason}.")
        return _acted(found, back, trigger.reason)
    if found is None:
        raise NothingToDo(f"{release_key(release)}: nothing to do: {trigger.reason}")
    state = found
    if state.phase.over:
        note = trigger.reason if trigger.next is Next.HELD else ""
        return Pass(state=state, after=state, judgement=None, committed=False, records={}, note=note)
    if state.plan_changed or state.paused:
        # Paused: nothing is measured or committed until rollgen resume (an abort is never paused).
        note = ("paused: waiting for " if state.paused else "") + state.waiting_for()
        return Pass(state=state, after=state, judgement=None, committed=False, records={}, note=note)
    aborting = state.phase is RolloutPhase.ABORTING
    # Aborts, full promotions and the rollback window (an undo, or the spec reverted to the revision
    # that ran before) wait for each commit to be live, nothing else; the plan's bounds still hold.
    liveness_only = aborting or state.promoting_fully or rollout.is_rollback(repo, release, state)
    stages = stages_of(release, state.plan_step, liveness_only=liveness_only)
    records = load_records(repo, state.commit)
    deadline = None if release.progress_deadline is None else state.since + release.progress_deadline
    measured = False
    later = _later_commits(repo, state.commit, tip)
    # Gates resolve the spec's relative paths (a command's workingDir) from here, not the cwd.
    root = repo.git.text("rev-parse", "--show-toplevel") if repo.worktree is not None else None
    live = rollout.live_state(repo, release, state)
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
        outcome = rollout.abort(repo, release, remote=remote)
    elif isinstance(decision, Advance):
        outcome = rollout.promote(repo, release, to=state.step + 1, full=state.promoting_fully, remote=remote)
    elif isinstance(decision, Abort):
        outcome = rollout.abort(repo, release, remote=remote, reason=decision.reason)
    # After the commit: the abort's reaction time does not wait for bookkeeping.
    if measured:
        save_records(repo, state.commit, records, remote)
    if outcome is None:
        return Pass(state=state, after=state, judgement=judgement, committed=False, records=records, measured=measured)
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


def _fixed(now: float) -> Callable[[], float]:
    def clock() -> float:
        return now

    return clock


def _read(repo: Repo, release: Release, remote: str | None) -> tuple[RolloutState | None, str | None, rollout.Look]:
    """The rollout as the branch tip records it (the remote's, fetched, when there is one), that tip, the spec against it.

    A release whose output holds nothing rollgen wrote is not guessed at: it is adopted first.
    """
    branch = release.git.branch
    if remote is not None:
        fetch_notes(repo, remote)
    with branch_tip(repo, branch, remote) as snapshot:
        return _seen(repo, snapshot, release)


def _seen(repo: Repo, snapshot: Snapshot, release: Release) -> tuple[RolloutState | None, str | None, rollout.Look]:
    """The rollout as ``snapshot`` records it, its tip, and the spec against it.

    A release whose output holds nothing rollgen wrote is not guessed at: it is adopted first.
    """
    state = read_state(snapshot, release)
    seen = rollout.look(repo, release, snapshot, state)
    if seen.trigger.next is Next.ADOPT:
        # Another release's output is refused as such, not offered for adoption.
        refuse_other_owner(repo.git, snapshot, release_key(release), release.output_path)
        raise NotSoError(
            f"{release_key(release)}: no rollout on {release.git.branch} and {release.output_path} holds no "
            "revision rollgen wrote; adopt what runs first: rollgen adopt SPEC (then every spec change is rolled "
            "out from Git)"
        )
    return state, snapshot.tip, seen


def _acted(before: RolloutState | None, outcome: rollout.Outcome, why: str) -> Pass:
    """The pass that began a rollout, or began walking one back, because the spec differs from Git."""
    pull = outcome.pull_request
    note = why if pull is None else f"{why}; waiting for pull request #{pull.number} to be merged: {pull.url}"
    after = outcome.state if outcome.state is not None else before
    if after is None:  # a proposed first start: the branch holds no rollout until the merge
        raise NothingToDo(f"{note}")
    return Pass(state=before or after, after=after, judgement=None, committed=outcome.committed, records={}, note=note)


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
    stages: Sequence[Stage],
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
        version=state.to_version,
        stable=state.from_version,
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


# --- the loop -------------------------------------------------------------------------------------

OUTAGE_PATIENCE: Final = 300.0
"""How long ``run`` keeps trying while the remote cannot be reached before it gives up with the error."""
_BACKOFF: Final = (1.0, 30.0)
"""First and longest wait between two tries while the remote cannot be reached (doubling in between)."""


def _through_outages(
    attempt: Callable[[], Pass], clock: Callable[[], float], sleep: Callable[[float], None], patience: float
) -> Pass:
    """``attempt()``, tried again with a doubling backoff while the remote cannot be reached, for ``patience`` seconds.

    A pass that failed half way is safe to repeat: every commit it makes is a
    compare-and-swap the next pass reads back (see :mod:`rollgen.rollout`).
    """
    began, wait = clock(), _BACKOFF[0]
    while True:
        try:
            return attempt()
        except RemoteUnavailableError as error:
            waited = clock() - began
            if waited + wait > patience:
                raise RemoteUnavailableError(
                    error.argv,
                    error.returncode,
                    f"{error.stderr.strip()}\n(the remote stayed unreachable for {waited:.0f} s; the rollout is where "
                    "it was: run again once the remote is back)",
                ) from None
            sleep(wait)
            wait = min(wait * 2, _BACKOFF[1])


POLL: Final = 2.0
"""How often ``run`` looks at Git while it waits for a human (promote, abort) or a long pause."""


def follow(
    repo: Repo,
    release: Release,
    *,
    remote: str | None = None,
    out: TextIO | None = None,
    live: bool | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    patience: float = OUTAGE_PATIENCE,
) -> int:
    """Loop :func:`advance` until the rollout completes (0) or is aborted (1), showing progress.

    A rollout the spec superseded is walked back, then the newest revision is
    rolled out in the same run: the run ends once Git runs what the spec asks
    for (0), or the rollout of it was aborted (1).

    Resumable: all state is in Git and its notes, so a killed ``run`` started
    again carries on where it stopped. An unreachable remote is waited out
    (for up to ``patience`` seconds, see :func:`_through_outages`), then ends
    the loop with its error (exit 2), never as an abort.
    """
    display = Display(out if out is not None else sys.stdout, live=live)
    began = clock()
    reason = ""
    while True:
        current = _through_outages(lambda: advance(repo, release, remote=remote, clock=clock), clock, sleep, patience)
        decision = current.judgement.decision if current.judgement is not None else None
        if isinstance(decision, Abort) and current.state.phase is not RolloutPhase.ABORTING:
            reason = decision.reason
        display.show(current, clock())
        if current.done and current.committed:
            continue  # the spec may ask for more once this is over (a newer revision after a walk back)
        if current.done:
            display.summary(summary(current.after, clock() - began, reason or current.after.reason))
            return EXIT_OK if current.after.phase is RolloutPhase.COMPLETED else EXIT_FAILURE
        if current.committed:
            continue  # judge the new commit at once
        until = decision.until if isinstance(decision, WaitUntil) and decision.until is not None else clock() + POLL
        # Sleep in slices of at most a second so a terminal's countdowns tick.
        while (left := until - clock()) > 0:
            sleep(min(left, 1.0) if display.live else left)
            if display.live:
                display.show(current, clock())
