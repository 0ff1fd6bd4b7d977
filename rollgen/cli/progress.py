"""What ``rollgen run`` shows: a live view of the rollout, then a one-paragraph summary.

:func:`frame` turns a controller pass into lines (pure); :class:`Display`
draws them. On a terminal the view is redrawn in place every second, so
countdowns tick; otherwise (CI logs, pipes) a line is printed only when
something changed, never a countdown, so a log reads like a story.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TextIO

from rollgen.controller.advance import Pass
from rollgen.controller.decision import Abort, Advance, Hold, WaitUntil, record_key
from rollgen.gates.analysis import Phase
from rollgen.gitops.trailers import one_line
from rollgen.rollout.state import RolloutPhase, RolloutState


@dataclass(frozen=True)
class Frame:
    """The lines to show; ``key`` is the same as long as nothing but countdowns changed."""

    lines: tuple[str, ...]
    key: tuple[str, ...]


MESSAGE_LIMIT = 160
"""How much of a measurement's message a screen line shows (the git note keeps all of it)."""


def headline(state: RolloutState) -> str:
    """``podinfo 1.0 -> 2.0  step 3/9 setWeight 25% (weight 25%)  @1a2b3c4``"""
    step = state.plan_step
    what = ""
    if step is not None:
        asked = f" {step.set_weight}%" if step.set_weight is not None else ""
        what = f" {step.action}{asked} (new version gets {step.weight:g}%)"
    name = state.release.partition("/")[2]
    return (
        f"{name} {state.from_label} -> {state.to_label}  step {state.step}/{state.steps}{what}  "
        f"[{state.phase}{', PAUSED' if state.paused else ''}]  @{state.commit[:7]}"
    )


def _left(until: float | None, now: float) -> str:
    return "" if until is None else f"{max(0, math.ceil(until - now))}s"


def frame(current: Pass, now: float) -> Frame:
    """The view of one pass at ``now`` (only the countdowns depend on ``now``)."""
    lines = [headline(current.state)]
    if current.state.walk_back is not None:  # a five-commit abort is not "step 5/9" five times over
        done, of = current.state.walk_back
        lines.append(
            f"  walking back: {done} of {of} commits"
            + (f", because {current.state.reason}" if current.state.reason else "")
        )
    key = list(lines)
    judgement = current.judgement
    if judgement is not None:
        for view in judgement.gates:
            verdict = view.verdict
            counts = f"{verdict.count} measured" + (f", {verdict.failed} failed" if verdict.failed else "")
            countdown = ""
            if verdict.phase is Phase.RUNNING and verdict.next_measurement_at is not None:
                countdown = f", next in {_left(verdict.next_measurement_at, now)}"
            stable = f"  {view.stage:<11} {view.gate:<20} {verdict.phase.value:<12} {counts}"
            kept = current.records.get(record_key(view.stage, view.gate), ())
            if kept and kept[-1].message:
                # The last measurement's own words: a refused connection shows at once, not at the abort.
                stable += f"; last {kept[-1].phase.value}: {one_line(kept[-1].message, MESSAGE_LIMIT)}"
            lines.append(stable + countdown)
            key.append(stable)
        decision = judgement.decision
        if isinstance(decision, WaitUntil):
            until = f" ({_left(decision.until, now)} left)" if decision.until is not None else ""
            # Gate stages already show each gate; the wait line only says until when.
            said = "  waiting for the next measurement" if judgement.gates else f"  waiting: {decision.reason}"
            lines.append(said + until)
            key.append(said)
        elif isinstance(decision, Hold):
            lines.append(f"  HOLD for a human (rollgen promote | rollgen abort): {decision.reason}")
        elif isinstance(decision, Abort):
            lines.append(f"  ABORT: {decision.reason}")
        elif isinstance(decision, Advance) and not current.committed:
            lines.append("  all gates passed")
        key += lines[len(key) :]
    if current.note:
        lines.append(f"  {current.note}")
        key.append(lines[-1])
    if current.committed:
        lines.append(
            f"  committed {current.after.action} -> step {current.after.step}/{current.after.steps} "
            f"@{current.after.commit[:7]}"
        )
        key.append(lines[-1])
    return Frame(tuple(lines), tuple(key))


class Display:
    """Draws frames to ``stream``: in place on a terminal, as changed lines otherwise."""

    def __init__(self, stream: TextIO, *, live: bool | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self._drawn = 0  # lines of the live view on screen, to redraw over
        self._last: tuple[str, ...] = ()

    def show(self, current: Pass, now: float) -> None:
        self.draw(frame(current, now), ends_view=current.committed)

    def draw(self, shown: Frame, *, ends_view: bool = False) -> None:
        """Draw ``shown``; ``ends_view`` keeps it on screen as history and starts a new view below."""
        if self.live:
            # Cursor up over the last view, clear to the end of the screen, draw again.
            erase = f"\x1b[{self._drawn}F\x1b[J" if self._drawn else ""
            self.stream.write(erase + "".join(line + "\n" for line in shown.lines))
            self._drawn = 0 if ends_view else len(shown.lines)
        elif shown.key != self._last:
            # Same step: only what changed (a gate's count, the wait); a new step: everything.
            same_step = bool(self._last) and shown.key[0] == self._last[0]
            new = [line for line in shown.key if line not in self._last] if same_step else list(shown.key)
            self.stream.write("".join(line + "\n" for line in new))
        self._last = () if ends_view else shown.key
        self.stream.flush()

    def summary(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def summary(last: RolloutState, seconds: float, reason: str) -> str:
    """The closing paragraph of ``rollgen run``."""
    name = last.release.partition("/")[2]
    took = f"in {seconds:.1f}s"
    if last.phase is RolloutPhase.COMPLETED:
        return (
            f"rollout {name} {last.from_label} -> {last.to_label} COMPLETED {took}: "
            f"{last.steps} steps, {last.to_label} now runs alone (@{last.commit[:7]})"
        )
    why = f": {reason}" if reason else ""
    return (
        f"rollout {name} {last.from_label} -> {last.to_label} ABORTED {took}{why}; "
        f"{last.from_label} restored byte for byte (@{last.commit[:7]})"
    )
