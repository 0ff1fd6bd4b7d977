"""Rollout operations: start, promote, abort, retry, undo.

Git history is the only state. :func:`rollgen.rollout.state.read_state` rebuilds a release's
rollout from its newest commit carrying the release's trailers; every
operation is one :func:`~rollgen.gitops.repo.commit_change` whose ``decide``
reads that state again on the tip it is handed. So a rerun after a crash, or
a second process doing the same thing at the same moment, sees the step
already committed and commits nothing: each step lands exactly once.

One rollout, as its commits record it (``step``/``action``)::

    1/n start   2/n advance ... n/n advance   n/n complete            (done)
                       \\-> i/n abort ... i/n abort   0/n abort          (aborted)

An abort walks :func:`rollgen.plan.steps.abort_states` one commit per call (the
controller calls again once the previous commit is live); its commits keep
the step it left (``i/n``) until the last one, ``0/n``, which writes the
output directory's files byte-identical to the commit before the rollout's
first commit. ``retry`` starts the aborted versions again as a new rollout;
``undo`` rolls a completed release back, as a rollout planned with the two
versions swapped. Any commit's plan is rebuilt from the spec with the
record's two versions, and the record's digest proves it is the same plan.

Pull-request mode (``git.mode: pull-request``): a forward operation (start,
promote, retry, undo) does not commit to the branch. It pushes the step's
commit to its own branch and opens a pull request
(:func:`rollgen.rollout.proposal.propose`); merging it is the approval, after
which the branch history holds the step commit and its trailers like any
other. A rerun while the pull request is open finds it and commits nothing.
Aborts, and commits that change no file (``complete``), go straight to the
branch: an emergency does not wait for a review, and there is nothing to
review in bookkeeping. Once an abort is on the branch, the rollout's open
step pull requests are closed with a comment naming the abort commit, so
that no later merge lands an aborted step on top of the restored files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from rollgen.errors import NothingToDo, NotSoError, RollgenError, UsageError
from rollgen.gitops.depth import ShallowHistoryError, is_boundary
from rollgen.gitops.forge import PullRequest
from rollgen.gitops.repo import Change, Identity, Repo, commit_change
from rollgen.gitops.snapshot import HistoryEntry, Snapshot, history
from rollgen.gitops.trailers import Action, StepRecord, one_line, rollout_id
from rollgen.plan.steps import Plan, State, abort_states
from rollgen.render.revision import Revision, label, listed_revision_files, live_revisions
from rollgen.rollout.drift import Trigger
from rollgen.rollout.proposal import close_step_pull_requests, propose
from rollgen.rollout.state import (
    RolloutPhase,
    RolloutState,
    branch_tip,
    current_state,
    plan_for,
    read_state,
    release_key,
    wait_text,
    walk_back_text,
)
from rollgen.spec.model import Release

# Actions that put a plan step live (the rollout goes on from there).
_FORWARD = frozenset({Action.START, Action.ADVANCE, Action.PROMOTE, Action.RETRY, Action.UNDO})


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What an operation did: the state afterwards, whether it committed, the pull request it opened.

    With a pull request, ``state`` is the branch's (unchanged until the merge):
    None when no rollout of the release is on the branch yet (a proposed start).
    ``warnings`` are what went wrong after the operation itself succeeded
    (an abort's pull requests that could not be closed), for the caller to show.
    """

    state: RolloutState | None
    committed: bool
    pull_request: PullRequest | None = None
    warnings: tuple[str, ...] = ()


def start(repo: Repo, release: Release, *, remote: str | None = None, reason: str = "") -> Outcome:
    """Commit step 1 of rolling the running revision out to the one the spec asks for.

    What runs is read from Git (the last rollout's record and the revisions
    frozen in the output directory at the tip); what the spec asks for is its
    ``version`` and ``digest`` with the configuration built now
    (:func:`rollgen.rollout.drift.next_action`). A spec's ``stable``, when given,
    must name what runs. Going back to the revision the last completed rollout
    replaced is a rollback (action ``undo``: no pauses, no analysis).
    Refuses while a rollout of the release is in progress (a rerun of this
    same start commits nothing). ``reason`` goes into the commit message.
    """
    return _begin(repo, release, remote, Action.START, reason)


