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
    # Both work where the system Python refuses a global pip (PEP 668): each makes its own venv.
    assert "python3 -m venv .venv && .venv/bin/pip install" in setup
    assert setup.endswith(" && .venv/bin/rollgen demo")
    venv, install, pytest_command = tests.split(" && ")
    assert (venv, install) == ("python3 -m venv .venv", ".venv/bin/pip install -q -e '.[test]'")
    assert pytest_command.startswith(".venv/bin/python -m pytest")
    commands = ci_commands()
    assert commands[-1] == tests


def test_ci_checks_lint_format_and_types_before_the_tests() -> None:
    commands = ci_commands()
    checks = [".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy rollgen"]
    positions = [commands.index(check) for check in checks]
    assert positions == sorted(positions)
    assert positions[0] > commands.index('.venv/bin/pip install -q -e ".[$extras]"')
    assert positions[-1] < len(commands) - 1
    # Nothing may turn a failure into success: the script stops at the first failing command.
    assert "set -euo pipefail" in commands
    assert not any("|| true" in line for line in commands if "pytest" in line or "ruff" in line or "mypy" in line)
