"""Release specs: load, validate (schema + semantic checks), build the typed model.

>>> from rollgen.spec import load_release
>>> load_release(Path("examples/canary.yaml")).strategy.traffic
'replicas'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rollgen.errors import Problem, SpecError

if TYPE_CHECKING:
    from rollgen.spec.model import Release
    from rollgen.spec.repository import Claim


@dataclass(frozen=True)
class Validation:
    """Every problem in one file (sorted by position) and, when there are none, the release.

    With a repository root, ``output`` and ``reads`` are what the release writes
    and reads there, for the checks across several files (:func:`validate_files`).
    """

    path: str
    problems: tuple[Problem, ...]
    release: Release | None
    output: Claim | None = None
    reads: tuple[Claim, ...] = ()


def validate_file(
    path: Path, display: str | None = None, *, build: bool = True, repo: Path | None = None
) -> Validation:
    """Every problem in ``path``; with ``build``, also the typed release when there are none.

    With ``repo`` (the repository root) the base, chart and values files must
    exist there and the output path may not overlap what the release reads.
    """
    from rollgen.spec.checks import semantic_problems
    from rollgen.spec.schema import schema_problems
    from rollgen.spec.yamldoc import LoadError, read_document

    name = display if display is not None else str(path)
    try:
        document = read_document(path, name)
    except LoadError as exc:
        return Validation(name, (exc.problem,), None)
    kind = document.data.get("kind")
    if kind == "Pipeline":
        from rollgen.spec.pipeline import pipeline_problems

        return Validation(name, tuple(pipeline_problems(document, path.parent)), None)
    if kind is not None and kind != "Release":
        # Another kind of document (a Deployment, a Rollout): say so once, not for every field.
        return Validation(name, (document.problem(("kind",), f"kind must be Release, got {kind!r}"),), None)
    problems = schema_problems(document) + semantic_problems(document)
    output: Claim | None = None
    reads: tuple[Claim, ...] = ()
    if repo is not None:
        from rollgen.spec.repository import claims, existence_problems, overlap_problems

        output, reads = claims(document, repo, path)
        problems += [*existence_problems(document, repo), *overlap_problems([output] if output else [], reads)]
    problems = sorted(set(problems))
    if problems or not build:
        return Validation(name, tuple(problems), None, output, reads)
    from rollgen.spec.model import build_release  # the model's classes cost import time `validate` need not pay

    return Validation(name, (), build_release(document.data), output, reads)


def validate_files(paths: Sequence[Path], *, repo: Path | None = None, build: bool = False) -> list[Validation]:
    """Each file validated, then across files: no two outputs overlap, no output overlaps what any release reads.

    The repository root is ``repo``, else the git work tree holding each spec
    (the filesystem checks are skipped for a spec outside any repository).
    """
    from rollgen.spec.repository import overlap_problems, repository_root

    results = [validate_file(p, str(p), build=build, repo=repo or repository_root(p)) for p in paths]
    if len(results) < 2:
        return results
    outputs = [r.output for r in results if r.output is not None]
    # Each file already holds its own output-versus-reads problems; the set below drops those repeats.
    extra: dict[str, list[Problem]] = {}
    for problem in overlap_problems(outputs, [c for r in results for c in r.reads]):
        extra.setdefault(problem.path, []).append(problem)
    return [
        replace(r, problems=tuple(sorted(set(r.problems + tuple(extra.get(r.path, ()))))), release=None)
        if r.path in extra
        else r
        for r in results
    ]


def load_release(path: Path) -> Release:
    """The typed release in ``path``, or :class:`SpecError` with every problem found."""
    result = validate_file(path)
    if result.release is None:
        raise SpecError(result.problems)
    return result.release
