"""Whether a version moves into an environment of a pipeline: the pure rule, no I/O.

The rule, one environment at a time (``here``, fed by the environments it
comes ``after``, its upstream):

1. ``here`` follows its upstream's **last completed** version: the new
   version of the newest ``complete`` record on each upstream environment's
   branch. A rollout in progress, aborted or being aborted there is no
   completion, so a version that fails in one environment never reaches the
   next. With several upstream environments (a fan-in), every one of them
   must have completed the same version (and digest).
2. Only the newest completion counts; nothing queues. A newer version that
   completes upstream before an older one was promoted supersedes it;
   an undo completed upstream (back to an older version) is followed too.
3. The version moves once it has run completed upstream for each upstream
   environment's ``soak`` (counted from its complete commit's time).
4. A version whose latest rollout in ``here`` was aborted is not written
   there again: a human retries it (``rollgen retry``), or a newer version
   supersedes it. Nor is a version aborted anywhere upstream of ``here`` or in
   an upstream environment's wave (``aborted_upstream``): an abort anywhere in
   a wave stops the version from reaching any later environment.
5. A change of a semver level that ``here``'s ``autoPromote`` does not name
   (from what runs there) waits for approval: ``rollgen pipeline promote``,
   or in pull-request mode the merge of the pull request.
6. A window or a freeze (``hold``) holds a due version where it is.
7. Promoting writes version and digest into ``here``'s spec (nothing else);
   the trigger (``rollgen advance``) rolls it out, superseding whatever
   rollout is in progress there.

>>> done = Completed("1.1.0", "sha256:ab", "c0ffee", time=1_000, rollout="r1")
>>> dev = Upstream(name="dev", completed=done, soak=600)
>>> decide_promotion(upstream=(dev,), here="staging", version="1.0.0", digest=None, now=1_100).reason
'1.1.0 soaks in dev: 8m20s left of 10m0s'
>>> decide_promotion(upstream=(dev,), here="staging", version="1.0.0", digest=None, now=1_600).verdict
<PromotionVerdict.PROMOTE: 'promote'>
>>> decide_promotion(upstream=(dev,), here="staging", version="1.0.0", digest=None, now=1_600,
...                  auto_promote=frozenset({"patch"})).reason
'waiting for approval: 1.1.0 is a minor change from 1.0.0 (autoPromote: patch)'
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rollgen.durations import format_duration
from rollgen.pipeline.levels import LEVELS, Level, change_level


@dataclass(frozen=True)
class Completed:
    """The version an environment's last completed rollout runs, with the commit that completed it."""

    version: str
    digest: str | None
    commit: str
    time: int
    rollout: str


class PromotionVerdict(enum.StrEnum):
    PROMOTE = "promote"
    """Write the version into the environment's spec now."""
    SOAKING = "soaking"
    """The previous environment completed the version; it has not run there for its soak yet."""
    UPSTREAM = "upstream"
    """The previous environment completed nothing yet."""
    BLOCKED = "held"
    """The version was aborted in this environment: not written again."""
    CURRENT = "current"
    """The environment's spec already names the previous environment's version."""
    APPROVAL = "approval"
    """Due, but a change of a level ``autoPromote`` does not name: waiting for approval."""
    WINDOW = "window"
    """Due, but a deployment window of the environment holds it."""
    FROZEN = "frozen"
    """Due, but the environment's branch is frozen."""


@dataclass(frozen=True, kw_only=True)
class Upstream:
    """One environment ``here`` comes after: its last completion and its soak."""

    name: str
    completed: Completed | None
    soak: float


@dataclass(frozen=True)
class PromotionDecision:
    verdict: PromotionVerdict
    reason: str
    version: str | None = None
    digest: str | None = None
    remaining: float = 0.0


