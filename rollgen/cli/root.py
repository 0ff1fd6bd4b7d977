"""The composition root of the commands that act on a GitOps repository.

Loading the spec, opening the repository and picking the remote happen here
and only here: every command gets the same :class:`Opened` from
:func:`open_release`. The git layer is imported inside the functions, so that
``rollgen --help`` and ``rollgen validate`` never load it.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rollgen.errors import SpecError, UsageError

if TYPE_CHECKING:
    from rollgen.controller.notify import Notifier
    from rollgen.gitops.repo import Repo
    from rollgen.shard import Shard
    from rollgen.spec.model import Release


@dataclass(frozen=True, kw_only=True)
class Opened:
    """A release spec, its GitOps repository, and the remote to fetch from and push to (None: local only)."""

    release: Release
    repo: Repo
    remote: str | None


def add_spec_and_repo(parser: argparse.ArgumentParser) -> None:
    """The ``SPEC`` and ``--repo`` arguments every repository command takes."""
    parser.add_argument("spec", metavar="SPEC", help="release spec file")
    add_repo(parser)


def add_repo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", default=".", metavar="PATH", help="the GitOps repository (default .)")


def add_shard_option(parser: argparse.ArgumentParser) -> None:
    """``--shard INDEX/COUNT``: split the releases between several workers (:mod:`rollgen.shard`)."""
    parser.add_argument(
        "--shard",
        metavar="INDEX/COUNT",
        help="keep only the releases whose key hashes to INDEX of COUNT workers (INDEX from 0), e.g. 0/3",
    )


def shard_arg(args: argparse.Namespace) -> Shard | None:
    """The shard ``--shard`` names (None: every release); UsageError when malformed."""
    from rollgen.shard import parse_shard

    return None if args.shard is None else parse_shard(args.shard)


def load_spec(spec: str) -> Release:
    """The typed release in the file ``spec``: SpecError (exit 1) with every problem, UsageError (2) if unreadable."""
    from rollgen.spec.load import load_release as load

    try:
        return load(Path(spec))
    except SpecError as exc:
        if not readable(Path(spec)):
            raise UsageError(str(exc)) from None
        raise


def readable(path: Path) -> bool:
    """Whether ``path`` is a file this process can read (an unreadable input exits 2, an invalid one 1)."""
    try:
        with path.open("rb"):
            return True
    except OSError:
        return False


def empty_output(path: str, why: str) -> Path:
    """``path`` as a Path when it is missing or an empty directory; otherwise a UsageError saying ``why``."""
    out = Path(path)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out}: not an empty directory ({why})")
    return out


def open_repository(path: str) -> Repo:
    from rollgen.gitops.repo import Repo

    return Repo.open(path)


def open_release(args: argparse.Namespace) -> Opened:
    """The release of ``args.spec`` in the repository ``args.repo``, with the spec's ``git.remote`` if it exists."""
    release = load_spec(args.spec)
    repo = open_repository(args.repo)
    from rollgen.gitops.remote import remote_named

    return Opened(release=release, repo=repo, remote=remote_named(repo.git, release.git.remote))


NOW_VARIABLE = "ROLLGEN_NOW"
"""Fixes the clock of a command (an RFC 3339 time or Unix seconds): the windows', the freeze's and the soak's "now"."""


def clock() -> float:
    """Now, in Unix seconds: ``$ROLLGEN_NOW`` when set (tests, a dry run of a window), else the system clock."""
    fixed = os.environ.get(NOW_VARIABLE)
    if not fixed:
        return time.time()
    try:
        return float(fixed)
    except ValueError:
        pass
    try:
        when = datetime.datetime.fromisoformat(fixed)
    except ValueError:
        raise UsageError(
            f"{NOW_VARIABLE}={fixed!r}: not a time such as 2025-01-01T22:30:00Z, nor Unix seconds"
        ) from None
    if when.tzinfo is None:
        raise UsageError(f"{NOW_VARIABLE}={fixed!r} names no time zone (end it with Z)")
    return when.timestamp()


def open_notifier(release: Release, spec: str) -> Notifier:
    """The notifier of a command acting on ``release``: every entry point gets its one here.

    A delivery that fails never fails the command: it is reported on stderr
    (never with the webhook's URL or secret). Close it (``with``) to deliver
    before the command exits.
    """
    from rollgen.controller.notify import notifier_for

    return notifier_for(release, Path(spec), warn)


def warn(line: str) -> None:
    """A problem that does not change what the command did: one line on stderr."""
    print(f"warning: {line}", file=sys.stderr)
