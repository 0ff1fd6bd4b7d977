"""Fixtures for the git layer: real repositories in tmp_path, a real ``git daemon`` remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.git import git, init_repo
from testkit.gitservers import GitDaemon


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "work")


@pytest.fixture
def bare_dir(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "bare.git", bare=True)


@pytest.fixture
def remote_url(daemon: GitDaemon, tmp_path: Path) -> str:
    """A served bare repository holding the ``main`` of a fresh :func:`init_repo`."""
    name = tmp_path.name
    url = daemon.create(name)
    seed = init_repo(tmp_path / "seed")
    git(seed, "push", "-q", url, "main")
    return url
