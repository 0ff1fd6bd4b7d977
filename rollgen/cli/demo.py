"""``rollgen demo``: the whole loop on a local Git repository (see :mod:`rollgen.demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rollgen.demo import run_demo


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build the demo repository in DIR and keep it")


def handle_demo(args: argparse.Namespace) -> int:
    return run_demo(args.keep)
