"""Pipeline specs (``kind: Pipeline``): environments in order, each a release spec of its own.

An environment chain is several releases whose desired versions follow the
previous environment's completed one (see :mod:`rollgen.pipeline.passes`)::

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
path, strategy, gates and ``git.mode``. Validation (``schemas/pipeline.schema.json``,
then what a schema cannot say) reports every problem as ``file:line:col``,
like a release spec's; the environments' release specs are loaded too, so a
pipeline naming a broken spec is refused.

>>> from rollgen.spec.yamldoc import parse_document
>>> doc = parse_document(b"kind: Pipeline\\nspec: {environments: [{name: dev, release: a.yaml, soak: 1x}]}\\n", "p.yaml")
>>> for problem in pipeline_problems(doc, None): print(problem)
p.yaml:1:1: document: missing required field 'apiVersion'
p.yaml:1:1: document: missing required field 'metadata'
p.yaml:2:22: spec.environments: needs at least 2 entries, has 1
p.yaml:2:58: spec.environments[0].soak: '1x' is not valid: A Go duration, as Argo Rollouts, Flagger and Flux read it, such as 30s, 1.5m, 1h30m or 500ms (units ns, us, ms, s, m, h); a bare integer counts seconds, as in Argo Rollouts.
p.yaml:2:58: spec.environments[0].soak: no environment comes after 'dev': nothing waits for its soak
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollgen.durations import spec_problem
from rollgen.errors import Problem
from rollgen.pipeline.graph import Graph, find_cycle
from rollgen.pipeline.levels import LEVELS, Level
from rollgen.spec.release_checks import check_release_file
from rollgen.spec.schema import schema_problems
from rollgen.spec.vocabulary import DEFAULT_BRANCH
from rollgen.spec.window_checks import window_problems
from rollgen.windows import Window

if TYPE_CHECKING:
    from rollgen.spec.model import Release
    from rollgen.spec.yamldoc import Document, JsonPath

KIND = "Pipeline"


@dataclass(frozen=True)
class Environment:
    """One stage of a pipeline: its name, its release spec file and how long a completed version soaks there.

    ``after`` names the environments whose completed version it gets (the
    loader fills in the default, the one before it); ``auto_promote`` the
    semver levels of change written without approval; ``windows`` when a
    version may be written into its spec.
    """

    name: str
    spec: Path
    soak: float = 0.0
    after: tuple[str, ...] = ()
    auto_promote: frozenset[Level] = frozenset(LEVELS)
    windows: tuple[Window, ...] = ()


@dataclass(frozen=True)
class Pipeline:
    """A validated pipeline: the environments in order, their release specs loaded."""

    name: str
    path: Path
    environments: tuple[Environment, ...]
    releases: tuple[Release, ...]

    @property
    def graph(self) -> Graph:
        """Which environments come after which (validate refused any cycle or unknown name)."""
        return Graph.of([e.name for e in self.environments], {e.name: e.after for e in self.environments})


def pipeline_problems(
    document: Document, base: Path | None, *, valid: dict[Path, Mapping[str, Any]] | None = None
) -> list[Problem]:
    """Every problem of a pipeline document; with ``base`` (its directory) the releases it names are loaded too.

    The structure is ``schemas/pipeline.schema.json``'s; what a schema cannot
    say (names unique, no soak after the last environment, each release spec
    valid and its own) is checked here, on the parts the schema accepts.
    ``valid`` collects the data of each release spec found valid, by path, so
    that a loader builds the releases without checking them again.
    """
    problems = schema_problems(document, "pipeline")
    spec = document.data.get("spec")
    environments = spec.get("environments") if isinstance(spec, dict) else None
    if isinstance(environments, list):
        problems += _environment_problems(document, environments, base, valid)
        problems += _graph_problems(document, environments)
    return sorted(set(problems))


def _graph_problems(document: Document, environments: list[Any]) -> list[Problem]:
    """``after`` naming what is no environment of the pipeline, or going round in a cycle; a soak nothing waits for."""
    names: list[str] = [
        str(e["name"]) if isinstance(e, dict) and isinstance(e.get("name"), str) else "" for e in environments
    ]
    problems: list[Problem] = []
    after: dict[str, tuple[str, ...]] = {}
    for index, entry in enumerate(environments):
        if not isinstance(entry, dict):
            continue
        where: JsonPath = ("spec", "environments", index)
        field = f"spec.environments[{index}]"
        given = entry.get("after")
        if isinstance(given, list):
            for position, name in enumerate(given):
                if isinstance(name, str) and name == names[index]:
                    problems.append(
                        document.problem(
                            (*where, "after", position), f"{field}.after[{position}]: {name!r} cannot come after itself"
                        )
                    )
                elif isinstance(name, str) and name not in names:
                    known = ", ".join(n for n in names if n)
                    problems.append(
                        document.problem(
                            (*where, "after", position),
                            f"{field}.after[{position}]: no environment {name!r} in this pipeline (it has {known})",
                        )
                    )
            wanted = tuple(n for n in given if isinstance(n, str) and n in names and n != names[index])
        else:
            wanted = tuple(names[index - 1 : index])
        if names[index]:
            after[names[index]] = wanted
        problems += window_problems(document, (*where, "windows"), entry.get("windows"))
    # Two environments of one name are reported as such; the shape they make is no shape to judge.
    cycle = find_cycle(after) if len(set(filter(None, names))) == len(list(filter(None, names))) else None
    if cycle is not None:
        index = names.index(cycle[0])
        at: JsonPath = (
            ("spec", "environments", index, "after")
            if "after" in environments[index]
            else ("spec", "environments", index)
        )
        problems.append(
            document.problem(
                at,
                f"spec.environments[{index}].after: a cycle: {' after '.join(cycle)}; a version could never reach them",
            )
        )
    for index, entry in enumerate(environments):
        if (
            isinstance(entry, dict)
            and "soak" in entry
            and names[index]
            and not any(names[index] in a for a in after.values())
        ):
            problems.append(
                document.problem(
                    ("spec", "environments", index, "soak"),
                    f"spec.environments[{index}].soak: no environment comes after {names[index]!r}: nothing waits for its soak",
                )
            )
    return problems


def _environment_problems(
    document: Document, environments: list[Any], base: Path | None, valid: dict[Path, Mapping[str, Any]] | None
) -> list[Problem]:
    problems: list[Problem] = []
    names: set[str] = set()
    releases: dict[str, int] = {}
    for index, entry in enumerate(environments):
        if not isinstance(entry, dict):
            continue  # the schema says what it should be
        where: JsonPath = ("spec", "environments", index)
        field = f"spec.environments[{index}]"
        name = entry.get("name")
        if isinstance(name, str) and name in names:
            problems.append(document.problem((*where, "name"), f"{field}.name: environment {name!r} is named twice"))
        elif isinstance(name, str):
            names.add(name)
        soak = spec_problem(entry.get("soak"))
        if soak is not None:
            problems.append(document.problem((*where, "soak"), f"{field}.soak: {soak}"))
        spec = entry.get("release")
        if base is None or not isinstance(spec, str) or not spec or Path(spec).is_absolute():
            continue
        found = _release(base / spec, valid)
        if isinstance(found, str):
            problems.append(document.problem((*where, "release"), f"{field}.release: {found}"))
            continue
        branch, name = found
        key = f"{branch}:{name}"
        if key in releases:
            problems.append(
                document.problem(
                    (*where, "release"),
                    f"{field}.release: environments {releases[key]} and {index} are the same release "
                    f"{name} on branch {branch}; each needs its own namespace or name",
                )
            )
        releases.setdefault(key, index)
    return problems


def _release(path: Path, valid: dict[Path, Mapping[str, Any]] | None) -> tuple[str, str] | str:
    """The branch and ``namespace/name`` of the release spec in ``path``, or what is wrong with it."""
    if not path.is_file():
        return f"no release spec at {path}"
    checked = check_release_file(path)
    if checked.data is None:
        return f"{path} is not a valid release spec ({len(checked.problems)} problem(s); rollgen validate {path})"
    if valid is not None:
        valid[path] = checked.data
    spec = checked.data["spec"]
    return spec.get("git", {}).get("branch", DEFAULT_BRANCH), f"{spec['namespace']}/{checked.data['metadata']['name']}"
