"""Environment pipelines, one pass at a time: read each environment from Git, promote what is due.

An environment chain is several releases whose desired versions follow the
previous environment's completed one (the rule: :mod:`rollgen.pipeline.promotion`).
:func:`advance` is one pass for cron or CI: for each environment after the
first, it reads the previous environment's last completed version from Git
history, and when that version is due it writes it (tag and digest) into the
environment's spec -- a commit, or a pull request when the environment's
release says ``git.mode: pull-request``. The spec is edited in place
(:mod:`rollgen.gitops.specfile`): comments and every other line stay. Rolling
the version out is left to ``rollgen advance`` on that release. The first
environment is fed by ``rollgen detect``.

:func:`status` shows the whole chain: which version runs where, what each
environment waits for, and why its last rollout stopped.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from rollgen import yamlload
from rollgen.durations import format_duration
from rollgen.errors import RollgenError
from rollgen.gates.analysis import Phase
from rollgen.gitops.notes import fetch_notes, load_records
from rollgen.gitops.remote import remote_named
from rollgen.gitops.repo import Identity, Repo, commit_change, push_step_branch
from rollgen.gitops.snapshot import Snapshot, history
from rollgen.gitops.specfile import locate, version_change
from rollgen.gitops.trailers import Action, HistoryEntry
from rollgen.pipeline.promotion import Completed, PromotionDecision, PromotionVerdict, decide_promotion
from rollgen.plan.steps import stable_of
from rollgen.render.renderer import Renderer
from rollgen.render.revision import live_revisions
from rollgen.rollout.proposal import forge_for
from rollgen.rollout.proposal_body import DIFF_LIMIT, diff_section
from rollgen.rollout.reading import branch_tip, read_state, revisions_at
from rollgen.rollout.state import RolloutState, plan_for, release_key
from rollgen.spec.model import Release
from rollgen.spec.pipeline import Environment, Pipeline

HISTORY = 500
"""How many of an environment's rollgen commits are read back to find its last completion and its aborts."""


@dataclass(frozen=True)
class EnvironmentView:
    """One environment as its branch records it."""

    environment: Environment
    release: Release
    repo: Repo
    spec: str
    """The release spec's path in its repository."""
    remote: str | None
    state: RolloutState | None
    completed: Completed | None
    aborted: dict[str, str] = field(default_factory=dict)
    """Versions whose latest rollout here was aborted, with the abort's commit."""
    stopped: str = ""
    """Why the last rollout stopped, when it was aborted."""
    adopted: str | None = None
    """The revision the output runs when no rollout is recorded yet (``rollgen adopt`` wrote it)."""

    @property
    def running(self) -> str | None:
        return self.state.running if self.state is not None else self.adopted


@dataclass(frozen=True)
class Promotion:
    """What one pass decided (and did) for one environment."""

    environment: str
    release: str
    decision: PromotionDecision
    commit: str | None = None
    pull_request: str | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "release": self.release,
            "verdict": str(self.decision.verdict),
            "version": self.decision.version,
            "digest": self.decision.digest,
            "reason": self.decision.reason,
            "commit": self.commit,
            "pullRequest": self.pull_request,
        }

    def line(self) -> str:
        if self.commit:
            return f"{self.environment}: promoted {self.decision.version}: commit {self.commit[:12]}"
        if self.pull_request:
            return f"{self.environment}: proposed {self.decision.version}: pull request {self.pull_request}"
        return f"{self.environment}: {self.decision.verdict}: {self.decision.reason}"


def read_environments(pipeline: Pipeline) -> list[EnvironmentView]:
    """Every environment of ``pipeline`` as Git records it (each branch fetched first from its remote)."""
    return [
        _read(environment, release)
        for environment, release in zip(pipeline.environments, pipeline.releases, strict=True)
    ]


def promote_due(pipeline: Pipeline, *, now: float) -> list[Promotion]:
    """One pass: promote each environment's due version (``now``: Unix seconds, the soak's clock)."""
    stages = read_environments(pipeline)
    done: list[Promotion] = []
    for previous, stage in itertools.pairwise(stages):
        decision = _decision(previous, stage, now)
        promotion = Promotion(stage.environment.name, release_key(stage.release), decision)
        if decision.verdict is PromotionVerdict.PROMOTE:
            promotion = _promote(previous, stage, promotion, now)
        done.append(promotion)
    return done


