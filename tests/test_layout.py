"""The package's layout keeps its promises (docs/architecture.md): small modules, argparse only in the CLI,
imports at the top, the rules pure, nothing below the CLI importing it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_imports import MODULES, imports_of

LIMIT = 500

# The modules that decide what a rollout does next: values in, values out.
PURE = (
    "rollgen.rollout.state",
    "rollgen.rollout.drift",
    "rollgen.rollout.transitions",
    "rollgen.rollout.changes",
    "rollgen.plan.model",
    "rollgen.plan.steps",
    "rollgen.plan.table",
    "rollgen.controller.decision",
    "rollgen.pipeline.promotion",
)
# What touches the world: git, processes, files beyond a read of the spec, the network, the clock.
IO_MODULES = frozenset(
    {
        "rollgen.gitops.git",
        "rollgen.gitops.repo",
        "rollgen.gitops.snapshot",
        "rollgen.gitops.remote",
        "rollgen.gitops.forge",
        "rollgen.gitops.notes",
        "rollgen.web",
        "rollgen.tools",
        "rollgen.render.renderer",
        "rollgen.render.userbase",
        "rollgen.rollout.reading",
        "rollgen.rollout.history",
        "rollgen.rollout.operations",
    }
)
# (The gate registry's table is facts; a kind's module, which does the measuring, is loaded on first use.)
# urllib.parse only quotes and splits strings: urllib.request is what reaches the network.
IO_STDLIB = frozenset({"subprocess", "socket", "urllib.request", "http", "time", "concurrent", "os"})


def _tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text())


def _in_cli(name: str) -> bool:
    return name == "rollgen.cli" or name.startswith("rollgen.cli.")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_the_limit(name: str) -> None:
    lines = MODULES[name].read_text().count("\n")
    assert lines <= LIMIT, f"{name} has {lines} lines; split it by what its parts do"


def test_argparse_lives_in_the_cli_alone() -> None:
    using = [
        name
        for name in MODULES
        if not _in_cli(name)
        and any(
            (isinstance(node, (ast.Import, ast.ImportFrom)) and any(alias.name == "argparse" for alias in node.names))
            or (isinstance(node, ast.ImportFrom) and node.module == "argparse")
            for node in ast.walk(_tree(name))
        )
    ]
    assert using == []


def _function_imports(name: str) -> list[str]:
    found = []
    for function in ast.walk(_tree(name)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in function.body:
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("rollgen"):
                    found.append(inner.module or "")
                elif isinstance(inner, ast.Import):
                    found += [alias.name for alias in inner.names if alias.name.startswith("rollgen")]
    return found


def test_imports_are_at_the_top_below_the_cli() -> None:
    # The CLI loads a command's module when the command runs; below it, a module imports at the top.
    lazy = {name: found for name in MODULES if not _in_cli(name) and len(found := _function_imports(name)) > 2}
    assert lazy == {}


def test_nothing_below_the_cli_imports_it() -> None:
    upward = {
        name: sorted(m for m in imports_of(name) if _in_cli(m))
        for name in MODULES
        if not _in_cli(name) and name != "rollgen.__main__"
    }
    assert {name: found for name, found in upward.items() if found} == {}


def _reach(name: str) -> set[str]:
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        for target in imports_of(current) - seen:
            seen.add(target)
            pending.append(target)
    return seen


@pytest.mark.parametrize("name", PURE)
def test_the_rules_import_nothing_that_does_io(name: str) -> None:
    reached = _reach(name) | {name}
    assert sorted(reached & IO_MODULES) == []
    stdlib = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for module in reached
        for node in ast.walk(_tree(module))
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0)
        for alias in (node.names if isinstance(node, ast.Import) else [node.names[0]])
    }
    assert sorted(m for m in stdlib if any(m == io or m.startswith(f"{io}.") for io in IO_STDLIB)) == []


def test_the_tools_stay_out_of_the_package() -> None:
    tools = Path(__file__).resolve().parent.parent / "tools"
    assert sorted(p.name for p in tools.glob("*.py")) == [
        "__init__.py",
        "chart_readme.py",
        "reference_docs.py",
        "samples.py",
    ]
    assert not [name for name in MODULES if name.endswith((".reference_docs", ".samples", ".docs"))]
