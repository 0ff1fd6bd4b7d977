"""The rollout commands: ``rollgen start|status|promote|abort|retry|undo``.

Each handler gets the spec, the GitOps repository (``--repo``, default the
current directory) and the remote from the composition root
(:func:`rollgen.cli.root.open_release`) and calls one operation of
:mod:`rollgen.rollout.operations`. Nothing is kept outside Git: ``status`` reads history
(and, in pull-request mode, asks the forge for the next step's open pull request).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollgen.cli.output import add_output_option, emit
from rollgen.cli.progress import MESSAGE_LIMIT, Display, Frame
from rollgen.cli.root import (
    Opened,
    add_repo,
    add_shard_option,
    add_spec_and_repo,
    clock,
    open_notifier,
    open_release,
    open_repository,
    shard_arg,
)
from rollgen.cli.watch import INTERVAL, watch
from rollgen.controller import fleet
from rollgen.controller.notify import events_of
from rollgen.durations import Duration
from rollgen.errors import EXIT_OK, NotSoError, RollgenError, UsageError
from rollgen.freeze import Freeze, standing
from rollgen.gates.analysis import Measurement
from rollgen.gitops.errors import GitError
from rollgen.gitops.forge import PullRequest
from rollgen.gitops.freezefile import read_freeze
from rollgen.gitops.remote import remote_named
from rollgen.gitops.repo import Repo
from rollgen.gitops.trailers import one_line
from rollgen.rollout import operations
from rollgen.rollout.holds import holding
from rollgen.rollout.operations import Outcome
from rollgen.rollout.proposal import pending_pull_request
from rollgen.rollout.reading import current_state, spec_against_git, states_on
from rollgen.rollout.state import RolloutPhase, RolloutState, release_key
from rollgen.shard import select
from rollgen.spec.discover import is_pipeline_spec
from rollgen.windows import hold

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
        help="go on to the end skipping pauses and analysis: commits the next step; the controller (run, advance) "
        "or another promote --full commits each following one once the one before is live, within the bounds",
    )
    parser.add_argument(
        "--reason",
        default="",
        metavar="TEXT",
        help="why, in a sentence, recorded in the step's commit; needed to promote while a deployment window "
        "(spec.windows) holds the release",
    )


def configure_abort(parser: argparse.ArgumentParser) -> None:
    add_spec_and_repo(parser)
    parser.add_argument(
        "--now", action="store_true", help="restore the pre-rollout files in one commit instead of the safe way back"
    )
    parser.add_argument(
        "--reason",
        default="",
        metavar="TEXT",
        help="why, in a sentence: recorded in the abort commits (Rollgen-Reason) and shown by status",
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
    parser.add_argument(
        "--watch",
        action="store_true",
        help="show again every --interval (in place on a terminal) until every rollout shown has completed "
        "(exit 0) or any aborted (exit 1)",
    )
    parser.add_argument(
        "--interval",
        metavar="DURATION",
        help=f"with --watch: time between two looks, e.g. 500ms, 5s or a number of seconds (default {INTERVAL:g}s)",
    )
    parser.add_argument(
        "--timeout",
        metavar="DURATION",
        help="with --watch: give up after this long (e.g. 90s, 10m) and exit 4 (default: wait as long as it takes)",
    )
    parser.add_argument("--branch", default="main", help="without SPEC: the branch to read (default main)")
    parser.add_argument(
        "--remote",
        default="origin",
        help="without SPEC: fetch the branch from this remote first, when the repository has it (default origin); "
        "when it cannot be reached, local history is shown with a warning",
    )


def handle_start(args: argparse.Namespace) -> int:
    return _operate(args, lambda o: operations.start(o.repo, o.release, remote=o.remote))


def handle_promote(args: argparse.Namespace) -> int:
    def promote(opened: Opened) -> Outcome:
        reason = _override(opened.release, args.reason)
        return operations.promote(opened.repo, opened.release, full=args.full, remote=opened.remote, reason=reason)

    return _operate(args, promote)


def _override(release: Release, reason: str) -> str:
    """The commit's reason for a human's promote: refused inside a window that holds, unless a reason is given."""
    held = hold(release.windows, clock())
    if held is None:
        return f"Promoted by hand: {reason}" if reason else ""
    if not reason:
        raise NotSoError(
            f"{release_key(release)}: {held.line()}; rollgen promote --reason TEXT commits anyway, "
            "with the reason in the commit"
        )
    return f"Promoted inside a deployment window ({held.window.describe()}) by rollgen promote: {reason}"


def handle_abort(args: argparse.Namespace) -> int:
    return _operate(
        args, lambda o: operations.abort(o.repo, o.release, immediate=args.now, remote=o.remote, reason=args.reason)
    )


def handle_retry(args: argparse.Namespace) -> int:
    return _operate(args, lambda o: operations.retry(o.repo, o.release, remote=o.remote))


def handle_undo(args: argparse.Namespace) -> int:
    return _operate(args, lambda o: operations.undo(o.repo, o.release, remote=o.remote))


def handle_pause(args: argparse.Namespace) -> int:
    return _operate(args, lambda o: operations.pause(o.repo, o.release, remote=o.remote))


def handle_resume(args: argparse.Namespace) -> int:
    return _operate(args, lambda o: operations.resume(o.repo, o.release, remote=o.remote))


def handle_status(args: argparse.Namespace) -> int:
    for option in ("interval", "timeout"):
        value = getattr(args, option)
        if value is not None and not args.watch:
            raise UsageError(f"--{option} only applies with --watch")
    interval = None if args.interval is None else Duration.of_option("--interval", args.interval).seconds
    timeout = None if args.timeout is None else Duration.of_option("--timeout", args.timeout).seconds
    if len(args.specs) == 1 and not args.watch and is_pipeline_spec(Path(args.specs[0])):
        from rollgen.cli.pipeline import show_status

        return show_status(args.specs[0], args.output)
    shard = shard_arg(args)
    repo = open_repository(args.repo)
    warned: set[str] = set()
    code = [EXIT_OK]  # the worst exit code of the last look (a spec that cannot be read, a state that cannot)

    def warn(message: str) -> None:
        if message not in warned:  # once, not at every --watch look
            warned.add(message)
            print(f"warning: {message}", file=sys.stderr)

    freezes: dict[tuple[str | None, str], Freeze | None] = {}

    def frozen(release_remote: str | None, branch: str) -> Freeze | None:
        if (release_remote, branch) not in freezes:
            try:
                found = read_freeze(repo, branch, release_remote)
            except GitError:  # the remote cannot be reached (said once already): the local branch's record
                found = read_freeze(repo, branch, None)
            freezes[(release_remote, branch)] = standing(found, clock())
        return freezes[(release_remote, branch)]

    def read() -> list[dict[str, Any]]:
        freezes.clear()  # every look reads the branches again
        if not args.specs:
            remote = remote_named(repo.git, args.remote)
            ref = _branch_ref(repo, remote, args.branch, warn)
            found = select(states_on(repo, args.branch, at=ref), lambda s: s.release, shard)
            freeze = frozen(remote, args.branch)
            held = {"held": freeze.line()} if freeze else {}
            return [{**_state_data(s.release, s, records=_records(repo, s)), **held} for s in found]
        # Read again every time: --watch follows the releases as they are added and changed.
        targets = fleet.load_targets(args.specs, shard)
        rows = [_error_data(t.key, t.problem) for t in targets if t.release is None]
        code[:] = [max([EXIT_OK, *(t.exit_code for t in targets)])]
        for target, read_now in fleet.states(repo, targets):
            release = target.release
            assert release is not None
            state = read_now
            if isinstance(read_now, GitError):  # the remote cannot be reached: local history, with a warning
                try:
                    remote = remote_named(repo.git, release.git.remote)
                    state = current_state(repo, release, at=_branch_ref(repo, remote, release.git.branch, warn))
                except RollgenError as exc:
                    state = exc
            if isinstance(state, RollgenError):
                rows.append(_error_data(target.key, str(state)))
                code[:] = [max(code[0], state.exit_code)]
            else:
                pull = pending_pull_request(repo, release, state)
                row = _state_data(target.key, state, pull, _records(repo, state))
                holds = holding(
                    frozen(remote_named(repo.git, release.git.remote), release.git.branch), release.windows, clock()
                )
                rows.append({**row, **_against_git(repo, release), **({"held": holds.line} if holds else {})})
        return rows

    if not args.watch:
        _print_rows(read(), args.output)
        return code[0]
    display = Display(sys.stdout)
    shown: list[Sequence[Mapping[str, Any]]] = []

    def draw(rows: Sequence[Mapping[str, Any]]) -> None:
        if args.output == "text":
            lines = tuple(line for row in rows for line in _lines(row))
            display.draw(Frame(lines, lines))
        elif shown != [rows]:  # a document per change, not one per look
            shown[:] = [rows]
            _print_rows(rows, args.output)

    return watch(read, draw, interval=interval or INTERVAL, timeout=timeout)


def _print_rows(rows: Sequence[Mapping[str, Any]], output: str) -> None:
    if output == "text":
        for row in rows:
            print("\n".join(_lines(row)))
    else:
        emit(list(rows), output)
    sys.stdout.flush()


def _branch_ref(repo: Repo, remote: str | None, branch: str, warn: Callable[[str], None]) -> str:
    """The ref to read ``branch`` from: the remote's tip, fetched now; local history, with a warning, when unreachable.

    An unknown branch is an error: an empty status would say "no rollouts" when the question was wrong.
    """
    from rollgen.gitops.errors import GitError
    from rollgen.gitops.notes import fetch_notes
    from rollgen.gitops.remote import fetch_branch, tracking_ref

    candidates = [f"refs/heads/{branch}"]
    if remote is not None:
        candidates.append(tracking_ref(remote, branch))
        try:
            fetched = fetch_branch(repo.git, remote, branch)
        except GitError as error:
            detail = str(error).strip().splitlines()[-1] if str(error).strip() else "no answer"
            warn(f"cannot reach remote {remote} ({detail}); showing local history, which may be behind")
        else:
            fetch_notes(repo, remote)  # the measurements other processes took
            if fetched is not False:
                return tracking_ref(remote, branch)
    for ref in candidates:
        if repo.git.run("rev-parse", "--verify", "-q", f"{ref}^{{commit}}", ok=(0, 1)).returncode == 0:
            return ref
    where = f" nor on remote {remote}" if remote is not None else ""
    raise UsageError(f"no branch {branch!r} in {repo.root()}{where}: name an existing branch with --branch")


def _records(repo: Repo, state: RolloutState | None) -> Mapping[str, tuple[Measurement, ...]]:
    """The measurements kept on the commit a rollout in progress is judged at (none once it is over)."""
    if state is None or not state.phase.unfinished:
        return {}
    from rollgen.gitops.notes import load_records

    return load_records(repo, state.commit)


def _operate(args: argparse.Namespace, operation: Callable[[Opened], Outcome]) -> int:
    opened = open_release(args)
    with open_notifier(opened.release, args.spec) as notifier:
        outcome = operation(opened)
        if outcome.committed:
            for event in events_of(outcome.before, outcome.state):
                notifier.emit(event)
        return _said(opened, outcome)


def _said(opened: Opened, outcome: Outcome) -> int:
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


def _state_data(
    key: str,
    state: RolloutState | None,
    pull: PullRequest | None = None,
    records: Mapping[str, tuple[Measurement, ...]] | None = None,
) -> dict[str, Any]:
    """A rollout's state as data (a pure function of its arguments).

    ``pull`` is the open pull request proposing its next step; ``records``
    the measurements kept on the step's commit, of which each gate's last is shown.
    """
    if state is None:
        return {"release": key, "phase": RolloutPhase.NONE.value}
    since = _iso(state.since)
    waiting = f"pull request #{pull.number} to be merged ({pull.url})" if pull is not None else state.waiting_for()
    return {
        "release": key,
        "rollout": state.rollout,
        "step": state.step,
        "steps": state.steps,
        "action": state.action.value,
        "stepAction": state.plan_step.action if state.plan_step else None,
        "phase": state.phase.value,
        "from": state.from_label,
        "to": state.to_label,
        "waitingFor": waiting,
        "since": since,
        "commit": state.commit,
        "plan": state.plan,
        "planChanged": state.plan_changed,
        "pullRequest": None if pull is None else {"number": pull.number, "url": pull.url},
        "paused": state.paused,
        "pausedAt": None if state.paused_at is None else _iso(state.paused_at),
        "walkBack": None if state.walk_back is None else {"done": state.walk_back[0], "of": state.walk_back[1]},
        "reason": state.reason or None,
        "gates": [_gate_data(key, kept) for key, kept in sorted((records or {}).items()) if kept],
    }


def _gate_data(key: str, kept: tuple[Measurement, ...]) -> dict[str, Any]:
    """A gate's last measurement at one stage (the key is ``<stage>/<gate>``)."""
    stage, _, gate = key.rpartition("/")
    last = kept[-1]
    return {
        "stage": stage,
        "gate": gate,
        "phase": last.phase.value,
        "message": last.message,
        "at": _iso(last.at),
        "measurements": len(kept),
    }


