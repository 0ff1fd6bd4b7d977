"""Release specs: load, validate (schema + semantic checks), build the typed model.

>>> from rollgen.spec import load_release
>>> load_release(Path("examples/canary.yaml")).strategy.traffic
'replicas'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rollgen.errors import Problem, SpecError

if TYPE_CHECKING:
    from rollgen.spec.model import Release


@dataclass(frozen=True)
class Validation:
    """Every problem in one file (sorted by position) and, when there are none, the release."""

    path: str
    problems: tuple[Problem, ...]
    release: Release | None


def validate_file(path: Path, display: str | None = None, *, build: bool = True) -> Validation:
    """Every problem in ``path``; with ``build``, also the typed release when there are none."""
    from rollgen.spec.checks import semantic_problems
    from rollgen.spec.schema import schema_problems
    from rollgen.spec.yamldoc import LoadError, read_document

    name = display if display is not None else str(path)
    try:
        document = read_document(path, name)
    except LoadError as exc:
        return Validation(name, (exc.problem,), None)
    kind = document.data.get("kind")
    if kind is not None and kind != "Release":
        # Another kind of document (a Deployment, a Rollout): say so once, not for every field.
        return Validation(name, (document.problem(("kind",), f"kind must be Release, got {kind!r}"),), None)
    problems = sorted(set(schema_problems(document) + semantic_problems(document)))
    if problems or not build:
        return Validation(name, tuple(problems), None)
    from rollgen.spec.model import build_release  # the model's classes cost import time `validate` need not pay

    return Validation(name, (), build_release(document.data))


def load_release(path: Path) -> Release:
    """The typed release in ``path``, or :class:`SpecError` with every problem found."""
    result = validate_file(path)
    if result.release is None:
        raise SpecError(result.problems)
    return result.release
