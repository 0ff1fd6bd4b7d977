"""Spec against Git: what the next pass does when the spec asks for another revision than Git runs.

The spec on the branch is the desired state: its ``version`` and ``digest``
with the configuration built from the repository now
(:func:`rollgen.render.desired.desired_revision`). Git records what runs: the
revisions frozen in the output directory at the tip
(:func:`rollgen.render.revision.live_revisions`) and the last rollout's record
(:mod:`rollgen.rollout.state`). :func:`next_action` compares them, purely, so that
``advance``, ``run``, ``start`` and ``status`` agree on one answer:

- nothing recorded and no revision in the output: the release must be adopted
  first (``rollgen adopt``), so that an abort can never leave nothing;
- the spec asks for what runs (or what is rolling out): nothing new;
- the spec asks for another revision while none rolls out: a new rollout,
  from the running revision's label to the desired one's
  (:func:`rollgen.render.revision.revision_label`);
- the spec asks for another revision *during* a rollout: the newest spec
  wins by walking back safely (the rollout's abort way, each commit waiting
  for liveness), then rolling the newest out from what runs again;
- the spec still asks for the revision whose rollout was aborted: nothing
  until the spec changes (its version, or its configuration: the abort's
  record names the configuration it stopped) or a human runs ``rollgen
  retry``, so a failed revision is never retried in a loop.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from rollgen.render.revision import Revision, revision_label
from rollgen.rollout.state import RolloutPhase, RolloutState


class Next(enum.StrEnum):
    """What the next pass does about the spec."""

    ADOPT = "adopt"
    NOTHING = "nothing"
    CONTINUE = "continue"
    START = "start"
    SUPERSEDE = "supersede"
    BLOCKED = "held"
    """An aborted revision: not rolled out again on its own (its value, ``held``, is what status prints)."""


@dataclass(frozen=True)
class Trigger:
    """:func:`next_action`'s answer: what to do, between which labels, and why in words.

    ``from_label`` is what runs (the stable of a new rollout), ``to_label`` the
    desired revision's label; both empty when no rollout is to start.
    """

    next: Next
    reason: str
    from_label: str = ""
    to_label: str = ""


def next_action(desired: Revision, live: Mapping[str, Revision], state: RolloutState | None) -> Trigger:
    """What the next pass does, given the ``desired`` revision, the output's revisions by label, the last rollout."""
    if state is None:
        if not live:
            return Trigger(
                Next.ADOPT,
                "no rollout recorded and the output holds no rollgen revision: run rollgen adopt first",
            )
        running_label, running = list(live.items())[-1]
        return _against(desired, running_label, running)
    if state.phase is RolloutPhase.ABORTING:
        return Trigger(Next.CONTINUE, f"walking back from {state.to_label} to {state.from_label}")
    if state.phase.unfinished:
        target = live.get(state.to_label)
        if target is None or target == desired:
            return Trigger(Next.CONTINUE, f"rolling out {state.to_label}")
        stable = live.get(state.from_label)
        if stable == desired:
            return Trigger(
                Next.SUPERSEDE,
                f"the spec asks for {state.from_label} again: walk rollout {state.from_label} -> {state.to_label} back",
            )
        wanted = revision_label(desired, stable)
        return Trigger(
            Next.SUPERSEDE,
            f"the spec now asks for {wanted}: walk rollout {state.from_label} -> {state.to_label} back, "
            f"then roll out {wanted}",
            state.from_label,
            wanted,
        )
    ran = live.get(state.running)
    if ran is not None:
        trigger = _against(desired, state.running, ran)
    elif desired.version == state.running:
        # An output rollgen did not write (or wrote before revisions): only the version can be compared.
        return Trigger(Next.NOTHING, f"{state.running} runs, as the spec asks")
    else:
        trigger = Trigger(Next.START, f"the spec asks for {desired.version}", state.running, desired.version)
    fixed = bool(state.to_config) and state.to_config != desired.config  # a new configuration, same label
    if (
        state.phase is RolloutPhase.ABORTED
        and trigger.next is Next.START
        and trigger.to_label == state.to_label
        and not fixed
    ):
        return Trigger(
            Next.BLOCKED,
            f"the rollout of {state.to_label} was aborted and the spec still asks for it: change the "
            "spec (its version or its configuration), or rollgen retry",
        )
    return trigger


def _against(desired: Revision, running_label: str, running: Revision) -> Trigger:
    if desired == running:
        return Trigger(Next.NOTHING, f"{running_label} runs, as the spec asks")
    wanted = revision_label(desired, running)
    return Trigger(Next.START, f"the spec asks for {wanted}: roll it out", running_label, wanted)
