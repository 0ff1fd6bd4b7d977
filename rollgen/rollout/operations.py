"""Rollout operations: start, promote, abort, pause, resume, retry, undo -- read, decide, render, commit.

Git history is the only state. Every operation is one
:func:`~rollgen.gitops.repo.commit_change` whose ``decide`` takes a
:class:`~rollgen.rollout.reading.Reading` of the tip it is handed, asks the
rules (:mod:`rollgen.rollout.transitions`, pure) what comes next, renders that
state and words the commit (:mod:`rollgen.rollout.changes`). So a rerun after
a crash, or a second process doing the same thing at the same moment, sees the
step already committed and commits nothing: each step lands exactly once. A
caller that read the tip already (a controller pass) hands its reading in;
it is read again only when the compare-and-swap push lost to another commit.

An abort walks :func:`rollgen.plan.steps.abort_states` one commit per call
(the controller calls again once the previous commit is live); its commits
keep the step it left (``i/n``) until the last one, ``0/n``, which writes the
output directory's files byte-identical to the commit before the rollout's
first commit. ``retry`` starts the aborted versions again as a new rollout;
``undo`` rolls a completed release back, as a rollout planned with the two
labels swapped. Any commit's plan is rebuilt from the spec with the record's
two labels, and the record's digest proves it is the same plan.

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
from types import MappingProxyType

from rollgen.errors import RollgenError
from rollgen.gitops.change import Change
from rollgen.gitops.forge import PullRequest
from rollgen.gitops.repo import Identity, Repo, commit_change
from rollgen.gitops.snapshot import Snapshot
from rollgen.gitops.trailers import Action, rollout_id
from rollgen.plan.model import State
from rollgen.render.renderer import Renderer
from rollgen.render.revision import Revision, live_revisions
from rollgen.rollout import changes, transitions
from rollgen.rollout.ownership import check_owner
from rollgen.rollout.proposal import close_step_pull_requests, propose
from rollgen.rollout.reading import Reading, current_state, read
from rollgen.rollout.state import RolloutState, plan_for, release_key
from rollgen.rollout.transitions import Complete, Forward, Mark, Restore, Transition, WalkBack
from rollgen.spec.model import Release


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What an operation did: the state afterwards, whether it committed, the pull request it opened.

    With a pull request, ``state`` is the branch's (unchanged until the merge):
    None when no rollout of the release is on the branch yet (a proposed start).
    ``warnings`` are what went wrong after the operation itself succeeded
    (an abort's pull requests that could not be closed), for the caller to show.
    ``before`` is the rollout as the commit found it (None: none on the branch),
    so that a caller can say what the commit changed (:func:`rollgen.controller.notify.events_of`).
    """

    state: RolloutState | None
    committed: bool
    before: RolloutState | None = None
    pull_request: PullRequest | None = None
    warnings: tuple[str, ...] = ()


def start(
    repo: Repo, release: Release, *, remote: str | None = None, reason: str = "", reading: Reading | None = None
) -> Outcome:
    """Commit step 1 of rolling the running revision out to the one the spec asks for.

    What runs is read from Git (the last rollout's record and the revisions
    frozen in the output directory at the tip); what the spec asks for is its
    ``version`` and ``digest`` with the configuration built now
    (:func:`rollgen.rollout.drift.next_action`). A spec's ``stable``, when given,
    must name what runs. Going back to the revision the last completed rollout
    replaced is a rollback (action ``undo``: no pauses, no analysis).
    Refuses while a rollout of the release is in progress (a rerun of this
    same start commits nothing). ``reason`` goes into the commit message.
    ``reading`` is the caller's reading of the tip, used while the tip is that one.
    """
    return _begin(repo, release, remote, Action.START, reason, reading)


def retry(repo: Repo, release: Release, *, remote: str | None = None) -> Outcome:
    """After an abort, start a new rollout, from step 1, of the revision the spec asks for now (not the old target)."""
    return _begin(repo, release, remote, Action.RETRY, "", None)


def _begin(
    repo: Repo, release: Release, remote: str | None, action: Action, reason: str, reading: Reading | None
) -> Outcome:
    ops = _Operation(repo, release, remote, reading)

    def decide(now: Reading) -> Transition | None:
        step = transitions.begin(release, ops.key, now.state, now.seen, action, reason)
        if step is not None and now.state is not None and transitions.may_undo(now.state, step):
            replaced = live_revisions(now.history.before(now.snapshot, release.output_path))
            step = transitions.as_undo(step, now.state, replaced, now.seen.desired)
        return None if step is None else transitions.refuse_same_label(ops.key, step)

    return ops.commit(decide, propose_first=True)


