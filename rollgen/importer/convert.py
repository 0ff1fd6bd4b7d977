"""Import: the first Rollout, Canary, HelmRelease or Helm Application among the manifests, converted; and the
files that hold the result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rollgen.importer.conversion import Conversion, NotConvertible, Notes, Options
from rollgen.importer.documents import Manifest
from rollgen.importer.flagger import convert_canary
from rollgen.importer.published import convert_helm
from rollgen.importer.rollouts import convert_rollout
from rollgen.render.manifests import dump_yaml

# The options depend on the release's name and namespace, which only the input knows, and on its kind (Helm or not).
OptionsFor = Callable[[str, "str | None", bool], Options]
# A file of the GitOps repository by its path there (an Application's ``$values/`` files), None when absent.
ReadFile = Callable[[str], "bytes | None"]
_PRIMARY = ("Rollout", "Canary", "HelmRelease", "Application")
SCHEMA_LINE = "# yaml-language-server: $schema=https://rollgen.io/schemas/release.schema.json\n"


def convert(manifests: tuple[Manifest, ...], options_for: OptionsFor, read_file: ReadFile) -> Conversion:
    """Convert the first Rollout, Canary, HelmRelease or Helm Application of ``manifests``; the others get a note."""
    primary = [m for m in manifests if m.kind in _PRIMARY]
    if not primary:
        notes = Notes()
        if manifests:
            notes.add(
                manifests[0],
                ("kind",),
                "no Argo Rollouts Rollout, Flagger Canary, Flux HelmRelease or Argo CD Application among the input files",
            )
        raise NotConvertible(notes)
    first = primary[0]
    helm = first.kind in ("HelmRelease", "Application")
    options = options_for(first.name, (first.data.get("metadata", {}) or {}).get("namespace"), helm)
    if first.kind == "Rollout":
        conversion = convert_rollout(first, manifests, options)
    elif first.kind == "Canary":
        conversion = convert_canary(first, manifests, options)
    else:
        conversion = convert_helm(first, manifests, options, read_file)
    extra = tuple(m.at(("kind",), f"{m.kind} {m.name} is not converted: one release per import") for m in primary[1:])
    return Conversion(conversion.name, conversion.release, conversion.files, conversion.notes + extra)


def write(out: Path, conversion: Conversion) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "release.yaml").write_text(SCHEMA_LINE + dump_yaml(conversion.release))
    for name, content in sorted(conversion.files.items()):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(content)
