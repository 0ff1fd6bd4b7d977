"""``rollgen pipeline advance|status PIPELINE``: environments that follow each other's completed versions.

``advance`` is one pass for cron or CI (see :mod:`rollgen.pipeline.passes`); ``status``
shows which version runs in which environment and what each waits for.
``rollgen status PIPELINE`` shows the same.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rollgen.cli.output import add_output_option, emit
from rollgen.cli.root import readable
from rollgen.errors import EXIT_OK, UsageError
from rollgen.spec.load import load_pipeline
from rollgen.spec.pipeline import Pipeline


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    advance = actions.add_parser(
        "advance",
        help="promote each environment's due version into its spec",
        description="One pass: for each environment after the first, when the previous environment's last completed "
        "version has soaked there and differs from the environment's spec, write it (tag and digest) into the spec "
        "by a commit, or a pull request when the environment's git.mode is pull-request. rollgen advance on that "
        "release then rolls it out. A version aborted in an environment never reaches the next. Exit 0 when every "
        "environment was handled (nothing due included).",
    )
    show = actions.add_parser(
        "status",
        help="which version runs in which environment, and what each waits for",
        description="Read every environment of the pipeline from Git history: the version it runs, its rollout's "
        "phase, what it waits for (a rollout step, the soak, the previous environment, a merge) and why its last "
        "rollout stopped.",
    )
    for sub in (advance, show):
        sub.add_argument("pipeline", metavar="PIPELINE", help="pipeline spec file (kind: Pipeline)")
        add_output_option(sub)


def handle(args: argparse.Namespace) -> int:
    from rollgen.pipeline import passes

    loaded = read_pipeline(args.pipeline)
    if args.action == "advance":
        done = passes.promote_due(loaded, now=time.time())
        if args.output == "text":
            for promotion in done:
                print(promotion.line())
        else:
            emit([p.to_data() for p in done], args.output)
        return EXIT_OK
    return show_status(args.pipeline, args.output)


def show_status(path: str, output: str) -> int:
    """Print the pipeline's status (also what ``rollgen status PIPELINE`` prints)."""
    from rollgen.pipeline import passes

    rows = passes.status(read_pipeline(path), now=time.time())
    if output == "text":
        for row in rows:
            print(row.line())
    else:
        emit([row.to_data() for row in rows], output)
    return EXIT_OK


def read_pipeline(path: str) -> Pipeline:
    """The pipeline in ``path``: SpecError (exit 1) with every problem, UsageError (2) when unreadable."""
    if not readable(Path(path)):
        raise UsageError(f"{path}: no such file, or not readable")
    return load_pipeline(Path(path))
