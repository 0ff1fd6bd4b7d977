"""The controller commands: ``rollgen advance`` (one pass) and ``rollgen run`` (the loop)."""

from __future__ import annotations

import argparse
import sys
import time

from rollgen.cli.root import add_spec_and_repo, open_release
from rollgen.controller import advance, follow
from rollgen.errors import EXIT_FAILURE, EXIT_OK
from rollgen.progress import Display
from rollgen.state import RolloutPhase


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``rollgen advance`` and ``rollgen run``."""
    add_spec_and_repo(parser)


def handle_advance(args: argparse.Namespace) -> int:
    """``rollgen advance``: one pass; exit 1 once the rollout is being aborted, else 0."""
    opened = open_release(args)
    current = advance(opened.repo, opened.release, remote=opened.remote)
    Display(sys.stdout, live=False).show(current, time.time())
    if current.judgement is None and not current.note:
        print(f"  nothing to do: the rollout is {current.after.phase}")
    return EXIT_FAILURE if current.after.phase in (RolloutPhase.ABORTING, RolloutPhase.ABORTED) else EXIT_OK


def handle_run(args: argparse.Namespace) -> int:
    """``rollgen run``: loop until completed (exit 0) or aborted (exit 1)."""
    opened = open_release(args)
    return follow(opened.repo, opened.release, remote=opened.remote)