def decide_promotion(
    *,
    upstream: Sequence[Upstream],
    here: str,
    version: str,
    digest: str | None,
    now: float,
    aborted: Mapping[str, str] | None = None,
    aborted_upstream: Mapping[str, str] | None = None,
    running: str | None = None,
    auto_promote: frozenset[Level] = frozenset(LEVELS),
    hold: tuple[PromotionVerdict, str] | None = None,
) -> PromotionDecision:
    """What to do for environment ``here`` whose spec names ``version``/``digest`` (see the module's rule).

    ``aborted`` maps the versions whose latest rollout in ``here`` was
    aborted to the abort's commit; ``aborted_upstream`` the versions aborted
    upstream (or in an upstream wave) to the environment that aborted them;
    ``running`` is what runs in ``here`` (the level of a change is counted
    from it, else from ``version``); ``hold`` a window's or a freeze's verdict
    and line; ``now`` is Unix seconds.
    """
    missing = [u.name for u in upstream if u.completed is None]
    if missing:
        return PromotionDecision(PromotionVerdict.UPSTREAM, f"{', '.join(missing)} has completed no rollout yet")
    done = [(u, u.completed) for u in upstream if u.completed is not None]
    first = done[0][1]
    wanted, pinned = first.version, first.digest
    if any((c.version, c.digest) != (wanted, pinned) for _, c in done[1:]):
        stopped = next((c.version for _, c in done if c.version in (aborted_upstream or {})), None)
        if stopped is not None:  # one of them will never complete it: say why, not only that they differ
            return PromotionDecision(
                PromotionVerdict.BLOCKED,
                f"{stopped} was aborted in {(aborted_upstream or {})[stopped]}: it reaches no later environment",
                stopped,
            )
        each = ", ".join(f"{u.name} {c.version}" for u, c in done)
        return PromotionDecision(PromotionVerdict.UPSTREAM, f"waits for {each} to complete one version")
    previous = ", ".join(u.name for u, _ in done)
    if wanted == version and (pinned is None or pinned == digest):
        return PromotionDecision(PromotionVerdict.CURRENT, f"at {wanted}, as {previous}", wanted, pinned)
    if wanted in (aborted or {}):
        return PromotionDecision(
            PromotionVerdict.BLOCKED,
            f"{wanted} was aborted in {here} (commit {(aborted or {})[wanted][:12]}): not promoted again; "
            f"rollgen retry it there, or a newer version supersedes it",
            wanted,
            pinned,
        )
    if wanted in (aborted_upstream or {}):
        return PromotionDecision(
            PromotionVerdict.BLOCKED,
            f"{wanted} was aborted in {(aborted_upstream or {})[wanted]}: it reaches no later environment",
            wanted,
            pinned,
        )
    waits = [(c.time + u.soak - now, u) for u, c in done]
    remaining, slowest = max(waits, key=lambda pair: pair[0])
    if remaining > 0:
        return PromotionDecision(
            PromotionVerdict.SOAKING,
            f"{wanted} soaks in {slowest.name}: {format_duration(round(remaining))} left of "
            f"{format_duration(slowest.soak)}",
            wanted,
            pinned,
            remaining,
        )
    if auto_promote != frozenset(LEVELS):
        base = running or version
        level = change_level(base, wanted)
        if level not in auto_promote:
            what = f"a {level} change" if level is not None else "no semver change"
            named = ", ".join(lv for lv in LEVELS if lv in auto_promote)
            return PromotionDecision(
                PromotionVerdict.APPROVAL,
                f"waiting for approval: {wanted} is {what} from {base} (autoPromote: {named})",
                wanted,
                pinned,
            )
    if hold is not None:
        return PromotionDecision(hold[0], hold[1], wanted, pinned)
    return PromotionDecision(PromotionVerdict.PROMOTE, f"{wanted} completed {previous}", wanted, pinned)


_SAID = (PromotionVerdict.APPROVAL, PromotionVerdict.WINDOW, PromotionVerdict.FROZEN)


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
        if self.decision.verdict in _SAID:  # the reason says it: "waiting for approval: ...", "frozen: ..."
            return f"{self.environment}: {self.decision.reason}"
        return f"{self.environment}: {self.decision.verdict}: {self.decision.reason}"
