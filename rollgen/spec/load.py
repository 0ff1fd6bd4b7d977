"""The typed model of a spec file the checks accept: a :class:`Release`, or a :class:`Pipeline` with its releases.

>>> load_release(Path("examples/canary.yaml")).strategy.traffic
'replicas'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollgen.durations import parse_duration
from rollgen.errors import Problem, SpecError
from rollgen.pipeline.levels import LEVELS
from rollgen.spec.model import Release, build_release, build_windows
from rollgen.spec.pipeline import KIND, Environment, Pipeline, pipeline_problems
from rollgen.spec.validation import check_file
from rollgen.spec.yamldoc import Document, LoadError, read_document


@dataclass(frozen=True, kw_only=True)
class Loaded:
    """Every problem in one file and, when there are none and it is a release spec, the release."""

    path: str
    problems: tuple[Problem, ...]
    release: Release | None


def load_file(path: Path, display: str | None = None, *, repo: Path | None = None) -> Loaded:
    """Every problem in ``path`` (:func:`rollgen.spec.validation.check_file`) and, when there are none, its release."""
    checked = check_file(path, display, repo=repo)
    release = build_release(checked.data) if checked.data is not None else None
    return Loaded(path=checked.path, problems=checked.problems, release=release)


def load_release(path: Path) -> Release:
    """The typed release in ``path``, or :class:`SpecError` with every problem found."""
    loaded = load_file(path)
    if loaded.release is None:
        raise SpecError(loaded.problems)
    return loaded.release


def load_pipeline(path: Path) -> Pipeline:
    """The pipeline in ``path``, or :class:`SpecError` with every problem found."""
    try:
        document = read_document(path)
    except LoadError as exc:
        raise SpecError((exc.problem,)) from None
    if document.data.get("kind") != KIND:
        raise SpecError((document.problem(("kind",), f"kind must be {KIND}, got {document.data.get('kind')!r}"),))
    valid: dict[Path, Mapping[str, Any]] = {}
    problems = pipeline_problems(document, path.parent, valid=valid)
    if problems:
        raise SpecError(tuple(problems))
    return build_pipeline(document, path, valid)


def build_pipeline(document: Document, path: Path, valid: Mapping[Path, Mapping[str, Any]] | None = None) -> Pipeline:
    """The typed pipeline of a document :func:`rollgen.spec.pipeline.pipeline_problems` found nothing wrong with.

    ``valid`` holds the release specs' data already checked (by path); the others are loaded here.
    """
    listed = document.data["spec"]["environments"]
    environments = tuple(
        Environment(
            e["name"],
            path.parent / e["release"],
            parse_duration(e["soak"]) if "soak" in e else 0.0,
            after=tuple(e["after"]) if "after" in e else tuple(p["name"] for p in listed[index - 1 : index]),
            auto_promote=frozenset(e.get("autoPromote", LEVELS)),
            windows=build_windows(e.get("windows", ())),
        )
        for index, e in enumerate(listed)
    )
    known = valid or {}
    releases = tuple(build_release(known[e.spec]) if e.spec in known else load_release(e.spec) for e in environments)
    return Pipeline(document.data["metadata"]["name"], path, environments, releases)
