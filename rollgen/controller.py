"""The controller: the only loop. Read where a rollout stands from Git, judge, act.

Two halves, kept apart on purpose (Flagger's 350-line tick mixed them):

- **Pure**: :func:`stages_of` lays out what must pass after a step's commit
  before the next one, and :func:`decide` turns the measurements taken so far
  into one :class:`Decision` for ``now``. Table-testable, no clock, no I/O.
- **I/O**: :func:`advance` (one pass, for cron/CI) reads the state from Git,
  takes the measurements :func:`decide` asks for, keeps them in git notes on
  the step's commit and commits the next step or abort state;
  :func:`run` loops :func:`advance` with a live display (``rollgen.progress``).

What must pass after a commit, in order (each stage starts when the one before
ended; the first at the commit's time):

1. **live**: every gate of kind argocd / flux / kubernetes in the spec, with the
   commit's SHA, measured until one success each ("Pending" = not synced yet).
   The release's ``progressDeadline`` (from the commit) bounds this stage only:
   past it a step that is not live aborts.
2. then each of the step's ``after`` waits: ``pause: {duration}`` (over at
   start + duration), ``pause: {}`` (waits for ``rollgen promote``), or
   ``analysis`` (its gates measured in parallel by Argo Rollouts' rules).

Verdicts: Failed or Error aborts, Inconclusive holds for a human (``rollgen
promote`` or ``rollgen abort``), Running waits until its next measurement.

In pull-request mode an Advance opens the next step's pull request instead of
committing it, and every later pass finds that same pull request open until
it is merged; the merge is the approval, so ``pause: {}`` waits for nothing
else. Once merged, the next pass reads the new step from the branch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Final, TextIO

from rollgen import rollout
from rollgen.analysis import (
    AnalysisError,
    Measurement,
    MeasurementPolicy,
    Phase,
    Verdict,
    assess,
    measure_if_due,
)
from rollgen.errors import EXIT_FAILURE, EXIT_OK, RollgenError, UsageError
from rollgen.gates.kind import GateContext
from rollgen.gates.registry import measure
from rollgen.gitops.git import ObjectReader
from rollgen.gitops.remote import fetch, tracking_ref
from rollgen.gitops.repo import Identity, Repo
from rollgen.gitops.snapshot import Snapshot
from rollgen.plan import Step, Workload
from rollgen.progress import Display, summary
from rollgen.rollout import RolloutState
from rollgen.spec.model import Analysis, Canary, Gate, Release
from rollgen.spec.vocabulary import LIVENESS_KINDS, WAVES_RESTARTS_GATE

LIVE: Final = "live"


# --- decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Advance:
    """Every stage passed: commit the next step (or, at the last step, the rollout is complete)."""

    reason: str = "all gates passed"


@dataclass(frozen=True)
class Wait:
    """Nothing to do before ``until`` (None: until a human runs ``rollgen promote``)."""

    reason: str
    until: float | None


@dataclass(frozen=True)
class Abort:
    """A gate failed or errored, or the step missed its progressDeadline."""

    reason: str


@dataclass(frozen=True)
class Hold:
    """A gate was inconclusive: a human decides (``rollgen promote`` or ``rollgen abort``)."""

    reason: str


@dataclass(frozen=True)
class Measure:
    """Measurements are due now: ``gates`` of ``stage``, whose analysis started at ``started_at``."""

    stage: str
    gates: tuple[str, ...]
    started_at: float


Decision = Advance | Wait | Abort | Hold | Measure


# --- stages ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageGate:
    """A gate as one stage measures it."""

    gate: Gate
    policy: MeasurementPolicy


@dataclass(frozen=True)
class Stage:
    """One thing that must pass after a commit: gates measured together, or a pause.

    ``key`` names the stage in stored measurements (``live``, ``1:analysis``,
    ``2:pause``...); ``pause`` is None for gate stages, else the pause in
    seconds, or -1 for a pause that waits for ``rollgen promote``.
    """

    key: str
    gates: tuple[StageGate, ...] = ()
    pause: float | None = None


PROMOTE: Final = -1.0


def liveness_gates(release: Release) -> tuple[Gate, ...]:
    """The spec's gates that tell whether a commit is live: argocd, flux and kubernetes."""
    return tuple(g for g in release.gates if g.kind in LIVENESS_KINDS)


