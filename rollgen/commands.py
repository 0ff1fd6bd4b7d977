"""The rollout commands: ``rollgen start|status|promote|abort|retry|undo``.

Each handler loads the spec, opens the GitOps repository (``--repo``,
default the current directory), and calls one operation of
:mod:`rollgen.rollout`; the remote is the spec's ``git.remote`` when the
repository has it. Nothing is kept outside Git: ``status`` reads history
(and, in pull-request mode, asks the forge for the next step's open pull request).
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollgen.errors import EXIT_OK, UsageError
from rollgen.output import add_output_option, emit

if TYPE_CHECKING:  # keep ``rollgen --help`` from importing the git layer
    from rollgen.gitops.forge import PullRequest
    from rollgen.rollout import Outcome, RolloutState


def _spec_and_repo(parser: argparse.ArgumentParser, *, many: bool = False) -> None:
    if many:
        parser.add_argument(
            "specs",
            nargs="*",
            metavar="SPEC",
            help="release spec files (default: every release with rollgen commits on --branch)",
        )
    else:
        parser.add_argument("spec", metavar="SPEC", help="release spec file")
    parser.add_argument("--repo", default=".", metavar="PATH", help="the GitOps repository (default .)")


def configure_start(parser: argparse.ArgumentParser) -> None:
    _spec_and_repo(parser)


def configure_promote(parser: argparse.ArgumentParser) -> None:
    _spec_and_repo(parser)
    parser.add_argument(
        "--full",
        action="store_true",
        help="commit the last step directly, skipping the remaining steps and their waits",
    )


def configure_abort(parser: argparse.ArgumentParser) -> None:
    _spec_and_repo(parser)
    parser.add_argument(
        "--now", action="store_true", help="restore the pre-rollout files in one commit instead of the safe way back"
    )


def configure_status(parser: argparse.ArgumentParser) -> None:
    _spec_and_repo(parser, many=True)
    add_output_option(parser)
    parser.add_argument("--watch", type=float, metavar="SECONDS", help="print again every SECONDS until interrupted")
    parser.add_argument("--branch", default="main", help="without SPEC: the branch to read (default main)")
    parser.add_argument(
        "--remote",
        default="origin",
        help="without SPEC: fetch the branch from this remote first, when the repository has it (default origin)",
    )


def run_start(args: argparse.Namespace) -> int:
    from rollgen import rollout

    return _operate(args, lambda repo, release, remote: rollout.start(repo, release, remote=remote))


def run_promote(args: argparse.Namespace) -> int:
    from rollgen import rollout

    return _operate(args, lambda repo, release, remote: rollout.promote(repo, release, full=args.full, remote=remote))


def run_abort(args: argparse.Namespace) -> int:
    from rollgen import rollout

    return _operate(args, lambda repo, release, remote: rollout.abort(repo, release, immediate=args.now, remote=remote))


def run_retry(args: argparse.Namespace) -> int:
    from rollgen import rollout

    return _operate(args, lambda repo, release, remote: rollout.retry(repo, release, remote=remote))


def run_undo(args: argparse.Namespace) -> int:
    from rollgen import rollout

    return _operate(args, lambda repo, release, remote: rollout.undo(repo, release, remote=remote))


def run_status(args: argparse.Namespace) -> int:
    from rollgen import rollout
    from rollgen.gitops.repo import Repo
    from rollgen.spec import load_release

    if args.watch is not None and args.watch <= 0:
        raise UsageError(f"--watch must be a positive number of seconds, got {args.watch}")
    releases = [load_release(Path(spec)) for spec in args.specs]
    repo = Repo.open(args.repo)
    remote = args.remote if args.remote in repo.git.text("remote").split() else None
    while True:
        if releases:
            states = [(r, rollout.current_state(repo, r, remote=rollout.default_remote(repo, r))) for r in releases]
            data = [_state_data(rollout.release_key(r), s, rollout.pending_pull_request(repo, r, s)) for r, s in states]
        else:
            data = [_state_data(s.release, s) for s in rollout.states_on(repo, args.branch, remote=remote)]
        if args.output == "text":
            for row in data:
                print(_line(row))
        else:
            emit(data, args.output)
        sys.stdout.flush()
        if args.watch is None:
            return EXIT_OK
        time.sleep(args.watch)
        print()


def _operate(args: argparse.Namespace, operation: Callable[[Any, Any, str | None], Outcome]) -> int:
    from rollgen import rollout
    from rollgen.gitops.repo import Repo
    from rollgen.spec import load_release

    release = load_release(Path(args.spec))
    repo = Repo.open(args.repo)
    outcome = operation(repo, release, rollout.default_remote(repo, release))
    pull = outcome.pull_request
    row = _state_data(rollout.release_key(release), outcome.state, pull)
    if pull is not None:
        done = f"nothing committed; merge pull request #{pull.number} to go on: {pull.url}"
    else:
        done = "committed" if outcome.committed else "already done, nothing committed"
    print(f"{_line(row)}  ({done})")
    for warning in outcome.warnings:  # the operation succeeded: a warning does not change the exit status
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def _state_data(key: str, state: RolloutState | None, pull: PullRequest | None = None) -> dict[str, Any]:
    """A rollout's state as data; ``pull`` is the open pull request proposing its next step."""
    if state is None:
        return {"release": key, "phase": "none"}
    since = datetime.datetime.fromtimestamp(state.since, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    waiting = f"pull request #{pull.number} to be merged ({pull.url})" if pull is not None else state.waiting_for()
    return {
        "release": key,
        "rollout": state.rollout,
        "step": state.step,
        "steps": state.steps,
        "action": state.action.value,
        "stepAction": state.plan_step.action if state.plan_step else None,
        "phase": state.phase,
        "from": state.from_version,
        "to": state.to_version,
        "waitingFor": waiting,
        "since": since,
        "commit": state.commit,
        "plan": state.plan,
        "planChanged": state.plan_changed,
        "pullRequest": None if pull is None else {"number": pull.number, "url": pull.url},
    }


def _line(row: dict[str, Any]) -> str:
    if row["phase"] == "none":
        return f"{row['release']}: no rollout"
    what = f" {row['stepAction']}" if row["stepAction"] else ""
    waits = f", waiting for {row['waitingFor']}" if row["waitingFor"] else ""
    return (
        f"{row['release']}: {row['phase']} at step {row['step']}/{row['steps']}{what} ({row['action']}), "
        f"{row['from']} -> {row['to']}, since {row['since']}{waits}"
    )
