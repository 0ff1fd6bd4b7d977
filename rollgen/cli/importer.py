"""``rollgen import FILE...``: the command's options and the shell around the converters (:mod:`rollgen.importer`)."""

from __future__ import annotations

import argparse
import os
import posixpath
import sys
from pathlib import Path

from rollgen.cli.root import empty_output
from rollgen.errors import EXIT_FAILURE, EXIT_OK, Problem, UsageError
from rollgen.importer.conversion import NotConvertible, Options
from rollgen.importer.convert import convert, write
from rollgen.importer.documents import read_manifests


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="the Rollout or Canary, and the objects it refers to (AnalysisTemplates, MetricTemplates, "
        "the target Deployment, Services, HPA)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="empty directory for release.yaml and base/")
    parser.add_argument(
        "--base-path",
        metavar="PATH",
        help="where base/ will sit in the GitOps repository, for source.kustomize.base (default: DIR/base)",
    )
    parser.add_argument(
        "--output-path", metavar="PATH", help="output.path of the release (default: overlays/NAME/NAMESPACE)"
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
    manifests = read_manifests(Path(name) for name in args.files)
    try:
        conversion = convert(manifests, lambda name, namespace: _options(args, name, namespace))
    except NotConvertible as exc:
        _report(exc.notes.found)
        print("rollgen: nothing convertible: the notes above say why", file=sys.stderr)
        return EXIT_FAILURE
    write(out, conversion)
    _report(list(conversion.notes))
    print(
        f"wrote {out / 'release.yaml'} and {out / 'base'}/ ({len(conversion.notes)} note(s)), naming what runs; "
        f"check it with rollgen validate {out / 'release.yaml'}, then take it over with rollgen adopt",
        file=sys.stderr,
    )
    return EXIT_OK


def _default_base_path(out: Path) -> str:
    """``OUT/base`` relative to the working directory, taken to be the GitOps repository's root."""
    relative = Path(os.path.relpath(out.absolute(), Path.cwd())).as_posix()
    if relative.startswith(".."):
        raise UsageError(
            f"--out {out} is outside the working directory: run in the GitOps repository or give --base-path "
            "(where the base will sit in the repository)"
        )
    return posixpath.join(relative, "base")


def _options(args: argparse.Namespace, name: str, namespace: str | None) -> Options:
    base_path = args.base_path or _default_base_path(Path(args.out))
    output = args.output_path or f"overlays/{name}/{namespace or args.namespace}"
    return Options(base_path, output, args.namespace, args.prometheus)


def _report(notes: list[Problem]) -> None:
    if notes:
        print("cannot express (or expressed differently):")
    for note in sorted(notes):
        print(f"  {note}")
