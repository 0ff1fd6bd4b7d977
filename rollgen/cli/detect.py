"""``rollgen detect SPEC|DIR...``: the command's options and output around :mod:`rollgen.controller.detect`."""

from __future__ import annotations

import argparse
import time

from rollgen.cli.output import add_output_option, emit
from rollgen.cli.root import clock, load_spec, open_notifier, warn
from rollgen.controller.detect import Detection, detect, spec_files
from rollgen.controller.notify import spec_changed
from rollgen.durations import Duration
from rollgen.errors import EXIT_FAILURE, EXIT_OK, RollgenError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="SPEC|DIR", help="release specs, or directories to search for them")
    parser.add_argument(
        "--timeout", default="60s", metavar="DURATION", help="registry deadline, e.g. 30s, 2m or seconds (default 60s)"
    )
    add_output_option(parser)


def handle(args: argparse.Namespace) -> int:
    timeout = Duration.of_option("--timeout", args.timeout)
    results = detect(spec_files(args.paths), deadline=time.monotonic() + timeout.seconds, now=clock())
    _announce(results)
    if args.output == "text":
        for result in results:
            print(result.line())
    else:
        emit([r.to_data() for r in results], args.output)
    return EXIT_FAILURE if any(r.status == "failed" for r in results) else EXIT_OK


def _announce(results: list[Detection]) -> None:
    """A ``detected`` event for each spec that got a new version, sent to that release's webhooks."""
    for result in results:
        if result.status not in ("updated", "proposed"):
            continue
        try:
            release = load_spec(result.spec)
        except RollgenError as error:  # the detection is done: a spec that no longer loads only loses its event
            warn(f"notification detected not sent: {error}")
            continue
        where = f"commit {result.commit}" if result.commit else f"pull request {result.pull_request}"
        event = spec_changed(
            "detected", result.release, result.previous or "", result.version or "", result.commit or "", where
        )
        with open_notifier(release, result.spec) as notifier:
            notifier.emit(event)
