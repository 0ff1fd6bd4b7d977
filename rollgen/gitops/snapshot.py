"""Reading a branch tip and the rollout history, without a working tree.

A :class:`Snapshot` is what a ``decide`` function sees: one commit, read
through one shared ``git cat-file`` process, so reading a dozen files costs
no extra process. :func:`history` and :meth:`Snapshot.last_record` find
rollgen commits by their ``Rollgen-Release`` trailer line with
``git log --grep``, which walks back from the tip and stops at the first
match: the cost depends on how far back the release's last commit is, not
on how long the history is.
"""

from __future__ import annotations

from dataclasses import dataclass

from rollgen.gitops.errors import TrailerError
from rollgen.gitops.git import Git, ObjectReader
from rollgen.gitops.paths import check_path, join
from rollgen.gitops.trailers import RELEASE, StepRecord, parse_trailers, release_pattern

# One commit per log record: four NUL-terminated fields (git puts a newline between records).
_LOG_FORMAT = "--format=%H%x00%ct%x00%s%x00%(trailers:only,unfold)%x00"
_ANY_RELEASE = f"^{RELEASE}: "


@dataclass(frozen=True)
class HistoryEntry:
    """One rollgen commit: its id, committer time (Unix seconds), subject and record."""

    sha: str
    time: int
    subject: str
    record: StepRecord


class Snapshot:
    """Read-only view of one commit (``tip``; None for a branch with no commit yet).

    Paths are repo-relative with ``/`` separators (``overlays/podinfo/prod``).
    """

    def __init__(self, git: Git, reader: ObjectReader, tip: str | None) -> None:
        self._git = git
        self._reader = reader
        self.tip = tip

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
        if self.tip is None:
            return None
        found = _log(self._git, self.tip, release_pattern(release), limit=1, release=release)
        return found[0] if found else None

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


def read_file_at(git: Git, rev: str, path: str) -> bytes | None:
    """The bytes of ``path`` at commit ``rev``; None when absent (or ``rev`` does not exist)."""
    with ObjectReader(git) as reader:
        return Snapshot(git, reader, rev).read(path)


def _log(git: Git, ref: str, pattern: str, *, limit: int, release: str | None) -> tuple[HistoryEntry, ...]:
    """Matching commits with a valid record; asks for more when some matches were not records."""
    entries: list[HistoryEntry] = []
    skip = 0
    while len(entries) < limit:
        want = limit - len(entries)
        out = git.run(
            "log",
            "--no-show-signature",
            "--no-color",
            _LOG_FORMAT,
            f"--grep={pattern}",
            f"--max-count={want}",
            f"--skip={skip}",
            ref,
            "--",
        ).stdout.decode("utf-8", "surrogateescape")
        fields = out.split("\0")[:-1]
        records = [fields[i : i + 4] for i in range(0, len(fields), 4)]
        for sha, time, subject, trailers in records:
            try:
                record = StepRecord.from_trailers(parse_trailers(trailers))
            except TrailerError:
                continue
            if release is None or record.release == release:
                entries.append(HistoryEntry(sha.lstrip("\n"), int(time), subject, record))
        if len(records) < want:
            break
        skip += want
    return tuple(entries)
