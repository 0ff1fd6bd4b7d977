"""Import: the first Rollout or Canary among the manifests, converted; and the files that hold the result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rollgen.importer.conversion import Conversion, NotConvertible, Notes, Options
from rollgen.importer.documents import Manifest
from rollgen.importer.flagger import convert_canary
from rollgen.importer.rollouts import convert_rollout
from rollgen.render.manifests import dump_yaml

# The options depend on the release's name and namespace, which only the input knows.
OptionsFor = Callable[[str, "str | None"], Options]
SCHEMA_LINE = "# yaml-language-server: $schema=https://rollgen.io/schemas/release.schema.json\n"


def convert(manifests: tuple[Manifest, ...], options_for: OptionsFor) -> Conversion:
    """Convert the first Rollout or Canary of ``manifests``; the others get a note each."""
    primary = [m for m in manifests if m.kind in ("Rollout", "Canary")]
    if not primary:
        notes = Notes()
        if manifests:
            notes.add(manifests[0], ("kind",), "no Argo Rollouts Rollout or Flagger Canary among the input files")
        raise NotConvertible(notes)
    first = primary[0]
    options = options_for(first.name, (first.data.get("metadata", {}) or {}).get("namespace"))
    if first.kind == "Rollout":
        conversion = convert_rollout(first, manifests, options)
    else:
        conversion = convert_canary(first, manifests, options)
    extra = tuple(m.at(("kind",), f"{m.kind} {m.name} is not converted: one release per import") for m in primary[1:])
    return Conversion(conversion.name, conversion.release, conversion.base, conversion.notes + extra)


def write(out: Path, conversion: Conversion) -> None:
    (out / "base").mkdir(parents=True, exist_ok=True)
    (out / "release.yaml").write_text(SCHEMA_LINE + dump_yaml(conversion.release))
    for name, content in sorted(conversion.base.items()):
        (out / "base" / name).write_bytes(content)
