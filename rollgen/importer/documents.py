"""Every YAML document of the files given to ``rollgen import``, with positions.

Release specs hold one document per file; the manifests being imported
usually hold several (a Rollout and its AnalysisTemplates, a Deployment and
its Service), so this reads them all with the release spec loader's
position-keeping, hostile-input-safe builder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollgen.errors import Problem, UsageError
from rollgen.spec.yamldoc import MAX_BYTES, Document, JsonPath, LoadError, _Builder, _check_flow_depth, _loader


class UnreadableInput(UsageError):
    """An input file that is missing, not YAML, or not Kubernetes objects (exit 2)."""


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object of an input file and where its nodes stood."""

    document: Document

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.document.data
        return data

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def name(self) -> str:
        metadata = self.data.get("metadata")
        return str(metadata.get("name", "")) if isinstance(metadata, Mapping) else ""

    def at(self, where: JsonPath, message: str) -> Problem:
        """A note positioned at the key ``where`` names (its value when there is no key)."""
        return self.document.problem(where, message, at_key=True)


def read_manifests(paths: Iterable[Path]) -> tuple[Manifest, ...]:
    """Every object in ``paths``, in file order; :class:`UnreadableInput` names the first bad file."""
    found: list[Manifest] = []
    for path in paths:
        name = str(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UnreadableInput(f"{name}: cannot read: {exc.strerror or exc}") from None
        if len(raw) > MAX_BYTES:
            raise UnreadableInput(f"{name}: file too large (at most 1 MiB)")
        try:
            found += parse_manifests(raw, name)
        except LoadError as exc:
            hint = " (a Helm template? render it first)" if "invalid YAML" in exc.problem.message else ""
            raise UnreadableInput(f"{exc.problem}{hint}") from None
    return tuple(found)


def parse_manifests(raw: bytes, name: str) -> list[Manifest]:
    """The objects in one file's bytes; empty documents are skipped, anything else must be a mapping."""
    import yaml

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LoadError(Problem(name, 1, 1, "not valid UTF-8")) from None
    _check_flow_depth(text, name)
    manifests = []
    try:
        for node in yaml.compose_all(text, Loader=_loader()):
            if node is None:
                continue
            document = Document(name, None)
            document.data = _Builder(document).build(node)
            if document.data is None:
                continue
            if not isinstance(document.data, dict) or "kind" not in document.data:
                raise LoadError(document.problem((), "expected a Kubernetes object (a mapping with a kind)"))
            manifests.append(Manifest(document))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise LoadError(Problem(name, line, col, f"invalid YAML: {exc.problem or exc.context}")) from None
    except yaml.YAMLError as exc:
        raise LoadError(Problem(name, 1, 1, f"invalid YAML: {exc}")) from None
    return manifests
