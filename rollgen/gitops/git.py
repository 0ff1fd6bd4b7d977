"""A thin typed wrapper over the plain ``git`` command line.

Every call is an argv list (never a shell) run with ``LC_ALL=C`` (stable
messages to match on) and ``GIT_TERMINAL_PROMPT=0`` (a missing credential
fails instead of hanging on a prompt). A failure raises
:class:`~rollgen.gitops.errors.GitError` carrying the command and stderr with
credentials in URLs redacted.

Two long-lived helpers keep the number of spawned processes per step low
(each spawn costs a few milliseconds): :class:`ObjectReader` answers any
number of object reads from one ``git cat-file --batch-command`` and
:class:`TreeWriter` writes any number of trees through one
``git mktree --batch``.

>>> hide_url_credentials("fatal: unable to access 'https://x-access-token:s3cr3t@github.com/o/r/'")
"fatal: unable to access 'https://***@github.com/o/r/'"
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from rollgen.gitops.errors import GitError

#: Set for every git process: stable English messages, never an interactive prompt.
GIT_ENV: Mapping[str, str] = {"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}

# "scheme://user:password@host" (or "scheme://token@host"): keep the scheme and host only.
_URL_CREDENTIALS = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s'\"]+@")

#: Tree entry modes that name a subtree, and a submodule commit (everything else is a blob).
TREE_MODE = "40000"
GITLINK_MODE = "160000"


def hide_url_credentials(text: str) -> str:
    """Remove the credential part of every URL in ``text``."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


@dataclass(frozen=True)
class GitResult:
    """What a finished git command returned."""

    returncode: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        """Stdout decoded, without the trailing newline."""
        return self.stdout.decode("utf-8", "surrogateescape").rstrip("\n")


