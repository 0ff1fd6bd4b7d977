"""Every problem in one release document: schema, semantic rules, and the files it reads in its repository.

The model is not built here: ``rollgen validate`` checks every rule without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollgen.errors import Problem
from rollgen.spec.basefiles import yaml_problems
from rollgen.spec.checks import semantic_problems
from rollgen.spec.repository import Claims, claims, existence_problems, overlap_problems, relative_to_cwd
from rollgen.spec.schema import schema_problems
from rollgen.spec.yamldoc import Document, LoadError, read_document


@dataclass(frozen=True, kw_only=True)
class Validation:
    """Every problem in one file (sorted by position) and, when there are none, the release document's data.

    ``data`` is None for a file with problems, and for a pipeline (its releases
    are files of their own). With a repository root, ``claims`` are what the
    release writes and reads there, for the checks across several files
    (:func:`rollgen.spec.validation.check_files`).
    """

    path: str
    problems: tuple[Problem, ...]
    data: Mapping[str, Any] | None = None
    claims: Claims | None = None


def check_release(document: Document, name: str, path: Path, repo: Path | None) -> Validation:
    """Every problem in ``document``, a release spec; with ``repo``, the files it names must exist there.

    In a repository the output path may not overlap what the release reads,
    and every YAML file the base's build parses must be valid YAML (problems in
    those files name them).
    """
    kind = document.data.get("kind")
    if kind is not None and kind != "Release":
        # Another kind of document (a Deployment, a Rollout): say so once, not for every field.
        return Validation(path=name, problems=(document.problem(("kind",), f"kind must be Release, got {kind!r}"),))
    problems = schema_problems(document) + semantic_problems(document)
    claimed: Claims | None = None
    if repo is not None:
        claimed = claims(document, repo, path)
        own = overlap_problems([claimed.output] if claimed.output else [], claimed.reads)
        problems += [*existence_problems(document, repo), *own]
        if claimed.base is not None:
            problems += yaml_problems(repo, claimed.base.path, lambda name: relative_to_cwd(repo / name))
    problems = sorted(set(problems))
    data = None if problems else document.data
    return Validation(path=name, problems=tuple(problems), data=data, claims=claimed)


def check_release_file(path: Path, display: str | None = None, *, repo: Path | None = None) -> Validation:
    """Every problem in the file ``path``, which must hold a release spec."""
    name = display if display is not None else str(path)
    try:
        document = read_document(path, name)
    except LoadError as exc:
        return Validation(path=name, problems=(exc.problem,))
    return check_release(document, name, path, repo)
