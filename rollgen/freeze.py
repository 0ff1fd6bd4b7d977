"""A repository-wide freeze: while it stands, no controller pass moves anything forward. Pure: time is passed in.

``rollgen freeze --reason TEXT [--until TIME]`` commits the record
:data:`FREEZE_FILE` on the branch; ``rollgen unfreeze`` commits its removal.
The record is a small file at the tip, not a commit to find in history,
because a pass reads the tip anyway (one reading per pass): a file costs one
blob read however long the history is, and a shallow clone (``--depth 1``,
as CI jobs make) has it, where a freeze commit might lie past the cut. The
commits that add and remove it carry ``Rollgen-Freeze`` trailers, so
``git log`` tells who froze, why and when.

While a freeze stands, ``advance``, ``run``, ``detect`` and ``pipeline
advance`` commit nothing and say ``frozen: TEXT``; an abort is never
frozen (a failed gate, an abort in progress, ``rollgen abort``). A freeze
with ``until`` lapses by itself at that time.

>>> record = Freeze(reason="Black Friday", since=1_700_000_000, until=1_700_086_400)
>>> parse_freeze(render_freeze(record)) == record
True
>>> record.standing(1_700_000_100), record.standing(1_700_086_400)
(True, False)
>>> record.line()
'frozen: Black Friday (until 2023-11-15T22:13:20Z)'
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from rollgen import yamlload
from rollgen.durations import parse_duration
from rollgen.windows import iso

FREEZE_DIR = ".rollgen"
FREEZE_NAME = "freeze.yaml"
FREEZE_FILE = f"{FREEZE_DIR}/{FREEZE_NAME}"
TRAILER = "Rollgen-Freeze"


@dataclass(frozen=True, kw_only=True)
class Freeze:
    """A freeze record: why, since when (Unix seconds), and until when (None: until ``rollgen unfreeze``)."""

    reason: str
    since: float
    until: float | None = None

    def standing(self, now: float) -> bool:
        return self.until is None or now < self.until

    def line(self) -> str:
        return f"frozen: {self.reason}" + ("" if self.until is None else f" (until {iso(self.until)})")

    def to_data(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "since": iso(self.since),
            "until": None if self.until is None else iso(self.until),
        }


def standing(freeze: Freeze | None, now: float) -> Freeze | None:
    """``freeze`` when it stands at ``now``, else None."""
    return freeze if freeze is not None and freeze.standing(now) else None


def render_freeze(freeze: Freeze) -> bytes:
    """The record's file: YAML a reviewer reads (JSON strings are YAML strings)."""
    lines = [
        "# rollgen freeze: while this file is on the branch, rollgen moves nothing forward (aborts still go on).",
        "# rollgen unfreeze removes it.",
        f"reason: {json.dumps(freeze.reason)}",
        f"since: {json.dumps(iso(freeze.since))}",
    ]
    if freeze.until is not None:
        lines.append(f"until: {json.dumps(iso(freeze.until))}")
    return ("\n".join(lines) + "\n").encode()


def parse_freeze(text: bytes | None) -> Freeze | None:
    """The record in ``text`` (None: no file). A file that cannot be read still freezes: missing data is no go-ahead."""
    if text is None:
        return None
    try:
        data = yamlload.load(text)
        reason, since = data["reason"], _instant(data["since"])
        until = _instant(data["until"]) if data.get("until") is not None else None
    except (yamlload.YAMLError, KeyError, TypeError, ValueError):
        return Freeze(reason=f"{FREEZE_FILE} cannot be read; fix or remove it (rollgen unfreeze)", since=0)
    return Freeze(reason=str(reason), since=since, until=until)


def parse_until(text: str, now: float) -> float:
    """``--until``: an RFC 3339 time (``2025-12-01T08:00:00Z``) or a duration from ``now`` (``48h``)."""
    try:
        return now + parse_duration(text)
    except ValueError:
        pass
    try:
        return _instant(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a time such as 2025-12-01T08:00:00Z nor a duration such as 48h"
        ) from None


def _instant(value: object) -> float:
    """Unix seconds of an RFC 3339 time (a YAML timestamp too); a time without a zone is refused."""
    when = value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        raise ValueError(f"{value!r} names no time zone (end it with Z or +01:00)")
    return when.timestamp()
