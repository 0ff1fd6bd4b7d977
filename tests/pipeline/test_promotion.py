"""The promotion rule (rollgen.pipeline.promotion), case by case: pure, no git."""

from __future__ import annotations

import pytest

from rollgen.pipeline.promotion import Completed, PromotionDecision, PromotionVerdict, Upstream, decide_promotion

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def at(version: str, digest: str | None = D1, time: int = 1_000) -> Completed:
    return Completed(version, digest, "c0ffee" * 6 + "abcd", time, "r1")


def rule(
    completed: Completed | None,
    version: str = "1.0.0",
    digest: str | None = None,
    *,
    soak: float = 0,
    aborted: dict[str, str] | None = None,
    now: float = 10_000,
) -> PromotionDecision:
    return decide_promotion(
        upstream=(Upstream(name="dev", completed=completed, soak=soak),),
        here="staging",
        version=version,
        digest=digest,
        aborted=aborted or {},
        now=now,
    )


@pytest.mark.parametrize(
    ("decision", "verdict", "version", "reason"),
    [
        # Nothing completed upstream (a rollout in progress or aborted there is no completion).
        (rule(None), PromotionVerdict.UPSTREAM, None, "dev has completed no rollout yet"),
        # Completed and soaked: promoted, with its digest.
        (rule(at("1.1.0")), PromotionVerdict.PROMOTE, "1.1.0", "1.1.0 completed dev"),
        # Already here, digest and all.
        (rule(at("1.1.0"), "1.1.0", D1), PromotionVerdict.CURRENT, "1.1.0", "at 1.1.0, as dev"),
        # Same tag, another digest (a moved tag upstream, pinned): a change to promote.
        (rule(at("1.1.0", D2), "1.1.0", D1), PromotionVerdict.PROMOTE, "1.1.0", "1.1.0 completed dev"),
        # Upstream not pinned: the version alone decides.
        (rule(at("1.1.0", None), "1.1.0", D1), PromotionVerdict.CURRENT, "1.1.0", "at 1.1.0, as dev"),
        # The soak counts from the complete commit; exactly the soak is enough.
        (
            rule(at("1.1.0"), soak=3600, now=1_000 + 3599),
            PromotionVerdict.SOAKING,
            "1.1.0",
            "1.1.0 soaks in dev: 1s left of 1h0m0s",
        ),
        (rule(at("1.1.0"), soak=3600, now=1_000 + 3600), PromotionVerdict.PROMOTE, "1.1.0", "1.1.0 completed dev"),
        # Aborted here: never written again, even though upstream completed it and it is newer.
        (
            rule(at("1.2.0"), "1.1.0", aborted={"1.2.0": "ab" * 20}),
            PromotionVerdict.BLOCKED,
            "1.2.0",
            "1.2.0 was aborted in staging (commit abababababab): not promoted again; "
            "rollgen retry it there, or a newer version supersedes it",
        ),
        # A newer completion supersedes the aborted one: only the last completion counts.
        (
            rule(at("1.3.0"), "1.2.0", aborted={"1.2.0": "ab" * 20}),
            PromotionVerdict.PROMOTE,
            "1.3.0",
            "1.3.0 completed dev",
        ),
        # Upstream rolled back (undo) to an older version: the environment follows it.
        (rule(at("1.0.0"), "1.1.0"), PromotionVerdict.PROMOTE, "1.0.0", "1.0.0 completed dev"),
    ],
)
def test_rule(decision: PromotionDecision, verdict: PromotionVerdict, version: str | None, reason: str) -> None:
    assert (decision.verdict, decision.version, decision.reason) == (verdict, version, reason)


def test_the_soak_remaining_is_exact_and_the_digest_travels() -> None:
    soaking = rule(at("1.1.0", D2, time=5_000), soak=600, now=5_250)
    assert (soaking.remaining, soaking.digest) == (350, D2)
    assert rule(at("1.1.0", D2)).digest == D2


def fan_in(eu: Completed | None, us: Completed | None, **kwargs: object) -> PromotionDecision:
    upstream = (Upstream(name="eu", completed=eu, soak=600), Upstream(name="us", completed=us, soak=60))
    return decide_promotion(upstream=upstream, here="global", version="1.0.0", digest=None, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("decision", "verdict", "reason"),
    [
        (fan_in(at("1.1.0"), None, now=10_000), PromotionVerdict.UPSTREAM, "us has completed no rollout yet"),
        (
            fan_in(at("1.1.0"), at("1.0.1"), now=10_000),
            PromotionVerdict.UPSTREAM,
            "waits for eu 1.1.0, us 1.0.1 to complete one version",
        ),
        # The slowest soak decides: eu's 10m from its completion, not us's 1m.
        (
            fan_in(at("1.1.0", time=1_000), at("1.1.0", time=1_500), now=1_580),
            PromotionVerdict.SOAKING,
            "1.1.0 soaks in eu: 20s left of 10m0s",
        ),
        (fan_in(at("1.1.0"), at("1.1.0"), now=10_000), PromotionVerdict.PROMOTE, "1.1.0 completed eu, us"),
        # Aborted in a wave upstream: never further.
        (
            fan_in(at("1.1.0"), at("1.1.0"), now=10_000, aborted_upstream={"1.1.0": "ap"}),
            PromotionVerdict.BLOCKED,
            "1.1.0 was aborted in ap: it reaches no later environment",
        ),
        # autoPromote counts the level from what runs here.
        (
            fan_in(at("2.0.0"), at("2.0.0"), now=10_000, running="1.9.3", auto_promote=frozenset({"patch", "minor"})),
            PromotionVerdict.APPROVAL,
            "waiting for approval: 2.0.0 is a major change from 1.9.3 (autoPromote: patch, minor)",
        ),
        (
            fan_in(at("1.0.7"), at("1.0.7"), now=10_000, running="1.0.3", auto_promote=frozenset({"patch"})),
            PromotionVerdict.PROMOTE,
            "1.0.7 completed eu, us",
        ),
        (
            fan_in(at("nightly"), at("nightly"), now=10_000, auto_promote=frozenset({"patch"})),
            PromotionVerdict.APPROVAL,
            "waiting for approval: nightly is no semver change from 1.0.0 (autoPromote: patch)",
        ),
        # A window or a freeze holds only what is due.
        (
            fan_in(at("1.1.0"), at("1.1.0"), now=10_000, hold=(PromotionVerdict.FROZEN, "frozen: release day")),
            PromotionVerdict.FROZEN,
            "frozen: release day",
        ),
        (
            fan_in(at("1.1.0"), None, now=10_000, hold=(PromotionVerdict.FROZEN, "frozen: release day")),
            PromotionVerdict.UPSTREAM,
            "us has completed no rollout yet",
        ),
    ],
)
def test_fan_in_levels_and_holds(decision: PromotionDecision, verdict: PromotionVerdict, reason: str) -> None:
    assert (decision.verdict, decision.reason) == (verdict, reason)


def test_a_version_aborted_in_one_environment_of_a_wave_is_said_to_stop_there() -> None:
    # eu completed 1.2.0, us aborted it and still completes 1.1.0: global is told why it never comes.
    found = fan_in(at("1.2.0"), at("1.1.0"), now=10_000, aborted_upstream={"1.2.0": "us"})
    assert (found.verdict, found.reason) == (
        PromotionVerdict.BLOCKED,
        "1.2.0 was aborted in us: it reaches no later environment",
    )