def gate_named(release: Release, name: str) -> Gate:
    """The spec's gate ``name``; the waves restart check is built from ``waves.restartLimit``.

    The restart check borrows the cluster settings (kubeconfig, context) of the
    spec's first kubernetes gate, so it reads the same cluster.
    """
    if name != WAVES_RESTARTS_GATE:
        return release.gate(name)
    strategy = release.strategy
    limit = strategy.waves.restart_limit if isinstance(strategy, Canary) and strategy.waves is not None else 0
    cluster = next((g.config for g in release.gates if g.kind == "kubernetes"), {})
    connection = {k: v for k, v in cluster.items() if k in ("kubeconfig", "context")}
    return Gate(name, "kubernetes", {**connection, "restartLimit": limit})


def stages_of(release: Release, step: Step | None, *, liveness_only: bool = False) -> tuple[Stage, ...]:
    """What must pass after ``step``'s commit, in order (only liveness for abort states)."""
    live = tuple(StageGate(g, _liveness_policy(g)) for g in liveness_gates(release))
    stages = [Stage(LIVE, live)] if live else []
    if step is None or liveness_only:
        return tuple(stages)
    for number, wait in enumerate(step.after, start=1):
        if isinstance(wait, Analysis):
            gates = tuple(gate_named(release, name) for name in wait.gates)
            stages.append(Stage(f"{number}:analysis", tuple(StageGate(g, g.policy) for g in gates)))
        elif wait.seconds is not None:
            stages.append(Stage(f"{number}:pause", pause=wait.seconds))
        elif release.git.mode != "pull-request":  # with pull requests, merging the next step is the approval
            stages.append(Stage(f"{number}:pause", pause=PROMOTE))
    return tuple(stages)


def _liveness_policy(gate: Gate) -> MeasurementPolicy:
    # Liveness is proven by one success: a gate written with an interval and no
    # count would otherwise measure "until it fails" and never let the step be live.
    # While not synced it is re-checked at its own interval, so a 1 s gate reacts in 1 s.
    policy = gate.policy
    return replace(policy, count=policy.count or 1, poll_interval=policy.interval or policy.poll_interval)


# --- the decision ---------------------------------------------------------------------------------

Records = Mapping[str, Sequence[Measurement]]
"""Measurements taken after one commit, by :func:`record_key` (stage and gate)."""


def record_key(stage: str, gate: str) -> str:
    return f"{stage}/{gate}"


@dataclass(frozen=True)
class GateView:
    """One gate's verdict at one stage, for the display and for deciding."""

    stage: str
    gate: str
    verdict: Verdict


@dataclass(frozen=True)
class Judgement:
    """A :class:`Decision` with what it was based on: the verdicts of the current stage's gates."""

    decision: Decision
    gates: tuple[GateView, ...] = ()


def decide(
    stages: Sequence[Stage], records: Records, committed_at: float, now: float, deadline: float | None
) -> Judgement:
    """What to do at ``now`` about a commit made at ``committed_at``, given the measurements so far.

    ``deadline`` is when the commit must be live (commit time + progressDeadline)
    or None. Stages are walked in order; the first one not passed decides.
    """
    start = committed_at
    for stage in stages:
        if stage.pause is not None:
            if stage.pause == PROMOTE:
                return Judgement(Wait("paused until `rollgen promote`", None))
            if now < start + stage.pause:
                return Judgement(Wait(f"paused for {stage.pause:g}s", start + stage.pause))
            start += stage.pause
            continue
        views = tuple(
            GateView(
                stage.key, g.gate.name, assess(g.policy, records.get(record_key(stage.key, g.gate.name), ()), start)
            )
            for g in stage.gates
        )
        judged = _judge_stage(stage, views, start, now, deadline if stage.key == LIVE else None)
        if judged is not None:
            return Judgement(judged, views)
        # Passed: the next stage starts when the last of these gates succeeded.
        start = max((records[record_key(stage.key, v.gate)][-1].at for v in views), default=start)
    return Judgement(Advance())


def _judge_stage(
    stage: Stage, views: Sequence[GateView], start: float, now: float, deadline: float | None
) -> Decision | None:
    """The decision a gate stage makes, or None when every gate passed."""
    for phases, outcome in (((Phase.FAILED, Phase.ERROR), Abort), ((Phase.INCONCLUSIVE,), Hold)):
        bad = [v for v in views if v.verdict.phase in phases]
        if bad:
            return outcome("; ".join(f"gate {v.gate}: {v.verdict.message}" for v in bad))
    running = [v for v in views if v.verdict.phase is Phase.RUNNING]
    if not running:
        return None
    if deadline is not None and now >= deadline:
        waiting = "; ".join(f"{v.gate}: {v.verdict.message}" for v in running)
        return Abort(f"progressDeadline passed before the step was live ({waiting})")
    due = tuple(v.gate for v in running if _next(v) <= now)
    if due:
        return Measure(stage.key, due, start)
    until = min(_next(v) for v in running)
    if deadline is not None:
        until = min(until, deadline)
    return Wait("; ".join(f"{v.gate}: {v.verdict.message}" for v in running), until)


