"""``rollgen run``: the loop over :func:`rollgen.controller.advance.advance`, with a live display.

The pass itself decides and commits; this module only repeats it, waits out an
unreachable remote and shows the progress (:mod:`rollgen.cli.progress`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Final, TextIO

from rollgen.cli.progress import Display, summary
from rollgen.controller.advance import Pass, advance
from rollgen.controller.decision import Abort, WaitUntil
from rollgen.controller.notify import Notifier, events_of
from rollgen.errors import EXIT_FAILURE, EXIT_OK
from rollgen.gitops.errors import RemoteUnavailableError
from rollgen.gitops.repo import Repo
from rollgen.rollout.state import RolloutPhase
from rollgen.spec.model import Release

OUTAGE_PATIENCE: Final = 300.0
"""How long ``run`` keeps trying while the remote cannot be reached before it gives up with the error."""
_BACKOFF: Final = (1.0, 30.0)
"""First and longest wait between two tries while the remote cannot be reached (doubling in between)."""


def _through_outages(
    attempt: Callable[[], Pass], clock: Callable[[], float], sleep: Callable[[float], None], patience: float
) -> Pass:
    """``attempt()``, tried again with a doubling backoff while the remote cannot be reached, for ``patience`` seconds.

    A pass that failed half way is safe to repeat: every commit it makes is a
    compare-and-swap the next pass reads back (see :mod:`rollgen.rollout.operations`).
    """
    began, wait = clock(), _BACKOFF[0]
    while True:
        try:
            return attempt()
        except RemoteUnavailableError as error:
            waited = clock() - began
            if waited + wait > patience:
                raise RemoteUnavailableError(
                    error.argv,
                    error.returncode,
                    f"{error.stderr.strip()}\n(the remote stayed unreachable for {waited:.0f} s; the rollout is where "
                    "it was: run again once the remote is back)",
                ) from None
            sleep(wait)
            wait = min(wait * 2, _BACKOFF[1])


POLL: Final = 2.0
"""How often ``run`` looks at Git while it waits for a human (promote, abort) or a long pause."""


def follow(
    repo: Repo,
    release: Release,
    *,
    remote: str | None = None,
    out: TextIO | None = None,
    live: bool | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    patience: float = OUTAGE_PATIENCE,
    notifier: Notifier | None = None,
) -> int:
    """Loop :func:`advance` until the rollout completes (0) or is aborted (1), showing progress.

    A rollout the spec superseded is walked back, then the newest revision is
    rolled out in the same run: the run ends once Git runs what the spec asks
    for (0), or the rollout of it was aborted (1).

    Resumable: all state is in Git and its notes, so a killed ``run`` started
    again carries on where it stopped. An unreachable remote is waited out
    (for up to ``patience`` seconds, see :func:`_through_outages`), then ends
    the loop with its error (exit 2), never as an abort. What each pass did
    is announced through ``notifier`` (none: nothing is sent).
    """
    display = Display(out if out is not None else sys.stdout, live=live)
    began = clock()
    reason = ""
    while True:
        current = _through_outages(lambda: advance(repo, release, remote=remote, clock=clock), clock, sleep, patience)
        if notifier is not None:
            for event in events_of(current.before, current.after, current.judgement, measured=current.measured):
                notifier.emit(event)
        decision = current.judgement.decision if current.judgement is not None else None
        if isinstance(decision, Abort) and current.state.phase is not RolloutPhase.ABORTING:
            reason = decision.reason
        display.show(current, clock())
        if current.done and current.committed:
            continue  # the spec may ask for more once this is over (a newer revision after a walk back)
        if current.done:
            display.summary(summary(current.after, clock() - began, reason or current.after.reason))
            return EXIT_OK if current.after.phase is RolloutPhase.COMPLETED else EXIT_FAILURE
        if current.committed:
            continue  # judge the new commit at once
        until = decision.until if isinstance(decision, WaitUntil) and decision.until is not None else clock() + POLL
        # Sleep in slices of at most a second so a terminal's countdowns tick.
        while (left := until - clock()) > 0:
            sleep(min(left, 1.0) if display.live else left)
            if display.live:
                display.show(current, clock())
