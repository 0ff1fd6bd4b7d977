"""The body of a step's pull request: the plan table, a Mermaid diagram of the rollout, the diff.

Pure: the caller (:mod:`rollgen.rollout.operations`) computes the diff with git and
hands it in as text; this module only lays the body out::

    body = pull_request_body(plan, record, "overlays/podinfo/prod", diff)

A reviewer sees where the step sits in the rollout (the table row and the
diagram node of the proposed step are marked), what merging it changes (the
rendered files' diff), and that merging is the approval rollgen waits for.
"""

from __future__ import annotations

import re
from typing import Final

from rollgen.gitops.trailers import StepRecord
from rollgen.plan.model import Plan
from rollgen.plan.table import format_plan

DIFF_LIMIT: Final = 40_000
"""Characters of diff kept in a body: GitHub refuses bodies over 65,536, and past this size nobody reads it."""

_MARK: Final = "▶ "


def pull_request_body(plan: Plan, record: StepRecord, root: str, diff: str, *, limit: int = DIFF_LIMIT) -> str:
    """Markdown for the pull request proposing step ``record.step`` of ``plan`` (``diff``: of ``root``)."""
    return "\n".join(
        [
            (
                f"rollgen proposes **step {record.step}/{record.steps}** of rollout `{record.rollout}` of "
                f"`{record.release}` ({record.from_label} -> {record.to_label})."
            ),
            "",
            (
                "**Merging this pull request is the approval**: rollgen carries on from the merged commit. Merge "
                "with a merge commit, a rebase, or a squash that keeps the commit message: its `Rollgen-*` "
                "trailers record where the rollout stands."
            ),
            "",
            "### Plan",
            "",
            _fenced(marked_table(plan, record.step), "text"),
            "",
            "### Rollout",
            "",
            _fenced(mermaid(plan, record.step), "mermaid"),
            "",
            f"### Changes to `{root}`",
            "",
            diff_section(diff, limit),
        ]
    )


def marked_table(plan: Plan, index: int) -> str:
    """:func:`~rollgen.plan.table.format_plan`'s table with the row of step ``index`` marked ``▶``.

    >>> from rollgen.plan.steps import State, Step, Workload
    >>> plan = Plan("app", "prod", "1.0", "2.0", "recreate", 1, State((Workload("1.0", "app-1-0", 1),)),
    ...             (Step(1, "create", State((Workload("2.0", "app-2-0", 1),)), 100.0, 0),))
    >>> print(marked_table(plan, 1).split("\\n")[-1])
    ▶    1  create       -    100%    -    1      1          0  0:100 pods
    """
    lines = format_plan(plan).split("\n")
    # Table rows: the header (line 2), the initial state (line 3) and one per step.
    rows = range(2, 4 + len(plan.steps))
    pad = " " * len(_MARK)
    return "\n".join((_MARK if i == 3 + index else pad) + line if i in rows else line for i, line in enumerate(lines))


def mermaid(plan: Plan, index: int) -> str:
    """A left-to-right flowchart of the rollout's commits, step ``index`` highlighted.

    >>> from rollgen.plan.steps import State, Step
    >>> print(mermaid(Plan("app", "prod", "1", "2", "recreate", 1, State(()), (Step(1, "create", State(()), 100.0, 0),)), 1))
    flowchart LR
      s0["0: before (1)"] --> s1["1: create, 100% to 2"]
      classDef proposed fill:#ffd54f,stroke:#f57f17,stroke-width:3px
      class s1 proposed
    """
    nodes = [f's0["0: before ({_label(plan.stable)})"]']
    nodes += [
        f's{s.index}["{s.index}: {_label(s.action)}, {s.weight:g}% to {_label(plan.version)}"]' for s in plan.steps
    ]
    return "\n".join(
        [
            "flowchart LR",
            "  " + " --> ".join(nodes),
            "  classDef proposed fill:#ffd54f,stroke:#f57f17,stroke-width:3px",
            f"  class s{index} proposed",
        ]
    )


def _label(text: str) -> str:
    # A double quote would end Mermaid's quoted label: use its entity.
    return text.replace('"', "#quot;")


def diff_section(diff: str, limit: int) -> str:
    if not diff.strip():
        return "No file changes (the step records state only)."
    note = ""
    if len(diff) > limit:
        cut = diff.rfind("\n", 0, limit) + 1 or limit  # whole lines only
        note = (
            f"\n\n*Diff truncated: {len(diff) - cut:,} more characters "
            f"({diff.count(chr(10), cut)} lines); see the pull request's changed files.*"
        )
        diff = diff[:cut]
    return _fenced(diff.rstrip("\n"), "diff") + note


def _fenced(text: str, language: str) -> str:
    """``text`` in a code fence longer than any backtick run inside it (so a diff cannot close it)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"