def promote(
    repo: Repo,
    release: Release,
    *,
    full: bool = False,
    to: int | None = None,
    remote: str | None = None,
    reading: Reading | None = None,
    reason: str = "",
) -> Outcome:
    """Commit the rollout's next step; after the last step, the ``complete`` commit (files unchanged).

    ``reason`` (a human's, e.g. why a deny window is overridden) goes into the step's commit message.

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
    ops = _Operation(repo, release, remote, reading)
    target: list[int] = [] if to is None else [to]

    def decide(now: Reading) -> Transition | None:
        if not target and now.state is not None and now.state.phase.unfinished:
            target.append(now.state.step + 1)  # fixed at the first look: a retried attempt aims at the same step
        step = transitions.promote(now.state, ops.key, full=full, wanted=target[0] if target else None)
        return dataclasses.replace(step, reason=reason) if reason and isinstance(step, Forward) else step

    return ops.commit(decide, propose_first=True)


def abort(
    repo: Repo,
    release: Release,
    *,
    immediate: bool = False,
    remote: str | None = None,
    reason: str = "",
    reading: Reading | None = None,
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
    """
    ops = _Operation(repo, release, remote, reading)
    target: list[int] = []

    def decide(now: Reading) -> Transition | None:
        done = now.history.aborts_done()
        if not target and now.state is not None and now.state.phase.unfinished:
            target.append(done + 1)
        wanted = target[0] if target else None
        return transitions.abort(
            release, now.state, ops.key, done=done, immediate=immediate, wanted=wanted, reason=reason
        )

    outcome = ops.commit(decide)
    if release.git.mode != "pull-request":
        return outcome
    assert outcome.state is not None  # run without propose always reads a state back
    closed = close_step_pull_requests(repo, release, outcome.state, outcome.before)
    return dataclasses.replace(outcome, warnings=outcome.warnings + closed)


def pause(repo: Repo, release: Release, *, remote: str | None = None) -> Outcome:
    """Hold the rollout where it is: a ``pause`` commit that changes no file.

    While paused, ``advance``, ``run`` and the cron path measure nothing and
    commit nothing; ``resume`` lets the rollout go on (a ``promote`` or an
    ``abort`` by a human goes on too: they are explicit). An abort is never
    held: pausing one is refused, since stopping half way back is worse than
    either end.
    """
    ops = _Operation(repo, release, remote, None)
    return ops.commit(lambda now: transitions.pause(now.state, ops.key))


def resume(repo: Repo, release: Release, *, remote: str | None = None) -> Outcome:
    """Let a paused rollout go on: a ``resume`` commit that changes no file."""
    ops = _Operation(repo, release, remote, None)

    def decide(now: Reading) -> Transition | None:
        return transitions.resume(now.state, ops.key, now.last.record.action if now.last is not None else None)

    return ops.commit(decide)


def undo(repo: Repo, release: Release, *, remote: str | None = None) -> Outcome:
    """Take a completed release back to its previous revision: a new rollout with the labels swapped.

    The previous revision comes back as it was frozen before the rollout
    (its build, not the base's now); no pauses or analysis (the rollback window).
    """
    ops = _Operation(repo, release, remote, None)
    return ops.commit(lambda now: transitions.undo(now.state, ops.key), propose_first=True)


# Renders from the live base alone, as `rollgen render --step 0` does (one object: memo keys use its id).
_NOTHING_FROZEN: Mapping[str, bytes] = MappingProxyType({})