@dataclass(frozen=True)
class EnvironmentStatus:
    """One line of ``rollgen pipeline status``."""

    environment: str
    release: str
    desired: str
    running: str | None
    phase: str
    waiting: str
    stopped: str

    def to_data(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "release": self.release,
            "desired": self.desired,
            "running": self.running,
            "phase": self.phase,
            "waiting": self.waiting,
            "stopped": self.stopped or None,
        }

    def line(self) -> str:
        text = f"{self.environment:<12} {self.release:<24} runs {self.running or '-':<10} {self.phase}"
        if self.desired != self.running:
            text += f", spec asks {self.desired}"
        if self.waiting:
            text += f"; waits for {self.waiting}"
        if self.stopped:
            text += f"; stopped: {self.stopped}"
        return text


def status(pipeline: Pipeline, *, now: float) -> list[EnvironmentStatus]:
    """Where every environment stands and what it waits for."""
    stages = read_environments(pipeline)
    rows = []
    for index, stage in enumerate(stages):
        state = stage.state
        rows.append(
            EnvironmentStatus(
                stage.environment.name,
                release_key(stage.release),
                stage.release.version,
                stage.running,
                str(state.phase) if state is not None else "none",
                _waiting(stages[index - 1] if index else None, stage, now),
                stage.stopped,
            )
        )
    return rows


def _waiting(previous: EnvironmentView | None, stage: EnvironmentView, now: float) -> str:
    """What the environment waits for, in words: its rollout, then a due promotion, then its own spec."""
    state, desired = stage.state, stage.release.version
    if state is not None and state.phase.unfinished:
        return state.waiting_for()
    decision = _decision(previous, stage, now) if previous is not None else None
    if decision is not None and decision.verdict is PromotionVerdict.PROMOTE:  # it supersedes what the spec names now
        assert decision.version is not None
        if stage.release.git.mode == "pull-request":
            try:
                pull = forge_for(stage.repo, stage.release).find_open(promotion_branch(stage.release, decision.version))
            except RollgenError as exc:  # status still shows the rest (no token here, the forge down)
                return f"rollgen pipeline advance: {decision.reason} (its pull request is unknown: {exc})"
            if pull is not None:
                return f"the merge of pull request {pull.url} ({decision.version})"
        return f"rollgen pipeline advance: {decision.reason}"
    parts = []
    if desired in stage.aborted:
        parts.append(f"{desired} was aborted here: rollgen retry, or a newer version")
    elif desired != stage.running:
        parts.append(f"rollgen advance to roll out {desired}")
    if previous is None or decision is None:
        return "; ".join(parts) or "a new image (rollgen detect)"
    if decision.verdict is not PromotionVerdict.CURRENT:
        parts.append(decision.reason)
    elif not parts:
        parts.append(f"{previous.environment.name} to complete a newer version")
    return "; ".join(parts)


# --- reading an environment -------------------------------------------------


def _read(environment: Environment, release: Release) -> EnvironmentView:
    repo, spec = locate(environment.spec, "pipeline")
    remote = remote_named(repo.git, release.git.remote)
    with branch_tip(repo, release.git.branch, remote) as tip:
        # The branch is the desired state: its spec's version lines count, not a working copy's (a merged
        # promotion the checkout has not pulled yet).
        named = _named(tip.read(spec))
        if named is not None:
            release = replace(release, version=named[0], digest=named[1])
        state = read_state(tip, release)
        # No rollout recorded yet: what runs is the adopted revision.
        adopted = next(reversed(revisions_at(tip, release)), None) if state is None else None
        entries = history(repo.git, tip.tip, release_key(release), limit=HISTORY) if tip.tip else ()
        completed = next(
            (_completed(tip, e, release, spec) for e in entries if e.record.action == Action.COMPLETE), None
        )
        aborted: dict[str, str] = {}
        seen: set[str] = set()
        for entry in entries:  # newest first: a version's newest record says how its latest rollout ended
            version = entry.record.to_label
            if version not in seen:
                seen.add(version)
                if entry.record.action == Action.ABORT:
                    aborted[version] = entry.sha
    stopped = ""
    if state is not None and state.action == Action.ABORT:
        if remote is not None:
            fetch_notes(repo, remote)
        stopped = _abort_reason(repo, entries, state)
    return EnvironmentView(environment, release, repo, spec, remote, state, completed, aborted, stopped, adopted)


def _completed(tip: Snapshot, entry: HistoryEntry, release: Release, spec: str) -> Completed:
    """The version ``entry`` completed, with its digest: the revision its output recorded, else the spec's.

    The record names a revision label (a config-only revision's is
    ``<version>-<config>``): the image version is the one its ``revision.yaml`` says.
    """
    at = tip.at(entry.sha)
    revision = live_revisions(at.files(release.output_path)).get(entry.record.to_label)
    version = revision.version if revision is not None else entry.record.to_label
    digest = revision.digest if revision is not None else None
    if digest is None:
        digest = _spec_digest(at.read(spec), version)
    return Completed(version, digest, entry.sha, entry.time, entry.record.rollout)


