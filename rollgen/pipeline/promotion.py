"""Whether a version moves to the next environment of a pipeline: the pure rule, no I/O.

The rule, one environment at a time (``here``, fed by ``previous``):

1. ``here`` follows ``previous``'s **last completed** version: the new
   version of the newest ``complete`` record on ``previous``'s branch. A
   rollout in progress, aborted or being aborted there is no completion, so a
   version that fails in one environment never reaches the next.
2. Only the newest completion counts; nothing queues. A newer version that
   completes ``previous`` before an older one was promoted supersedes it;
   an undo completed in ``previous`` (back to an older version) is followed too.
3. The version moves once it has run completed in ``previous`` for
   ``previous``'s ``soak`` (counted from the complete commit's time).
4. A version whose latest rollout in ``here`` was aborted is not written
   there again: a human retries it (``rollgen retry``), or a newer version
   supersedes it.
5. Promoting writes version and digest into ``here``'s spec (nothing else);
   the trigger (``rollgen advance``) rolls it out, superseding whatever
   rollout is in progress there.

>>> done = Completed("1.1.0", "sha256:ab", "c0ffee", time=1_000, rollout="r1")
>>> decide_promotion(previous="dev", completed=done, soak=600, here="staging", version="1.0.0", digest=None,
...        aborted={}, now=1_100).reason
'1.1.0 soaks in dev: 8m20s left of 10m0s'
>>> decide_promotion(previous="dev", completed=done, soak=600, here="staging", version="1.0.0", digest=None,
...        aborted={}, now=1_600).verdict
<PromotionVerdict.PROMOTE: 'promote'>
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from rollgen.durations import format_duration


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


@dataclass(frozen=True)
class PromotionDecision:
    verdict: PromotionVerdict
    reason: str
    version: str | None = None
    digest: str | None = None
    remaining: float = 0.0


def decide_promotion(
    *,
    previous: str,
    completed: Completed | None,
    soak: float,
    here: str,
    version: str,
    digest: str | None,
    aborted: Mapping[str, str],
    now: float,
) -> PromotionDecision:
    """What to do for environment ``here`` whose spec names ``version``/``digest`` (see the module's rule).

    ``aborted`` maps the versions whose latest rollout in ``here`` was
    aborted to the abort's commit; ``now`` is Unix seconds.
    """
    if completed is None:
        return PromotionDecision(PromotionVerdict.UPSTREAM, f"{previous} has completed no rollout yet")
    wanted, pinned = completed.version, completed.digest
    if wanted == version and (pinned is None or pinned == digest):
        return PromotionDecision(PromotionVerdict.CURRENT, f"at {wanted}, as {previous}", wanted, pinned)
    if wanted in aborted:
        return PromotionDecision(
            PromotionVerdict.BLOCKED,
            f"{wanted} was aborted in {here} (commit {aborted[wanted][:12]}): not promoted again; "
            f"rollgen retry it there, or a newer version supersedes it",
            wanted,
            pinned,
        )
    remaining = completed.time + soak - now
    if remaining > 0:
        return PromotionDecision(
            PromotionVerdict.SOAKING,
            f"{wanted} soaks in {previous}: {format_duration(round(remaining))} left of {format_duration(soak)}",
            wanted,
            pinned,
            remaining,
        )
    return PromotionDecision(PromotionVerdict.PROMOTE, f"{wanted} completed {previous}", wanted, pinned)
