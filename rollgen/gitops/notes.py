"""Measurements kept in git notes on the commit they judge (``refs/notes/rollgen``).

Any process (the next cron run, a restarted ``rollgen run``) carries on from
the measurements the last one kept. The remote's notes ref is fetched before
reading and pushed right after writing, as a compare-and-swap; when that
loses a race, both controllers' measurements are merged, never replaced.
A note keeps at most :data:`MAX_KEPT` measurements per gate, each with a
bounded message and value, so a long-running gate cannot grow it without end.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Final

from rollgen.errors import RollgenError
from rollgen.gates.analysis import AnalysisError, Measurement, Phase
from rollgen.gitops.remote import remote_error
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
    """Keep ``records`` (by stage and gate) as the git note on ``commit``, and push the notes ref (as a compare-and-swap).

    When another controller pushed meanwhile, its measurements are merged with
    ours (:func:`merge_records`), never replaced: a Failed measurement it took
    still counts against the failure budget.
    """
    env = {**_NOTES_IDENTITY.env("AUTHOR"), **_NOTES_IDENTITY.env("COMMITTER")}
    mine = {key: tuple(kept) for key, kept in records.items()}
    for _ in range(NOTES_PUSH_ATTEMPTS):
        # Whatever the note holds already (the remote's after a lost race) stays: measurements are only added.
        mine = merge_records(load_records(repo, commit), mine)
        text = json.dumps(
            {"measurements": {k: [_bounded(m).to_dict() for m in _newest(v)] for k, v in sorted(mine.items())}},
            sort_keys=True,
        )
        # Through stdin: a note of any size (argv stops at about 128 KiB).
        repo.git.run("notes", f"--ref={NOTES_REF}", "add", "-f", "-F", "-", commit, input=text.encode(), env=env)
        if remote is None:
            return
        refspec = f"{NOTES_REF}:{NOTES_REF}"
        pushed = repo.git.run("push", "--quiet", remote, refspec, ok=(0, 1, 128))
        if pushed.returncode == 0:
            return
        if pushed.returncode == 128:
            raise remote_error(repo.git, repo.git.argv("push", remote, refspec), pushed)
        # Another controller pushed notes meanwhile: take theirs, and keep every measurement of both.
        fetch_notes(repo, remote)
    raise RollgenError(f"could not push {NOTES_REF} to {remote}: it kept moving")


MAX_KEPT: Final = 1000
"""Measurements kept per gate in a note; past it the oldest Successful ones go (a failure always stays)."""
MAX_MESSAGE: Final = 1024
"""Characters of a measurement's message kept in a note."""
MAX_VALUE: Final = 4096
"""Characters of a measurement's value (as JSON) kept in a note; a longer value is kept as its first characters."""


def merge_records(
    theirs: Mapping[str, Sequence[Measurement]], ours: Mapping[str, Sequence[Measurement]]
) -> dict[str, tuple[Measurement, ...]]:
    """Every measurement of both, per gate, in time order, each once.

    Two controllers judging the same commit each add their own measurements;
    a Pending one only says "not yet", so only the newest of a gate is kept
    (as a single controller does).

    >>> from rollgen.gates.analysis import Phase
    >>> a, b = Measurement(Phase.FAILED, 0, "5xx", 10.0), Measurement(Phase.SUCCESSFUL, 1, "ok", 11.0)
    >>> [m.message for m in merge_records({"1:analysis/g": (a,)}, {"1:analysis/g": (b, a)})["1:analysis/g"]]
    ['5xx', 'ok']
    """
    merged: dict[str, tuple[Measurement, ...]] = {}
    for key in sorted({*theirs, *ours}):
        seen: dict[str, Measurement] = {}
        for measurement in (*theirs.get(key, ()), *ours.get(key, ())):
            seen.setdefault(json.dumps(_bounded(measurement).to_dict(), sort_keys=True), measurement)
        kept = sorted(seen.values(), key=lambda m: m.at)
        merged[key] = tuple(m for i, m in enumerate(kept) if m.phase is not Phase.PENDING or i == len(kept) - 1)
    return merged


def _newest(kept: Sequence[Measurement]) -> tuple[Measurement, ...]:
    """At most :data:`MAX_KEPT`, dropping the oldest Successful measurements first."""
    extra = len(kept) - MAX_KEPT
    if extra <= 0:
        return tuple(kept)
    dropped = set([i for i, m in enumerate(kept) if m.phase is Phase.SUCCESSFUL][:extra])
    return tuple(m for i, m in enumerate(kept) if i not in dropped)


def _bounded(measurement: Measurement) -> Measurement:
    """The measurement as a note keeps it: message and value cut to their bounds."""
    message = measurement.message
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 16] + " ... (shortened)"
    value = measurement.value
    encoded = json.dumps(Measurement(measurement.phase, value, "", 0).to_dict()["value"])
    if len(encoded) > MAX_VALUE:
        value = encoded[:MAX_VALUE] + " ... (shortened)"
    return dataclasses.replace(measurement, message=message, value=value)


def fetch_notes(repo: Repo, remote: str) -> None:
    """Take the remote's notes ref in place of ours."""
    # The remote's notes win: every writer pushes right after writing, so they hold everything.
    repo.git.run(
        "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, f"+{NOTES_REF}:{NOTES_REF}", ok=(0, 1, 128)
    )
