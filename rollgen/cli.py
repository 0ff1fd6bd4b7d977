"""The ``rollgen`` command line.

Exit codes: 0 success, 1 failure (an invalid spec, an aborted rollout), 2 bad
input or usage. Every user-facing failure is a :class:`RollgenError`; nothing
prints a traceback. Heavy modules (Kubernetes client, Jinja2, Helm) are
imported inside the commands that need them so ``rollgen --help`` and
``rollgen validate`` start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rollgen import __version__
from rollgen.errors import EXIT_FAILURE, EXIT_OK, RollgenError

Handler = Callable[[argparse.Namespace], int]

_EPILOG = """\
A rollout, start to finish:
  rollgen validate release.yaml          check a spec (also a pre-commit hook)
  rollgen plan release.yaml              show every step: pods, weights, gates
  rollgen render release.yaml --out DIR  write every step's files for review
"""


def _emit(data: Any, fmt: str) -> None:
    if fmt == "json":
        json.dump(data, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


def _output_option(parser: argparse.ArgumentParser, *, text: str = "text") -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=(text, "json", "yaml"),
        default=text,
        help=f"output format (default {text})",
    )


# --- validate ----------------------------------------------------------------


def _configure_validate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="release spec files")
    _output_option(parser)


def _run_validate(args: argparse.Namespace) -> int:
    from rollgen.spec import validate_file

    results = [validate_file(Path(name), name) for name in args.files]
    problems = [p for r in results for p in r.problems]
    if args.output == "text":
        for problem in problems:
            print(problem)
        bad = sum(1 for r in results if r.problems)
        if bad:
            print(f"{bad} of {len(results)} file(s) invalid, {len(problems)} problem(s)", file=sys.stderr)
    else:
        _emit(
            {"valid": not problems, "files": [{"path": r.path, "valid": not r.problems} for r in results],
             "problems": [p.to_dict() for p in problems]},
            args.output,
        )  # fmt: skip
    return EXIT_FAILURE if problems else EXIT_OK


# --- schema ------------------------------------------------------------------


def _configure_schema(parser: argparse.ArgumentParser) -> None:
    pass


def _run_schema(args: argparse.Namespace) -> int:
    from rollgen.spec.schema import schema_text

    sys.stdout.write(schema_text())
    return EXIT_OK


COMMANDS: dict[str, tuple[str, str, Callable[[argparse.ArgumentParser], None], Handler]] = {
    "validate": (
        "check release specs",
        "Check release specs against the schema and rollgen's semantic rules. Every problem is reported as "
        "FILE:LINE:COL: MESSAGE. Exit 0 when all files are valid, 1 when any is not, 2 on usage errors.",
        _configure_validate,
        _run_validate,
    ),
    "schema": (
        "print the release spec JSON Schema",
        "Print the JSON Schema (draft-07) of release specs, e.g. for editors: "
        "# yaml-language-server: $schema=<path to the saved schema>",
        _configure_schema,
        _run_schema,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rollgen",
        description="GitOps-native progressive delivery: plan a rollout, render every step as plain Kubernetes "
        "configuration, commit the steps to Git one at a time, and let health gates advance or abort.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rollgen {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (summary, description, configure, handler) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=description)
        configure(sub)
        sub.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help
        return int(exc.code or 0)
    try:
        return int(args.handler(args))
    except RollgenError as exc:
        print(f"rollgen: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("rollgen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
