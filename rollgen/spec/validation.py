"""``rollgen validate``: every problem in spec files of either kind, and across them, without building the model."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from rollgen.errors import Problem
from rollgen.spec.pipeline import KIND, pipeline_problems
from rollgen.spec.release_checks import Validation, check_release
from rollgen.spec.repository import overlap_problems, repository_root
from rollgen.spec.yamldoc import LoadError, read_document


def check_file(path: Path, display: str | None = None, *, repo: Path | None = None) -> Validation:
    """Every problem in ``path``: a release spec, or a pipeline (whose releases are checked too).

    With ``repo`` (the repository root) the base, chart and values files must
    exist there and the output path may not overlap what the release reads.
    """
    name = display if display is not None else str(path)
    try:
        document = read_document(path, name)
    except LoadError as exc:
        return Validation(path=name, problems=(exc.problem,))
    if document.data.get("kind") == KIND:
        return Validation(path=name, problems=tuple(pipeline_problems(document, path.parent)))
    return check_release(document, name, path, repo)


def check_files(paths: Sequence[Path], *, repo: Path | None = None) -> list[Validation]:
    """Each file checked, then across files: no two outputs overlap, no output overlaps what any release reads.

    The repository root is ``repo``, else the git work tree holding each spec
    (the filesystem checks are skipped for a spec outside any repository).
    """
    results = [check_file(p, str(p), repo=repo or repository_root(p)) for p in paths]
    if len(results) < 2:
        return results
    outputs = [r.output for r in results if r.output is not None]
    # Each file already holds its own output-versus-reads problems; the set below drops those repeats.
    extra: dict[str, list[Problem]] = {}
    for problem in overlap_problems(outputs, [c for r in results for c in r.reads]):
        extra.setdefault(problem.path, []).append(problem)
    return [
        dataclasses.replace(r, problems=tuple(sorted(set(r.problems + tuple(extra.get(r.path, ()))))), data=None)
        if r.path in extra
        else r
        for r in results
    ]
