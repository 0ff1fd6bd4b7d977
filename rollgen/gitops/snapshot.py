"""Reading a branch tip and the rollout history, without a working tree.

A :class:`Snapshot` is what a ``decide`` function sees: one commit, read
through one shared ``git cat-file`` process, so reading a dozen files costs
no extra process. :meth:`Snapshot.last_record` and :func:`newest_records`
answer from the tip's record index (:mod:`rollgen.gitops.records`: every
rollgen commit under the tip, kept between processes, so a read costs what
the branch grew by since the last one, not its length). :func:`history` and
:func:`walk_records` find rollgen commits by their ``Rollgen-Release``
trailer line with ``git log --grep``, read as a stream from one process that
is stopped as soon as enough records are read, skipping commits that merely
quote a trailer line (a revert, a cherry-pick message).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager

from rollgen.gitops.errors import TrailerError
from rollgen.gitops.git import Git, GitResult, ObjectReader
from rollgen.gitops.paths import check_path, join
from rollgen.gitops.records import RecordIndex, index_at
from rollgen.gitops.trailers import RELEASE, HistoryEntry, StepRecord, parse_trailers, release_pattern

# One commit per log record: four NUL-terminated fields (git puts a newline between records).
_LOG_FORMAT = "--format=%H%x00%ct%x00%s%x00%(trailers:only,unfold)%x00"
_ANY_RELEASE = f"^{RELEASE}: "


class Snapshot:
    """Read-only view of one commit (``tip``; None for a branch with no commit yet).

    Paths are repo-relative with ``/`` separators (``overlays/podinfo/prod``).
    ``records`` is what :func:`newest_records` found at ``tip`` (a release it
    maps to None has no record); other releases are looked up in the history.
    """

    def __init__(
        self,
        git: Git,
        reader: ObjectReader,
        tip: str | None,
        records: Mapping[str, HistoryEntry | None] | None = None,
    ) -> None:
        self._git = git
        self._reader = reader
        self.tip = tip
        self._records = records or {}

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when there is no file at ``path``."""
        if self.tip is None:
            return None
        found = self._reader.contents(f"{self.tip}:{check_path(path)}")
        if found is None or found[0].type != "blob":
            return None
        return found[1]

    def list(self, directory: str = "") -> tuple[str, ...]:
        """Every file under ``directory`` (recursively), relative to it, sorted.

        An absent directory lists as empty, like a directory git cannot hold.
        """
        return tuple(sorted(self._walk(directory)))

    def direct_files(self, directory: str) -> tuple[str, ...]:
        """The names of the files directly in ``directory`` (not in its subdirectories), sorted.

        One tree read, however large the directories below it are.
        """
        if self.tip is None:
            return ()
        prefix = check_path(directory) if directory else ""
        entries = self._reader.tree(f"{self.tip}:{prefix}" if prefix else f"{self.tip}^{{tree}}") or ()
        return tuple(sorted(entry.name for entry in entries if entry.type == "blob"))

    def files(self, directory: str) -> dict[str, bytes]:
        """Every file under ``directory`` with its bytes, keyed like :meth:`list`.

        Exactly what a :class:`~rollgen.gitops.repo.Change` with this ``root``
        needs to restore the directory byte for byte (an abort).
        """
        result = {}
        for rel, sha in self._walk(directory).items():
            found = self._reader.contents(sha)
            assert found is not None, "a tree never names a missing blob in a sound repository"
            result[rel] = found[1]
        return result

    def at(self, rev: str) -> Snapshot:
        """A view of another commit (e.g. the parent of a rollout's start), sharing the reader.

        Raises :class:`LookupError` when ``rev`` names no commit.
        """
        info = self._reader.info(f"{rev}^{{commit}}")
        if info is None:
            raise LookupError(f"no commit {rev!r}")
        return Snapshot(self._git, self._reader, info.sha)

    def last_record(self, release: str) -> HistoryEntry | None:
        """The newest commit reachable from the tip that carries ``release``'s record."""
        if release in self._records:
            return self._records[release]
        if self.tip is None:
            return None
        found = self.index().of(release)
        return found[0] if found else None

    def index(self) -> RecordIndex:
        """Every rollgen commit under the tip (:mod:`rollgen.gitops.records`: read once, kept between processes)."""
        assert self.tip is not None, "a branch with no commit has no history"
        return index_at(self._git, self.tip)

    def last_step_record(self, release: str, before: str) -> HistoryEntry | None:
        """The newest commit reachable from ``before`` that carries ``release``'s record and is no pause or resume.

        A pause or resume commit holds the step before it; that step's commit is
        the one its gates and measurements belong to.
        """
        if self.tip is not None:
            index = self.index()
            while (since := index.since(release, before)) is not None:
                step = next((entry for entry in since if not entry.record.action.marks), None)
                if step is not None or not index.older(release):
                    return step
        limit = 8
        while True:
            found = history(self._git, before, release, limit=limit)
            step = next((entry for entry in found if not entry.record.action.marks), None)
            if step is not None or len(found) < limit:
                return step
            limit *= 4

    def _walk(self, directory: str) -> dict[str, str]:
        """``{path relative to directory: blob id}`` for every blob under ``directory``."""
        if self.tip is None:
            return {}
        prefix = check_path(directory) if directory else ""
        start = self._reader.tree(f"{self.tip}:{prefix}" if prefix else f"{self.tip}^{{tree}}")
        found: dict[str, str] = {}
        pending = [("", start or ())]
        while pending:
            base, entries = pending.pop()
            for entry in entries:
                rel = join(base, entry.name)
                if entry.type == "tree":
                    pending.append((rel, self._reader.tree(entry.sha) or ()))
                elif entry.type == "blob":
                    found[rel] = entry.sha
        return found