def _begin(repo: Repo, release: Release, remote: str | None, action: Action, reason: str) -> Outcome:
    """A new rollout towards the spec's revision: ``start``, or ``retry`` after an abort."""
    from rollgen.rollout.drift import Next

    ops = _Operation(repo, release, remote)

    def decide(tip: Snapshot) -> Change | None:
        current = read_state(tip, release)
        look = ops.look(tip, current)
        trigger = look.trigger
        if current is not None and current.phase.unfinished:
            if trigger.next is Next.CONTINUE and current.step == 1 and current.action in (action, Action.UNDO):
                return None  # this start already landed (a rerun, or a racing process)
            raise NotSoError(
                f"{current.release}: rollout {current.rollout} ({current.from_version} -> "
                f"{current.to_version}) is in progress at step {current.step}/{current.steps}; "
                "promote or abort it first"
            )
        if action is Action.RETRY and (current is None or current.phase is not RolloutPhase.ABORTED):
            raise NotSoError(f"{ops.key}: nothing to retry: " + _describe(current, "no aborted rollout"))
        if trigger.next is Next.ADOPT:
            if release.stable is None:
                raise UsageError(
                    f"{ops.key}: {release.output_path} holds no revision rollgen wrote and no rollout is recorded; "
                    f"run rollgen adopt first, so that what runs is committed before anything changes"
                )
            # A human named the stable of an output rollgen never wrote: it is built from the base now.
            return ops.begin(tip, current, release.stable, look.desired_label(None), action, reason, look)
        if trigger.next is Next.NOTHING:
            raise NothingToDo(f"{ops.key}: nothing to roll out: {trigger.reason}")
        from_label = trigger.from_label or (current.running if current is not None else "")
        if release.stable is not None and release.stable != from_label:
            running = look.live.get(from_label)
            if running is None or running.version != release.stable:
                raise UsageError(
                    f"{ops.key}: the spec's stable is {release.stable} but Git says {from_label} runs; "
                    f"set stable: {from_label!r}, or leave stable out (it is read from Git)"
                )
        to_label = trigger.to_label or look.desired_label(look.live.get(from_label))
        return ops.begin(tip, current, from_label, to_label, action, reason, look)

    return ops.commit(decide, propose_first=True)


def promote(
    repo: Repo, release: Release, *, full: bool = False, to: int | None = None, remote: str | None = None
) -> Outcome:
    """Commit the rollout's next step; after the last step, the ``complete`` commit (files unchanged).

    ``to`` is the step the caller means to commit (the controller passes
    the step after the one it judged): when the tip already holds it,
    nothing is committed, so callers racing for the same step converge
    (``to = steps + 1`` asks for the complete commit).
    Without ``to`` the target is fixed by the first look at the tip, with the
    same effect for a process whose commit attempt is retried.

    ``full=True`` is Argo Rollouts' ``promote --full``: the rollout goes on to
    the end skipping every remaining pause and analysis, but not its bounds.
    It commits the next step with action ``promote``; a step so committed
    waits only to be live (the controller, ``run`` or ``advance``, then
    commits the next one the same way, and so does another ``promote
    --full``). The plan's steps are the planner's surge-then-drain path, each
    within maxSurge/maxUnavailable of the one before, so jumping over any of
    them (9 old + 1 new pods straight to 10 new) would break the bounds.
    """
    ops = _Operation(repo, release, remote)
    target: list[int] = [] if to is None else [to]

    def decide(tip: Snapshot) -> Change | None:
        done = read_state(tip, release)
        if done is not None and done.phase is RolloutPhase.COMPLETED and target == [done.steps + 1]:
            return None  # the complete commit asked for is there
        current = ops.in_progress(tip, "promote")
        if current.phase is RolloutPhase.ABORTING:
            raise NotSoError(f"{current.release}: rollout {current.rollout} is being aborted; run abort to finish it")
        wanted = _target(target, current.step + 1)
        if current.step >= wanted:
            return None  # already there
        if current.step != wanted - 1:
            raise NotSoError(
                f"{current.release}: cannot promote to step {wanted}: the rollout is at {current.step}/{current.steps}"
            )
        if current.step == current.steps:
            return ops.complete(tip, current)
        # A full promotion, once begun, goes on as one (its steps carry no waits).
        action = Action.PROMOTE if full or current.action == Action.PROMOTE else Action.ADVANCE
        frozen = ops.frozen(tip, current)
        return ops.forward(
            tip, current.from_version, current.to_version, wanted, action, rollout=current.rollout, frozen=frozen
        )

    return ops.commit(decide, propose_first=True)


