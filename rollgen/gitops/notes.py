"""Measurements kept in git notes on the commit they judge (``refs/notes/rollgen``).

Any process (the next cron run, a restarted ``rollgen run``) carries on from
the measurements the last one kept. The remote's notes ref is fetched before
reading and pushed right after writing, as a compare-and-swap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Final

from rollgen.analysis import AnalysisError, Measurement
from rollgen.errors import RollgenError
from rollgen.gitops.repo import Identity, Repo

NOTES_REF: Final = "refs/notes/rollgen"
NOTES_PUSH_ATTEMPTS: Final = 4
_NOTES_IDENTITY: Final = Identity("rollgen", "rollgen@localhost")


def load_records(repo: Repo, commit: str) -> dict[str, tuple[Measurement, ...]]:
    """The measurements kept in the git note on ``commit`` (none when it has no note)."""
    shown = repo.git.run("notes", f"--ref={NOTES_REF}", "show", commit, ok=(0, 1))
    if shown.returncode != 0:
        return {}
    try:
        data = json.loads(shown.text)
        return {key: tuple(Measurement.from_dict(m) for m in kept) for key, kept in data["measurements"].items()}
    except (ValueError, KeyError, TypeError, AnalysisError) as error:
        raise RollgenError(
            f"the rollgen note on {commit[:12]} is not readable ({error}); remove it with "
            f"git notes --ref={NOTES_REF} remove {commit[:12]}"
        ) from None


def save_records(repo: Repo, commit: str, records: Mapping[str, Sequence[Measurement]], remote: str | None) -> None:
    """Keep ``records`` (by stage and gate) as the git note on ``commit``, and push the notes ref (as a compare-and-swap)."""
    text = json.dumps(
        {"measurements": {k: [m.to_dict() for m in v] for k, v in sorted(records.items())}}, sort_keys=True
    )
    env = {**_NOTES_IDENTITY.env("AUTHOR"), **_NOTES_IDENTITY.env("COMMITTER")}
    for _ in range(NOTES_PUSH_ATTEMPTS):
        repo.git.run("notes", f"--ref={NOTES_REF}", "add", "-f", "-m", text, commit, env=env)
        if remote is None:
            return
        pushed = repo.git.run("push", "--quiet", remote, f"{NOTES_REF}:{NOTES_REF}", ok=(0, 1))
        if pushed.returncode == 0:
            return
        # Another controller (another release) pushed notes meanwhile: take theirs, add ours again.
        fetch_notes(repo, remote)
    raise RollgenError(f"could not push {NOTES_REF} to {remote}: it kept moving")


def fetch_notes(repo: Repo, remote: str) -> None:
    """Take the remote's notes ref in place of ours."""
    # The remote's notes win: every writer pushes right after writing, so they hold everything.
    repo.git.run(
        "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, f"+{NOTES_REF}:{NOTES_REF}", ok=(0, 1, 128)
    )