def history(git: Git, ref: str, release: str | None = None, limit: int = 50) -> tuple[HistoryEntry, ...]:
    """Rollgen commits reachable from ``ref``, newest first, at most ``limit``.

    With ``release``, only that release's commits. Commits whose trailers do
    not form a valid record (a message that merely quotes a trailer) are
    left out.
    """
    pattern = release_pattern(release) if release else _ANY_RELEASE
    return _log(git, ref, pattern, limit=limit, release=release)


@contextmanager
def walk_records(git: Git, ref: str, release: str) -> Iterator[Iterator[HistoryEntry]]:
    """``release``'s commits reachable from ``ref``, newest first, read as the caller goes.

    Leaving the ``with`` block stops the walk: a caller that stops at the
    commit it looks for reads nothing older.
    """
    with _Records(git, ref, release_pattern(release)) as records:
        yield (entry for entry in records if entry.record.release == release)


def read_file_at(git: Git, rev: str, path: str) -> bytes | None:
    """The bytes of ``path`` at commit ``rev``; None when absent (or ``rev`` does not exist)."""
    with ObjectReader(git) as reader:
        return Snapshot(git, reader, rev).read(path)


def newest_records(git: Git, ref: str | None, releases: Collection[str]) -> dict[str, HistoryEntry | None]:
    """The newest record of each of ``releases`` reachable from commit ``ref`` (None: none), from its index.

    One index for a pass over a whole repository (:mod:`rollgen.gitops.records`),
    instead of one walk per release.
    """
    if ref is None:
        return dict.fromkeys(releases)
    index = index_at(git, ref)
    index.complete()  # one walk for all of them, not one per release
    return {release: next(iter(index.of(release)), None) for release in releases}


def histories(git: Git, ref: str | None, releases: Collection[str], limit: int) -> dict[str, tuple[HistoryEntry, ...]]:
    """Each of ``releases``' newest ``limit`` records reachable from ``ref``, newest first, in one walk.

    A pass over many releases of one branch (a pipeline's environments) reads
    the history once, not once per release; the walk stops once every release
    has ``limit`` records.
    """
    found: dict[str, list[HistoryEntry]] = {release: [] for release in releases}
    full = 0
    if ref is not None and found:
        with _Records(git, ref, _ANY_RELEASE) as records:
            for entry in records:
                kept = found.get(entry.record.release)
                if kept is None or len(kept) >= limit:
                    continue
                kept.append(entry)
                full += len(kept) == limit
                if full == len(found):
                    break
    return {release: tuple(kept) for release, kept in found.items()}


def _log(git: Git, ref: str, pattern: str, *, limit: int, release: str | None) -> tuple[HistoryEntry, ...]:
    """The newest ``limit`` matching commits with a valid record (of ``release`` when given)."""
    with _Records(git, ref, pattern) as records:
        wanted = (e for e in records if release is None or e.record.release == release)
        return tuple(itertools.islice(wanted, limit))


class _Records:
    """The commits ``git log --grep`` matches, newest first, read as they come from one process.

    Commits whose trailers do not form a valid record are skipped without a
    new walk; leaving the ``with`` block stops git wherever it is.
    """

    def __init__(self, git: Git, ref: str, pattern: str) -> None:
        self._git = git
        self._args = ("log", "--no-show-signature", "--no-color", _LOG_FORMAT, f"--grep={pattern}", ref, "--")
        # GIT_FLUSH: each commit's line reaches the pipe as it is found, so stopping early saves the walk.
        self._proc = git.popen(*self._args, env={"GIT_FLUSH": "1"})
        assert self._proc.stdin is not None
        self._proc.stdin.close()

    def __enter__(self) -> Iterator[HistoryEntry]:
        return self._entries()

    def _entries(self) -> Iterator[HistoryEntry]:
        out = self._proc.stdout
        assert out is not None
        pending = b""
        fields: list[bytes] = []
        while chunk := os.read(out.fileno(), 65536):
            *done, pending = (pending + chunk).split(b"\0")
            fields += done
            while len(fields) >= 4:
                sha, time, subject, trailers = (f.decode("utf-8", "surrogateescape") for f in fields[:4])
                del fields[:4]
                try:
                    record = StepRecord.from_trailers(parse_trailers(trailers))
                except TrailerError:
                    continue
                yield HistoryEntry(sha=sha.lstrip("\n"), time=int(time), subject=subject, record=record)
        if self._proc.wait() != 0:
            stderr = self._proc.stderr.read() if self._proc.stderr is not None else b""
            result = GitResult(self._proc.returncode, b"", stderr.decode("utf-8", "replace"))
            raise self._git.error(self._git.argv(*self._args), result)

    def __exit__(self, *exc: object) -> None:
        if self._proc.poll() is None:
            self._proc.kill()  # stopped early: the rest of the walk is not wanted
        self._proc.wait()
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()