def abort(
    repo: Repo, release: Release, *, immediate: bool = False, remote: str | None = None, reason: str = ""
) -> Outcome:
    """Commit the next state back towards before the rollout (``immediate``: straight to it).

    ``reason`` says why the abort began (a failed gate, a human); the first
    abort commit records it (``Rollgen-Reason`` and a sentence in the body)
    and every later one carries it on, so the last says why as well.

    One commit per call along :func:`~rollgen.plan.steps.abort_states`; the last
    one writes the output directory exactly as the commit before the
    rollout's first commit held it. Refuses when nothing is in progress.
    In pull-request mode the abort is committed straight to the branch, then
    the rollout's open step pull requests are closed
    (:func:`close_step_pull_requests`; a failure there is a warning).
    ``reason`` (why the rollout is walked back) goes into the commit message.
    """
    ops = _Operation(repo, release, remote)
    target: list[int] = []

    def decide(tip: Snapshot) -> Change | None:
        current = ops.in_progress(tip, "abort")
        done = ops.aborts_done(current)
        if current.plan_changed and not immediate:
            raise UsageError(
                f"{current.release}: the spec's plan changed since the rollout began; "
                "abort --now restores the pre-rollout files without it"
            )
        way = 1 if immediate else len(ops.abort_way(current))
        wanted = _target(target, done + 1)
        if done >= wanted:
            return None
        why = current.reason if done else one_line(reason or "a human asked for it (rollgen abort)")
        if done + 1 >= way:
            return ops.restore(tip, current, why)
        state = ops.abort_way(current)[done]
        return ops.abort_step(tip, current, state, done + 1, way, why)

    outcome = ops.commit(decide)
    if release.git.mode != "pull-request":
        return outcome
    assert outcome.state is not None  # run without propose always reads a state back
    return dataclasses.replace(outcome, warnings=close_step_pull_requests(repo, release, outcome.state))


def pause(repo: Repo, release: Release, *, remote: str | None = None) -> Outcome:
    """Hold the rollout where it is: a ``pause`` commit that changes no file.

    While paused, ``advance``, ``run`` and the cron path measure nothing and
    commit nothing; ``resume`` lets the rollout go on (a ``promote`` or an
    ``abort`` by a human goes on too: they are explicit). An abort is never
    held: pausing one is refused, since stopping half way back is worse than
    either end.
    """
    ops = _Operation(repo, release, remote)

    def decide(tip: Snapshot) -> Change | None:
        current = ops.in_progress(tip, "pause")
        if current.phase is RolloutPhase.ABORTING:
            raise NotSoError(
                f"{current.release}: rollout {current.rollout} is being aborted; an abort is not held "
                "(it walks back to the pre-rollout files)"
            )
        if current.paused:
            return None
        return ops.hold(tip, current, Action.PAUSE)

    return ops.commit(decide)


