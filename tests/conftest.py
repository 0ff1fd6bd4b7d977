from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools import shared_data


@pytest.fixture
def shared() -> Path:
    return shared_data()


@pytest.fixture(autouse=True)
def _isolated_git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Git in tests never reads the developer's global config or signs with their keys."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "rollgen-test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@rollgen.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "rollgen-test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@rollgen.invalid")
