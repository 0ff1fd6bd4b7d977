"""The spec commands: ``rollgen validate|schema|plan|render``; none writes to a repository.

Light on purpose: ``rollgen validate`` imports nothing but the spec checks, and the renderer only for
specs in a repository (:mod:`rollgen.preflight`).
``plan`` and ``render`` read the branch only for a spec that names no stable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rollgen.cli.output import add_output_option, emit
from rollgen.cli.root import empty_output, load_spec, readable
from rollgen.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError

if TYPE_CHECKING:
    from rollgen.plan.model import Plan
    from rollgen.spec.model import Release

# --- validate ----------------------------------------------------------------


def configure_validate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", metavar="PATH", help="release spec files, or directories: every release spec under them"
    )
    parser.add_argument(
        "--repo",
        type=Path,
        metavar="DIR",
        help="repository root that spec paths are relative to (default: git top level)",
    )
    add_output_option(parser)


def handle_validate(args: argparse.Namespace) -> int:
    from rollgen.spec.discover import release_specs
    from rollgen.spec.validation import check_files

    paths = release_specs((Path(name) for name in args.files), pipelines=True)
    if not paths:
        raise UsageError(f"no release spec (apiVersion: rollgen.io/..., kind: Release) under {', '.join(args.files)}")
    if args.repo is not None and not args.repo.is_dir():
        raise UsageError(f"--repo {str(args.repo)!r} is not a directory")
    results = check_files(paths, repo=args.repo)
    if any(r.claims is not None for r in results):  # in a repository: what render would refuse, too
        from rollgen.preflight import render_problems

        checked = render_problems(results)
        results = checked.results
        if checked.note is not None:
            print(checked.note, file=sys.stderr)
    if args.repo is None:
        from rollgen.spec.repository import repository_root

        outside = [str(p) for p in paths if repository_root(p) is None]
        if outside:
            print(
                f"note: not in a git repository, so the paths these specs name were not checked "
                f"(give --repo DIR): {', '.join(outside)}",
                file=sys.stderr,
            )
    problems = list(dict.fromkeys(p for r in results for p in r.problems))  # a shared base's problems once
    if args.output == "text":
        for problem in problems:
            print(problem)
        bad = sum(1 for r in results if r.problems)
        if bad:
            print(f"{bad} of {len(results)} file(s) invalid, {len(problems)} problem(s)", file=sys.stderr)
    else:
        emit(
            {
                "valid": not problems,
                "files": [{"path": r.path, "valid": not r.problems} for r in results],
                "problems": [p.to_dict() for p in problems],
            },
            args.output,
        )
    if not all(readable(path) for path in paths):
        return EXIT_USAGE  # its problem is printed with the others
    return EXIT_FAILURE if problems else EXIT_OK


# --- schema ------------------------------------------------------------------


def configure_schema(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kind",
        choices=("release", "pipeline"),
        default="release",
        help="the schema of release specs (default) or of pipeline specs",
    )


def handle_schema(args: argparse.Namespace) -> int:
    from rollgen.spec.schema import schema_text

    sys.stdout.write(schema_text(args.kind))
    return EXIT_OK


# --- plan --------------------------------------------------------------------


def configure_plan(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="release spec file")
    parser.add_argument(
        "--repo",
        default=".",
        metavar="PATH",
        help="GitOps repository whose branch says what runs, when the spec names no stable (default .)",
    )
    add_output_option(parser, text="table")


def _planned(release: Release, repo: str) -> tuple[Release, Plan]:
    """The spec's plan; without a stable in the spec, the rollout its branch says comes next (read offline)."""
    from rollgen.plan.steps import plan_release

    if release.stable is not None:
        return release, plan_release(release)
    from rollgen.cli.root import open_repository
    from rollgen.rollout.reading import planned_from_git

    return planned_from_git(open_repository(repo), release)


def handle_plan(args: argparse.Namespace) -> int:
    from rollgen.plan.table import format_plan, plan_to_data

    plan = _planned(load_spec(args.spec), args.repo)[1]
    if args.output == "table":
        print(format_plan(plan))
    else:
        emit(plan_to_data(plan), args.output)
    return EXIT_OK


# --- render ------------------------------------------------------------------


def configure_render(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="release spec file")
    parser.add_argument("--step", type=int, metavar="N", help="render only step N (0 = the state before the rollout)")
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="directory to write into (step-00/ ... step-NN/ per step, or the step's files with --step)",
    )
    parser.add_argument(
        "--repo",
        default=".",
        metavar="PATH",
        help="GitOps repository root the spec's paths are relative to (default .)",
    )


def handle_render(args: argparse.Namespace) -> int:
    from rollgen.render.renderer import Renderer

    release, plan = _planned(load_spec(args.spec), args.repo)
    states = {0: plan.initial} | {step.index: step.state for step in plan.steps}
    if args.step is not None and args.step not in states:
        raise UsageError(f"--step {args.step}: the plan has steps 0 to {len(plan.steps)}")
    root = Path(args.repo).absolute()  # errors name the path tried, not "."
    if not root.is_dir():
        raise UsageError(f"--repo {root}: no such directory")
    renderer = Renderer(root, release)
    # A step's files are the whole directory: leftovers of another render would mix in.
    out = empty_output(args.out, "a step's files are the whole directory")
    chosen = {args.step: states[args.step]} if args.step is not None else states
    # Two digits at least, as in overlays/, so that `ls` lists the steps in order.
    width = max(2, len(str(len(plan.steps))))
    for index, state in chosen.items():
        target = out if args.step is not None else out / f"step-{index:0{width}d}"
        for relative, content in sorted(renderer.render(state).items()):
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        print(f"wrote {target}", file=sys.stderr)
    return EXIT_OK