class _Operation:
    """One operation's I/O: the reading of each tip, rendering (memoised by the frozen files), the commit."""

    def __init__(self, repo: Repo, release: Release, remote: str | None, reading: Reading | None) -> None:
        self.repo = repo
        self.release = release
        self.key = release_key(release)
        self.remote = remote
        self._root = repo.root()
        self._readings: dict[str | None, Reading] = {} if reading is None else {reading.tip: reading}
        self._rendered: dict[tuple[int, str, str, State], Mapping[str, bytes]] = {}
        self._frozen: dict[str | None, Mapping[str, bytes]] = {}
        author = release.git.author
        self.identity = Identity(author.name, author.email) if author is not None else None

    def commit(self, rule: Callable[[Reading], Transition | None], *, propose_first: bool = False) -> Outcome:
        """Commit what ``rule`` decides on the tip; in pull-request mode, propose it as a pull request instead.

        Every change is checked first (:func:`rollgen.rollout.ownership.check_owner`):
        its output directory must be this release's own to replace.
        """

        found: list[RolloutState | None] = [None]

        def decide(tip: Snapshot) -> Change | None:
            now = self.reading(tip)
            found[0] = now.state  # the tip the commit lands on is the last one decided on
            transition = rule(now)
            if transition is None:
                return None
            change = self.change(now, transition)
            check_owner(self.repo.git, tip, self.key, change, self._step_0)
            return change

        if propose_first and self.release.git.mode == "pull-request":
            proposed = propose(
                self.repo, self.release, self.remote, self.identity, decide, lambda tip: self.reading(tip).state
            )
            if not proposed.direct:
                return Outcome(
                    state=proposed.before,
                    committed=False,
                    pull_request=proposed.pull_request,
                    warnings=proposed.warnings,
                )
            reported = proposed.warnings
        else:
            reported = ()
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
        before = found[0] if result else state
        return Outcome(state=state, committed=result is not None, before=before, warnings=reported)

    def reading(self, tip: Snapshot) -> Reading:
        """The reading of ``tip``: the caller's when it is that commit, else read once per tip."""
        known = self._readings.get(tip.tip)
        if known is None:
            known = self._readings[tip.tip] = read(self.repo, self.release, tip)
        return known if known.snapshot is tip else known.on(tip)

    def change(self, now: Reading, transition: Transition) -> Change:
        """The commit that makes ``transition`` on the tip ``now`` read."""
        root = self.release.output_path
        current = now.state
        if isinstance(transition, Forward):
            plan = plan_for(self.release, transition.from_label, transition.to_label)[1]
            rollout = transition.rollout or rollout_id(
                self.key, transition.from_label, transition.to_label, now.tip or "0" * 40
            )
            state = plan.steps[transition.step - 1].state
            frozen = self.frozen(now, current)
            files = self.render(transition.from_label, transition.to_label, state, frozen, transition.revisions)
            return changes.forward(self.key, root, plan, transition, rollout, files)
        assert current is not None  # every other transition acts on a rollout under way
        if isinstance(transition, Mark):
            return changes.mark(root, current, transition.action, now.snapshot.files(root))
        if isinstance(transition, Complete):
            return changes.complete(root, current, now.snapshot.files(root))
        if isinstance(transition, WalkBack):
            files = self.render(current.from_label, current.to_label, transition.state, self.frozen(now, current))
            return changes.walk_back(root, current, transition, files)
        return changes.restore(root, current, transition.reason, self.restored(now, current, transition))

    def restored(self, now: Reading, current: RolloutState, transition: Restore) -> Mapping[str, bytes]:
        """The output directory as it was before the rollout's first commit.

        A first rollout into an output that held nothing (one started by hand,
        not adopted) restores its stable at full size, as the rollout froze it:
        an abort never leaves the release with nothing to run.
        """
        files = now.history.before(now.snapshot, self.release.output_path)
        if files:
            return files
        initial = plan_for(self.release, current.from_label, current.to_label)[1].initial
        return self.render(current.from_label, current.to_label, initial, self.frozen(now, current))

    def frozen(self, now: Reading, current: RolloutState | None) -> Mapping[str, bytes]:
        """The output's files at the tip over those before ``current``'s rollout: every revision it may render.

        A revision the rollout removed (the stable after cleanup) is still frozen
        before it, so an abort or an undo brings back its build, not the base's.
        """
        # Only this release's commits write its output: its files at the release's last commit are
        # those at any later tip, so a commit retried on a moved tip reads and renders nothing again.
        key = now.tip if current is None else current.commit
        if key not in self._frozen:
            out = self.release.output_path
            if current is None:
                self._frozen[key] = now.snapshot.files(out)
            else:
                files = now.snapshot.at(current.commit).files(out)
                self._frozen[key] = {**now.history.before(now.snapshot, out), **files}
        return self._frozen[key]

    def render(
        self,
        from_label: str,
        to_label: str,
        state: State,
        frozen: Mapping[str, bytes],
        revisions: Mapping[str, Revision] | None = None,
    ) -> Mapping[str, bytes]:
        """The files of ``state``: frozen revisions from ``frozen``, a new one built now (memoised by the frozen files)."""
        key = (id(frozen), from_label, to_label, state)  # frozen mappings are memoised: one id per content
        if key not in self._rendered:
            swapped = plan_for(self.release, from_label, to_label)[0]
            self._rendered[key] = Renderer(self._root, swapped).render(state, frozen, revisions or {})
        return self._rendered[key]

    def _step_0(self) -> Mapping[str, bytes]:
        """What ``rollgen render SPEC --step 0`` writes: the stable version alone."""
        release = self.release
        if release.stable is None:  # without a stable named there is no step 0 to compare with
            return {}
        initial = plan_for(release, release.stable, release.version)[1].initial
        return self.render(release.stable, release.version, initial, _NOTHING_FROZEN)
