"""Deployment windows (``spec.windows``): when rollgen may start a rollout or commit a step. Pure: time is passed in.

A window has Argo CD's SyncWindow fields: ``kind`` (``allow`` or ``deny``),
``schedule`` (a five-field cron expression, when the window opens),
``duration`` (how long it stays open) and ``timeZone`` (the schedule's IANA
zone, UTC by default). The rules are Argo CD's
(docs/user-guide/sync_windows.md, ``SyncWindows.active`` in
pkg/apis/application/v1alpha1):

- no window: nothing is held;
- any ``allow`` window: only while one of them is open;
- an open ``deny`` window holds, whatever ``allow`` window is open too
  (deny wins over allow).

One departure, at a single instant: Argo CD's check is strict at the start
(``Next(now - duration) < now``), so a window is closed at the second it
opens. Here a window is open from its start (included) to its end
(excluded), so a hold said to end "until T" has ended at T.

Cron expressions are read by cronsim (the same five fields as Argo CD's
robfig/cron: minute, hour, day of month, month, day of week; a day of month
and a day of week both given match either, as cron does).

>>> deny = Window(kind="deny", schedule="0 22 * * *", duration=3600)
>>> at_22_30 = 1_735_770_600.0  # 2025-01-01T22:30:00Z
>>> print(hold((deny,), at_22_30).line())
held: inside deny window '0 22 * * *' for 1h0m0s (UTC) until 2025-01-01T23:00:00Z
>>> hold((deny,), at_22_30 + 1800) is None
True
>>> held_seconds((deny,), at_22_30 - 3600, at_22_30 + 3600)
3600.0
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rollgen.durations import format_duration

DEFAULT_ZONE = "UTC"

# Walking a hold forward is bounded: a deny window open around the clock never lets go.
_MAX_JUMPS = 1000


@dataclass(frozen=True, kw_only=True)
class Window:
    """One deployment window: open for ``duration`` seconds from each time ``schedule`` names, in ``time_zone``."""

    kind: Literal["allow", "deny"]
    schedule: str
    duration: float
    time_zone: str = DEFAULT_ZONE

    def describe(self) -> str:
        return f"{self.kind} window '{self.schedule}' for {format_duration(self.duration)} ({self.time_zone})"


@dataclass(frozen=True, kw_only=True)
class WindowHold:
    """Why nothing moves now: inside ``window`` (a deny), or outside every allow window (``window`` opens first).

    ``until`` is the first time no window holds any more (None: not within
    a thousand openings and closings walked, e.g. a deny window open around the clock).
    """

    window: Window
    until: float | None

    def line(self) -> str:
        where = "inside" if self.window.kind == "deny" else "outside every allow window; next:"
        until = "no end in sight" if self.until is None else f"until {iso(self.until)}"
        return f"held: {where} {self.window.describe()} {until}"

    def to_data(self) -> dict[str, object]:
        window = self.window
        return {
            "kind": window.kind,
            "schedule": window.schedule,
            "duration": format_duration(window.duration),
            "timeZone": window.time_zone,
            "until": None if self.until is None else iso(self.until),
        }


def schedule_problem(schedule: str) -> str | None:
    """What is wrong with a cron schedule, or None (five fields, as Argo CD reads them)."""
    from cronsim import CronSim, CronSimError  # loaded where a spec has windows: validate stays light

    fields = schedule.split()
    if len(fields) != 5:
        return f"{schedule!r} is not a cron schedule: five fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    try:
        CronSim(schedule, datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
    except CronSimError as exc:
        return f"{schedule!r} is not a cron schedule: {exc}"
    return None


def zone_problem(name: str) -> str | None:
    """What is wrong with an IANA time zone name, or None."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not a known time zone (an IANA name such as UTC or Europe/Amsterdam)"
    return None


def hold(windows: Sequence[Window], now: float) -> WindowHold | None:
    """What holds a rollout at ``now`` (Unix seconds), or None when the windows let it move."""
    cause = _cause(windows, now)
    if cause is None:
        return None
    t: float | None = now
    for _ in range(_MAX_JUMPS):
        assert t is not None
        t = _released(windows, t)
        if t is None or _cause(windows, t) is None:
            break
    else:
        t = None
    return WindowHold(window=cause, until=t)


def held_seconds(windows: Sequence[Window], start: float, end: float) -> float:
    """How long the windows held between ``start`` and ``end``: a deadline does not run while a window holds."""
    total, t = 0.0, start
    for _ in range(_MAX_JUMPS):
        if t >= end:
            break
        held = _cause(windows, t) is not None
        edge = _released(windows, t) if held else _next_edge(windows, t)
        stop = end if edge is None else min(edge, end)
        total += stop - t if held else 0.0
        t = stop
    return total


def iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cause(windows: Sequence[Window], t: float) -> Window | None:
    """The window that holds at ``t``: an open deny, else (with allow windows, none open) the next allow to open."""
    deny = [w for w in windows if w.kind == "deny" and _opened(w, t) is not None]
    if deny:
        return max(deny, key=lambda w: _end(w, t))
    allows = [w for w in windows if w.kind == "allow"]
    if not allows or any(_opened(w, t) is not None for w in allows):
        return None
    return min(allows, key=lambda w: _next_start(w, t))


def _released(windows: Sequence[Window], t: float) -> float | None:
    """When the cause of the hold at ``t`` lets go: the open denies' latest end, else the next allow's start."""
    open_denies = [_end(w, t) for w in windows if w.kind == "deny" and _opened(w, t) is not None]
    if open_denies:
        return max(open_denies)
    starts = [_next_start(w, t) for w in windows if w.kind == "allow"]
    soonest = min(starts, default=math.inf)
    return soonest if math.isfinite(soonest) else None


def _next_edge(windows: Sequence[Window], t: float) -> float | None:
    """The first time after ``t`` at which a window opens or closes (None: no window ever does again)."""
    edges = [_next_start(w, t) for w in windows]
    edges += [_end(w, t) for w in windows if _opened(w, t) is not None]
    found = [e for e in edges if e > t and math.isfinite(e)]
    return min(found, default=None)


def _opened(window: Window, t: float) -> float | None:
    """When the occurrence of ``window`` open at ``t`` began (the latest start not after ``t``), or None."""
    from zoneinfo import ZoneInfo

    from cronsim import CronSim

    zone = ZoneInfo(window.time_zone)
    # Starts are whole minutes: strictly before floor(t) + 1 is at or before t.
    after = datetime.datetime.fromtimestamp(math.floor(t) + 1, zone)
    try:
        start = next(CronSim(window.schedule, after, reverse=True)).timestamp()
    except StopIteration:
        return None
    return start if t < start + window.duration else None


def _end(window: Window, t: float) -> float:
    opened = _opened(window, t)
    return -math.inf if opened is None else opened + window.duration


def _next_start(window: Window, t: float) -> float:
    from zoneinfo import ZoneInfo

    from cronsim import CronSim

    try:
        return next(
            CronSim(window.schedule, datetime.datetime.fromtimestamp(t, ZoneInfo(window.time_zone)))
        ).timestamp()
    except StopIteration:
        return math.inf
