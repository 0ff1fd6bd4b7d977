"""Plain git, run as a user would, for setting up and inspecting repositories in tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from testkit.tools import require_tool


def git_bytes(cwd: Path, *args: str, input: bytes | None = None) -> bytes:
    """Run plain git (as a user would) and return its stdout unchanged (blobs may be binary)."""
    done = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.decode()}")
    return done.stdout


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    """Run plain git (as a user would) and return its stdout as text, without the trailing newline."""
    return git_bytes(cwd, *args, input=input).decode().rstrip()


def init_repo(path: Path, *, bare: bool = False) -> Path:
    """A repository on ``main`` with one commit holding ``README``."""
    require_tool("git")
    git(path.parent, "init", "-q", "-b", "main", *(["--bare"] if bare else []), path.name)
    blob = git(path, "hash-object", "-w", "--stdin", input=b"hello\n")
    tree = git(path, "mktree", input=f"100644 blob {blob}\tREADME\n".encode())
    commit = git(path, "commit-tree", tree, "-m", "initial")
    git(path, "update-ref", "refs/heads/main", commit)
    if not bare:
        git(path, "reset", "-q", "--hard")
    return path


def clone(url: str, path: Path) -> Path:
    git(path.parent, "clone", "-q", url, path.name)
    return path


def snapshot(source: Path, copy: Path, *, tag: str | None = None) -> Path:
    """A repository at ``copy`` whose one commit holds checkout ``source``'s files as they are now, tagged ``tag``.

    Uncommitted changes are in it, ignored files are not: what ``pip install
    git+file://...@TAG`` or ``pre-commit try-repo`` installs is the code under test.
    """
    for name in git(source, "ls-files", "-co", "--exclude-standard").splitlines():
        path = source / name
        if path.is_file():
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    git(copy, "init", "-q", "-b", "main")
    git(copy, "add", "-A")
    git(copy, "-c", "user.name=rollgen-test", "-c", "user.email=test@rollgen.invalid", "commit", "-q", "-m", "snapshot")
    if tag is not None:
        git(copy, "tag", tag)
    return copy