def resume(repo: Repo, release: Release, *, remote: str | None = None) -> Outcome:
    """Let a paused rollout go on: a ``resume`` commit that changes no file."""
    ops = _Operation(repo, release, remote)

    def decide(tip: Snapshot) -> Change | None:
        current = ops.in_progress(tip, "resume")
        if not current.paused:
            last = tip.last_record(ops.key)
            if last is not None and last.record.action == Action.RESUME:
                return None  # this resume already landed
            raise NotSoError(f"{current.release}: rollout {current.rollout} is not paused; nothing to resume")
        return ops.hold(tip, current, Action.RESUME)

    return ops.commit(decide)


def live_state(repo: Repo, release: Release, current: RolloutState) -> State | None:
    """The State the newest commit of ``current`` put live: its plan step's, or the abort state on the way back.

    None when the spec no longer plans the rollout, or after a finished abort
    (the output then holds the pre-rollout files, which no plan state names).
    """
    if current.plan_changed or current.phase is RolloutPhase.ABORTED:
        return None
    if current.phase is not RolloutPhase.ABORTING:
        return current.plan_step.state if current.plan_step is not None else None
    ops = _Operation(repo, release, None)
    way, done = ops.abort_way(current), ops.aborts_done(current)
    return way[done - 1] if 1 <= done <= len(way) else None


def is_rollback(repo: Repo, release: Release, current: RolloutState) -> bool:
    """Whether ``current``'s rollout goes back to the revision that ran before (an ``undo``): the rollback window."""
    if current.action == Action.UNDO:
        return True
    if current.action == Action.START or not current.phase.in_progress:
        return False
    ops = _Operation(repo, release, None)
    return ops.first_record(current).action == Action.UNDO


def retry(repo: Repo, release: Release, *, remote: str | None = None) -> Outcome:
    """After an abort, start a new rollout, from step 1, of the revision the spec asks for now (not the old target)."""
    return _begin(repo, release, remote, Action.RETRY, "")


def undo(repo: Repo, release: Release, *, remote: str | None = None) -> Outcome:
    """Take a completed release back to its previous revision: a new rollout with the labels swapped.

    The previous revision comes back as it was frozen before the rollout
    (its build, not the base's now); no pauses or analysis (the rollback window).
    """
    ops = _Operation(repo, release, remote)

    def decide(tip: Snapshot) -> Change | None:
        current = read_state(tip, release)
        if current is not None and current.action == Action.UNDO and current.step == 1:
            return None  # this one already landed
        if current is None or current.phase is not RolloutPhase.COMPLETED:
            raise NotSoError(f"{ops.key}: nothing to undo: " + _describe(current, "no completed rollout"))
        frozen = ops.frozen(tip, current)
        back, now = current.from_version, current.to_version
        return ops.forward(tip, now, back, 1, Action.UNDO, new_rollout=True, frozen=frozen)

    return ops.commit(decide, propose_first=True)


@dataclass(frozen=True)
class Look:
    """What one look at the tip found: the output's revisions by label, the spec's revision, the next action."""

    live: Mapping[str, Revision]
    desired: Revision
    trigger: Trigger

    def desired_label(self, other: Revision | None) -> str:
        """The spec's revision's label, rolled out against ``other``."""
        return label(self.desired, other)


def revisions_at(snapshot: Snapshot, release: Release) -> dict[str, Revision]:
    """The revisions the release's output directory runs at ``snapshot``, by label (no build read).

    Read as the cluster would: the version directories its kustomization
    lists, each one's ``revision.yaml`` (a few object reads, no tree walk).
    Whose output it is comes first: revisions another release wrote there
    (the same ``output.path``) would otherwise read as this release's,
    "nothing to roll out". (An output nested in another's is refused by
    :func:`rollgen.rollout.ownership.refuse_other_owner`, before adoption and before
    every commit.)
    """
    from rollgen.rollout.ownership import refuse_foreign_revisions

    out = release.output_path
    kustomization = snapshot.read(f"{out}/kustomization.yaml")
    texts = {} if kustomization is None else {"kustomization.yaml": kustomization}
    for path in listed_revision_files(kustomization):
        if (text := snapshot.read(f"{out}/{path}")) is not None:
            texts[path] = text
    refuse_foreign_revisions(release_key(release), out, texts, "there")
    return live_revisions(texts)


