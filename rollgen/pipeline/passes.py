"""Environment pipelines, one pass at a time: read each environment from Git, promote what is due, wave by wave.

A pipeline is several releases whose desired versions follow the completed
versions of the environments they come after (the rule:
:mod:`rollgen.pipeline.promotion`; the shape: :mod:`rollgen.pipeline.graph`).
:func:`promote_due` is one pass for cron or CI: it reads every environment
from Git once (:mod:`rollgen.pipeline.reading`), decides each environment
that comes after others, and writes the due versions of each wave together
(:mod:`rollgen.pipeline.writing`): one commit for the wave's specs, or one
pull request per environment when its release says ``git.mode:
pull-request``. Rolling a version out is left to ``rollgen advance`` on that
release; the first environments are fed by ``rollgen detect``. Nothing a
pass writes counts as completed in the same pass, so a version goes one wave
per completion, never skipping an environment.

:func:`approve` is ``rollgen pipeline promote``: a human's approval of a
change ``autoPromote`` does not name. :func:`status` shows the whole graph:
which version runs where, what each environment waits for, and why its last
rollout stopped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rollgen.errors import NotSoError, RollgenError
from rollgen.freeze import standing
from rollgen.pipeline.graph import Graph
from rollgen.pipeline.levels import LEVELS
from rollgen.pipeline.promotion import Promotion, PromotionDecision, PromotionVerdict, Upstream, decide_promotion
from rollgen.pipeline.reading import EnvironmentView, read_environments, read_pipelines
from rollgen.pipeline.writing import promotion_branch, write_wave
from rollgen.rollout.proposal import forge_for
from rollgen.rollout.state import release_key
from rollgen.spec.pipeline import Pipeline
from rollgen.windows import hold

Views = Mapping[str, EnvironmentView]


def promote_due(pipeline: Pipeline, *, now: float) -> list[Promotion]:
    """One pass: promote each environment's due version (``now``: Unix seconds, the soak's and the windows' clock)."""
    return promote_all([pipeline], now=now)


def promote_all(pipelines: Sequence[Pipeline], *, now: float) -> list[Promotion]:
    """One pass over several pipelines, read together (one walk of each branch's history for them all)."""
    done: list[Promotion] = []
    for pipeline, views in zip(pipelines, read_pipelines(pipelines), strict=True):
        done += _promote(pipeline, views, now)
    return done


def _promote(pipeline: Pipeline, views: Views, now: float) -> list[Promotion]:
    graph = pipeline.graph
    done: list[Promotion] = []
    for wave in graph.waves():
        decided = [(name, decision(graph, views, name, now)) for name in wave if graph.after[name]]
        due = [(name, d) for name, d in decided if _writes(views[name], d)]
        members = [([views[u] for u in graph.after[name]], views[name], _promotion(views[name], d)) for name, d in due]
        written = {p.environment: p for p in write_wave(members, pipeline=pipeline.name, now=now)}
        done += [written.get(name) or _promotion(views[name], d) for name, d in decided]
    return done


def approve(pipeline: Pipeline, environment: str, *, now: float, command: str) -> Promotion:
    """``rollgen pipeline promote``: write the version waiting for approval in ``environment`` (or one due anyway).

    Refused (NotSoError) when no version is due there: upstream has not
    completed it, it soaks, it was aborted, a window or a freeze holds it.
    """
    graph = pipeline.graph
    if environment not in graph.names:
        raise NotSoError(
            f"pipeline {pipeline.name} has no environment {environment!r} (it has {', '.join(graph.names)})"
        )
    if not graph.after[environment]:
        raise NotSoError(
            f"{environment} comes after no environment: rollgen detect feeds it, there is nothing to approve"
        )
    views = read_environments(pipeline)
    found = decision(graph, views, environment, now)
    if found.verdict is PromotionVerdict.CURRENT:
        return _promotion(views[environment], found)
    if found.verdict not in (PromotionVerdict.APPROVAL, PromotionVerdict.PROMOTE):
        raise NotSoError(f"{environment}: nothing to promote: {found.verdict}: {found.reason}")
    why = found.reason.removeprefix("waiting for approval: ")
    approved = f"Approved by {command}" + (f": {why}." if found.verdict is PromotionVerdict.APPROVAL else ".")
    due = replace(found, verdict=PromotionVerdict.PROMOTE)
    member = ([views[u] for u in graph.after[environment]], views[environment], _promotion(views[environment], due))
    [written] = write_wave([member], pipeline=pipeline.name, now=now, approved=approved)
    return written


def decision(graph: Graph, views: Views, name: str, now: float) -> PromotionDecision:
    """The promotion rule for environment ``name`` on what the pass read."""
    stage = views[name]
    aborted_upstream: dict[str, str] = {}
    for other in sorted(graph.upstream(name)):
        for version in views[other].aborted:
            aborted_upstream.setdefault(version, other)
    return decide_promotion(
        upstream=tuple(
            Upstream(name=u, completed=views[u].completed, soak=views[u].environment.soak) for u in graph.after[name]
        ),
        here=name,
        version=stage.release.version,
        digest=stage.release.digest,
        now=now,
        aborted=stage.aborted,
        aborted_upstream=aborted_upstream,
        # What runs is read only when a level is compared.
        running=stage.running if stage.environment.auto_promote != frozenset(LEVELS) else None,
        auto_promote=stage.environment.auto_promote,
        hold=_hold(stage, now),
    )


