"""Step records as commit trailers: round trips, validation, and git reading them the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollgen.gitops.errors import TrailerError
from rollgen.gitops.trailers import (
    Action,
    StepRecord,
    compose_message,
    format_trailers,
    one_line,
    parse_trailers,
    release_pattern,
    rollout_id,
)
from testkit.git import git

dns = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?", fullmatch=True)
token = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9:._+-]{0,30}", fullmatch=True)
version = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1, max_size=20)


@st.composite
def records(draw: st.DrawFn) -> StepRecord:
    steps = draw(st.integers(1, 50))
    return StepRecord(
        release=f"{draw(dns)}/{draw(dns)}",
        rollout=draw(token),
        step=draw(st.integers(0, steps)),
        steps=steps,
        plan=draw(token),
        action=draw(st.sampled_from(Action)),
        from_label=draw(version),
        to_label=draw(version),
        wait=draw(st.sampled_from(["", "pause", "pause 30; gates errors,latency", "back 2/5"])),
        reason=one_line(draw(st.text(max_size=400))),
        config=draw(st.sampled_from(["", "3f2a9c0d1e"])),
    )


@given(records())
def test_round_trip(record: StepRecord) -> None:
    assert StepRecord.from_trailers(record.to_trailers()) == record
    assert StepRecord.from_trailers(parse_trailers(format_trailers(record))) == record


def test_git_reads_our_trailer_block(tmp_path: Path) -> None:
    record = StepRecord("prod/podinfo", "3f2a9c1d0b7e", 2, 5, "sha256:9b1c", Action.ADVANCE, "6.4.0", "6.5.0")
    message = compose_message("podinfo: step 2/5\n\nBody line.\nSigned-off-by: not a trailer here", record)
    parsed = git(tmp_path, "interpret-trailers", "--parse", input=message.encode())
    assert StepRecord.from_trailers(parse_trailers(parsed)) == record
    assert parsed.count("\n") + 1 == 7  # only our block: the body's lines are not trailers


def test_a_reason_with_newlines_and_escapes_becomes_one_bounded_trailer(tmp_path: Path) -> None:
    said = "gate healthz: Error\n  dial tcp 127.0.0.1:1: connect: connection refused\x1b[31m" + "x" * 500
    record = StepRecord("prod/web", "r1", 0, 5, "d", Action.ABORT, "1.0", "1.1", reason=one_line(said))
    parsed = git(tmp_path, "interpret-trailers", "--parse", input=compose_message("web: abort", record).encode())
    back = StepRecord.from_trailers(parse_trailers(parsed))
    assert back == record and "\n" not in back.reason and "\x1b" not in back.reason and len(back.reason) <= 300
    assert back.reason.startswith("gate healthz: Error dial tcp 127.0.0.1:1: connect: connection refused")


def test_commits_written_before_the_optional_trailers_still_read() -> None:
    old = StepRecord("prod/web", "r1", 2, 5, "d", Action.ADVANCE, "1.0", "1.1")
    assert StepRecord.from_trailers(parse_trailers(format_trailers(old))) == old
    assert (old.wait, old.reason) == ("", "") and "Rollgen-Wait" not in format_trailers(old)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("release", "podinfo", "namespace"),
        ("release", "Prod/podinfo", "namespace"),
        ("rollout", "a b", "Rollgen-Rollout"),
        ("plan", "", "Rollgen-Plan"),
        ("to_label", "6.5.0\nRollgen-Step: 9/9", "one non-empty line"),
        ("from_label", " 6.4.0", "surrounding"),
        ("step", 4, "0 <= i <= n"),
        ("step", -1, "0 <= i <= n"),
        ("action", "deploy", "must be one of"),
    ],
)
def test_invalid_values_are_refused(field: str, value: object, error: str) -> None:
    values: dict[str, object] = {
        "release": "prod/app",
        "rollout": "r",
        "step": 1,
        "steps": 3,
        "plan": "p",
        "action": Action.START,
        "from_label": "1",
        "to_label": "2",
    }
    values[field] = value
    with pytest.raises(TrailerError, match=error):
        StepRecord(**values)  # type: ignore[arg-type]


def test_reading_back_is_strict_about_our_keys_only() -> None:
    good = StepRecord("prod/app", "r", 1, 3, "p", Action.START, "1", "2").to_trailers()
    lower = (*tuple((k.lower(), v) for k, v in good), ("Signed-off-by", "A <a@b>"))
    assert StepRecord.from_trailers(lower).step == 1
    with pytest.raises(TrailerError, match=r"missing trailer.*Rollgen-To"):
        StepRecord.from_trailers(good[:-1])
    with pytest.raises(TrailerError, match="more than once"):
        StepRecord.from_trailers(good + good[:1])
    with pytest.raises(TrailerError, match="i/n"):
        StepRecord.from_trailers((*good[:2], ("Rollgen-Step", "two"), *good[3:]))
    with pytest.raises(TrailerError, match="subject"):
        compose_message("\n\n", StepRecord.from_trailers(good))


def test_rollout_id_is_stable_and_distinct() -> None:
    a = rollout_id("prod/app", "1", "2", "a" * 40)
    assert a == rollout_id("prod/app", "1", "2", "a" * 40) and len(a) == 12
    assert a != rollout_id("prod/app", "1", "2", "b" * 40)


def test_release_pattern_matches_exactly_one_release(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main", "r")
    repo = tmp_path / "r"
    for release in ("prod/app.v2", "prod/appxv2", "prod/app.v22"):
        git(repo, "commit", "-q", "--allow-empty", "-m", f"s\n\nRollgen-Release: {release}")
    found = git(
        repo, "log", "--format=%(trailers:key=Rollgen-Release,valueonly)", f"--grep={release_pattern('prod/app.v2')}"
    )
    assert found.split() == ["prod/app.v2"]
