from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    # Registered only when pytest starts from tests/render (a sub-directory conftest); the
    # environment variable works from anywhere: ROLLGEN_UPDATE_GOLDEN=1 python -m pytest.
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/ from the current renderers")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    flag = bool(request.config.getoption("--update-golden", default=False))
    return flag or os.environ.get("ROLLGEN_UPDATE_GOLDEN", "") == "1"
