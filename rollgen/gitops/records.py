"""The rollgen commits under a tip, read once and kept: a read costs what the history grew by, not its length.

Finding a release's newest record walks the history back from the tip
(``git log --grep``) until it meets one; on a branch with 50,000 other commits
since, every read would walk them all again. A :class:`RecordIndex` remembers
what such walks found: every commit carrying a ``Rollgen-Release`` line in the
part of the history already read (its *region*: everything under the tip
that is not under its *frontier*), newest first, each with the files it
changed. It grows downwards only as far as a question needs (a release's
newest record, a rollout's first commit), and it is kept in the git directory
(``rollgen/records.json``) for the newest tip it was read at: for a tip that
descends from it, only the commits in between are read.

It is a cache of Git and nothing else: checked against Git by ancestry on
every use, read again from Git when it is missing, unreadable, or not an
ancestor of the tip (a force-push).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rollgen.gitops.errors import TrailerError
from rollgen.gitops.git import Git
from rollgen.gitops.trailers import RELEASE, HistoryEntry, StepRecord, parse_trailers, release_pattern

# One commit per record: a start mark, four NUL-terminated fields, then the changed files (-z: NUL-terminated).
_FORMAT = "--format=%x01%H%x00%ct%x00%s%x00%(trailers:only,unfold)%x00%P%x00"
_ANY = f"--grep=^{RELEASE}: "
_VERSION = 2
_FILE = "records.json"


@dataclass(frozen=True, kw_only=True)
class Found:
    """One commit carrying a ``Rollgen-Release`` line, as ``git log`` printed it, and the files it changed."""

    sha: str
    time: int
    subject: str
    trailers: str
    parents: tuple[str, ...]
    paths: tuple[str, ...]

    @property
    def release(self) -> str:
        """The trailer block's ``Rollgen-Release`` (empty for a commit that only quotes one in its body)."""
        return dict(parse_trailers(self.trailers)).get(RELEASE, "")

    def entry(self) -> HistoryEntry | None:
        """The commit's record; None when its trailers are no whole record (a revert quoting one)."""
        try:
            record = StepRecord.from_trailers(parse_trailers(self.trailers))
        except TrailerError:
            return None
        return HistoryEntry(sha=self.sha, time=self.time, subject=self.subject, record=record)


class RecordIndex:
    """The rollgen commits under ``tip`` and above ``frontier`` (empty: the whole history), newest first."""

    def __init__(self, git: Git, tip: str, found: Sequence[Found], frontier: Sequence[str]) -> None:
        self._git = git
        self.tip = tip
        self.found = list(found)
        self.frontier = tuple(frontier)
        self._groups: dict[str, list[HistoryEntry]] | None = None

    def of(self, release: str) -> tuple[HistoryEntry, ...]:
        """``release``'s records read so far, newest first; read down to its newest one first when none is."""
        while not self._of(release) and self.frontier:
            self.older(release)
        return tuple(self._of(release))

    def records(self) -> Iterator[HistoryEntry]:
        """Every record in the whole history, newest first (reads it all once)."""
        self.complete()
        return (entry for f in self.found if (entry := f.entry()) is not None)

    def since(self, release: str, sha: str) -> tuple[HistoryEntry, ...] | None:
        """``release``'s records read so far, from its commit ``sha`` back (None when ``sha`` is none of them).

        A release's commits form one chain (each made on a tip holding the one
        before), so these are the records reachable from ``sha``; :meth:`older`
        reads further down when they do not reach far enough.
        """
        records = self.of(release)
        at = next((i for i, entry in enumerate(records) if entry.sha == sha), None)
        return None if at is None else records[at:]

    def older(self, release: str) -> bool:
        """Read down to ``release``'s next older record below the region; False when the whole history is read."""
        if not self.frontier:
            return False
        with _stream(self._git, [*self.frontier], release_pattern(release)) as found:
            hit = next((f for f in found if (e := f.entry()) is not None and e.record.release == release), None)
        if hit is None:
            self.complete()
        else:
            self._grow([*self.frontier, *(f"^{p}" for p in hit.parents)], hit.parents)
        return True

    def touching(self, paths: Iterable[str], most: int) -> list[tuple[str, str]]:
        """``(commit, release)`` of the newest ``most`` rollgen commits that changed a file at or under ``paths``."""
        wanted = tuple(paths)
        hits = self._touching(wanted)
        if len(hits) < most and self.frontier:
            self.complete()
            hits = self._touching(wanted)
        return hits[:most]

    def _touching(self, wanted: tuple[str, ...]) -> list[tuple[str, str]]:
        return [
            (f.sha, f.release)
            for f in self.found
            if any(p == w or p.startswith(f"{w}/") for p in f.paths for w in wanted)
        ]

    def _of(self, release: str) -> list[HistoryEntry]:
        if self._groups is None:
            self._groups = {}
            for found in self.found:
                entry = found.entry()
                if entry is not None:
                    self._groups.setdefault(entry.record.release, []).append(entry)
        return self._groups.get(release, [])

    def complete(self) -> None:
        """Read the rest of the history (one walk): for questions about many releases at once."""
        if self.frontier:
            self._grow(list(self.frontier), ())

    def _grow(self, revisions: Sequence[str], frontier: Sequence[str]) -> None:
        self.found += _walk(self._git, revisions)
        self.frontier = tuple(frontier)
        self._groups = None
        _save(self._git, self)


