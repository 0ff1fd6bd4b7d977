"""What ``rollgen render`` would refuse, found by ``rollgen validate`` first, with nothing written.

For every valid release in a repository that builds from a Kustomize base,
the renderer itself runs: the base is built with ``kubectl kustomize`` (as
every commit's render builds it) and every state of the plan is rendered in
memory. Whatever it refuses (a build that fails, a base without exactly one
Deployment and one Service, a Service selecting labels the pods lack, a
container the spec cannot roll) becomes a problem at the spec's
``source.kustomize.base``. The YAML of the base's files is read before that, as
positioned problems in those files (:mod:`rollgen.spec.basefiles`), so the
build only runs on a base whose files parse. A spec without ``stable`` is
planned from its branch by ``render``; here only its base is built.

The builds run side by side (each is a ``kubectl`` process). Without
``kubectl`` nothing is built, and :func:`render_problems` says so in a note
rather than failing a pre-commit hook on a machine that has none.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from rollgen.errors import Problem, RollgenError
from rollgen.plan.steps import plan_release
from rollgen.render.renderer import Renderer
from rollgen.render.userbase import read_base
from rollgen.spec.model import KustomizeSource, Release, build_release
from rollgen.spec.release_checks import Validation
from rollgen.spec.repository import Claim
from rollgen.tools import find_tool

# kubectl's log line around its error: `E1207 16:39:25.289806   13456 run.go:72] "command failed" err="..."`,
# or `err=<` and the error on the lines up to `>`.
_KLOG = re.compile(
    r'^[EWIF]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] "command failed" err=(?:"(?P<quoted>.*)"|<(?P<block>.*)>)\s*$',
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True, kw_only=True)
class Preflight:
    """The validations with what rendering found added, and a note when nothing could be built."""

    results: list[Validation]
    note: str | None = None


def render_problems(results: Sequence[Validation]) -> Preflight:
    """``results`` with, for each valid Kustomize release in a repository, what its render refuses."""
    built = [(i, r, build_release(r.data)) for i, r in enumerate(results) if r.data is not None]
    due = [
        (i, release, r.claims.root, r.claims.base)
        for i, r, release in built
        if isinstance(release.source, KustomizeSource) and r.claims is not None and r.claims.base is not None
    ]
    checked = list(results)
    if not due:
        return Preflight(results=checked)
    if find_tool("kubectl") is None:
        names = ", ".join(results[i].path for i, *_ in due)
        note = f"note: kubectl is not installed, so these specs' bases were not built (their YAML was read): {names}"
        return Preflight(results=checked, note=note)

    def one(item: tuple[int, Release, Path, Claim]) -> tuple[int, Problem | None]:
        i, release, root, base = item
        return i, _refusal(release, root, base)

    with ThreadPoolExecutor(max_workers=min(len(due), os.cpu_count() or 1)) as pool:
        for i, problem in pool.map(one, due):
            if problem is not None:
                checked[i] = replace(checked[i], problems=(*checked[i].problems, problem), data=None)
    return Preflight(results=checked)


def _refusal(release: Release, root: Path, base: Claim) -> Problem | None:
    """What rendering ``release`` refuses, at its spec's base; None when every planned state renders."""
    try:
        if release.stable is None:
            read_base(root, release)
            return None
        plan = plan_release(release)
        renderer = Renderer(root, release)
        for state in (plan.initial, *(step.state for step in plan.steps)):
            renderer.render(state)
    except RollgenError as error:
        message = " ".join(_KLOG.sub(_kubectl_error, str(error)).split())
        return Problem(base.at.path, base.at.line, base.at.col, f"base: {message}")
    return None


def _kubectl_error(match: re.Match[str]) -> str:
    if match["quoted"] is not None:
        return match["quoted"].replace('\\"', '"')
    return match["block"]
