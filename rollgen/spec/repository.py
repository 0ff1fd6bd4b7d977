"""What a spec names in its repository: that it exists, and that no output path overlaps what is read.

Plain filesystem reads (no kubectl; git only lists the repository's files):
the repository root is the directory holding ``.git`` above the spec, or
``--repo``. Every path is compared relative to that root, as the spec writes
it. The overlaps are checked against every release spec in the repository,
not only those given (:func:`other_claims`): the pre-commit hook passes only
the changed files, and a new spec writing another release's output is
refused there, not by the first ``advance``.
"""

from __future__ import annotations

import bisect
import os
import posixpath
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rollgen import yamlload
from rollgen.errors import Problem
from rollgen.kustomize_inputs import inputs, kustomization_file
from rollgen.spec.yamldoc import Document, JsonPath


@dataclass(frozen=True)
class Claim:
    """A repository path a spec writes (its output) or reads, and where the spec names it."""

    path: str
    at: Problem  # the position; its message says what the path is


def repository_root(spec: Path) -> Path | None:
    """The top of the git work tree holding ``spec`` (a ``.git`` directory or file), if any."""
    return _root_of(spec.absolute().parent)


@cache
def _root_of(directory: Path) -> Path | None:
    # Cached per directory: a directory of a thousand specs asks once.
    if (directory / ".git").exists():
        return directory
    return None if directory.parent == directory else _root_of(directory.parent)


def _relative(repo: Path, path: Path) -> str:
    try:
        return posixpath.normpath(path.resolve().relative_to(repo.resolve()).as_posix())
    except ValueError:
        return path.resolve().as_posix()


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


@dataclass(frozen=True)
class Claims:
    """What one spec claims in the repository at ``root``: its output, its Kustomize base, everything else it reads."""

    root: Path
    output: Claim | None
    base: Claim | None
    reads: tuple[Claim, ...]

    @property
    def everything_read(self) -> tuple[Claim, ...]:
        return self.reads if self.base is None else (self.base, *self.reads)


def claims(doc: Document, repo: Path, spec: Path) -> Claims:
    """The spec's output claim and everything its release reads (the spec file itself included)."""
    spec_data = _get(doc.data, "spec")
    output = _get(spec_data, "output", "path")
    out = (
        Claim(posixpath.normpath(output), doc.problem(("spec", "output", "path"), "output.path"))
        if isinstance(output, str)
        else None
    )
    reads = [Claim(_relative(repo, spec), Problem(doc.path, 1, 1, "the release spec"))]
    base = _get(spec_data, "source", "kustomize", "base")
    base_claim = None
    if isinstance(base, str):
        at = ("spec", "source", "kustomize", "base")
        base_claim = Claim(posixpath.normpath(base), doc.problem(at, "the base"))
        read = [d.as_posix() for d in inputs(repo, base) if d.as_posix() != base_claim.path]
        reads += [Claim(d, doc.problem(at, f"the base reads {d}")) for d in read]
    helm = _get(spec_data, "source", "helm")
    # A chart from a repository is a name there, not a path here; its other objects are.
    chart = None if _get(helm, "repository") is not None else _get(helm, "chart")
    named: list[tuple[JsonPath, Any]] = [(("spec", "source", "helm", "chart"), chart)]
    named.append((("spec", "source", "helm", "resources"), _get(helm, "resources")))
    values = _get(helm, "values")
    named += [
        (("spec", "source", "helm", "values", i), v) for i, v in enumerate(values if isinstance(values, list) else ())
    ]
    named.append((("spec", "git", "pullRequest", "tokenFile"), _get(spec_data, "git", "pullRequest", "tokenFile")))
    token_file = _get(spec_data, "git", "pullRequest", "token", "file")
    if isinstance(token_file, str) and not token_file.startswith("/"):  # a relative one is read in the repository
        named.append((("spec", "git", "pullRequest", "token", "file"), token_file))
    reads += [Claim(posixpath.normpath(v), doc.problem(w, str(w[-1]))) for w, v in named if isinstance(v, str)]
    return Claims(repo, out, base_claim, tuple(reads))


def existence_problems(doc: Document, repo: Path) -> Iterator[Problem]:
    """A base, chart or values file the spec names but the repository lacks."""
    spec_data = _get(doc.data, "spec")
    base = _get(spec_data, "source", "kustomize", "base")
    if isinstance(base, str) and kustomization_file(repo / base) is None:
        what = "is not a directory" if not (repo / base).is_dir() else "has no kustomization.yaml"
        yield doc.problem(("spec", "source", "kustomize", "base"), f"base: {base!r} {what} under {repo}")
    remote = _get(spec_data, "source", "helm", "repository") is not None
    chart = None if remote else _get(spec_data, "source", "helm", "chart")
    resources = _get(spec_data, "source", "helm", "resources")
    if isinstance(resources, str) and kustomization_file(repo / resources) is None:
        what = "is not a directory" if not (repo / resources).is_dir() else "has no kustomization.yaml"
        yield doc.problem(("spec", "source", "helm", "resources"), f"resources: {resources!r} {what} under {repo}")
    if isinstance(chart, str) and not (repo / chart / "Chart.yaml").is_file():
        what = "is not a directory" if not (repo / chart).is_dir() else "has no Chart.yaml"
        yield doc.problem(("spec", "source", "helm", "chart"), f"chart: {chart!r} {what} under {repo}")
    elif isinstance(chart, str):
        try:
            chart_name(repo / chart / "Chart.yaml", posixpath.join(posixpath.normpath(chart), "Chart.yaml"))
        except ChartError as error:
            yield doc.problem(("spec", "source", "helm", "chart"), f"chart: {error}")
    values = _get(spec_data, "source", "helm", "values")
    for i, value in enumerate(values if isinstance(values, list) else ()):
        if isinstance(value, str) and not (repo / value).is_file():
            yield doc.problem(("spec", "source", "helm", "values", i), f"values: {value!r} is not a file under {repo}")


