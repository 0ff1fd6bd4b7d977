"""Pipeline specs (``kind: Pipeline``): environments in order, each a release spec of its own.

An environment chain is several releases whose desired versions follow the
previous environment's completed one (see :mod:`rollgen.pipeline`)::

    apiVersion: rollgen.io/v1alpha1
    kind: Pipeline
    metadata: {name: web}
    spec:
      environments:
        - name: dev
          release: dev/web.yaml      # relative to this file
          soak: 10m                  # a completed version runs here 10m before it moves on
        - name: staging
          release: staging/web.yaml
          soak: 1h
        - name: production
          release: production/web.yaml

Each environment's release spec keeps its own namespace (or cluster), output
path, strategy, gates and ``git.mode``. Validation reports every problem as
``file:line:col``, like a release spec's; the environments' release specs are
loaded too, so a pipeline naming a broken spec is refused.

>>> from rollgen.spec.yamldoc import parse_document
>>> doc = parse_document(b"kind: Pipeline\\nspec: {environments: [{name: dev, release: a.yaml, soak: 1x}]}\\n", "p.yaml")
>>> for problem in pipeline_problems(doc, None): print(problem)
p.yaml:1:1: missing required field 'apiVersion'
p.yaml:1:1: missing required field 'metadata'
p.yaml:2:22: spec.environments: a pipeline chains at least two environments
p.yaml:2:58: spec.environments[0].soak: invalid duration '1x': expected e.g. 30s, 10m, 1h30m, 500ms
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollgen.durations import parse_duration
from rollgen.errors import Problem, SpecError

if TYPE_CHECKING:
    from rollgen.spec.model import Release
    from rollgen.spec.yamldoc import Document, JsonPath

KIND = "Pipeline"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_TOP = ("apiVersion", "kind", "metadata", "spec")
_ENVIRONMENT = ("name", "release", "soak")


@dataclass(frozen=True)
class Environment:
    """One stage of a pipeline: its name, its release spec file and how long a completed version soaks there."""

    name: str
    spec: Path
    soak: float = 0.0


@dataclass(frozen=True)
class Pipeline:
    """A validated pipeline: the environments in order, their release specs loaded."""

    name: str
    path: Path
    environments: tuple[Environment, ...]
    releases: tuple[Release, ...]


def pipeline_problems(document: Document, base: Path | None) -> list[Problem]:
    """Every problem of a pipeline document; with ``base`` (its directory) the releases it names are loaded too."""
    problems: list[Problem] = []
    data = document.data

    def problem(where: JsonPath, message: str, *, at_key: bool = False) -> None:
        problems.append(document.problem(where, message, at_key=at_key))

    _unknown(document, (), data, _TOP, problem)
    for key in _TOP:
        if key not in data:
            problem((), f"missing required field {key!r}")
    api = data.get("apiVersion")
    if "apiVersion" in data and (not isinstance(api, str) or not api.startswith("rollgen.io/")):
        problem(("apiVersion",), f"apiVersion must be rollgen.io/v1alpha1, got {api!r}")
    metadata = data.get("metadata")
    if "metadata" in data:
        if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
            problem(("metadata",), "metadata: needs a name (a string)")
        else:
            _unknown(document, ("metadata",), metadata, ("name",), problem)
            if not _DNS_LABEL.match(metadata["name"]):
                problem(("metadata", "name"), f"metadata.name {metadata['name']!r} must be a DNS label (a-z, 0-9, -)")
    spec = data.get("spec")
    if "spec" in data and not isinstance(spec, dict):
        problem(("spec",), "spec must be a mapping with environments")
    elif isinstance(spec, dict):
        _unknown(document, ("spec",), spec, ("environments",), problem)
        environments = spec.get("environments")
        if not isinstance(environments, list):
            problem(("spec",), "spec.environments: missing, or not a list of environments")
        else:
            if len(environments) < 2:
                problem(("spec", "environments"), "spec.environments: a pipeline chains at least two environments")
            problems += _environment_problems(document, environments, base)
    return sorted(set(problems))


def _environment_problems(document: Document, environments: list[Any], base: Path | None) -> list[Problem]:
    problems: list[Problem] = []
    names: set[str] = set()
    releases: dict[str, int] = {}
    for index, entry in enumerate(environments):
        where: JsonPath = ("spec", "environments", index)
        field = f"spec.environments[{index}]"

        def problem(at: JsonPath, message: str, *, at_key: bool = False) -> None:
            problems.append(document.problem(at, message, at_key=at_key))

        if not isinstance(entry, dict):
            problem(where, f"{field}: an environment is a mapping with name, release and soak")
            continue
        _unknown(document, where, entry, _ENVIRONMENT, problem)
        name = entry.get("name")
        if not isinstance(name, str) or not _DNS_LABEL.match(name):
            problem((*where, "name"), f"{field}.name: a DNS label naming the environment (dev, staging, ...)")
        elif name in names:
            problem((*where, "name"), f"{field}.name: environment {name!r} is named twice")
        else:
            names.add(name)
        if "soak" in entry:
            try:
                parse_duration(entry["soak"])
            except ValueError as exc:
                problem((*where, "soak"), f"{field}.soak: {exc}")
            else:
                if index == len(environments) - 1:
                    problem((*where, "soak"), f"{field}.soak: the last environment has no next one to wait for")
        spec = entry.get("release")
        if not isinstance(spec, str) or not spec or Path(spec).is_absolute():
            problem((*where, "release"), f"{field}.release: the environment's release spec, relative to this file")
            continue
        if base is None:
            continue
        release = _release(base / spec)
        if isinstance(release, str):
            problem((*where, "release"), f"{field}.release: {release}")
            continue
        key = f"{release.git.branch}:{release.namespace}/{release.name}"
        if key in releases:
            problem(
                (*where, "release"),
                f"{field}.release: environments {releases[key]} and {index} are the same release "
                f"{release.namespace}/{release.name} on branch {release.git.branch}; each needs its own namespace or name",
            )
        releases.setdefault(key, index)
    return problems


def _release(path: Path) -> Release | str:
    """The release in ``path``, or what is wrong with it."""
    from rollgen.spec import load_release

    if not path.is_file():
        return f"no release spec at {path}"
    try:
        return load_release(path)
    except SpecError as exc:
        return f"{path} is not a valid release spec ({len(exc.problems)} problem(s); rollgen validate {path})"


def _unknown(document: Document, where: JsonPath, data: dict[str, Any], allowed: tuple[str, ...], problem: Any) -> None:
    for key in data:
        if key not in allowed:
            problem((*where, key), f"unknown field {key!r}; allowed: {', '.join(sorted(allowed))}", at_key=True)


def build_pipeline(document: Document, path: Path) -> Pipeline:
    """The typed pipeline of a document :func:`pipeline_problems` found nothing wrong with."""
    from rollgen.spec import load_release

    environments = tuple(
        Environment(e["name"], path.parent / e["release"], parse_duration(e["soak"]) if "soak" in e else 0.0)
        for e in document.data["spec"]["environments"]
    )
    releases = tuple(load_release(e.spec) for e in environments)
    return Pipeline(document.data["metadata"]["name"], path, environments, releases)


def load_pipeline(path: Path) -> Pipeline:
    """The pipeline in ``path``, or :class:`SpecError` with every problem found."""
    from rollgen.spec.yamldoc import LoadError, read_document

    try:
        document = read_document(path)
    except LoadError as exc:
        raise SpecError((exc.problem,)) from None
    if document.data.get("kind") != KIND:
        raise SpecError((document.problem(("kind",), f"kind must be {KIND}, got {document.data.get('kind')!r}"),))
    problems = pipeline_problems(document, path.parent)
    if problems:
        raise SpecError(tuple(problems))
    return build_pipeline(document, path)