def _next(view: GateView) -> float:
    assert view.verdict.next_measurement_at is not None  # set while Running
    return view.verdict.next_measurement_at


# --- one pass: read Git, measure, persist, act ----------------------------------------------------

NOTES_REF: Final = "refs/notes/rollgen"
NOTES_PUSH_ATTEMPTS: Final = 4
_NOTES_IDENTITY: Final = Identity("rollgen", "rollgen@localhost")


@dataclass(frozen=True)
class Pass:
    """What one :func:`advance` did.

    ``state`` is where the rollout stood when judged (its commit is the one
    the measurements belong to); ``after`` where it stands now (differs when
    the pass committed); ``judgement`` is None when there was nothing to judge
    (the rollout is over, or its spec changed under it).
    """

    state: RolloutState
    after: RolloutState
    judgement: Judgement | None
    committed: bool
    records: Mapping[str, tuple[Measurement, ...]]
    note: str = ""

    @property
    def done(self) -> bool:
        return self.after.phase in ("completed", "aborted")


def advance(
    repo: Repo,
    release: Release,
    *,
    remote: str | None = None,
    now: float | None = None,
    clock: Callable[[], float] = time.time,
) -> Pass:
    """One pass, for cron or CI: judge the current commit's due gates, then commit what follows.

    Measurements are read from and written back to git notes on the judged
    commit (``refs/notes/rollgen``, pushed with the branch's remote), so any
    process -- the next cron run, a restarted ``rollgen run`` -- carries on
    exactly where this one stopped. ``now`` fixes the time of the pass (tests);
    otherwise ``clock`` is read before every measurement.
    """
    at = clock if now is None else _fixed(now)
    state, tip = _read(repo, release, remote)
    if state.phase in ("completed", "aborted"):
        return Pass(state, state, None, False, {})
    if state.plan_changed:
        return Pass(state, state, None, False, {}, note=state.waiting_for())
    aborting = state.phase == "aborting"
    stages = stages_of(release, state.plan_step, liveness_only=aborting)
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
    if aborting and not isinstance(decision, Wait):
        # Every abort state is committed once the one before is live, or proved it cannot
        # be (a failed gate, the deadline): stopping half way back would be worse.
        outcome = rollout.abort(repo, release, remote=remote)
    elif isinstance(decision, Advance):
        outcome = rollout.promote(repo, release, to=state.step + 1, remote=remote)
    elif isinstance(decision, Abort):
        outcome = rollout.abort(repo, release, remote=remote)
    # After the commit: the abort's reaction time does not wait for bookkeeping.
    if measured:
        save_records(repo, state.commit, records, remote)
    if outcome is None:
        return Pass(state, state, judgement, False, records)
    pull = outcome.pull_request
    notes = [f"waiting for pull request #{pull.number} to be merged: {pull.url}"] if pull is not None else []
    note = "; ".join([*notes, *(f"warning: {w}" for w in outcome.warnings)])
    # A promote or abort starts from this rollout, so the branch always has a state afterwards.
    assert outcome.state is not None
    return Pass(state, outcome.state, judgement, outcome.committed, records, note)


def _fixed(now: float) -> Callable[[], float]:
    def clock() -> float:
        return now

    return clock


def _read(repo: Repo, release: Release, remote: str | None) -> tuple[RolloutState, str | None]:
    """The rollout as the branch tip records it (the remote's, fetched, when there is one), and that tip."""
    branch = release.git.branch
    ref = f"refs/heads/{branch}"
    if remote is not None:
        if fetch(repo.git, remote, branch):
            ref = tracking_ref(remote, branch)
        _fetch_notes(repo, remote)
    tip = repo.git.run("rev-parse", "--verify", "-q", f"{ref}^{{commit}}", ok=(0, 1)).text or None
    with ObjectReader(repo.git) as reader:
        state = rollout.read_state(Snapshot(repo.git, reader, tip), release)
    if state is None:
        raise UsageError(f"{rollout.release_key(release)}: no rollout on {branch}; begin one with rollgen start")
    return state, tip


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
            spec.policy, lambda: measure(spec.gate, context), records.get(key, ()), due.started_at, clock()
        )[1]
        return key, kept

    if len(gates) == 1:
        return dict([one(next(iter(gates)))])
    with ThreadPoolExecutor(max_workers=len(gates)) as pool:
        return dict(pool.map(one, gates))