# The index of the tip last asked for, by git directory: a pass over many releases reads one.
_MEMO: dict[Path, RecordIndex] = {}


def index_at(git: Git, tip: str) -> RecordIndex:
    """The index at commit ``tip``: this process's, else the git directory's brought up to ``tip``, else a new one."""
    where = _directory(git)
    memo = _MEMO.get(where)
    if memo is not None and memo.tip == tip:
        return memo
    stored = _load(git, where) if memo is None else memo
    index = _moved(git, stored, tip) if stored is not None else None
    if index is None:
        index = RecordIndex(git, tip, [], [tip])
    _MEMO[where] = index
    return index


def _save(git: Git, index: RecordIndex) -> None:
    """Keep ``index`` in the git directory for the next process."""
    rows = [[f.sha, f.time, f.subject, f.trailers, list(f.parents), list(f.paths)] for f in index.found]
    text = json.dumps({"version": _VERSION, "tip": index.tip, "frontier": index.frontier, "found": rows})
    where = _directory(git)
    with contextlib.suppress(OSError):  # a read-only git directory only costs the next process a walk
        where.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=where, prefix=".records-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        Path(temporary).replace(where / _FILE)  # whole or not at all, whoever reads meanwhile


def _moved(git: Git, stored: RecordIndex, tip: str) -> RecordIndex | None:
    """``stored`` moved forward to ``tip`` over the commits in between; None when ``tip`` does not descend from it."""
    if stored.tip == tip:
        return stored
    if not _descends(git, stored.tip, tip):
        return None  # an older commit, another branch, or rewritten history: read from Git again
    index = RecordIndex(git, tip, [*_walk(git, [tip, f"^{stored.tip}"]), *stored.found], stored.frontier)
    _save(git, index)
    return index


def _descends(git: Git, ancestor: str, commit: str) -> bool:
    return git.run("merge-base", "--is-ancestor", ancestor, commit, ok=(0, 1, 128)).returncode == 0


def _walk(git: Git, revisions: Sequence[str]) -> list[Found]:
    """The commits ``git log REVISIONS`` lists that carry a ``Rollgen-Release`` line, with their changed files."""
    if not any(not r.startswith("^") for r in revisions):
        return []
    out = git.run("log", "--no-show-signature", "--no-color", "-z", "--name-only", _FORMAT, _ANY, *revisions, "--")
    return [_found(chunk) for chunk in out.stdout.split(b"\x01")[1:]]


@contextlib.contextmanager
def _stream(git: Git, revisions: Sequence[str], pattern: str) -> Iterator[Iterator[Found]]:
    """The commits matching ``pattern`` under ``revisions``, read as they come; leaving stops git."""
    args = ("log", "--no-show-signature", "--no-color", _FORMAT, f"--grep={pattern}", *revisions, "--")
    process = git.popen(*args, env={"GIT_FLUSH": "1"})
    assert process.stdin is not None and process.stdout is not None
    process.stdin.close()

    def found() -> Iterator[Found]:
        assert process.stdout is not None
        pending = b""
        while chunk := os.read(process.stdout.fileno(), 65536):
            *done, pending = (pending + chunk).split(b"\x01")
            for part in done:
                if part.strip():
                    yield _found(part)
        if pending.strip():
            yield _found(pending)

    try:
        yield found()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _found(chunk: bytes) -> Found:
    sha, time, subject, trailers, parents, *rest = chunk.decode("utf-8", "surrogateescape").split("\0")
    names = tuple(name.strip("\n") for name in rest if name.strip("\n"))
    return Found(
        sha=sha.strip("\n"),
        time=int(time),
        subject=subject,
        trailers=trailers,
        parents=tuple(parents.split()),
        paths=names,
    )


# Where each working directory's index lives (its git directory's), asked once per process.
_DIRECTORIES: dict[Path, Path] = {}


def _directory(git: Git) -> Path:
    if git.cwd not in _DIRECTORIES:
        common = git.text("rev-parse", "--path-format=absolute", "--git-common-dir")
        _DIRECTORIES[git.cwd] = Path(common) / "rollgen"
    return _DIRECTORIES[git.cwd]


def _load(git: Git, where: Path) -> RecordIndex | None:
    try:
        data = json.loads((where / _FILE).read_text(encoding="utf-8"))
        if data.get("version") != _VERSION:
            return None
        found = [
            Found(
                sha=sha, time=int(time), subject=subject, trailers=trailers, parents=tuple(parents), paths=tuple(paths)
            )
            for sha, time, subject, trailers, parents, paths in data["found"]
        ]
        return RecordIndex(git, str(data["tip"]), found, [str(f) for f in data["frontier"]])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or unreadable: read from Git again
