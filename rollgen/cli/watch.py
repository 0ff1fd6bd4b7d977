"""``rollgen status --watch``: show the rollouts again every interval until they end, then say how.

Like ``kubectl argo rollouts get rollout --watch`` for the screen and
``argocd app wait`` for the exit: 0 when every rollout shown completed, 1
when any aborted, 4 (:class:`~rollgen.errors.TimedOut`) when ``--timeout``
ran out first, so a CI job can wait on a rollout. The clock and the sleep are
parameters, so a test drives the loop without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from rollgen.errors import EXIT_FAILURE, EXIT_OK, TimedOut
from rollgen.rollout.state import RolloutPhase

INTERVAL: Final = 2.0
"""Seconds between two looks at Git, unless ``--interval`` says otherwise."""

Rows = Sequence[Mapping[str, Any]]
# A row that cannot be read ("error": a spec being edited) is waited on like one in progress.
_OVER: Final = frozenset(phase.value for phase in RolloutPhase if phase.over)


def watch(
    read: Callable[[], Rows],
    draw: Callable[[Rows], None],
    *,
    interval: float = INTERVAL,
    timeout: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Read and draw the rows every ``interval`` seconds until every rollout is over, or ``timeout``.

    A release with no rollout yet, or whose spec or state cannot be read now, is waited for like one in progress.
    """
    began = clock()
    while True:
        rows = read()
        draw(rows)
        phases = [row["phase"] for row in rows]
        if phases and all(phase in _OVER for phase in phases):
            return EXIT_OK if all(phase == RolloutPhase.COMPLETED for phase in phases) else EXIT_FAILURE
        left = None if timeout is None else began + timeout - clock()
        if left is not None and left <= 0:
            going = ", ".join(f"{row['release']} {row['phase']}" for row in rows if row["phase"] not in _OVER)
            raise TimedOut(f"timed out after {timeout:g}s waiting for {going or 'a rollout'} to complete or abort")
        sleep(interval if left is None else min(interval, left))
