"""``rollgen bootstrap``: the Argo CD or Flux objects that sync every release's output (see :mod:`rollgen.bootstrap`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rollgen.bootstrap import ENGINES, Settings, bootstrap_objects, files, write
from rollgen.cli.root import load_spec
from rollgen.errors import EXIT_OK, UsageError
from rollgen.spec.discover import release_specs


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("engine", choices=ENGINES, help="the GitOps engine")
    parser.add_argument("specs", nargs="+", metavar="SPEC|DIR", help="release specs, or directories holding them")
    parser.add_argument("--repo-url", required=True, metavar="URL", help="the GitOps repository the engine pulls")
    parser.add_argument("--revision", default="main", metavar="BRANCH", help="branch the engine follows (default main)")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write the objects into")
    parser.add_argument(
        "--namespace", metavar="NS", help="namespace of the engine's objects (default argocd / flux-system)"
    )
    parser.add_argument("--project", default="default", help="Argo CD project (default default)")
    parser.add_argument(
        "--server", default="https://kubernetes.default.svc", metavar="URL", help="Argo CD destination cluster"
    )
    parser.add_argument("--interval", default="1m", help="Flux reconcile interval (default 1m)")
    parser.add_argument(
        "--name",
        default="rollgen",
        help="name of the Flux GitRepository or the Argo CD ApplicationSet (default rollgen)",
    )
    parser.add_argument(
        "--applicationset", action="store_true", help="Argo CD: one ApplicationSet over every Kustomize release"
    )
    parser.add_argument(
        "--repo", default=".", metavar="PATH", help="GitOps repository root the specs' paths are relative to"
    )


def run(args: argparse.Namespace) -> int:
    paths = release_specs(Path(name) for name in args.specs)
    if not paths:
        raise UsageError(f"no release spec (kind: Release) in {' '.join(args.specs)}")
    settings = Settings(
        repo_url=args.repo_url,
        revision=args.revision,
        namespace=args.namespace,
        project=args.project,
        server=args.server,
        interval=args.interval,
        source_name=args.name,
        applicationset=args.applicationset,
    )
    objects = bootstrap_objects(args.engine, (load_spec(str(p)) for p in paths), settings, Path(args.repo))
    changed = write(Path(args.out), files(objects))
    for name in changed:
        print(f"wrote {Path(args.out) / name}", file=sys.stderr)
    print(f"{len(paths)} release(s), {len(objects)} object(s), {len(changed) or 'no'} file(s) changed", file=sys.stderr)
    return EXIT_OK
