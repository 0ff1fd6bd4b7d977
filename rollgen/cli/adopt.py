"""``rollgen adopt``: the explicit first commit that makes a release's output rollgen's (:mod:`rollgen.rollout.adoption`)."""

from __future__ import annotations

import argparse

from rollgen.cli.root import add_spec_and_repo, open_release
from rollgen.errors import EXIT_OK
from rollgen.rollout.state import release_key


def configure(parser: argparse.ArgumentParser) -> None:
    add_spec_and_repo(parser)


def handle(args: argparse.Namespace) -> int:
    from rollgen.rollout.adoption import adopt

    opened = open_release(args)
    done = adopt(opened.repo, opened.release, remote=opened.remote)
    what = (
        f"first revision {done.label} committed: the release did not run before, this commit deploys it"
        if done.first_run
        else f"adopted: {done.label} runs as before, now in rollgen's layout"
        + (
            f"; Helm release {done.helm_release} keeps its name and namespace (upgraded in place, never reinstalled)"
            if done.helm_release
            else ""
        )
    )
    print(f"{release_key(opened.release)}: {what}" + ("" if done.commit else " (already done, nothing committed)"))
    return EXIT_OK
