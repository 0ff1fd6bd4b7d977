"""``rollgen freeze --reason TEXT [--until TIME]`` and ``rollgen unfreeze``: a repository-wide freeze, committed.

The record is a file on the branch (:mod:`rollgen.freeze` says why a file);
:mod:`rollgen.gitops.freezefile` commits it. The clock is ``$ROLLGEN_NOW``
when set.
"""

from __future__ import annotations

import argparse

from rollgen.cli.root import add_repo, clock, open_repository
from rollgen.errors import EXIT_OK, UsageError
from rollgen.freeze import Freeze, parse_until
from rollgen.gitops import freezefile
from rollgen.gitops.remote import remote_named
from rollgen.spec.vocabulary import DEFAULT_BRANCH


def _common(parser: argparse.ArgumentParser) -> None:
    add_repo(parser)
    parser.add_argument("--branch", default=DEFAULT_BRANCH, help=f"the branch to freeze (default {DEFAULT_BRANCH})")
    parser.add_argument(
        "--remote", default="origin", help="push to this remote when the repository has it (default origin)"
    )


def configure_freeze(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", required=True, metavar="TEXT", help="why, in a sentence: every pass says it")
    parser.add_argument(
        "--until",
        metavar="TIME",
        help="when the freeze lapses by itself: a time (2025-12-01T08:00:00Z) or a duration from now (48h); "
        "default: until rollgen unfreeze",
    )
    _common(parser)


def configure_unfreeze(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", default="", metavar="TEXT", help="why the freeze ends, for the commit")
    _common(parser)


def handle_freeze(args: argparse.Namespace) -> int:
    if not args.reason.strip():
        raise UsageError("--reason must say why (every pass prints it)")
    now = clock()
    until = None
    if args.until is not None:
        try:
            until = parse_until(args.until, now)
        except ValueError as exc:
            raise UsageError(f"--until: {exc}") from None
        if until <= now:
            raise UsageError(f"--until {args.until} is not in the future")
    repo = open_repository(args.repo)
    record = Freeze(reason=args.reason.strip(), since=now, until=until)
    done = freezefile.freeze(repo, args.branch, remote_named(repo.git, args.remote), record)
    where = f"commit {done.commit[:12]}" if done is not None else "already so, nothing committed"
    print(f"{args.branch}: {record.line()} ({where})")
    return EXIT_OK


def handle_unfreeze(args: argparse.Namespace) -> int:
    repo = open_repository(args.repo)
    done = freezefile.unfreeze(repo, args.branch, remote_named(repo.git, args.remote), args.reason)
    print(f"{args.branch}: unfrozen (commit {done.commit[:12]})")
    return EXIT_OK
