"""The ``rollgen`` command line.

Exit codes: 0 success, 1 failure (an invalid spec, an aborted rollout), 2 bad
input or usage. Every user-facing failure is a :class:`RollgenError`; nothing
prints a traceback. Heavy modules (Kubernetes client, Jinja2, Helm) are
imported inside the commands that need them so ``rollgen --help`` and
``rollgen validate`` start fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rollgen import __version__
from rollgen.errors import EXIT_FAILURE, EXIT_OK, RollgenError, UsageError
from rollgen.output import add_output_option, emit

Handler = Callable[[argparse.Namespace], int]

_EPILOG = """\
A rollout, start to finish (run in the GitOps repository; --repo PATH elsewhere):
  rollgen validate release.yaml          check a spec (also a pre-commit hook)
  rollgen plan release.yaml              every step: pods per version, weights, gates, pauses
  rollgen render release.yaml --out DIR  every step's files, for review
  rollgen start release.yaml             commit step 1; Argo CD or Flux applies it
  rollgen run release.yaml               judge gates, commit each next step, abort on failure
  rollgen status                         where every rollout stands, read from git history
  rollgen promote release.yaml           go past a pause: {} (a human's approval)
  rollgen abort release.yaml             walk back; the last commit restores the files exactly

Exit codes: 0 success, 1 failure (invalid spec, aborted rollout), 2 bad input or usage.
"""


# --- validate ----------------------------------------------------------------


def _configure_validate(parser: argparse.ArgumentParser) -> None:
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


def _run_validate(args: argparse.Namespace) -> int:
    from rollgen.spec import validate_files
    from rollgen.spec.discover import release_specs

    paths = release_specs(Path(name) for name in args.files)
    if not paths:
        raise UsageError(f"no release spec (apiVersion: rollgen.io/..., kind: Release) under {', '.join(args.files)}")
    if args.repo is not None and not args.repo.is_dir():
        raise UsageError(f"--repo {str(args.repo)!r} is not a directory")
    results = validate_files(paths, repo=args.repo)
    if args.repo is None:
        from rollgen.spec.repository import repository_root

        outside = [str(p) for p in paths if repository_root(p) is None]
        if outside:
            print(
                f"note: not in a git repository, so the paths these specs name were not checked "
                f"(give --repo DIR): {', '.join(outside)}",
                file=sys.stderr,
            )
    problems = [p for r in results for p in r.problems]
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
    return EXIT_FAILURE if problems else EXIT_OK


# --- schema ------------------------------------------------------------------


def _configure_schema(parser: argparse.ArgumentParser) -> None:
    pass


def _run_schema(args: argparse.Namespace) -> int:
    from rollgen.spec.schema import schema_text

    sys.stdout.write(schema_text())
    return EXIT_OK


# --- plan --------------------------------------------------------------------


def _load(spec: str) -> Any:
    from rollgen.spec import load_release

    return load_release(Path(spec))


def _configure_plan(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="release spec file")
    add_output_option(parser, text="table")


def _run_plan(args: argparse.Namespace) -> int:
    from rollgen.plan import plan_release
    from rollgen.plantable import format_plan, plan_to_data

    plan = plan_release(_load(args.spec))
    if args.output == "table":
        print(format_plan(plan))
    else:
        emit(plan_to_data(plan), args.output)
    return EXIT_OK


# --- render ------------------------------------------------------------------


def _configure_render(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="release spec file")
    parser.add_argument("--step", type=int, metavar="N", help="render only step N (0 = the state before the rollout)")
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="directory to write into (step-NN/ per step, or the step's files with --step)",
    )
    parser.add_argument(
        "--repo",
        default=".",
        metavar="PATH",
        help="GitOps repository root the spec's paths are relative to (default .)",
    )


def _run_render(args: argparse.Namespace) -> int:
    from rollgen.plan import plan_release
    from rollgen.render import Renderer

    release = _load(args.spec)
    plan = plan_release(release)
    states = {0: plan.initial} | {step.index: step.state for step in plan.steps}
    if args.step is not None and args.step not in states:
        raise UsageError(f"--step {args.step}: the plan has steps 0 to {len(plan.steps)}")
    renderer = Renderer(Path(args.repo), release)
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        # A step's files are the whole directory: leftovers of another render would mix in.
        raise UsageError(f"--out {out}: not an empty directory")
    chosen = {args.step: states[args.step]} if args.step is not None else states
    width = len(str(len(plan.steps)))
    for index, state in chosen.items():
        target = out if args.step is not None else out / f"step-{index:0{width}d}"
        for relative, content in sorted(renderer.render(state).items()):
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        print(f"wrote {target}", file=sys.stderr)
    return EXIT_OK


def _lazy(module: str, name: str) -> Callable[[Any], Any]:
    """``module.name``, imported on first call (the controller imports the gates and the git layer)."""

    def call(arg: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)(arg)

    return call


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
    "plan": (
        "show every step of a rollout",
        "Plan the rollout SPEC describes and print every step: the weight asked and achieved, pods per version, "
        "the minimum available while the step is applied, traffic share, gates and pauses.",
        _configure_plan,
        _run_plan,
    ),
    "render": (
        "write the files of one step or of every step",
        "Render the configuration each step commits (a Kustomize overlay or Helm values) for review. "
        "The files are byte-identical to what a commit writes to the release's output.path, so their "
        "relative references resolve from there: use --step N --out <output.path> inside the repository "
        "to build a step with `kubectl kustomize`. Without --step, every step goes to DIR/step-NN/.",
        _configure_render,
        _run_render,
    ),
    "start": (
        "commit the first step of a rollout",
        "Render step 1 of the rollout SPEC describes and commit it to the GitOps repository (pushed to the spec's "
        "git.remote when the repository has it). Refused while a rollout of the release is in progress.",
        _lazy("rollgen.commands", "configure_start"),
        _lazy("rollgen.commands", "run_start"),
    ),
    "status": (
        "show where each release's rollout stands",
        "Read each release's rollout from Git history alone: step i/n, action, phase, what it waits for, since when.",
        _lazy("rollgen.commands", "configure_status"),
        _lazy("rollgen.commands", "run_status"),
    ),
    "promote": (
        "commit the next step (or, with --full, the last)",
        "Commit the rollout's next step; after the last step, record its completion. Refused past the end.",
        _lazy("rollgen.commands", "configure_promote"),
        _lazy("rollgen.commands", "run_promote"),
    ),
    "abort": (
        "commit the next state back to before the rollout",
        "Commit the next state on the safe way back (run again once it is live); the last commit restores the "
        "output directory byte for byte as it was before the rollout. --now restores it in one commit.",
        _lazy("rollgen.commands", "configure_abort"),
        _lazy("rollgen.commands", "run_abort"),
    ),
    "retry": (
        "start an aborted rollout again",
        "Start the last aborted rollout of the release again, as a new rollout from step 1.",
        _lazy("rollgen.commands", "configure_start"),
        _lazy("rollgen.commands", "run_retry"),
    ),
    "undo": (
        "roll a completed release back to its previous version",
        "Roll the release back from the version its last rollout completed to the one before, step by step.",
        _lazy("rollgen.commands", "configure_start"),
        _lazy("rollgen.commands", "run_undo"),
    ),
    "advance": (
        "judge the current step once, then commit what follows",
        "One pass for cron or CI: judge the current commit's due gates (measurements are kept in git notes, "
        "refs/notes/rollgen), then commit the next step, the next abort state, or nothing (it prints what it "
        "waits for). Exit 1 once the rollout is being aborted, else 0.",
        _lazy("rollgen.controller", "configure"),
        _lazy("rollgen.controller", "cli_advance"),
    ),
    "run": (
        "advance until the rollout completes or aborts",
        "Loop `rollgen advance` with a live progress display and a final summary. Resumable: stop it and run it "
        "again, it carries on from Git. Exit 0 completed, 1 aborted, 2 bad input.",
        _lazy("rollgen.controller", "configure"),
        _lazy("rollgen.controller", "cli_run"),
    ),
    "detect": (
        "write the newest allowed image of each release into its spec",
        "One pass for cron or CI: for each release spec with an imagePolicy (SPEC files, or every spec under DIR), "
        "list the image's tags in its registry, pick the newest the policy allows, resolve its digest, and record "
        "tag and digest in the spec by a commit or a pull request (git.mode); only those lines of the file change. "
        "Exit 0 when every release was handled (nothing new included), 1 when any failed, 2 on usage errors.",
        _lazy("rollgen.detect", "configure"),
        _lazy("rollgen.detect", "cli_detect"),
    ),
    "import": (
        "convert an Argo Rollouts Rollout or a Flagger Canary into a release spec",
        "Convert a Rollout (with its AnalysisTemplates) or a Canary (with its MetricTemplates, webhooks and target "
        "Deployment) into DIR/release.yaml and a Kustomize base DIR/base/, and list what cannot be expressed as "
        "FILE:LINE:COL notes. Exit 0 converted (notes are warnings), 1 nothing convertible, 2 unreadable input.",
        _lazy("rollgen.importer.command", "configure"),
        _lazy("rollgen.importer.command", "run"),
    ),
    "bootstrap": (
        "write the Argo CD or Flux objects that apply every release's output",
        "Write what points Argo CD (an Application per release, or one ApplicationSet) or Flux (a GitRepository and "
        "a Kustomization or HelmRelease per release) at the output of every release spec given, with automated "
        "sync, pruning, self-heal and health checks. Running it again changes nothing.",
        _lazy("rollgen.bootstrap", "configure"),
        _lazy("rollgen.bootstrap", "run"),
    ),
    "demo": (
        "show the whole loop on a local Git repository, no cluster needed",
        "Build a GitOps repository in a temporary directory, start a small local HTTP service, and roll out a "
        "good release to completion and a bad one to an exact abort, ending with git log. Needs git and kubectl.",
        _lazy("rollgen.demo", "configure"),
        _lazy("rollgen.demo", "cli_demo"),
    ),
}


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; only the subcommand named in ``argv`` gets its options configured.

    Configuring a command may import its module (the controller pulls in the
    gates and the Kubernetes client), so ``rollgen validate`` and ``rollgen
    --help`` configure nothing they do not run.
    """
    parser = argparse.ArgumentParser(
        prog="rollgen",
        description="GitOps-native progressive delivery: plan a rollout, render every step as plain Kubernetes "
        "configuration, commit the steps to Git one at a time, and let health gates advance or abort.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rollgen {__version__}")
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (summary, description, configure, handler) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=description)
        if name == chosen:
            configure(sub)
        sub.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
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