# Working copy tops by git directory: a pass over many releases asks once, not once per release.
_ROOTS: dict[Path, Path] = {}


def _root(repo: Repo) -> Path:
    if repo.git_dir not in _ROOTS:
        _ROOTS[repo.git_dir] = repo.root()
    return _ROOTS[repo.git_dir]


def look(repo: Repo, release: Release, snapshot: Snapshot, current: RolloutState | None) -> Look:
    """Compare the spec with what Git runs at ``snapshot`` (:func:`rollgen.rollout.drift.next_action`).

    Cheap when nothing changed: the configuration's inputs are fingerprinted
    against the revision they would match (the one rolling out, else the one
    running), and nothing is built unless they differ.
    """
    from rollgen.render.desired import desired_revision
    from rollgen.rollout.drift import next_action

    live = revisions_at(snapshot, release)
    if current is None:
        basis = list(live.values())[-1] if live else None
    else:
        basis = live.get(current.to_version if current.phase.unfinished else current.running)
    desired = desired_revision(_root(repo), release, basis)
    return Look(live, desired, next_action(desired, live, current))


def spec_against_git(repo: Repo, release: Release, *, remote: str | None = None) -> Look:
    """The spec against what runs on the release's branch (``rollgen status`` says what the next pass does)."""
    with branch_tip(repo, release.git.branch, remote) as snapshot:
        return look(repo, release, snapshot, read_state(snapshot, release))


def planned_from_git(repo: Repo, release: Release) -> tuple[Release, Plan]:
    """The rollout Git says comes next, for a spec that names no stable: the one under way, else the one to start.

    Read from the local branch, no fetch (``plan`` and ``render`` stay
    offline). NothingToDo when what runs is what the spec asks; UsageError
    when rollgen has not adopted the output yet.
    """
    from rollgen.rollout.drift import Next

    key = release_key(release)
    with branch_tip(repo, release.git.branch, None) as snapshot:
        current = read_state(snapshot, release)
        seen = look(repo, release, snapshot, current)
    if current is not None and current.phase.unfinished:
        return plan_for(release, current.from_version, current.to_version)
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


