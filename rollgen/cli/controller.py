"""The controller commands: ``rollgen advance`` (one pass) and ``rollgen run`` (the loop).

Both take release spec files or directories (every release spec under them,
:mod:`rollgen.controller.fleet`), so one cron job, CI job or in-cluster worker drives a
whole GitOps repository; ``--shard INDEX/COUNT`` keeps one worker's share.
``run`` with a single spec file follows that rollout with a live display
until it completes or aborts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rollgen.cli.follow import follow
from rollgen.cli.output import add_output_option, emit
from rollgen.cli.root import (
    add_repo,
    add_shard_option,
    clock,
    load_spec,
    open_notifier,
    open_repository,
    shard_arg,
    warn,
)
from rollgen.controller.decision import WaitUntil
from rollgen.controller.fleet import Notifiers, Report, advance_all, exit_code, load_targets
from rollgen.gitops.remote import remote_named

SPECS_HELP = "release spec files, or directories: every release spec under them"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``rollgen advance`` and ``rollgen run``."""
    parser.add_argument("specs", nargs="+", metavar="SPEC", help=SPECS_HELP)
    add_repo(parser)
    add_shard_option(parser)
    add_output_option(parser)


def handle_advance(args: argparse.Namespace) -> int:
    """``rollgen advance``: one pass over every release; exit with the worst release's code."""
    shard = shard_arg(args)
    targets = load_targets(args.specs, shard)
    repo = open_repository(args.repo)
    with Notifiers(warn) as notifiers:
        reports = advance_all(repo, targets, notifier=notifiers, clock=clock)
    _show(reports, args.output)
    return exit_code(reports)


def handle_run(args: argparse.Namespace) -> int:
    """``rollgen run``: one spec file: loop until completed (0) or aborted (1); else a controller that never ends."""
    shard = shard_arg(args)
    if len(args.specs) == 1 and shard is None and not Path(args.specs[0]).is_dir():
        release = load_spec(args.specs[0])
        repo = open_repository(args.repo)
        with open_notifier(release, args.specs[0]) as notifier:
            return follow(repo, release, remote=remote_named(repo.git, release.git.remote), notifier=notifier)
    repo = open_repository(args.repo)
    while True:
        # Specs are read again every pass: a worker follows the repository's releases as they change.
        targets = load_targets(args.specs, shard)
        with Notifiers(warn) as notifiers:
            reports = advance_all(repo, targets, notifier=notifiers, clock=clock)
        _show(reports, args.output)
        sys.stdout.flush()
        if not any(r.current is not None and r.current.committed for r in reports):
            time.sleep(max(0.0, _next_pass(reports, time.time()) - time.time()))


# A worker over many releases looks at Git at least this often while none of them has a deadline sooner.
_IDLE = 30.0


def _next_pass(reports: tuple[Report, ...], now: float) -> float:
    """When the soonest timed wait of any release ends (a pause, the next measurement), at most ``_IDLE`` away.

    A wait for a human (``rollgen promote``) has no end to wake for: the idle
    period picks up what the human committed.
    """
    soonest = now + _IDLE
    for report in reports:
        judgement = report.current.judgement if report.current is not None else None
        if judgement is not None and isinstance(judgement.decision, WaitUntil) and judgement.decision.until is not None:
            soonest = min(soonest, judgement.decision.until)
    return soonest


def _show(reports: tuple[Report, ...], output: str) -> None:
    if output == "text":
        for report in reports:
            print(report.line())
    else:
        emit([r.data() for r in reports], output)
