"""Fixtures for the git layer: real repositories in tmp_path, a real ``git daemon`` remote."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitops.servers import GitDaemon, git_daemon
from tests.tools import require_tool


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    """Run plain git (as a user would) and return its stdout."""
    done = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.decode()}")
    return done.stdout.decode().rstrip()


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


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "work")


@pytest.fixture
def bare_dir(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "bare.git", bare=True)


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitDaemon]:
    require_tool("git")
    with git_daemon(tmp_path_factory.mktemp("served")) as served:
        yield served


def clone(url: str, path: Path) -> Path:
    git(path.parent, "clone", "-q", url, path.name)
    return path


@pytest.fixture
def remote_url(daemon: GitDaemon, tmp_path: Path) -> str:
    """A served bare repository holding the ``main`` of a fresh :func:`init_repo`."""
    name = tmp_path.name
    url = daemon.create(name)
    seed = init_repo(tmp_path / "seed")
    git(seed, "push", "-q", url, "main")
    return url
