"""``.ci/run`` runs what the README promises: lint, format check, type check, then the README's test command."""

from __future__ import annotations

import re

from testkit.tools import REPO_ROOT


def readme_commands() -> list[str]:
    """The shell commands of the README's ``sh`` blocks, one per line."""
    blocks = re.findall(r"```sh\n(.*?)```", (REPO_ROOT / "README.md").read_text(), re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def ci_commands() -> list[str]:
    return [line for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines() if line and line[0] not in "# "]


def test_the_readme_has_two_setup_commands_and_ci_runs_its_test_command_last() -> None:
    setup, tests = readme_commands()
    assert setup.startswith("pip install -e . && ")
    install, pytest_command = tests.split(" && ")
    assert install == "pip install -e '.[test]'"
    commands = ci_commands()
    assert commands[-1] == pytest_command


def test_ci_checks_lint_format_and_types_before_the_tests() -> None:
    commands = ci_commands()
    checks = ["ruff check .", "ruff format --check .", "mypy rollgen"]
    positions = [commands.index(check) for check in checks]
    assert positions == sorted(positions)
    assert positions[0] > commands.index("pip install -q -e '.[test]'")
    assert positions[-1] < len(commands) - 1
    # Nothing may turn a failure into success: the script stops at the first failing command.
    assert "set -euo pipefail" in commands
    assert not any("|| true" in line for line in commands if "pytest" in line or "ruff" in line or "mypy" in line)