class _Operation:
    """One operation's shared pieces: rendering (memoised by the frozen files), messages, identity, the commit."""

    def __init__(self, repo: Repo, release: Release, remote: str | None) -> None:
        self.repo = repo
        self.release = release
        self.key = release_key(release)
        self.remote = remote
        self._root = repo.root()
        self._rendered: dict[tuple[int, str, str, State], Mapping[str, bytes]] = {}
        self._frozen: dict[str | None, Mapping[str, bytes]] = {}
        self._before: dict[str, dict[str, bytes]] = {}
        author = release.git.author
        self.identity = Identity(author.name, author.email) if author is not None else None

    def commit(self, decide: Callable[[Snapshot], Change | None], *, propose_first: bool = False) -> Outcome:
        """Commit ``decide``'s change; in pull-request mode, propose it as a pull request instead.

        Every change is checked first (:func:`rollgen.rollout.ownership.check_owner`):
        its output directory must be this release's own to replace.
        """
        decide = self._owned(decide)
        if propose_first and self.release.git.mode == "pull-request":
            proposed = propose(self.repo, self.release, self.remote, self.identity, decide)
            if proposed is not None:
                return Outcome(state=proposed.before, committed=False, pull_request=proposed.pull_request)
        result = commit_change(
            self.repo,
            self.release.git.branch,
            decide,
            remote=self.remote,
            author=self.identity,
            committer=self.identity,
            allow_empty=True,
        )
        state = current_state(self.repo, self.release, remote=self.remote, at=result.commit if result else None)
        if state is None:
            raise RollgenError(f"{self.key}: no rollout found on {self.release.git.branch} (was the branch reset?)")
        return Outcome(state=state, committed=result is not None)

    def _owned(self, decide: Callable[[Snapshot], Change | None]) -> Callable[[Snapshot], Change | None]:
        from rollgen.rollout.ownership import check_owner

        def checked(tip: Snapshot) -> Change | None:
            change = decide(tip)
            if change is not None:
                check_owner(self.repo.git, tip, self.key, change, self._step_0)
            return change

        return checked

    def _step_0(self) -> Mapping[str, bytes]:
        """What ``rollgen render SPEC --step 0`` writes: the stable version alone."""
        release = self.release
        if release.stable is None:  # without a stable named there is no step 0 to compare with
            return {}
        initial = plan_for(release, release.stable, release.version)[1].initial
        return self.render(release.stable, release.version, initial, _NOTHING_FROZEN)

    def look(self, tip: Snapshot, current: RolloutState | None) -> Look:
        return look(self.repo, self.release, tip, current)

    def begin(
        self,
        tip: Snapshot,
        current: RolloutState | None,
        from_label: str,
        to_label: str,
        action: Action,
        reason: str,
        seen: Look,
    ) -> Change:
        """Step 1 of a new rollout from ``from_label`` to the spec's revision (labelled ``to_label``).

        When the spec asks for the revision the last completed rollout replaced,
        that revision comes back as it was frozen (its label, its build), as an
        ``undo``: the rollback window.
        """
        frozen = self.frozen(tip, current)
        if current is not None and current.phase is RolloutPhase.COMPLETED and action is Action.START:
            before = live_revisions(self.before(tip, current))
            back = next((name for name, r in before.items() if r == seen.desired), None)
            if back is not None and back == current.from_version:
                to_label, action = back, Action.UNDO
        if to_label == from_label:
            raise UsageError(
                f"{self.key}: the spec's revision would run under the label {to_label} that runs now; "
                "change the version or the configuration"
            )
        revisions = {to_label: seen.desired}
        return self.forward(
            tip, from_label, to_label, 1, action, new_rollout=True, frozen=frozen, revisions=revisions, reason=reason
        )

    def frozen(self, tip: Snapshot, current: RolloutState | None) -> Mapping[str, bytes]:
        """The output's files at the tip over those before ``current``'s rollout: every revision it may render.

        A revision the rollout removed (the stable after cleanup) is still frozen
        before it, so an abort or an undo brings back its build, not the base's.
        """
        # Only this release's commits write its output: its files at the release's last commit are
        # those at any later tip, so a commit retried on a moved tip reads and renders nothing again.
        key = tip.tip if current is None else current.commit
        if key not in self._frozen:
            at = tip if current is None else tip.at(current.commit)
            files = at.files(self.release.output_path)
            self._frozen[key] = files if current is None else {**self.before(tip, current), **files}
        return self._frozen[key]

    def before(self, tip: Snapshot, current: RolloutState) -> dict[str, bytes]:
        """The output's files as they were before ``current``'s rollout began."""
        if current.rollout not in self._before:
            first = self.first_commit(current)
            files = tip.at(f"{first}^").files(self.release.output_path) if self._has_parent(first) else {}
            self._before[current.rollout] = files
        return self._before[current.rollout]

    def in_progress(self, tip: Snapshot, verb: str) -> RolloutState:
        current = read_state(tip, self.release)
        if current is None or not current.phase.unfinished:
            # Aborting what is not going on is done already; promoting it is asking for what is not so.
            error = NothingToDo if verb == "abort" else NotSoError
            raise error(f"{self.key}: nothing to {verb}: " + _describe(current, "no rollout has begun"))
        if current.plan_changed and verb != "abort":
            raise UsageError(
                f"{self.key}: the spec no longer plans rollout {current.rollout} "
                f"({current.from_version} -> {current.to_version}, plan {current.plan}); "
                "restore the spec, or abort --now"
            )
        return current

    def render(
        self,
        from_version: str,
        to_version: str,
        state: State,
        frozen: Mapping[str, bytes],
        revisions: Mapping[str, Revision] | None = None,
    ) -> Mapping[str, bytes]:
        """The files of ``state``: frozen revisions from ``frozen``, a new one built now (memoised by the frozen files)."""
        from rollgen.render import Renderer

        key = (id(frozen), from_version, to_version, state)  # frozen mappings are memoised: one id per content
        if key not in self._rendered:
            swapped = plan_for(self.release, from_version, to_version)[0]
            self._rendered[key] = Renderer(self._root, swapped).render(state, frozen, revisions or {})
        return self._rendered[key]

    def forward(
        self,
        tip: Snapshot,
        from_version: str,
        to_version: str,
        index: int,
        action: Action,
        *,
        rollout: str | None = None,
        new_rollout: bool = False,
        frozen: Mapping[str, bytes],
        revisions: Mapping[str, Revision] | None = None,
        reason: str = "",
    ) -> Change:
        """The commit putting plan step ``index`` live; ``reason`` (why it began) goes into the message."""
        plan = plan_for(self.release, from_version, to_version)[1]
        if new_rollout:
            rollout = rollout_id(self.key, from_version, to_version, tip.tip or "0" * 40)
        assert rollout is not None
        step = plan.steps[index - 1]
        files = self.render(from_version, to_version, step.state, frozen, revisions)
        rolled = live_revisions(files).get(to_version)  # absent only while no pod of it runs (recreate's step 1)
        record = StepRecord(
            self.key,
            rollout,
            index,
            len(plan.steps),
            plan.digest(),
            action,
            from_version,
            to_version,
            wait=wait_text(plan.steps[index - 1].after),
            config=rolled.config if rolled is not None else "",
        )
        weight = f" {step.set_weight}%" if step.set_weight is not None else ""
        subject = f"{self.key}: step {index}/{len(plan.steps)} {step.action}{weight} ({from_version} -> {to_version})"
        body = _table_lines(plan, index) + (f"\n\n{reason}" if reason else "")
        return Change(self.release.output_path, files, f"{subject}\n\n{body}", record)

    def hold(self, tip: Snapshot, current: RolloutState, action: Action) -> Change:
        """A pause or resume commit: the output's files as they are, the step's record with ``action``."""
        files = tip.files(self.release.output_path)
        subject = (
            f"{self.key}: {action.value} at step {current.step}/{current.steps} "
            f"({current.from_version} -> {current.to_version})"
        )
        return Change(self.release.output_path, files, subject, self._record(current, current.step, action))

    def complete(self, tip: Snapshot, current: RolloutState) -> Change:
        """The commit after the last step: files unchanged, action ``complete``."""
        files = tip.files(self.release.output_path)
        record = self._record(current, current.steps, Action.COMPLETE)
        subject = f"{self.key}: complete {current.from_version} -> {current.to_version}"
        return Change(self.release.output_path, files, subject, record)

    def abort_way(self, current: RolloutState) -> tuple[State, ...]:
        plan = plan_for(self.release, current.from_version, current.to_version)[1]
        return abort_states(plan, current.step)

    def aborts_done(self, current: RolloutState) -> int:
        """How many abort commits of this rollout are already on the branch."""
        if current.action != Action.ABORT:
            return 0
        entries = history(self.repo.git, current.commit, self.key, limit=current.steps + 2)
        return next(
            (
                i
                for i, e in enumerate(entries)
                if e.record.action != Action.ABORT or e.record.rollout != current.rollout
            ),
            len(entries),
        )

    def abort_step(self, tip: Snapshot, current: RolloutState, state: State, k: int, way: int, reason: str) -> Change:
        frozen = self.frozen(tip, current)
        files = self.render(current.from_version, current.to_version, state, frozen)
        subject = (
            f"{self.key}: abort {k}/{way} from step {current.step}/{current.steps} "
            f"({current.from_version} -> {current.to_version})"
        )
        record = dataclasses.replace(
            self._record(current, current.step, Action.ABORT), wait=walk_back_text(k, way), reason=reason
        )
        return Change(self.release.output_path, files, _with_reason(subject, reason), record)

    def restore(self, tip: Snapshot, current: RolloutState, reason: str) -> Change:
        """The last abort commit: the output directory as it was before the rollout's first commit.

        A first rollout into an output that held nothing (one started by hand,
        not adopted) restores its stable at full size, as the rollout froze it:
        an abort never leaves the release with nothing to run.
        """
        files: Mapping[str, bytes] = self.before(tip, current)
        if not files:
            initial = plan_for(self.release, current.from_version, current.to_version)[1].initial
            files = self.render(current.from_version, current.to_version, initial, self.frozen(tip, current))
        subject = (
            f"{self.key}: abort, {current.from_version} restored "
            f"(rollout {current.from_version} -> {current.to_version} stopped at step {current.step})"
        )
        record = dataclasses.replace(self._record(current, 0, Action.ABORT), reason=reason)
        return Change(self.release.output_path, files, _with_reason(subject, reason), record)

    def first_commit(self, current: RolloutState) -> str:
        """The rollout's first commit (its start, retry or undo); its parent holds the pre-rollout files."""
        return self._first(current).sha

    def first_record(self, current: RolloutState) -> StepRecord:
        return self._first(current).record

    def _first(self, current: RolloutState) -> HistoryEntry:
        # A rollout has its steps, a complete and its aborts (2n + 2 commits), plus any pauses and resumes.
        limit = 2 * current.steps + 2
        while True:
            entries = history(self.repo.git, current.commit, self.key, limit=limit)
            mine = [e for e in entries if e.record.rollout == current.rollout]
            first = next((e for e in mine if e.record.action in (Action.START, Action.RETRY, Action.UNDO)), None)
            if first is not None:
                return first
            if len(entries) < limit or len(mine) < len(entries):
                raise RollgenError(f"{self.key}: cannot find the first commit of rollout {current.rollout}")
            limit *= 4

    def _has_parent(self, sha: str) -> bool:
        """Whether ``sha`` has a parent; a shallow clone's boundary is refused, never read as a root commit."""
        if self.repo.git.run("rev-parse", "--verify", "-q", f"{sha}^", ok=(0, 1)).returncode == 0:
            return True
        if is_boundary(self.repo.git, sha):
            # Restoring "nothing" here would delete the application's files.
            raise ShallowHistoryError(
                f"{self.key}: the commit before rollout {sha[:12]} is missing from this shallow clone; "
                "run `git fetch --unshallow` and try again"
            )
        return False

    def _record(self, current: RolloutState, step: int, action: Action) -> StepRecord:
        return StepRecord(
            self.key,
            current.rollout,
            step,
            current.steps,
            current.plan,
            action,
            current.from_version,
            current.to_version,
            config=current.to_config,
        )


# Renders from the live base alone, as `rollgen render --step 0` does (one object: memo keys use its id).
_NOTHING_FROZEN: Mapping[str, bytes] = MappingProxyType({})


def _with_reason(subject: str, reason: str) -> str:
    """An abort commit's message: its subject, and why the rollout is aborted in a sentence."""
    return f"{subject}\n\nAborted because {reason.rstrip('.')}."


def _target(memo: list[int], first_look: int) -> int:
    """The step an operation aims at, fixed at its first look at the tip (later attempts keep it)."""
    if not memo:
        memo.append(first_look)
    return memo[0]


def _describe(current: RolloutState | None, none: str) -> str:
    if current is None:
        return none
    return (
        f"the last rollout {current.rollout} ({current.from_version} -> {current.to_version}) is "
        f"{current.phase} at step {current.step}/{current.steps}"
    )


def _table_lines(plan: Plan, index: int) -> str:
    """The plan table's header and the row of step ``index``."""
    from rollgen.plan.table import format_plan

    lines = format_plan(plan).split("\n")
    return f"{lines[2]}\n{lines[3 + index]}"
