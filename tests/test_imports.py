"""The package's import graph has no cycle, lazy imports (inside functions) included.

The graph is read from the source: every ``import``/``from ... import`` of a
``rollgen`` module, wherever it is written, except under ``if TYPE_CHECKING:``
(annotations only, never run). Importing ``a.b.c`` runs ``a/__init__`` and
``a/b/__init__`` too, so those count as edges as well.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rollgen"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, skipping the bodies of ``if TYPE_CHECKING:``."""
    found: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            stack.extend(node.orelse)
            continue
        found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _with_parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & MODULES.keys()


def imports_of(name: str) -> set[str]:
    """The rollgen modules that importing ``name`` runs, directly."""
    tree = ast.parse(MODULES[name].read_text())
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    wanted: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                wanted |= _with_parents(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            wanted |= _with_parents(base)
            wanted |= {f"{base}.{alias.name}" for alias in node.names} & MODULES.keys()
    # A module inside a package runs its package's __init__ first; that is not an edge out of it.
    return wanted - {name} - {p for p in _with_parents(name) if p != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_cycle_finder_finds_a_lazy_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_graph_reads_lazy_imports_and_skips_type_checking_ones() -> None:
    # The live display draws a controller pass; the pass knows nothing of its display.
    assert "rollgen.controller.advance" in imports_of("rollgen.cli.progress")
    assert "rollgen.cli.progress" not in imports_of("rollgen.controller.advance")
    # The composition root imports the spec loader inside a function.
    assert "rollgen.spec" in imports_of("rollgen.cli.root")


def test_no_module_takes_part_in_an_import_cycle() -> None:
    graph = {name: imports_of(name) for name in MODULES}
    assert find_cycle(graph) is None


@pytest.mark.parametrize("name", sorted(set(MODULES) - {"rollgen.__main__"}))  # __main__ runs the CLI
def test_every_module_imports_alone_in_a_fresh_interpreter(name: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", f"import {name}"], check=False, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