def _spec_digest(text: bytes | None, version: str) -> str | None:
    """``spec.digest`` of a spec's text when its ``spec.version`` is ``version``."""
    named = _named(text)
    return named[1] if named is not None and named[0] == version else None


def _named(text: bytes | None) -> tuple[str, str | None] | None:
    """The ``spec.version`` and ``spec.digest`` a spec's text names (None when it names no version)."""
    try:
        data = yamlload.load(text or b"")
    except yamlload.YAMLError:
        return None
    spec = data.get("spec") if isinstance(data, dict) else None
    if not isinstance(spec, dict) or not isinstance(spec.get("version"), str):
        return None
    digest = spec.get("digest")
    return spec["version"], digest if isinstance(digest, str) else None


def _abort_reason(repo: Repo, entries: tuple[HistoryEntry, ...], state: RolloutState) -> str:
    """The failed gate measurements kept on the aborted rollout's commits, else who aborted."""
    failures = []
    for entry in _rollout(entries, state.rollout):
        for key, measurements in sorted(load_records(repo, entry.sha).items()):
            bad = [m for m in measurements if m.phase in (Phase.FAILED, Phase.ERROR)]
            if bad:
                gate = key.rpartition("/")[2]  # the key is <stage>/<gate>
                failures.append(f"gate {gate} {bad[-1].phase.lower()} at step {entry.record.step}: {bad[-1].message}")
    if failures:
        return "; ".join(failures)
    return f"aborted by commit {state.commit[:12]} with no failed gate recorded (rollgen abort by hand?)"


def _rollout(entries: tuple[HistoryEntry, ...], rollout: str) -> list[HistoryEntry]:
    """The commits of one rollout, oldest first."""
    return [e for e in reversed(entries) if e.record.rollout == rollout]


def _decision(previous: EnvironmentView, stage: EnvironmentView, now: float) -> PromotionDecision:
    return decide_promotion(
        previous=previous.environment.name,
        completed=previous.completed,
        soak=previous.environment.soak,
        here=stage.environment.name,
        version=stage.release.version,
        digest=stage.release.digest,
        aborted=stage.aborted,
        now=now,
    )


# --- writing a promotion ----------------------------------------------------


def _promote(previous: EnvironmentView, stage: EnvironmentView, promotion: Promotion, now: float) -> Promotion:
    decision = promotion.decision
    assert decision.version is not None
    release = stage.release
    author = release.git.author
    who = None if author is None else Identity(author.name, author.email)
    message = _message(previous, stage, decision, now)
    decide_change = version_change(stage.spec, release.git.branch, decision.version, decision.digest, message)
    if release.git.mode == "pull-request":
        return _propose(previous, stage, promotion, decide_change, who, now)
    done = commit_change(stage.repo, release.git.branch, decide_change, remote=stage.remote, author=who, committer=who)
    if done is None:  # the branch already names it (another pass, a human)
        return replace(
            promotion,
            decision=replace(
                decision, verdict=PromotionVerdict.CURRENT, reason="already on the branch (written or merged meanwhile)"
            ),
        )
    return replace(promotion, commit=done.commit)


def _message(previous: EnvironmentView, stage: EnvironmentView, decision: PromotionDecision, now: float) -> str:
    completed = previous.completed
    assert completed is not None and decision.version is not None
    pinned = f" ({decision.digest})" if decision.digest else ""
    return (
        f"{release_key(stage.release)}: promote {decision.version} from {previous.environment.name} "
        f"to {stage.environment.name}\n\n"
        f"{decision.version}{pinned} completed {previous.environment.name} "
        f"({release_key(previous.release)}) in commit {completed.commit} and ran there "
        f"{_soaked(now - completed.time)} (soak {_soaked(previous.environment.soak)}).\n"
        f"{stage.spec} now names it; rollgen advance rolls it out in {stage.environment.name}."
    )


def _soaked(seconds: float) -> str:
    return format_duration(max(0, round(seconds)))


