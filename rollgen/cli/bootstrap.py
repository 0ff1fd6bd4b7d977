"""``rollgen bootstrap``: the Argo CD or Flux objects that sync every release's output (see :mod:`rollgen.bootstrap`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rollgen.bootstrap import ENGINES, Settings, bootstrap_objects, files, parse_source_ref, write
from rollgen.cli.root import load_spec
from rollgen.durations import Duration
from rollgen.errors import EXIT_OK, UsageError
from rollgen.spec.discover import release_specs


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("engine", choices=ENGINES, help="the GitOps engine")
    parser.add_argument("specs", nargs="+", metavar="SPEC|DIR", help="release specs, or directories holding them")
    parser.add_argument(
        "--repo-url", metavar="URL", help="the GitOps repository the engine pulls (required unless --source-ref)"
    )
    parser.add_argument("--revision", default="main", metavar="BRANCH", help="branch the engine follows (default main)")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write the objects into")
    parser.add_argument(
        "--namespace", metavar="NS", help="namespace of the engine's objects (default argocd / flux-system)"
    )
    parser.add_argument("--project", default="default", help="Argo CD project (default default)")
    parser.add_argument(
        "--server", default="https://kubernetes.default.svc", metavar="URL", help="Argo CD destination cluster"
    )
    parser.add_argument(
        "--interval", default="1m", metavar="DURATION", help="Flux reconcile interval, e.g. 30s, 5m (default 1m)"
    )
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
    parser.add_argument(
        "--secret-ref",
        metavar="NAME",
        help="Flux: the Secret the GitRepository authenticates with, in its namespace (a private repository)",
    )
    parser.add_argument(
        "--source-ref",
        metavar="[NAMESPACE/]NAME",
        help="Flux: pull from this existing GitRepository (e.g. flux-system) instead of writing one",
    )


def run(args: argparse.Namespace) -> int:
    interval = Duration.of_option("--interval", args.interval)
    if interval.nanoseconds % 1_000_000:
        raise UsageError(f"--interval {args.interval!r}: Flux reads whole milliseconds")
    paths = release_specs(Path(name) for name in args.specs)
    if not paths:
        raise UsageError(f"no release spec (kind: Release) in {' '.join(args.specs)}")
    settings = Settings(
        repo_url=args.repo_url,
        revision=args.revision,
        namespace=args.namespace,
        project=args.project,
        server=args.server,
        interval=str(interval),  # as `flux create` writes it: Go's form, 1m0s
        source_name=args.name,
        applicationset=args.applicationset,
        secret_ref=args.secret_ref,
        source_ref=None if args.source_ref is None else parse_source_ref(args.source_ref),
    )
    objects = bootstrap_objects(args.engine, (load_spec(str(p)) for p in paths), settings, Path(args.repo))
    changed = write(Path(args.out), files(objects))
    for name in changed:
        print(f"wrote {Path(args.out) / name}", file=sys.stderr)
    print(f"{len(paths)} release(s), {len(objects)} object(s), {len(changed) or 'no'} file(s) changed", file=sys.stderr)
    return EXIT_OK
