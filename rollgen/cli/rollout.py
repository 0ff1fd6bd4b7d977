"""The rollout commands: ``rollgen start|status|promote|abort|retry|undo``.

Each handler gets the spec, the GitOps repository (``--repo``, default the
current directory) and the remote from the composition root
(:func:`rollgen.cli.root.open_release`) and calls one operation of
:mod:`rollgen.rollout`. Nothing is kept outside Git: ``status`` reads history
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

from rollgen import fleet, rollout
from rollgen.cli.root import (
    Opened,
    add_repo,
    add_shard_option,
    add_spec_and_repo,
    open_release,
    open_repository,
    shard_of,
)
from rollgen.errors import EXIT_OK, RollgenError, UsageError
from rollgen.gitops.forge import PullRequest
from rollgen.gitops.remote import remote_named
from rollgen.output import add_output_option, emit
from rollgen.proposal import pending_pull_request
from rollgen.rollout import Outcome
from rollgen.shard import select
from rollgen.spec.discover import is_pipeline_spec
from rollgen.state import RolloutPhase, RolloutState, release_key, states_on

if TYPE_CHECKING:
    from rollgen.gitops.repo import Repo
    from rollgen.spec.model import Release


def configure_start(parser: argparse.ArgumentParser) -> None:
    add_spec_and_repo(parser)


def configure_promote(parser: argparse.ArgumentParser) -> None:
    add_spec_and_repo(parser)
    parser.add_argument(
        "--full",
        action="store_true",
        help="commit the last step directly, skipping the remaining steps and their waits",
    )


def configure_abort(parser: argparse.ArgumentParser) -> None:
    add_spec_and_repo(parser)
    parser.add_argument(
        "--now", action="store_true", help="restore the pre-rollout files in one commit instead of the safe way back"
    )


def configure_status(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "specs",
        nargs="*",
        metavar="SPEC",
        help="release spec files or directories holding them, or one pipeline spec "
        "(default: every release with rollgen commits on --branch)",
    )
    add_repo(parser)
    add_shard_option(parser)
    add_output_option(parser)
    parser.add_argument("--watch", type=float, metavar="SECONDS", help="print again every SECONDS until interrupted")
    parser.add_argument("--branch", default="main", help="without SPEC: the branch to read (default main)")
    parser.add_argument(
        "--remote",
        default="origin",
        help="without SPEC: fetch the branch from this remote first, when the repository has it (default origin)",
    )


def handle_start(args: argparse.Namespace) -> int:
    return _operate(args, lambda o: rollout.start(o.repo, o.release, remote=o.remote))


def handle_promote(args: argparse.Namespace) -> int:
    return _operate(args, lambda o: rollout.promote(o.repo, o.release, full=args.full, remote=o.remote))


def handle_abort(args: argparse.Namespace) -> int:
    return _operate(args, lambda o: rollout.abort(o.repo, o.release, immediate=args.now, remote=o.remote))


def handle_retry(args: argparse.Namespace) -> int:
    return _operate(args, lambda o: rollout.retry(o.repo, o.release, remote=o.remote))


def handle_undo(args: argparse.Namespace) -> int:
    return _operate(args, lambda o: rollout.undo(o.repo, o.release, remote=o.remote))


def handle_status(args: argparse.Namespace) -> int:
    if args.watch is not None and args.watch <= 0:
        raise UsageError(f"--watch must be a positive number of seconds, got {args.watch}")
    if len(args.specs) == 1 and args.watch is None and is_pipeline_spec(Path(args.specs[0])):
        from rollgen.cli.pipeline import show_status

        return show_status(args.specs[0], args.output)
    shard = shard_of(args)
    repo = open_repository(args.repo)
    remote = remote_named(repo.git, args.remote)
    while True:
        code = EXIT_OK
        if args.specs:
            # Read again every time: --watch follows the releases as they are added and changed.
            targets = fleet.load(args.specs, shard)
            data = [_error_data(t.key, t.problem) for t in targets if t.release is None]
            for target, state in fleet.states(repo, targets):
                assert target.release is not None
                if isinstance(state, RollgenError):
                    data.append(_error_data(target.key, str(state)))
                    code = max(code, state.exit_code)
                else:
                    row = _state_data(target.key, state, pending_pull_request(repo, target.release, state))
                    data.append({**row, "next": _next(repo, target.release)})
            code = max([code, *(t.exit_code for t in targets)])
        else:
            found = select(states_on(repo, args.branch, remote=remote), lambda s: s.release, shard)
            data = [_state_data(s.release, s) for s in found]
        if args.output == "text":
            for row in data:
                print(_line(row))
        else:
            emit(data, args.output)
        sys.stdout.flush()
        if args.watch is None:
            return code
        time.sleep(args.watch)
        print()


def _operate(args: argparse.Namespace, operation: Callable[[Opened], Outcome]) -> int:
    opened = open_release(args)
    outcome = operation(opened)
    pull = outcome.pull_request
    row = _state_data(release_key(opened.release), outcome.state, pull)
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
        return {"release": key, "phase": RolloutPhase.NONE.value}
    since = datetime.datetime.fromtimestamp(state.since, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    waiting = f"pull request #{pull.number} to be merged ({pull.url})" if pull is not None else state.waiting_for()
    return {
        "release": key,
        "rollout": state.rollout,
        "step": state.step,
        "steps": state.steps,
        "action": state.action.value,
        "stepAction": state.plan_step.action if state.plan_step else None,
        "phase": state.phase.value,
        "from": state.from_version,
        "to": state.to_version,
        "waitingFor": waiting,
        "since": since,
        "commit": state.commit,
        "plan": state.plan,
        "planChanged": state.plan_changed,
        "pullRequest": None if pull is None else {"number": pull.number, "url": pull.url},
    }


def _error_data(key: str, problem: str) -> dict[str, Any]:
    """A release whose spec could not be read, or whose state could not be: the others are still shown."""
    return {"release": key, "phase": "error", "error": problem}


def _next(repo: Repo, release: Release) -> str | None:
    """What the next pass does when the spec and Git disagree (None when they agree)."""
    from rollgen.drift import Next

    try:
        trigger = rollout.spec_against_git(repo, release, remote=remote_named(repo.git, release.git.remote)).trigger
    except RollgenError as error:  # the row still shows where the rollout stands
        return f"unknown: {error}"
    return None if trigger.next in (Next.NOTHING, Next.CONTINUE) else f"{trigger.next}: {trigger.reason}"


def _line(row: dict[str, Any]) -> str:
    if row["phase"] == "error":
        return f"{row['release']}: error: {row['error']}"
    following = f"; spec and Git differ, next pass: {row['next']}" if row.get("next") else ""
    if row["phase"] == RolloutPhase.NONE:
        return f"{row['release']}: no rollout{following}"
    what = f" {row['stepAction']}" if row["stepAction"] else ""
    waits = f", waiting for {row['waitingFor']}" if row["waitingFor"] else ""
    return (
        f"{row['release']}: {row['phase']} at step {row['step']}/{row['steps']}{what} ({row['action']}), "
        f"{row['from']} -> {row['to']}, since {row['since']}{waits}{following}"
    )
