"""``rollgen import FILE...``: the command's options and the shell around the pure converters (and the Helm one's pull)."""

from __future__ import annotations

import argparse
import os
import posixpath
import subprocess
import sys
from pathlib import Path

from rollgen.cli.root import empty_output
from rollgen.errors import EXIT_FAILURE, EXIT_OK, Problem, UsageError
from rollgen.importer.conversion import NotConvertible, Options
from rollgen.importer.convert import convert, write
from rollgen.importer.documents import Manifest, UnreadableInput, parse_manifests, read_manifests
from rollgen.spec.yamldoc import LoadError
from rollgen.tools import find_tool


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="the Rollout or Canary, and the objects it refers to (AnalysisTemplates, MetricTemplates, "
        "the target Deployment, Services, HPA); or a Flux HelmRelease with its HelmRepository or OCIRepository, "
        "or an Argo CD Application with a Helm chart. A directory is built with kubectl kustomize first: an "
        "environment with its patches, as the engine applies it",
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="empty directory for release.yaml and base/ (Helm: values.yaml)"
    )
    parser.add_argument(
        "--base-path",
        metavar="PATH",
        help="where base/ will sit in the GitOps repository, for source.kustomize.base (default: DIR/base); "
        "for a Helm release, where DIR sits (its values.yaml and resources/)",
    )
    parser.add_argument(
        "--output-path",
        metavar="PATH",
        help="output.path of the release (default: the directory given, which the engine applies; else "
        "overlays/NAME/NAMESPACE)",
    )
    parser.add_argument("--namespace", default="default", help="namespace when the input names none (default default)")
    parser.add_argument(
        "--prometheus",
        default="http://prometheus.monitoring:9090",
        metavar="URL",
        help="Prometheus address for metrics whose input names none (Flagger's builtin metrics)",
    )


def run(args: argparse.Namespace) -> int:
    out = empty_output(args.out, "import never overwrites files")
    manifests = read_inputs([Path(name) for name in args.files])
    directories = [name for name in args.files if Path(name).is_dir()]
    try:
        conversion = convert(
            manifests,
            lambda name, namespace, helm: _options(args, name, namespace, helm, directories),
            _read_in_repository,
        )
    except NotConvertible as exc:
        _report(exc.notes.found)
        print("rollgen: nothing convertible: the notes above say why", file=sys.stderr)
        return EXIT_FAILURE
    write(out, conversion)
    _report(list(conversion.notes))
    written = sorted({name.split("/", 1)[0] + ("/" if "/" in name else "") for name in conversion.files})
    print(
        f"wrote {out / 'release.yaml'} and {', '.join(written)} ({len(conversion.notes)} note(s)), naming what runs; "
        f"check it with rollgen validate {out / 'release.yaml'}, then take it over with rollgen adopt",
        file=sys.stderr,
    )
    return EXIT_OK


def _in_repository(path: Path, flag: str) -> str:
    """``path`` relative to the working directory, taken to be the GitOps repository's root."""
    relative = Path(os.path.relpath(path.absolute(), Path.cwd())).as_posix()
    if relative.startswith(".."):
        raise UsageError(
            f"{path} is outside the working directory: run in the GitOps repository or give {flag} "
            "(where it will sit in the repository)"
        )
    return posixpath.normpath(relative)


def _options(args: argparse.Namespace, name: str, namespace: str | None, helm: bool, directories: list[str]) -> Options:
    if helm:
        # A Helm release's spec reads DIR itself (values.yaml, resources/); its output is what the engine applies.
        files = args.base_path or _in_repository(Path(args.out), "--base-path")
        applied = _in_repository(Path(directories[0]), "--output-path") if directories else None
        output = args.output_path or applied or f"overlays/{name}/{namespace or args.namespace}"
        return Options(files, output, args.namespace, args.prometheus)
    base_path = args.base_path or posixpath.join(_in_repository(Path(args.out), "--base-path"), "base")
    output = args.output_path or f"overlays/{name}/{namespace or args.namespace}"
    return Options(base_path, output, args.namespace, args.prometheus)


def read_inputs(paths: list[Path]) -> tuple[Manifest, ...]:
    """Every object of the files, and of each directory as ``kubectl kustomize`` builds it (in the order given)."""
    found: list[Manifest] = []
    for path in paths:
        found += _built(path) if path.is_dir() else read_manifests([path])
    return tuple(found)


def _built(directory: Path) -> list[Manifest]:
    """A Kustomize directory as Flux's kustomize-controller (and Argo CD) build it; notes point into the build."""
    kubectl = find_tool("kubectl")
    if kubectl is None:
        raise UsageError(f"kubectl is not installed: rollgen builds {directory} with `kubectl kustomize`")
    built = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, check=False, timeout=120)
    if built.returncode != 0:
        raise UsageError(f"kubectl kustomize {directory} failed:\n{built.stderr.decode(errors='replace').strip()}")
    try:
        return parse_manifests(built.stdout, f"{directory} (kubectl kustomize)")
    except LoadError as exc:
        raise UnreadableInput(str(exc.problem)) from None


def _read_in_repository(path: str) -> bytes | None:
    """A file of the GitOps repository (the working directory), for an Application's ``$values/`` files."""
    target = Path(path)
    if target.is_absolute() or ".." in target.parts or not target.is_file():
        return None
    return target.read_bytes()


def _report(notes: list[Problem]) -> None:
    if notes:
        print("cannot express (or expressed differently):")
    for note in sorted(notes):
        print(f"  {note}")