class ChartError(Exception):
    """A ``Chart.yaml`` that cannot be read; the message starts with the file."""


def chart_name(chart_yaml: Path, shown: str) -> str:
    """The ``name`` in a chart's ``Chart.yaml`` (``shown`` names the file in errors).

    >>> import tempfile
    >>> bad = Path(tempfile.mkdtemp()) / "Chart.yaml"
    >>> _ = bad.write_bytes(b"name: [web")
    >>> chart_name(bad, "charts/web/Chart.yaml")
    Traceback (most recent call last):
    ...
    rollgen.spec.repository.ChartError: charts/web/Chart.yaml: not valid YAML (line 2, column 1)
    """
    try:
        text = chart_yaml.read_bytes().decode("utf-8")
        metadata = yamlload.load(text)
    except OSError as error:
        raise ChartError(f"{shown}: cannot be read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise ChartError(f"{shown}: not UTF-8 (byte {error.start})") from None
    except yamlload.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ChartError(f"{shown}: not valid YAML{where}") from None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        raise ChartError(f"{shown}: has no chart name (a top-level 'name: <chart>')")
    name: str = metadata["name"]
    return name


def overlap_problems(outputs: Iterable[Claim], reads: Iterable[Claim], bases: Collection[Claim] = ()) -> list[Problem]:
    """Each output overlapping another output, or anything read: one problem at each end.

    An output overlapping what its own spec reads is one problem, at the output;
    over its own base (one of ``bases``), none: ``checks.check_paths`` says so
    from the text alone, repository or not.
    """
    outs, ins = list(outputs), list(reads)
    other_outputs, read = _ByPath(outs), _ByPath(ins)
    problems: list[Problem] = []
    for i, a in enumerate(outs):
        for b in (outs[j] for j in other_outputs.overlapping(a.path) if j > i):
            problems.append(_at(a, f"output.path {a.path!r} overlaps the output.path {b.path!r} of {_where(b)}"))
            problems.append(_at(b, f"output.path {b.path!r} overlaps the output.path {a.path!r} of {_where(a)}"))
        for b in (ins[j] for j in read.overlapping(a.path)):
            if not (b.at.path == a.at.path and b in bases):
                problems.append(
                    _at(
                        a,
                        f"output.path {a.path!r} overlaps {b.path!r}, which a release reads ({b.at.message}, {_where(b)}): rollgen rewrites the whole output directory",
                    )
                )
                if b.at.path != a.at.path:
                    problems.append(
                        _at(
                            b,
                            f"{b.path!r} ({b.at.message}) overlaps the output.path {a.path!r} of {_where(a)}: rollgen rewrites the whole output directory",
                        )
                    )
    return problems


class _ByPath:
    """Claims by path, to find those overlapping a path without comparing every pair (a repository has thousands).

    >>> at = Problem("r.yaml", 1, 1, "output.path")
    >>> index = _ByPath([Claim(p, at) for p in ("a", "a/b", "ab", "c", "a/b/c")])
    >>> index.overlapping("a/b"), index.overlapping("."), index.overlapping("ab/x")
    ([0, 1, 4], [0, 1, 2, 3, 4], [2])
    """

    def __init__(self, claims: Sequence[Claim]) -> None:
        self._count = len(claims)
        self._at: dict[str, list[int]] = {}
        for i, claim in enumerate(claims):
            self._at.setdefault(claim.path, []).append(i)
        self._paths = sorted(self._at)

    def overlapping(self, path: str) -> list[int]:
        """The indices of the claims overlapping ``path``, in order: the same path, one above or below it, or ``.``."""
        if path == ".":
            return list(range(self._count))
        parts = path.split("/")
        found = [*self._at.get(".", ())]
        for n in range(1, len(parts) + 1):  # the path itself and the directories above it
            found += self._at.get("/".join(parts[:n]), ())
        below = path + "/"
        for key in self._paths[bisect.bisect_left(self._paths, below) :]:
            if not key.startswith(below):
                break
            found += self._at[key]
        return sorted(set(found))


def other_claims(root: Path, given: Collection[Path]) -> list[Claims]:
    """What each release spec in the repository at ``root`` but not in ``given`` writes and reads.

    A spec that cannot be read is left out: its own validation says why.
    """
    from rollgen.spec.tracked import repository_specs
    from rollgen.spec.yamldoc import LoadError, read_document

    skip = {p.resolve() for p in given}
    found = []
    for path in repository_specs(root):
        if path.resolve() in skip:
            continue
        try:
            document = read_document(path, relative_to_cwd(path))
        except LoadError:
            continue
        found.append(claims(document, root, path))
    return found


def relative_to_cwd(path: Path) -> str:
    """``path`` as problems name it: relative to the working directory when below it (as a hook passes paths)."""
    try:
        return Path(os.path.normpath(path.absolute())).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def _at(claim: Claim, message: str) -> Problem:
    return Problem(claim.at.path, claim.at.line, claim.at.col, message)


def _where(claim: Claim) -> str:
    return f"{claim.at.path}:{claim.at.line}:{claim.at.col}"
