"""``rollgen validate``: every problem in spec files of either kind, and across them, without building the model."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from rollgen.errors import Problem
from rollgen.spec.pipeline import KIND, pipeline_problems
from rollgen.spec.release_checks import Validation, check_release
from rollgen.spec.repository import other_claims, overlap_problems, repository_root
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
    (the filesystem checks are skipped for a spec outside any repository). The
    files given are checked against every other release spec in their
    repository too (the pre-commit hook passes only the changed ones);
    problems are reported in the files given only.
    """
    roots = {path: repo or repository_root(path) for path in paths}
    results = [check_file(p, str(p), repo=roots[p]) for p in paths]
    claimed = [r.claims for r in results if r.claims is not None]
    claimed += [
        c for root in dict.fromkeys(r for r in roots.values() if r is not None) for c in other_claims(root, paths)
    ]
    if len(claimed) < 2:
        return results
    outputs = [c.output for c in claimed if c.output is not None]
    reads = [read for c in claimed for read in c.everything_read]
    bases = {c.base for c in claimed if c.base is not None}
    # Each file already holds its own output-versus-reads problems; the set below drops those repeats.
    extra: dict[str, list[Problem]] = {}
    for problem in overlap_problems(outputs, reads, bases):
        extra.setdefault(problem.path, []).append(problem)
    return [
        dataclasses.replace(r, problems=tuple(sorted(set(r.problems + tuple(extra.get(r.path, ()))))), data=None)
        if r.path in extra
        else r
        for r in results
    ]
