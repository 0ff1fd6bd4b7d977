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
    from rollgen.spec.repository import Claims


@dataclass(frozen=True)
class Validation:
    """Every problem in one file (sorted by position) and, when there are none, the release.

    With a repository root, ``claims`` are what the release writes and reads
    there, for the checks across several files (:func:`validate_files`).
    """

    path: str
    problems: tuple[Problem, ...]
    release: Release | None
    claims: Claims | None = None


def validate_file(
    path: Path, display: str | None = None, *, build: bool = True, repo: Path | None = None
) -> Validation:
    """Every problem in ``path``; with ``build``, also the typed release when there are none.

    With ``repo`` (the repository root) the base, chart and values files must
    exist there, the output path may not overlap what the release reads, and
    every YAML file the base's build parses must be valid YAML (problems in
    those files name them).
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
    claimed: Claims | None = None
    if repo is not None:
        from rollgen.spec.basefiles import yaml_problems
        from rollgen.spec.repository import claims, existence_problems, overlap_problems, relative_to_cwd

        claimed = claims(document, repo, path)
        own = overlap_problems([claimed.output] if claimed.output else [], claimed.reads)
        problems += [*existence_problems(document, repo), *own]
        if claimed.base is not None:
            problems += yaml_problems(repo, claimed.base.path, lambda name: relative_to_cwd(repo / name))
    problems = sorted(set(problems))
    if problems or not build:
        return Validation(name, tuple(problems), None, claimed)
    from rollgen.spec.model import build_release  # the model's classes cost import time `validate` need not pay

    return Validation(name, (), build_release(document.data), claimed)


def validate_files(paths: Sequence[Path], *, repo: Path | None = None, build: bool = False) -> list[Validation]:
    """Each file validated, then across files: no two outputs overlap, no output overlaps what any release reads.

    The repository root is ``repo``, else the git work tree holding each spec
    (the filesystem checks are skipped for a spec outside any repository). The
    files given are checked against every other release spec in their
    repository too; problems are reported in the files given only.
    """
    from rollgen.spec.repository import other_claims, overlap_problems, repository_root

    roots = {path: repo or repository_root(path) for path in paths}
    # In a repository the typed release is built too: rollgen.preflight renders it, as `render` would.
    results = [validate_file(p, str(p), build=build or roots[p] is not None, repo=roots[p]) for p in paths]
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