def load_records(repo: Repo, commit: str) -> dict[str, tuple[Measurement, ...]]:
    """The measurements kept in the git note on ``commit`` (none when it has no note)."""
    shown = repo.git.run("notes", f"--ref={NOTES_REF}", "show", commit, ok=(0, 1))
    if shown.returncode != 0:
        return {}
    try:
        data = json.loads(shown.text)
        return {key: tuple(Measurement.from_dict(m) for m in kept) for key, kept in data["measurements"].items()}
    except (ValueError, KeyError, TypeError, AnalysisError) as error:
        raise RollgenError(
            f"the rollgen note on {commit[:12]} is not readable ({error}); remove it with "
            f"git notes --ref={NOTES_REF} remove {commit[:12]}"
        ) from None


def save_records(repo: Repo, commit: str, records: Records, remote: str | None) -> None:
    """Keep ``records`` as the git note on ``commit``, and push the notes ref (as a compare-and-swap)."""
    text = json.dumps(
        {"measurements": {k: [m.to_dict() for m in v] for k, v in sorted(records.items())}}, sort_keys=True
    )
    env = {**_NOTES_IDENTITY.env("AUTHOR"), **_NOTES_IDENTITY.env("COMMITTER")}
    for _ in range(NOTES_PUSH_ATTEMPTS):
        repo.git.run("notes", f"--ref={NOTES_REF}", "add", "-f", "-m", text, commit, env=env)
        if remote is None:
            return
        pushed = repo.git.run("push", "--quiet", remote, f"{NOTES_REF}:{NOTES_REF}", ok=(0, 1))
        if pushed.returncode == 0:
            return
        # Another controller (another release) pushed notes meanwhile: take theirs, add ours again.
        _fetch_notes(repo, remote)
    raise RollgenError(f"could not push {NOTES_REF} to {remote}: it kept moving")


def _fetch_notes(repo: Repo, remote: str) -> None:
    # The remote's notes win: every writer pushes right after writing, so they hold everything.
    repo.git.run(
        "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, f"+{NOTES_REF}:{NOTES_REF}", ok=(0, 1, 128)
    )


# --- the loop -------------------------------------------------------------------------------------

POLL: Final = 2.0
"""How often ``run`` looks at Git while it waits for a human (promote, abort) or a long pause."""


def run(
    repo: Repo,
    release: Release,
    *,
    remote: str | None = None,
    out: TextIO | None = None,
    live: bool | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Loop :func:`advance` until the rollout completes (0) or is aborted (1), showing progress.

    Resumable: all state is in Git and its notes, so a killed ``run`` started
    again carries on where it stopped.
    """
    display = Display(out if out is not None else sys.stdout, live=live)
    began = clock()
    reason = ""
    while True:
        current = advance(repo, release, remote=remote, clock=clock)
        decision = current.judgement.decision if current.judgement is not None else None
        if isinstance(decision, Abort) and current.state.phase != "aborting":
            reason = decision.reason
        display.show(current, clock())
        if current.done:
            display.summary(summary(current.after, clock() - began, reason))
            return EXIT_OK if current.after.phase == "completed" else EXIT_FAILURE
        if current.committed:
            continue  # judge the new commit at once
        until = decision.until if isinstance(decision, Wait) and decision.until is not None else clock() + POLL
        # Sleep in slices of at most a second so a terminal's countdowns tick.
        while (left := until - clock()) > 0:
            sleep(min(left, 1.0) if display.live else left)
            if display.live:
                display.show(current, clock())


# --- command line ---------------------------------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``rollgen advance`` and ``rollgen run``."""
    parser.add_argument("spec", metavar="SPEC", help="release spec file")
    parser.add_argument("--repo", default=".", metavar="PATH", help="the GitOps repository (default .)")


def _opened(args: argparse.Namespace) -> tuple[Repo, Release, str | None]:
    from pathlib import Path

    from rollgen.spec import load_release

    release = load_release(Path(args.spec))
    repo = Repo.open(args.repo)
    return repo, release, rollout.default_remote(repo, release)


def cli_advance(args: argparse.Namespace) -> int:
    """``rollgen advance``: one pass; exit 1 once the rollout is being aborted, else 0."""
    repo, release, remote = _opened(args)
    current = advance(repo, release, remote=remote)
    Display(sys.stdout, live=False).show(current, time.time())
    if current.judgement is None and not current.note:
        print(f"  nothing to do: the rollout is {current.after.phase}")
    return EXIT_FAILURE if current.after.phase in ("aborting", "aborted") else EXIT_OK


def cli_run(args: argparse.Namespace) -> int:
    """``rollgen run``: loop until completed (exit 0) or aborted (exit 1)."""
    repo, release, remote = _opened(args)
    return run(repo, release, remote=remote)
