"""The ``rollgen`` command line: the command table, the parser and the exit-code contract.

Each command group's arguments and handler live in one module of this package
(:mod:`~rollgen.cli.spec`, :mod:`~rollgen.cli.rollout`,
:mod:`~rollgen.cli.controller`, :mod:`~rollgen.cli.demo`), imported only when
that command runs, so ``rollgen --help`` and ``rollgen validate`` start fast
(the controller pulls in the gates and the git layer). The commands that act
on a repository get the spec, the repository and the remote from one
composition root, :func:`rollgen.cli.root.open_release`.

Exit codes (:mod:`rollgen.errors`): 0 success or nothing to do, 1 the thing
asked for is not so, 2 usage or unreadable input, 3 an unexpected error, 130
interrupted. Every expected failure is a :class:`RollgenError`; nothing
prints a traceback unless ``--debug`` asks for it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rollgen import __version__
from rollgen.errors import (
    EXIT_CODES_HELP,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    NothingToDo,
    RollgenError,
)

Handler = Callable[[argparse.Namespace], int]

_EPILOG = f"""\
A rollout, start to finish (run in the GitOps repository; --repo PATH elsewhere):
  rollgen validate release.yaml          check a spec (also a pre-commit hook)
  rollgen plan release.yaml              every step: pods per version, weights, gates, pauses
  rollgen render release.yaml --out DIR  every step's files, for review
  rollgen start release.yaml             commit step 1; Argo CD or Flux applies it
  rollgen run release.yaml               judge gates, commit each next step, abort on failure
  rollgen status                         where every rollout stands, read from git history
  rollgen status release.yaml --watch    follow it until it completes (exit 0) or aborts (exit 1)
  rollgen promote release.yaml           go past a pause: {{}} (a human's approval)
  rollgen pause release.yaml             hold it where it is (rollgen resume lets it go on)
  rollgen abort release.yaml             walk back; the last commit restores the files exactly

{EXIT_CODES_HELP}
"""


def _lazy(name: str, module: str) -> Callable[[Any], Any]:
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
        _lazy("configure_validate", "rollgen.cli.spec"),
        _lazy("handle_validate", "rollgen.cli.spec"),
    ),
    "schema": (
        "print the release spec JSON Schema",
        "Print the JSON Schema (draft-07) of release specs, e.g. for editors: "
        "# yaml-language-server: $schema=<path to the saved schema>",
        _lazy("configure_schema", "rollgen.cli.spec"),
        _lazy("handle_schema", "rollgen.cli.spec"),
    ),
    "plan": (
        "show every step of a rollout",
        "Plan the rollout SPEC describes and print every step: the weight asked and achieved, pods per version, "
        "the minimum available while the step is applied, traffic share, gates and pauses.",
        _lazy("configure_plan", "rollgen.cli.spec"),
        _lazy("handle_plan", "rollgen.cli.spec"),
    ),
    "render": (
        "write the files of one step or of every step",
        "Render the configuration each step commits (a Kustomize overlay or Helm values) for review. "
        "The files are byte-identical to what a commit writes to the release's output.path, so their "
        "relative references resolve from there: use --step N --out <output.path> inside the repository "
        "to build a step with `kubectl kustomize`. Without --step, every step goes to DIR/step-NN/ (step-00 is the state before the rollout).",
        _lazy("configure_render", "rollgen.cli.spec"),
        _lazy("handle_render", "rollgen.cli.spec"),
    ),
    "adopt": (
        "commit what runs as the release's first rollgen state",
        "Commit the output directory that reproduces what runs today (manifests rollgen did not write: the same "
        "Deployment, image and configuration), or, for an output path holding nothing, the spec's version as the "
        "release's first revision. Needed once before rollgen advance rolls spec changes out.",
        _lazy("configure", "rollgen.cli.adopt"),
        _lazy("handle", "rollgen.cli.adopt"),
    ),
    "start": (
        "commit the first step of a rollout",
        "Render step 1 of the rollout SPEC describes and commit it to the GitOps repository (pushed to the spec's "
        "git.remote when the repository has it). Refused while a rollout of the release is in progress.",
        _lazy("configure_start", "rollgen.cli.rollout"),
        _lazy("handle_start", "rollgen.cli.rollout"),
    ),
    "status": (
        "show where each release's rollout stands",
        "Read each release's rollout from Git history alone: step i/n, action, phase, what it waits for (a pause, "
        "gates, a resume), since when, each gate's last measurement with its message (from the git notes), how far "
        "an abort has walked back and why it began. When the remote cannot be reached, local history is shown with "
        "a warning. --watch shows it again until every rollout shown ends: exit 0 all completed, 1 any aborted, "
        "4 on --timeout.",
        _lazy("configure_status", "rollgen.cli.rollout"),
        _lazy("handle_status", "rollgen.cli.rollout"),
    ),
    "promote": (
        "commit the next step (--full: go on to the end without waits)",
        "Commit the rollout's next step; after the last step, record its completion. Refused past the end.",
        _lazy("configure_promote", "rollgen.cli.rollout"),
        _lazy("handle_promote", "rollgen.cli.rollout"),
    ),
    "pause": (
        "hold a rollout where it is, without aborting it",
        "Commit a pause (no file changes): until `rollgen resume`, advance, run and cron passes measure nothing "
        "and commit nothing. A promote or an abort by a human still acts. An abort in progress is not held.",
        _lazy("configure_start", "rollgen.cli.rollout"),
        _lazy("handle_pause", "rollgen.cli.rollout"),
    ),
    "resume": (
        "let a paused rollout go on",
        "Commit a resume (no file changes): the rollout's gates and pauses go on from where they were.",
        _lazy("configure_start", "rollgen.cli.rollout"),
        _lazy("handle_resume", "rollgen.cli.rollout"),
    ),
    "abort": (
        "commit the next state back to before the rollout",
        "Commit the next state on the safe way back (run again once it is live); the last commit restores the "
        "output directory byte for byte as it was before the rollout. --now restores it in one commit. Every "
        "abort commit records why (Rollgen-Reason).",
        _lazy("configure_abort", "rollgen.cli.rollout"),
        _lazy("handle_abort", "rollgen.cli.rollout"),
    ),
    "retry": (
        "start an aborted rollout again",
        "Start the last aborted rollout of the release again, as a new rollout from step 1.",
        _lazy("configure_start", "rollgen.cli.rollout"),
        _lazy("handle_retry", "rollgen.cli.rollout"),
    ),
    "undo": (
        "roll a completed release back to its previous version",
        "Roll the release back from the version its last rollout completed to the one before, step by step.",
        _lazy("configure_start", "rollgen.cli.rollout"),
        _lazy("handle_undo", "rollgen.cli.rollout"),
    ),
    "advance": (
        "judge the current step once, then commit what follows",
        "One pass for cron or CI over every release SPEC names (a directory: every release spec under it): judge "
        "each current commit's due gates (measurements are kept in git notes, refs/notes/rollgen), then commit the "
        "next step, the next abort state, or nothing (a paused rollout is left alone). One line per release: "
        "<namespace>/<name>  <phase>  <what happened or what it waits for>. A failing release never stops the "
        "others; the exit code is the worst: 3 an unexpected error, 2 an unreadable spec, 1 an invalid spec, a git "
        "error or a rollout being aborted, else 0.",
        _lazy("configure", "rollgen.cli.controller"),
        _lazy("handle_advance", "rollgen.cli.controller"),
    ),
    "run": (
        "advance until the rollout completes or aborts",
        "One spec file: loop `rollgen advance` with a live progress display (each gate's verdict and its last "
        "measurement's message) and a final summary. Resumable: stop it and run it again, it carries on from Git. "
        "A paused rollout is waited on until `rollgen resume`. Exit 0 completed, 1 aborted, 2 bad input. Several "
        "specs or a directory: a controller passing over all of them (one line per release and pass) until "
        "interrupted.",
        _lazy("configure", "rollgen.cli.controller"),
        _lazy("handle_run", "rollgen.cli.controller"),
    ),
    "detect": (
        "write the newest allowed image of each release into its spec",
        "One pass for cron or CI: for each release spec with an imagePolicy (SPEC files, or every spec under DIR), "
        "list the image's tags in its registry, pick the newest the policy allows, resolve its digest, and record "
        "tag and digest in the spec by a commit or a pull request (git.mode); only those lines of the file change. "
        "Exit 0 when every release was handled (nothing new included), 1 when any failed, 2 on usage errors.",
        _lazy("configure", "rollgen.cli.detect"),
        _lazy("handle", "rollgen.cli.detect"),
    ),
    "pipeline": (
        "promote versions through a graph of environments, or show where each stands",
        "A pipeline (kind: Pipeline) is several releases whose desired versions follow the completed versions of the "
        "environments they come after (in waves: fan-out and fan-in). `rollgen pipeline advance PIPELINE` writes "
        "each due version into the next environments' specs (a commit or a pull request); `rollgen pipeline promote "
        "PIPELINE ENV` approves a version waiting for approval; `rollgen pipeline status PIPELINE` shows the graph.",
        _lazy("configure", "rollgen.cli.pipeline"),
        _lazy("handle", "rollgen.cli.pipeline"),
    ),
    "freeze": (
        "stop every controller pass from moving anything forward (aborts go on)",
        "Commit a freeze record (.rollgen/freeze.yaml) on the branch: while it stands, rollgen advance, run, detect "
        "and pipeline advance commit nothing and say 'frozen: TEXT'; aborts still proceed. --until lets it lapse "
        "by itself; rollgen unfreeze ends it.",
        _lazy("configure_freeze", "rollgen.cli.freeze"),
        _lazy("handle_freeze", "rollgen.cli.freeze"),
    ),
    "unfreeze": (
        "end the freeze",
        "Commit the removal of the branch's freeze record: controller passes move rollouts forward again.",
        _lazy("configure_unfreeze", "rollgen.cli.freeze"),
        _lazy("handle_unfreeze", "rollgen.cli.freeze"),
    ),
    "import": (
        "convert a Rollout, a Canary, a HelmRelease or a Helm Application into a release spec",
        "Convert a Rollout (with its AnalysisTemplates) or a Canary (with its MetricTemplates, webhooks and target "
        "Deployment) into DIR/release.yaml and a Kustomize base DIR/base/; or a Flux HelmRelease (with its "
        "HelmRepository or OCIRepository) or an Argo CD Application with a Helm chart into DIR/release.yaml and "
        "DIR/values.yaml (the values as the engine merges them), the chart pulled to read its keys. A directory is "
        "built with kubectl kustomize first. What cannot be expressed is listed as FILE:LINE:COL notes. Exit 0 "
        "converted (notes are warnings), 1 nothing convertible, 2 unreadable input.",
        _lazy("configure", "rollgen.cli.importer"),
        _lazy("run", "rollgen.cli.importer"),
    ),
    "bootstrap": (
        "write the Argo CD or Flux objects that apply every release's output",
        "Write what points Argo CD (an Application per release, or one ApplicationSet) or Flux (a GitRepository and "
        "a Kustomization or HelmRelease per release) at the output of every release spec given, with automated "
        "sync, pruning, self-heal and health checks. Running it again changes nothing.",
        _lazy("configure", "rollgen.cli.bootstrap"),
        _lazy("run", "rollgen.cli.bootstrap"),
    ),
    "demo": (
        "show the whole loop on a local Git repository, no cluster needed",
        "Build a GitOps repository in a temporary directory, start a small local HTTP service, and roll out a "
        "good release to completion and a bad one to an exact abort, ending with git log. Needs git and kubectl.",
        _lazy("configure", "rollgen.cli.demo"),
        _lazy("handle_demo", "rollgen.cli.demo"),
    ),
}


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; only the subcommand named in ``argv`` is built and gets its options (every one without).

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
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (summary, description, configure, handler) in COMMANDS.items():
        if chosen in COMMANDS and name != chosen:
            continue  # each subparser costs argparse's translation look-ups (~0.5 ms): build the one that runs
        sub = commands.add_parser(name, help=summary, description=description)
        # Also after the command; SUPPRESS keeps the subparser from resetting a --debug given before it.
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
        if name == chosen:
            configure(sub)
        sub.set_defaults(handler=handler)
    return parser


_DEBUG_HELP = "on an unexpected error, print the traceback"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help
        return int(exc.code or 0)
    try:
        return int(args.handler(args))
    except NothingToDo as exc:  # what was asked for already holds: a success, said on stdout
        print(exc)
        return exc.exit_code
    except RollgenError as exc:
        print(f"rollgen: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("rollgen: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: one line, the traceback kept for the report
        return _internal_error(exc, debug=args.debug)


def _internal_error(exc: Exception, *, debug: bool) -> int:
    """Say an unexpected error in one line; the traceback on stderr with ``--debug``, else in a log file."""
    if debug:
        import traceback

        sys.stderr.write("".join(traceback.format_exception(exc)))
        where = "traceback above"
    else:
        from rollgen.crash import keep_traceback

        where = f"traceback in {keep_traceback(exc)}; --debug prints it"
    print(f"rollgen: internal error: {type(exc).__name__}: {exc} ({where})", file=sys.stderr)
    return EXIT_INTERNAL