@dataclass(frozen=True)
class Git:
    """Runs git commands in one directory.

    >>> Git(Path(".")).argv("log", "-1")
    ('git', 'log', '-1')
    """

    cwd: Path

    @staticmethod
    def argv(*args: str) -> tuple[str, ...]:
        return ("git", *args)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {**os.environ, **GIT_ENV}
        if extra:
            env.update(extra)
        return env

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (0,),
    ) -> GitResult:
        """Run ``git ARGS``; raise :class:`GitError` unless the exit status is in ``ok``."""
        argv = self.argv(*args)
        try:
            done = subprocess.run(
                argv,
                cwd=self.cwd,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                capture_output=True,
                env=self.env(env),
                check=False,
            )
        except OSError as exc:  # git missing, or cwd gone
            raise GitError(self._shown(argv), -1, str(exc)) from None
        result = GitResult(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))
        if result.returncode not in ok:
            raise self.error(argv, result)
        return result

    def text(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """Run ``git ARGS`` and return its stdout as text."""
        return self.run(*args, env=env).text

    def popen(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a long-lived ``git ARGS`` with pipes on stdin and stdout."""
        argv = self.argv(*args)
        try:
            return subprocess.Popen(
                argv,
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.env(env),
            )
        except OSError as exc:
            raise GitError(self._shown(argv), -1, str(exc)) from None

    def error(self, argv: tuple[str, ...], result: GitResult) -> GitError:
        return GitError(self._shown(argv), result.returncode, hide_url_credentials(result.stderr))

    @staticmethod
    def _shown(argv: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(hide_url_credentials(a) for a in argv)


@dataclass(frozen=True)
class ObjectInfo:
    """An object's full id, type (``blob``, ``tree``, ``commit``, ``tag``) and size."""

    sha: str
    type: str
    size: int


@dataclass(frozen=True)
class TreeEntry:
    """One line of a tree: ``mode`` as git writes it (``100644``, ``40000``...), name, object id."""

    mode: str
    name: str
    sha: str

    @property
    def type(self) -> str:
        if self.mode == TREE_MODE:
            return "tree"
        return "commit" if self.mode == GITLINK_MODE else "blob"


class _Pipe:
    """A long-lived git process spoken to line by line; closed on exit."""

    def __init__(self, git: Git, *args: str) -> None:
        self._argv = git.argv(*args)
        self._git = git
        self._proc = git.popen(*args)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._stdin: IO[bytes] = self._proc.stdin
        self._stdout: IO[bytes] = self._proc.stdout

    def _ask(self, request: bytes) -> bytes:
        """Send ``request`` and return the first line of the answer."""
        try:
            self._stdin.write(request)
            self._stdin.flush()
        except BrokenPipeError:
            pass  # the process died: the empty read below reports it with stderr
        line = self._stdout.readline()
        if not line:
            raise self._died()
        return line

    def _died(self) -> GitError:
        self._close_stdin()
        self._proc.wait()
        stderr = self._proc.stderr.read() if self._proc.stderr else b""
        result = GitResult(self._proc.returncode, b"", stderr.decode("utf-8", "replace"))
        return self._git.error(self._argv, result)

    def _close_stdin(self) -> None:
        with contextlib.suppress(BrokenPipeError):  # the process is gone already; closing still releases our end
            self._stdin.close()

    def close(self) -> None:
        self._close_stdin()  # end of input: the process answers what is left and exits
        self._proc.wait()
        for stream in (self._stdout, self._proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class ObjectReader(_Pipe):
    """Reads objects through one ``git cat-file --batch-command`` process.

    ``rev`` is anything git resolves without a newline: a sha, a ref, or
    ``<commit>:<path>``.
    """

    def __init__(self, git: Git) -> None:
        super().__init__(git, "cat-file", "--batch-command")

    def info(self, rev: str) -> ObjectInfo | None:
        """The object ``rev`` names, or None when it does not exist."""
        return self._header(self._ask(f"info {_line(rev)}\n".encode()))

    def contents(self, rev: str) -> tuple[ObjectInfo, bytes] | None:
        """The object ``rev`` names with its raw contents, or None when it does not exist."""
        info = self._header(self._ask(f"contents {_line(rev)}\n".encode()))
        if info is None:
            return None
        data = self._stdout.read(info.size + 1)  # the contents, then a newline
        if len(data) != info.size + 1:
            raise self._died()
        return info, data[:-1]

    def tree(self, rev: str) -> tuple[TreeEntry, ...] | None:
        """The entries of the tree ``rev`` names; None when missing or not a tree."""
        found = self.contents(rev)
        if found is None or found[0].type != "tree":
            return None
        return parse_tree(found[1], hash_bytes=len(found[0].sha) // 2)

    @staticmethod
    def _header(line: bytes) -> ObjectInfo | None:
        fields = line.decode("utf-8", "surrogateescape").rstrip("\n").rsplit(" ", 2)
        if len(fields) != 3 or not fields[2].isdigit():
            return None  # "<rev> missing" / "<rev> ambiguous" (rev itself may hold spaces)
        sha, kind, size = fields
        return ObjectInfo(sha, kind, int(size))


class TreeWriter(_Pipe):
    """Writes tree objects through one ``git mktree --batch -z`` process.

    mktree sorts entries itself; a tree with no entries is the empty tree.
    """

    def __init__(self, git: Git) -> None:
        super().__init__(git, "mktree", "--batch", "-z")

    def write(self, entries: tuple[TreeEntry, ...]) -> str:
        request = b"".join(f"{e.mode} {e.type} {e.sha}\t{e.name}\0".encode("utf-8", "surrogateescape") for e in entries)
        # A tree ends with an empty record; with no entries at all that record alone is the tree.
        return self._ask(request + b"\0").decode().strip()


def parse_tree(data: bytes, *, hash_bytes: int) -> tuple[TreeEntry, ...]:
    """Parse a raw tree object: ``<mode> <name>\\0<binary id>`` repeated.

    >>> parse_tree(b"100644 a.txt\\0" + bytes(20), hash_bytes=20)
    (TreeEntry(mode='100644', name='a.txt', sha='0000000000000000000000000000000000000000'),)
    """
    entries = []
    at = 0
    while at < len(data):
        space = data.index(b" ", at)
        nul = data.index(b"\0", space)
        end = nul + 1 + hash_bytes
        mode = data[at:space].decode()
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        entries.append(TreeEntry(mode, name, data[nul + 1 : end].hex()))
        at = end
    return tuple(entries)


def _line(rev: str) -> str:
    if "\n" in rev or "\0" in rev:
        raise ValueError(f"a revision cannot contain a newline: {rev!r}")
    return rev
