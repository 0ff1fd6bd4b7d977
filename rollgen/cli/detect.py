"""``rollgen detect SPEC|DIR...``: the command's options and output around :mod:`rollgen.controller.detect`."""

from __future__ import annotations

import argparse
import time

from rollgen.cli.output import add_output_option, emit
from rollgen.cli.root import clock
from rollgen.controller.detect import detect, spec_files
from rollgen.durations import Duration
from rollgen.errors import EXIT_FAILURE, EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="SPEC|DIR", help="release specs, or directories to search for them")
    parser.add_argument(
        "--timeout", default="60s", metavar="DURATION", help="registry deadline, e.g. 30s, 2m or seconds (default 60s)"
    )
    add_output_option(parser)


def handle(args: argparse.Namespace) -> int:
    timeout = Duration.of_option("--timeout", args.timeout)
    results = detect(spec_files(args.paths), deadline=time.monotonic() + timeout.seconds, now=clock())
    if args.output == "text":
        for result in results:
            print(result.line())
    else:
        emit([r.to_data() for r in results], args.output)
    return EXIT_FAILURE if any(r.status == "failed" for r in results) else EXIT_OK
