"""The spec corpus: every file under invalid/ states the problems it must produce.

Each invalid file starts with ``# expect: LINE:COL message`` lines; validation
must report exactly those positions, each with its message. Files under valid/
(and every example) must validate cleanly.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rollgen.spec.load import load_file
from testkit.tools import REPO_ROOT

HERE = Path(__file__).parent
INVALID = sorted((HERE / "invalid").glob("*.yaml"))
VALID = sorted((HERE / "valid").glob("*.yaml")) + sorted((REPO_ROOT / "examples").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+):(\d+) (.+)$", re.MULTILINE)


def expectations(path: Path) -> list[tuple[int, int, str]]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [(int(line), int(col), message) for line, col, message in EXPECT.findall(text)]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_spec_reports_expected_problems(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' lines"
    result = load_file(path)
    assert result.release is None
    actual = [(p.line, p.col, p.message) for p in result.problems]
    assert [(line, col) for line, col, _ in actual] == [(line, col) for line, col, _ in expected]
    for (_, _, message), (_, _, fragment) in zip(actual, expected, strict=False):
        assert fragment in message


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_spec_has_no_problems(path: Path) -> None:
    result = load_file(path)
    assert result.problems == ()
    assert result.release is not None


def test_problems_are_sorted_by_position() -> None:
    for path in INVALID:
        problems = load_file(path).problems
        assert list(problems) == sorted(problems, key=lambda p: (p.line, p.col, p.message))
