"""Deployment windows (rollgen.windows) case by case, with Argo CD's SyncWindow rules; freezes and holds (pure).

The rules are those of argoproj/argo-cd docs/user-guide/sync_windows.md (Apache-2.0): no window allows
everything; with allow windows only an open one allows; an open deny window wins over any allow.
"""

from __future__ import annotations

import datetime

import pytest

from rollgen.freeze import FREEZE_FILE, Freeze, parse_freeze, parse_until
from rollgen.rollout.holds import held_for, holding
from rollgen.windows import Window, held_seconds, hold, schedule_problem, zone_problem


def t(text: str) -> float:
    return datetime.datetime.fromisoformat(text).timestamp()


NIGHT = Window(kind="deny", schedule="0 22 * * *", duration=3600)
OFFICE = Window(kind="allow", schedule="0 9 * * 1-5", duration=8 * 3600, time_zone="Europe/Amsterdam")
LUNCH = Window(kind="deny", schedule="0 12 * * *", duration=3600, time_zone="Europe/Amsterdam")


@pytest.mark.parametrize(
    ("windows", "now", "held_by", "until"),
    [
        ((), "2030-01-01T22:30:00+00:00", None, None),
        ((NIGHT,), "2030-01-01T21:59:59+00:00", None, None),
        ((NIGHT,), "2030-01-01T22:00:00+00:00", NIGHT, "2030-01-01T23:00:00+00:00"),  # open from its start
        ((NIGHT,), "2030-01-01T22:59:59+00:00", NIGHT, "2030-01-01T23:00:00+00:00"),
        ((NIGHT,), "2030-01-01T23:00:00+00:00", None, None),  # closed at its end
        # Allow windows: only while one is open (Tuesday 10:00 in Amsterdam is 09:00Z).
        ((OFFICE,), "2030-01-01T09:00:00+00:00", None, None),
        ((OFFICE,), "2030-01-01T17:00:00+00:00", OFFICE, "2030-01-02T08:00:00+00:00"),
        ((OFFICE,), "2030-01-05T12:00:00+00:00", OFFICE, "2030-01-07T08:00:00+00:00"),  # Saturday: until Monday
        # Deny wins over an open allow; the hold ends when the deny closes inside the allow.
        ((OFFICE, LUNCH), "2030-01-01T11:30:00+00:00", LUNCH, "2030-01-01T12:00:00+00:00"),
        # A deny closing outside every allow: held on until the next allow opens.
        ((OFFICE, NIGHT), "2030-01-01T22:30:00+00:00", NIGHT, "2030-01-02T08:00:00+00:00"),
        # Summer time: 09:00 in Amsterdam is 07:00Z.
        ((OFFICE,), "2030-07-01T06:59:00+00:00", OFFICE, "2030-07-01T07:00:00+00:00"),
    ],
)
def test_what_holds_and_until_when(
    windows: tuple[Window, ...], now: str, held_by: Window | None, until: str | None
) -> None:
    found = hold(windows, t(now))
    if held_by is None:
        assert found is None
        return
    assert found is not None and found.window == held_by
    assert found.until == t(until) if until is not None else found.until is None


def test_a_deny_window_open_around_the_clock_has_no_end_in_sight() -> None:
    always = Window(kind="deny", schedule="*/5 * * * *", duration=3600)
    found = hold((always,), t("2030-01-01T00:00:00+00:00"))
    assert found is not None and found.until is None
    assert found.line() == "held: inside deny window '*/5 * * * *' for 1h0m0s (UTC) no end in sight"


def test_held_seconds_counts_only_the_held_time() -> None:
    day = t("2030-01-01T00:00:00+00:00")
    assert held_seconds((NIGHT,), day, day + 86_400) == 3600
    assert held_seconds((NIGHT,), day + 22.5 * 3600, day + 86_400) == 1800
    assert held_seconds((OFFICE, LUNCH), day, day + 86_400) == 86_400 - 7 * 3600  # open 9-17 less lunch
    assert held_seconds((), day, day + 86_400) == 0


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("0 22 * * 5", None),
        ("@daily", "'@daily' is not a cron schedule: five fields (minute hour day-of-month month day-of-week), got 1"),
        (
            "0 0 * * * *",
            "'0 0 * * * *' is not a cron schedule: five fields (minute hour day-of-month month day-of-week), got 6",
        ),
        ("61 * * * *", "'61 * * * *' is not a cron schedule: Bad minute"),
    ],
)
def test_schedules_are_checked_as_argo_cd_reads_them(schedule: str, problem: str | None) -> None:
    assert schedule_problem(schedule) == problem


def test_zones_are_iana_names() -> None:
    assert zone_problem("Europe/Amsterdam") is None
    assert (
        zone_problem("Mars/Base")
        == "'Mars/Base' is not a known time zone (an IANA name such as UTC or Europe/Amsterdam)"
    )


def test_a_freeze_wins_over_a_window_and_a_lapsed_one_holds_nothing() -> None:
    at = t("2030-01-01T22:30:00+00:00")
    frozen = Freeze(reason="release day", since=at - 60)
    found = holding(frozen, (NIGHT,), at)
    assert found is not None and found.line == "frozen: release day"
    lapsed = Freeze(reason="over", since=at - 120, until=at - 60)
    found = holding(lapsed, (NIGHT,), at)
    assert found is not None and found.line.startswith("held: inside deny window")
    assert holding(lapsed, (), at) is None
    # The deadline pauses for the longer of the two holds.
    assert held_for(frozen, (NIGHT,), since=at - 3600, now=at) == 1800
    assert held_for(Freeze(reason="x", since=at - 3600), (NIGHT,), since=at - 3600, now=at) == 3600


def test_a_freeze_record_that_cannot_be_read_still_freezes() -> None:
    found = parse_freeze(b"reason: [unclosed")
    assert found is not None and found.standing(0) and FREEZE_FILE in found.reason
    assert parse_freeze(b"reason: x\nsince: 2030-01-01T00:00:00\n") is not None  # no zone: not a go-ahead either
    assert parse_freeze(None) is None


def test_until_is_a_time_or_a_duration_from_now() -> None:
    assert parse_until("48h", 1_000) == 1_000 + 48 * 3600
    assert parse_until("2030-01-01T00:00:00Z", 0) == t("2030-01-01T00:00:00+00:00")
    with pytest.raises(ValueError, match="neither a time"):
        parse_until("tomorrow", 0)
