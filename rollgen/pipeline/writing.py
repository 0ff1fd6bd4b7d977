"""Writing promotions: a wave's versions into its environments' specs, by a commit or a pull request each.

The specs are edited in place (:mod:`rollgen.gitops.specfile`): comments and
every other line stay. The environments of one wave whose specs share a
directory of one branch get their versions in one commit; in pull-request
mode each environment gets its own pull request, whose body says what the
version passed upstream and what merging it leads to.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from rollgen.durations import format_duration
from rollgen.errors import RollgenError
from rollgen.gitops.change import Change
from rollgen.gitops.notes import load_records
from rollgen.gitops.repo import Identity, commit_change, push_step_branch
from rollgen.gitops.snapshot import Snapshot, history
from rollgen.gitops.specfile import version_change, versions_change
from rollgen.pipeline.promotion import Promotion, PromotionDecision, PromotionVerdict
from rollgen.pipeline.reading import HISTORY, EnvironmentView, rollout_entries
from rollgen.plan.steps import stable_of
from rollgen.render.renderer import Renderer
from rollgen.rollout.proposal import forge_for
from rollgen.rollout.proposal_body import DIFF_LIMIT, diff_section
from rollgen.rollout.reading import branch_tip
from rollgen.rollout.state import plan_for, release_key
from rollgen.spec.model import Release


def write_wave(
    members: Sequence[tuple[Sequence[EnvironmentView], EnvironmentView, Promotion]],
    *,
    pipeline: str,
    now: float,
    approved: str = "",
) -> list[Promotion]:
    """Write the due versions of one wave: one commit per repository, branch and directory of their specs.

    ``members`` are ``(upstream, stage, promotion)``; in pull-request mode each
    environment gets a pull request of its own (each is reviewed and merged
    on its own). ``approved`` says who approved a change ``autoPromote`` does
    not name, for the commit message.
    """
    done: list[Promotion] = []
    groups: dict[
        tuple[str, str, str | None, str], list[tuple[Sequence[EnvironmentView], EnvironmentView, Promotion]]
    ] = {}
    for member in members:
        upstream, stage, promotion = member
        if stage.release.git.mode == "pull-request":
            decide_change = version_change(
                stage.spec,
                stage.release.git.branch,
                _version(promotion),
                promotion.decision.digest,
                _message(upstream, stage, promotion.decision, now, approved),
            )
            done.append(_propose(upstream, stage, promotion, decide_change, _identity(stage.release), now))
            continue
        key = (str(stage.repo.root()), stage.release.git.branch, stage.remote, stage.spec.rpartition("/")[0])
        groups.setdefault(key, []).append(member)
    for group in groups.values():
        done += _commit(group, pipeline, now, approved)
    return done


def _commit(
    group: Sequence[tuple[Sequence[EnvironmentView], EnvironmentView, Promotion]],
    pipeline: str,
    now: float,
    approved: str,
) -> list[Promotion]:
    """One commit promoting every member of ``group`` (specs in one directory of one branch)."""
    messages = [_message(upstream, stage, promotion.decision, now, approved) for upstream, stage, promotion in group]
    if len(group) == 1:
        message = messages[0]
    else:
        upstream = group[0][0]
        names = ", ".join(stage.environment.name for _, stage, _ in group)
        froms = ", ".join(view.environment.name for view in upstream)
        subject = f"{pipeline}: promote {_version(group[0][2])} from {froms} to {names}"
        message = subject + "\n\n" + "\n\n".join(m.partition("\n\n")[2] for m in messages)
    stage = group[0][1]
    edits = [(s.spec, _version(p), p.decision.digest) for _, s, p in group]
    decide_change = versions_change(edits, stage.release.git.branch, message)
    who = _identity(stage.release)
    result = commit_change(
        stage.repo, stage.release.git.branch, decide_change, remote=stage.remote, author=who, committer=who
    )
    if result is None:  # the branch already names them (another pass, a human)
        return [_already(promotion) for _, _, promotion in group]
    return [replace(promotion, commit=result.commit) for _, _, promotion in group]


def _already(promotion: Promotion) -> Promotion:
    decision = replace(
        promotion.decision,
        verdict=PromotionVerdict.CURRENT,
        reason="already on the branch (written or merged meanwhile)",
    )
    return replace(promotion, decision=decision)


def _version(promotion: Promotion) -> str:
    assert promotion.decision.version is not None  # a due decision names its version
    return promotion.decision.version


def _identity(release: Release) -> Identity | None:
    author = release.git.author
    return None if author is None else Identity(author.name, author.email)


def _message(
    upstream: Sequence[EnvironmentView], stage: EnvironmentView, decision: PromotionDecision, now: float, approved: str
) -> str:
    assert decision.version is not None
    pinned = f" ({decision.digest})" if decision.digest else ""
    froms = ", ".join(view.environment.name for view in upstream)
    lines = [f"{release_key(stage.release)}: promote {decision.version} from {froms} to {stage.environment.name}", ""]
    for view in upstream:
        completed = view.completed
        assert completed is not None  # a due version completed every upstream environment
        lines.append(
            f"{decision.version}{pinned} completed {view.environment.name} "
            f"({release_key(view.release)}) in commit {completed.commit} and ran there "
            f"{_soaked(now - completed.time)} (soak {_soaked(view.environment.soak)})."
        )
    if approved:
        lines.append(approved)
    lines.append(f"{stage.spec} now names it; rollgen advance rolls it out in {stage.environment.name}.")
    return "\n".join(lines)


def _soaked(seconds: float) -> str:
    return format_duration(max(0, round(seconds)))


def _propose(
    upstream: Sequence[EnvironmentView],
    stage: EnvironmentView,
    promotion: Promotion,
    decide_change: Callable[[Snapshot], Change | None],
    who: Identity | None,
    now: float,
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
    body = promotion_body(upstream, stage, decision, now, spec_diff, rendered)
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
    upstream: Sequence[EnvironmentView],
    stage: EnvironmentView,
    decision: PromotionDecision,
    now: float,
    spec_diff: str,
    rendered: str,
) -> str:
    """Markdown for the pull request promoting ``decision.version`` into ``stage``'s environment."""
    assert decision.version is not None
    here, there = stage.environment.name, ", ".join(view.environment.name for view in upstream)
    lines = [
        f"rollgen promotes **{decision.version}** of `{release_key(stage.release)}` from `{there}` to `{here}`.",
        "",
        f"- version: `{decision.version}`",
        f"- digest: `{decision.digest}`" if decision.digest else "- digest: not pinned",
        "",
        f"**Merging this pull request is the approval**: `rollgen advance` then rolls {decision.version} out in "
        f"`{here}` with its own strategy and gates.",
    ]
    for view in upstream:
        lines += _passed(view, now)
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


def _passed(view: EnvironmentView, now: float) -> list[str]:
    """What the version passed in one upstream environment: every step commit of its rollout, with gate verdicts."""
    completed = view.completed
    assert completed is not None  # a due version completed every upstream environment
    lines = [
        "",
        f"### What it passed in `{view.environment.name}`",
        "",
        f"- completed by {completed.commit} (rollout `{completed.rollout}`); ran there "
        f"{_soaked(now - completed.time)}, soak asked {_soaked(view.environment.soak)}",
        "",
        "| step commit | step | gate verdicts |",
        "|---|---|---|",
    ]
    entries = history(view.repo.git, completed.commit, release_key(view.release), limit=HISTORY)
    for entry in rollout_entries(entries, completed.rollout):
        records = load_records(view.repo, entry.sha)
        # Notes are kept by <stage>/<gate>: the gate's name is what a reviewer knows.
        verdicts = ", ".join(
            f"{key.rpartition('/')[2]}: {' '.join(str(m.phase) for m in kept)}" for key, kept in sorted(records.items())
        )
        step = f"{entry.record.action} {entry.record.step}/{entry.record.steps}"
        lines.append(f"| {entry.sha} | {step} | {verdicts or 'none recorded'} |")
    return lines