def _propose(
    previous: EnvironmentView, stage: EnvironmentView, promotion: Promotion, decide_change: Any, who: Any, now: float
) -> Promotion:
    release, decision = stage.release, promotion.decision
    assert decision.version is not None
    if stage.remote is None:
        raise RollgenError(
            f"{release_key(release)}: git.mode pull-request pushes to remote {release.git.remote!r}, "
            "which this repository lacks"
        )
    forge = forge_for(stage.repo, release)
    branch = promotion_branch(release, decision.version)
    pull = forge.find_open(branch)
    if pull is not None:
        return replace(promotion, pull_request=pull.url)
    with branch_tip(stage.repo, release.git.branch, stage.remote) as tip:
        change = decide_change(tip)
        if change is None:  # merged already
            return replace(
                promotion,
                decision=replace(
                    decision,
                    verdict=PromotionVerdict.CURRENT,
                    reason="already on the branch (written or merged meanwhile)",
                ),
            )
        rendered = _rendered_diff(stage, decision, tip)
    pushed = push_step_branch(
        stage.repo, stage.remote, release.git.branch, change, author=who, committer=who, name=branch
    )
    spec_diff = stage.repo.git.text(
        "diff", "--no-color", "--no-ext-diff", pushed.base or "", pushed.commit, "--", stage.spec
    )
    title = change.message.partition("\n")[0]
    body = promotion_body(previous, stage, decision, now, spec_diff, rendered)
    opened = forge.open_pull_request(pushed.name, release.git.branch, title, body)
    return replace(promotion, pull_request=opened.url)


def promotion_branch(release: Release, version: str) -> str:
    """The branch whose pull request promotes ``version`` into ``release``'s environment."""
    return f"rollgen/{release_key(release)}/promote-{version}"


def _rendered_diff(stage: EnvironmentView, decision: PromotionDecision, tip: Snapshot) -> str:
    """The diff of the environment's output once the promoted version completes (what merging leads to)."""
    assert decision.version is not None
    release = replace(stage.release, version=decision.version, digest=decision.digest)
    output = release.output_path
    before = tip.files(output)
    try:
        swapped, plan = plan_for(release, stage.running or stable_of(release), decision.version)
        after = Renderer(stage.repo.root(), swapped).render(plan.steps[-1].state, frozen=before)
    except RollgenError as exc:
        return f"(the rendered files could not be computed: {exc})"
    return "".join(_file_diffs(output, before, after))


def _file_diffs(root: str, before: dict[str, bytes], after: dict[str, bytes]) -> Iterator[str]:
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        name = f"{root}/{path}"
        try:
            a = (old or b"").decode().splitlines(keepends=True)
            b = (new or b"").decode().splitlines(keepends=True)
        except UnicodeDecodeError:
            yield f"Binary file {name} differs\n"
            continue
        fromfile = f"a/{name}" if old is not None else "/dev/null"
        tofile = f"b/{name}" if new is not None else "/dev/null"
        for line in difflib.unified_diff(a, b, fromfile, tofile):
            yield line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"


def promotion_body(
    previous: EnvironmentView,
    stage: EnvironmentView,
    decision: PromotionDecision,
    now: float,
    spec_diff: str,
    rendered: str,
) -> str:
    """Markdown for the pull request promoting ``decision.version`` into ``stage``'s environment."""
    completed = previous.completed
    assert completed is not None and decision.version is not None
    here, there = stage.environment.name, previous.environment.name
    lines = [
        f"rollgen promotes **{decision.version}** of `{release_key(stage.release)}` from `{there}` to `{here}`.",
        "",
        f"- version: `{decision.version}`",
        f"- digest: `{decision.digest}`" if decision.digest else "- digest: not pinned",
        "",
        f"**Merging this pull request is the approval**: `rollgen advance` then rolls {decision.version} out in "
        f"`{here}` with its own strategy and gates.",
        "",
        f"### What it passed in `{there}`",
        "",
        f"- completed by {completed.commit} (rollout `{completed.rollout}`); ran there "
        f"{_soaked(now - completed.time)}, soak asked {_soaked(previous.environment.soak)}",
        "",
        "| step commit | step | gate verdicts |",
        "|---|---|---|",
    ]
    entries = history(previous.repo.git, completed.commit, release_key(previous.release), limit=HISTORY)
    for entry in _rollout(entries, completed.rollout):
        records = load_records(previous.repo, entry.sha)
        # Notes are kept by <stage>/<gate>: the gate's name is what a reviewer knows.
        # Notes are kept by <stage>/<gate>: the gate's name is what a reviewer knows.
        verdicts = ", ".join(
            f"{key.rpartition('/')[2]}: {' '.join(str(m.phase) for m in kept)}" for key, kept in sorted(records.items())
        )
        step = f"{entry.record.action} {entry.record.step}/{entry.record.steps}"
        lines.append(f"| {entry.sha} | {step} | {verdicts or 'none recorded'} |")
    lines += [
        "",
        f"### Changes to `{stage.spec}`",
        "",
        diff_section(spec_diff, DIFF_LIMIT),
        "",
        f"### `{stage.release.output_path}` once {decision.version} completes in `{here}`",
        "",
        diff_section(rendered, DIFF_LIMIT),
    ]
    return "\n".join(lines)