def _iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_data(key: str, problem: str) -> dict[str, Any]:
    """A release whose spec could not be read, or whose state could not be: the others are still shown."""
    return {"release": key, "phase": "error", "error": problem}


def _against_git(repo: Repo, release: Release) -> dict[str, str | None]:
    """``next``: what the next pass does when the spec and Git disagree (None when they agree);
    ``runs``: the revision the output converges to (None when rollgen wrote none there)."""
    from rollgen.rollout.drift import Next

    try:
        seen = spec_against_git(repo, release, remote=remote_named(repo.git, release.git.remote))
    except RollgenError as error:  # the row still shows where the rollout stands
        return {"next": f"unknown: {error}", "runs": None}
    trigger = seen.trigger
    following = None if trigger.next in (Next.NOTHING, Next.CONTINUE) else f"{trigger.next}: {trigger.reason}"
    return {"next": following, "runs": list(seen.live)[-1] if seen.live else None}


def _line(row: Mapping[str, Any]) -> str:
    """The one line that says where a release's rollout stands."""
    if row["phase"] == "error":
        return f"{row['release']}: error: {row['error']}"
    following = f"; spec and Git differ, next pass: {row['next']}" if row.get("next") else ""
    if row.get("held"):  # a freeze or a window: nothing moves forward
        following += f"; {row['held']}"
    if row["phase"] == RolloutPhase.NONE:
        runs = f" yet, runs {row['runs']} (adopted)" if row.get("runs") else ""
        return f"{row['release']}: no rollout{runs}{following}"
    what = f" {row['stepAction']}" if row["stepAction"] else ""
    paused = ", PAUSED" if row["paused"] else ""
    waits = f", waiting for {row['waitingFor']}" if row["waitingFor"] else ""
    why = f"; aborted because {row['reason']}" if row["reason"] and row["action"] == "abort" else ""
    return (
        f"{row['release']}: {row['phase']}{paused} at step {row['step']}/{row['steps']}{what} ({row['action']}), "
        f"{row['from']} -> {row['to']}, since {row['since']}{waits}{why}{following}"
    )


def _lines(row: Mapping[str, Any]) -> list[str]:
    """The release's line, then each gate's last measurement and its message."""
    lines = [_line(row)]
    for gate in row.get("gates", ()):
        said = f": {one_line(gate['message'], MESSAGE_LIMIT)}" if gate["message"] else ""
        lines.append(
            f"  gate {gate['gate']} [{gate['stage']}]: {gate['phase']} at {gate['at']} "
            f"({gate['measurements']} measured){said}"
        )
    return lines