def _hold(stage: EnvironmentView, now: float) -> tuple[PromotionVerdict, str] | None:
    """The freeze on the environment's branch, else the window of the environment that holds promotions now."""
    frozen = standing(stage.freeze, now)
    if frozen is not None:
        return PromotionVerdict.FROZEN, frozen.line()
    held = hold(stage.environment.windows, now)
    return None if held is None else (PromotionVerdict.WINDOW, held.line())


def _writes(stage: EnvironmentView, found: PromotionDecision) -> bool:
    """Whether a pass writes ``found``: a due version; in pull-request mode one waiting for approval too (the merge approves)."""
    if found.verdict is PromotionVerdict.PROMOTE:
        return True
    return found.verdict is PromotionVerdict.APPROVAL and stage.release.git.mode == "pull-request"


def _promotion(stage: EnvironmentView, found: PromotionDecision) -> Promotion:
    return Promotion(stage.environment.name, release_key(stage.release), found)


@dataclass(frozen=True)
class EnvironmentStatus:
    """One line of ``rollgen pipeline status``."""

    environment: str
    release: str
    after: tuple[str, ...]
    desired: str
    running: str | None
    phase: str
    waiting: str
    stopped: str
    approval: str = ""
    """Why a due version waits for approval (a change of a level autoPromote does not name)."""
    held: str = ""
    """The freeze or the window that holds a due version."""

    def to_data(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "release": self.release,
            "after": list(self.after),
            "desired": self.desired,
            "running": self.running,
            "phase": self.phase,
            "waiting": self.waiting,
            "approval": self.approval or None,
            "held": self.held or None,
            "stopped": self.stopped or None,
        }

    def line(self) -> str:
        text = f"{self.environment:<12} {self.release:<24} runs {self.running or '-':<10} {self.phase}"
        if self.desired != self.running:
            text += f", spec asks {self.desired}"
        if self.approval:
            text += f"; waiting for approval: {self.approval}"
        if self.held:
            text += f"; {self.held}"
        if self.waiting:
            text += f"; waits for {self.waiting}"
        if self.stopped:
            text += f"; stopped: {self.stopped}"
        return text


def status(
    pipeline: Pipeline, *, now: float, command: str = "rollgen pipeline promote PIPELINE"
) -> list[EnvironmentStatus]:
    """Where every environment stands and what it waits for (``command``: how to approve, for the words)."""
    views = read_environments(pipeline)
    graph = pipeline.graph
    rows = []
    for name in graph.names:
        stage, state = views[name], views[name].state
        found = decision(graph, views, name, now) if graph.after[name] else None
        approval = held = ""
        waiting = _waiting(graph, stage, found)
        if (
            found is not None
            and found.verdict is PromotionVerdict.APPROVAL
            and stage.release.git.mode != "pull-request"
        ):
            approval = found.reason.removeprefix("waiting for approval: ")
            waiting = f"{command} {name}"
        elif found is not None and found.verdict in (PromotionVerdict.WINDOW, PromotionVerdict.FROZEN):
            held, waiting = found.reason, ""
        elif found is None and (frozen := standing(stage.freeze, now)) is not None:
            held = frozen.line()
        rows.append(
            EnvironmentStatus(
                name,
                release_key(stage.release),
                graph.after[name],
                stage.release.version,
                stage.running,
                str(state.phase) if state is not None else "none",
                waiting,
                stage.stopped,
                approval,
                held,
            )
        )
    return rows


def _waiting(graph: Graph, stage: EnvironmentView, found: PromotionDecision | None) -> str:
    """What the environment waits for, in words: its rollout, then a due promotion, then its own spec."""
    state, desired = stage.state, stage.release.version
    if state is not None and state.phase.unfinished:
        return state.waiting_for()
    if found is not None and (
        found.verdict is PromotionVerdict.PROMOTE
        or (found.verdict is PromotionVerdict.APPROVAL and stage.release.git.mode == "pull-request")
    ):  # it supersedes what the spec names now
        assert found.version is not None
        if stage.release.git.mode == "pull-request":
            try:
                pull = forge_for(stage.repo, stage.release).find_open(promotion_branch(stage.release, found.version))
            except RollgenError as exc:  # status still shows the rest (no token here, the forge down)
                return f"rollgen pipeline advance: {found.reason} (its pull request is unknown: {exc})"
            if pull is not None:
                return f"the merge of pull request {pull.url} ({found.version})"
        return f"rollgen pipeline advance: {found.reason}"
    parts = []
    if desired in stage.aborted:
        parts.append(f"{desired} was aborted here: rollgen retry, or a newer version")
    elif desired != stage.running:
        parts.append(f"rollgen advance to roll out {desired}")
    if found is None:
        return "; ".join(parts) or "a new image (rollgen detect)"
    if found.verdict not in (
        PromotionVerdict.CURRENT,
        PromotionVerdict.APPROVAL,
        PromotionVerdict.WINDOW,
        PromotionVerdict.FROZEN,
    ):
        parts.append(found.reason)
    elif found.verdict is PromotionVerdict.CURRENT and not parts:
        parts.append(f"{', '.join(graph.after[stage.environment.name])} to complete a newer version")
    return "; ".join(parts)


def graph_picture(pipeline: Pipeline, rows: list[EnvironmentStatus]) -> str:
    """The pipeline as a Mermaid flowchart, each environment with what runs there."""
    labels = {row.environment: f"{row.running or '-'} {row.phase}" for row in rows}
    return pipeline.graph.mermaid(labels)
