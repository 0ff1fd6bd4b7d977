"""Pull-request mode (``git.mode: pull-request``): a step proposed as a pull request instead of a commit.

A forward operation (start, promote, retry, undo) does not commit to the
branch: :func:`propose` pushes the step's commit to its own branch
(:func:`~rollgen.gitops.repo.push_step_branch`) and opens a pull request whose
body is :func:`~rollgen.rollout.proposal_body.pull_request_body`; merging it is the
approval. A rerun while the pull request is open finds it and opens nothing.
Once an abort is on the branch, :func:`close_step_pull_requests` closes the
rollout's open step pull requests, so that no later merge lands an aborted
step on top of the restored files. All of it does I/O (git, the forge's API).

Each step's commit carries a commit status named ``rollgen/<namespace>/<name>``
(:data:`STATUS_CONTEXT`), shown on its pull request: ``pending`` while it is
proposed and then runs, ``success`` once the rollout has gone past it (the
next step proposed, or the rollout complete), ``failure`` when the rollout is
aborted (on the step that ran and on every pull request the abort closes). A
status is a report: a forge refusing one is a warning, never a failed step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rollgen.errors import RollgenError, UsageError
from rollgen.gitops.change import Change
from rollgen.gitops.forge import CommitState, Forge, ForgeToken, GitHub, GitLab, PullRequest
from rollgen.gitops.repo import Identity, Repo, push_step_branch, step_branch
from rollgen.gitops.snapshot import Snapshot
from rollgen.gitops.trailers import Action, StepRecord
from rollgen.rollout.proposal_body import pull_request_body
from rollgen.rollout.reading import branch_tip
from rollgen.rollout.state import RolloutState, plan_for, release_key
from rollgen.secrets import Secrets
from rollgen.spec.model import Release


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """A proposed step: the branch's state (unchanged until the merge) and the open pull request.

    ``pull_request`` is None when the step is already on the branch (its pull request was merged)
    or when ``direct``: the change writes no file under the output directory (a ``complete``, or a
    step whose files equal the one before), so there is nothing to review and the caller commits it
    to the branch itself. ``warnings`` are the commit statuses the forge did not take.
    """

    before: RolloutState | None
    pull_request: PullRequest | None
    direct: bool = False
    warnings: tuple[str, ...] = ()


def forge_for(repo: Repo, release: Release) -> Forge:
    """The forge of ``git.pullRequest``, with its token (``token``; a relative file is in the repository)."""
    settings = release.git.pull_request
    if settings is None:
        raise UsageError(f"{release_key(release)}: git.mode pull-request needs git.pullRequest")
    token = ForgeToken.load(settings.token, Secrets.of_process(repo.root()))
    # Without an apiURL (None), each forge class uses its public default.
    if settings.provider == "gitlab":
        return GitLab(settings.repository, token, api_url=settings.api_url)
    owner, _, name = settings.repository.partition("/")
    if "/" in name:
        raise UsageError(f"git.pullRequest.repository: a GitHub repository is owner/name, got {settings.repository!r}")
    return GitHub(owner, name, token, api_url=settings.api_url)


def propose(
    repo: Repo,
    release: Release,
    remote: str | None,
    identity: Identity | None,
    decide: Callable[[Snapshot], Change | None],
    state_at: Callable[[Snapshot], RolloutState | None],
) -> Proposal:
    """Push ``decide``'s change to its step branch and open its pull request (or find the open one).

    ``state_at`` is the release's state at a tip (the caller's reading of it).
    """
    branch = release.git.branch
    if remote is None:
        raise UsageError(
            f"{release_key(release)}: git.mode pull-request pushes to remote {release.git.remote!r}, "
            "which this repository does not have"
        )
    with branch_tip(repo, branch, remote) as tip:
        before = state_at(tip)
        change = decide(tip)
        if change is None:
            return Proposal(before=before, pull_request=None)  # already on the branch (the pull request was merged)
        record = change.record
        assert record is not None, "a rollout step's change always carries its record"
        if tip.files(change.root) == dict(change.files):
            warnings: tuple[str, ...] = ()
            if before is not None and record.action == Action.COMPLETE and before.step > 0:
                # The complete commit goes straight in: the last step is done.
                done = f"{_step(before)} done: rollout complete"
                warnings = _report(forge_for(repo, release), before, "success", done)
            return Proposal(before=before, pull_request=None, direct=True, warnings=warnings)
    pushed = push_step_branch(repo, remote, branch, change, author=identity, committer=identity)
    forge = forge_for(repo, release)
    pull = forge.find_open(pushed.name)
    if pull is None:
        plan = plan_for(release, record.from_label, record.to_label)[1]
        # A step proposed on a branch with no commit yet is diffed against the empty tree.
        base = pushed.base or repo.git.run("hash-object", "-t", "tree", "--stdin", input=b"").text
        diff = repo.git.text("diff", "--no-color", "--no-ext-diff", base, pushed.commit, "--", change.root)
        title = change.message.partition("\n")[0]
        pull = forge.open_pull_request(pushed.name, branch, title, pull_request_body(plan, record, change.root, diff))
        # Set once, when the pull request is opened: a rerun while it waits posts nothing (GitHub keeps
        # at most 1,000 statuses per commit and name, and a controller looks every pass).
        context = STATUS_CONTEXT.format(key=record.release)
        warnings = _set(
            forge, pull.head_sha, "pending", context, f"step {record.step}/{record.steps} proposed: merge to run it"
        )
        if before is not None and before.rollout == record.rollout and before.phase.in_progress and before.step > 0:
            warnings += _report(forge, before, "success", f"{_step(before)} done: step {record.step} proposed")
    else:
        warnings = ()
    return Proposal(before=before, pull_request=pull, warnings=warnings)


def pending_pull_request(repo: Repo, release: Release, state: RolloutState | None) -> PullRequest | None:
    """In pull-request mode, the open pull request proposing the step after ``state``, if any.

    Only the next step of a rollout in progress is looked for (a proposed
    start's branch name depends on a tip that may have moved since).
    """
    if release.git.mode != "pull-request" or state is None or not state.phase.in_progress:
        return None
    if state.step >= state.steps:
        return None
    return forge_for(repo, release).find_open(_step_branch(state, state.step + 1))


def close_step_pull_requests(
    repo: Repo, release: Release, aborted: RolloutState, ran: RolloutState | None = None
) -> tuple[str, ...]:
    """Close every open step pull request of the ``aborted`` rollout; returns warnings, never raises.

    Called once the abort is on the branch: the abort does not wait on the
    forge, and a forge failure here leaves it committed, so it is a warning
    telling the user what to close by hand. ``ran`` is the step the abort
    took back (its commit's status turns to failure, as every closed one's does).
    """
    comment = (
        f"rollgen: rollout {aborted.rollout} of {aborted.release} ({aborted.from_label} -> "
        f"{aborted.to_label}) was aborted by commit {aborted.commit}. This step must not be "
        "merged: it would land on top of the abort."
    )
    why = f"rollout aborted by {aborted.commit[:12]}"
    warnings: tuple[str, ...] = ()
    try:
        forge = forge_for(repo, release)
        if ran is not None and ran.rollout == aborted.rollout and ran.step > 0 and ran.action != Action.ABORT:
            warnings += _report(forge, ran, "failure", f"{_step(ran)}: {why}")
        for index in range(1, aborted.steps + 1):
            pull = forge.find_open(_step_branch(aborted, index))
            if pull is not None:
                forge.close_pull_request(pull.number, comment)
                context = STATUS_CONTEXT.format(key=aborted.release)
                warnings += _set(forge, pull.head_sha, "failure", context, f"step {index}/{aborted.steps}: {why}")
    except RollgenError as exc:  # the token, the network, the forge: none of it undoes the abort
        warning = (
            f"the abort is committed, but its step pull requests could not be closed: {exc}; "
            f"close any open pull request from {_step_branch(aborted, 1)} to step-{aborted.steps} by hand"
        )
        return (*warnings, warning)
    return warnings


# The name of a release's commit status on the forge (GitHub's context, GitLab's name).
STATUS_CONTEXT = "rollgen/{key}"


def _step(state: RolloutState) -> str:
    return f"step {state.step}/{state.steps}"


def _report(forge: Forge, state: RolloutState, status: CommitState, description: str) -> tuple[str, ...]:
    """Set the status of the commit that recorded ``state``'s step."""
    return _set(forge, state.commit, status, STATUS_CONTEXT.format(key=state.release), description)


def _set(forge: Forge, sha: str, status: CommitState, context: str, description: str) -> tuple[str, ...]:
    """Set one commit status; a forge that refuses it gives a warning (a status reports, it never gates a step)."""
    try:
        forge.set_status(sha, status, context=context, description=description)
    except RollgenError as exc:
        return (f"commit status {status} for {sha[:12]} not set: {exc} (the token needs write access to statuses)",)
    return ()


def _step_branch(state: RolloutState, index: int) -> str:
    """The branch that proposes step ``index`` of ``state``'s rollout."""
    record = StepRecord(
        state.release,
        state.rollout,
        index,
        state.steps,
        state.plan,
        Action.ADVANCE,
        state.from_label,
        state.to_label,
    )
    return step_branch(record)
