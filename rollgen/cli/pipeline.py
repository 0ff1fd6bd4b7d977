"""``rollgen pipeline advance|promote|status PIPELINE``: environments that follow each other's completed versions.

``advance`` is one pass for cron or CI (see :mod:`rollgen.pipeline.passes`);
``promote`` is a human's approval of a version waiting for it; ``status``
shows which version runs in which environment, what each waits for, and the
graph (``-o mermaid``). ``rollgen status PIPELINE`` shows the same. The
clock is ``$ROLLGEN_NOW`` when set (:func:`rollgen.cli.root.clock`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rollgen.cli.output import emit
from rollgen.cli.root import clock, readable
from rollgen.errors import EXIT_OK, UsageError
from rollgen.spec.load import load_pipeline
from rollgen.spec.pipeline import Pipeline

if TYPE_CHECKING:
    from rollgen.pipeline.promotion import Promotion


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    advance = actions.add_parser(
        "advance",
        help="promote each environment's due version into its spec",
        description="One pass: for each environment that comes after others, when every one of them completed the "
        "same version and it soaked there, write it (tag and digest) into the environment's spec. The environments "
        "of a wave (those after the same ones) get it together: one commit, or one pull request each when their "
        "git.mode is pull-request. A change of a semver level autoPromote does not name waits for approval "
        "(rollgen pipeline promote); a window or a freeze holds it. rollgen advance on that release then rolls it "
        "out. A version aborted anywhere in a wave never reaches a later environment. Exit 0 when every "
        "environment was handled (nothing due included).",
    )
    advance.add_argument("pipelines", nargs="+", metavar="PIPELINE", help="pipeline spec files (kind: Pipeline)")
    promote = actions.add_parser(
        "promote",
        help="approve the version waiting for approval in one environment",
        description="Write the version that waits for approval in ENV (a change of a semver level its autoPromote "
        "does not name) into its spec, by a commit (or a pull request in pull-request mode), the approval recorded "
        "in the commit message. Refused when nothing is due there (upstream, soaking, aborted, held).",
    )
    promote.add_argument("pipelines", nargs=1, metavar="PIPELINE", help="pipeline spec file (kind: Pipeline)")
    promote.add_argument("environment", metavar="ENV", help="the environment whose version is approved")
    show = actions.add_parser(
        "status",
        help="which version runs in which environment, and what each waits for",
        description="Read every environment of the pipeline from Git history: the version it runs, its rollout's "
        "phase, what it waits for (a rollout step, the soak, the environments before it, an approval, a window, a "
        "freeze, a merge) and why its last rollout stopped; then its waves. -o mermaid prints the graph as a "
        "Mermaid flowchart.",
    )
    show.add_argument("pipelines", nargs=1, metavar="PIPELINE", help="pipeline spec file (kind: Pipeline)")
    for sub in (advance, promote):
        _output(sub, ("text", "json", "yaml"))
    _output(show, ("text", "json", "yaml", "mermaid"))


def _output(parser: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    parser.add_argument("-o", "--output", choices=choices, default="text", help="output format (default text)")


def handle(args: argparse.Namespace) -> int:
    from rollgen.pipeline import passes

    if args.action == "status":
        return show_status(args.pipelines[0], args.output)
    now = clock()
    if args.action == "promote":
        path = args.pipelines[0]
        pipelines = [read_pipeline(path)]
        done = [passes.approve(pipelines[0], args.environment, now=now, command=f"rollgen pipeline promote {path}")]
    else:
        pipelines = [read_pipeline(path) for path in args.pipelines]
        done = passes.promote_all(pipelines, now=now)
    for pipeline in pipelines:
        _announce(pipeline, [p for p in done if p.environment in {e.name for e in pipeline.environments}])
    if args.output == "text":
        for promotion in done:
            print(promotion.line())
    else:
        emit([p.to_data() for p in done], args.output)
    return EXIT_OK


def show_status(path: str, output: str) -> int:
    """Print the pipeline's status (also what ``rollgen status PIPELINE`` prints)."""
    from rollgen.pipeline import passes

    pipeline = read_pipeline(path)
    rows = passes.status(pipeline, now=clock(), command=f"rollgen pipeline promote {path}")
    if output == "mermaid":
        print(passes.graph_picture(pipeline, rows), end="")
    elif output == "text":
        for row in rows:
            print(row.line())
        print(f"waves: {pipeline.graph.text()}")
    else:
        emit([row.to_data() for row in rows], output)
    return EXIT_OK


def _announce(pipeline: Pipeline, done: list[Promotion]) -> None:
    """A ``promoted`` event for each environment whose spec got a version, sent to that release's webhooks."""
    from rollgen.cli.root import open_notifier
    from rollgen.controller.notify import spec_changed

    names = [environment.name for environment in pipeline.environments]
    for promotion in done:
        if not (promotion.commit or promotion.pull_request):
            continue
        at = names.index(promotion.environment)
        where = f"commit {promotion.commit}" if promotion.commit else f"pull request {promotion.pull_request}"
        reason = f"from {names[at - 1]} into {promotion.environment}, {where}"
        event = spec_changed(
            "promoted",
            promotion.release,
            pipeline.releases[at].version,
            promotion.decision.version or "",
            promotion.commit or "",
            reason,
        )
        with open_notifier(pipeline.releases[at], str(pipeline.environments[at].spec)) as notifier:
            notifier.emit(event)


def read_pipeline(path: str) -> Pipeline:
    """The pipeline in ``path``: SpecError (exit 1) with every problem, UsageError (2) when unreadable."""
    if not readable(Path(path)):
        raise UsageError(f"{path}: no such file, or not readable")
    return load_pipeline(Path(path))
