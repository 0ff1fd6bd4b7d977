"""What holds a rollout from moving forward now: a standing freeze, else a deployment window. Pure: time is passed in.

A hold stops what moves a release forward -- a rollout starting, a spec
change superseding one, the next step's commit -- and nothing else: gates
are still measured, and an abort (a failed gate, a progress deadline, an
abort under way, ``rollgen abort``) is never held, since stopping half way
back is worse than either end. While a hold stands, a step's progress
deadline does not run: :func:`held_for` is added to it.

>>> from rollgen.freeze import Freeze
>>> holding(Freeze(reason="release day", since=0), (), now=10).line
'frozen: release day'
>>> holding(None, (), now=10) is None
True
>>> held_for(Freeze(reason="x", since=100, until=400), (), since=300, now=1_000)
100.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rollgen.freeze import Freeze, standing
from rollgen.windows import Window, held_seconds, hold


@dataclass(frozen=True, kw_only=True)
class Holding:
    """Why a release does not move forward now (``line``), and when that ends as far as is known (None: unknown)."""

    line: str
    until: float | None


def holding(freeze: Freeze | None, windows: Sequence[Window], now: float) -> Holding | None:
    """The freeze standing at ``now`` (it wins: it is the wider one), else the window that holds, else None."""
    frozen = standing(freeze, now)
    if frozen is not None:
        return Holding(line=frozen.line(), until=frozen.until)
    held = hold(windows, now)
    return None if held is None else Holding(line=held.line(), until=held.until)


def held_for(freeze: Freeze | None, windows: Sequence[Window], *, since: float, now: float) -> float:
    """How long between ``since`` and ``now`` a hold stood (the freeze's span, else the windows'): a deadline's pause.

    Where both held, the longer of the two counts: never more than the time
    held, so a deadline is never stretched past what a hold took (when they
    only partly overlap, the shorter one's own part is not added).
    """
    frozen = 0.0
    if freeze is not None:
        end = now if freeze.until is None else min(freeze.until, now)
        frozen = max(0.0, float(end - max(freeze.since, since)))
    return max(frozen, held_seconds(windows, since, now))
