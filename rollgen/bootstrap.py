"""``rollgen bootstrap argocd|flux SPEC|DIR...``: what points the GitOps engine at every release's output.

rollgen commits each step into a release's ``output.path``; something must
make Argo CD or Flux apply that directory, with the settings the gates rely
on:

* **Argo CD**: an Application per release (``--applicationset``: one
  ApplicationSet whose git directory generator lists every Kustomize
  release's output directory), with automated sync, ``prune`` (a version
  removed from the output is deleted) and ``selfHeal`` (drift is undone, so
  the cluster is what Git says). Argo CD's health assessment is what the
  ``argocd`` gate reads.
* **Flux**: one GitRepository for the repository and, per release, a
  Kustomization with ``prune: true`` and ``wait: true`` (Ready only once every
  object it applied is healthy, which the ``flux`` gate reads).

Helm releases get the objects :mod:`rollgen.render.helm` already renders (a
multi-source Application or a HelmRelease over the chart in the repository),
with the same sync settings; they need the single Helm release of
charts/rollgen-app, since one release per version changes with every step.
A chart from a repository (``source.helm.repository``) renders its output as
a Kustomize directory of HelmReleases or Applications, applied like a
Kustomize release's output.

An object is named after the release's own ``argocd`` or ``flux`` gate when it
has one (so the gate watches what bootstrap wrote), else after the output
directory, as the ApplicationSet names it (``overlays/web/prod`` -> ``prod``;
characters a name cannot hold become ``-``). Two objects of one name are
refused, never one written over the other.
The output is one file per object plus a ``kustomization.yaml`` listing them,
in a fixed order with fixed text: running the command again writes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import posixpath
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollgen.errors import EXIT_OK, UsageError
from rollgen.render.manifests import dump_yaml
from rollgen.spec.helmsource import ArgoCDTarget, FluxTarget, HelmSource
from rollgen.spec.model import Release

HEADER = "# Written by rollgen bootstrap: edit the release specs or the command's options, not this file.\n"
ENGINES = ("argocd", "flux")


@dataclass(frozen=True)
class Settings:
    """Where the GitOps repository is and where the engine's objects live."""

    repo_url: str
    revision: str = "main"
    namespace: str | None = None  # the engine's namespace: argocd or flux-system by default
    project: str = "default"
    server: str = "https://kubernetes.default.svc"
    interval: str = "1m"
    source_name: str = "rollgen"
    applicationset: bool = False

    def engine_namespace(self, engine: str) -> str:
        return self.namespace or ("argocd" if engine == "argocd" else "flux-system")


Objects = dict[str, dict[str, Any]]  # file name -> object


def bootstrap_objects(engine: str, releases: Iterable[Release], settings: Settings, repo_root: Path) -> Objects:
    """Every object the engine needs for ``releases``, by file name, in a fixed order."""
    ordered = sorted(releases, key=lambda r: (r.name, r.namespace, r.output_path))
    _check_unique(ordered)
    objects: Objects = {}
    if engine == "argocd":
        kustomize = [r for r in ordered if not _helm_objects_apply(r)]
        if settings.applicationset and kustomize:
            objects["applicationset.yaml"] = _application_set(kustomize, settings)
        for release in ordered:
            if _helm_objects_apply(release) or not settings.applicationset:
                for obj in _argocd(release, settings, repo_root):
                    _add(objects, f"{obj['metadata']['name']}.application.yaml", obj, release)
    else:
        objects["gitrepository.yaml"] = _git_repository(settings)
        for release in ordered:
            for obj in _flux(release, settings, repo_root):
                _add(objects, f"{obj['metadata']['name']}.{obj['kind'].lower()}.yaml", obj, release)
    return objects


def _add(objects: Objects, name: str, obj: dict[str, Any], release: Release) -> None:
    if name in objects:
        raise UsageError(
            f"release {release.name}: {obj['kind']} {obj['metadata']['name']} is already written for another release; "
            "give the releases distinct output directory names or argocd/flux gates naming distinct objects"
        )
    objects[name] = obj


def files(objects: Objects) -> dict[str, bytes]:
    """The directory: each object's file and a kustomization.yaml listing them."""
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(objects),
    }
    written = {name: HEADER + dump_yaml(obj) for name, obj in objects.items()}
    written["kustomization.yaml"] = HEADER + dump_yaml(kustomization)
    return {name: text.encode() for name, text in written.items()}


# --- Argo CD -----------------------------------------------------------------


def _sync_policy() -> dict[str, Any]:
    # prune: a version a step removes is deleted; selfHeal: drift is undone, so the
    # cluster is what the commit says when the argocd gate sees it Synced and Healthy.
    return {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]}


def _argocd(release: Release, settings: Settings, repo_root: Path) -> list[dict[str, Any]]:
    namespace = settings.engine_namespace("argocd")
    if isinstance(release.source, HelmSource) and _helm_objects_apply(release):
        target = ArgoCDTarget(settings.repo_url, settings.project, namespace)
        apps = _helm_objects(release, dataclasses.replace(release.source, argocd=target, flux=None), repo_root)
        for app in apps:
            app["metadata"]["name"] = _gate_name(release, "argocd", _directory_name(release))
            app["spec"]["destination"]["server"] = settings.server
            app["spec"]["syncPolicy"] = _sync_policy()
        return apps
    return [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": _gate_name(release, "argocd", _directory_name(release)), "namespace": namespace},
            "spec": {
                "project": settings.project,
                "source": {
                    "repoURL": settings.repo_url,
                    "targetRevision": settings.revision,
                    "path": posixpath.normpath(release.output_path),
                },
                "destination": {"server": settings.server, "namespace": release.namespace},
                "syncPolicy": _sync_policy(),
            },
        }
    ]


def _application_set(releases: list[Release], settings: Settings) -> dict[str, Any]:
    """One ApplicationSet: the git directory generator lists each output directory; each becomes an Application."""
    names = [_directory_name(r) for r in releases]
    for release, name in zip(releases, names, strict=True):
        if _gate_name(release, "argocd", name) != name:
            raise UsageError(
                f"release {release.name}: its argocd gate watches {_gate_name(release, 'argocd', name)}, but the "
                f"ApplicationSet names its Application {name} (after the output directory); rename one, or drop "
                "--applicationset"
            )
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise UsageError(
            f"output directories share the name {', '.join(clash)}: an ApplicationSet names each Application after "
            "its directory; drop --applicationset to get one Application per release"
        )
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": settings.source_name, "namespace": settings.engine_namespace("argocd")},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [
                {
                    "git": {
                        "repoURL": settings.repo_url,
                        "revision": settings.revision,
                        "directories": [{"path": posixpath.normpath(r.output_path)} for r in releases],
                    }
                }
            ],
            "template": {
                "metadata": {"name": "{{ .path.basenameNormalized }}"},
                "spec": {
                    "project": settings.project,
                    "source": {
                        "repoURL": settings.repo_url,
                        "targetRevision": settings.revision,
                        "path": "{{ .path.path }}",
                    },
                    # Each output's kustomization.yaml sets the release's namespace on every object.
                    "destination": {"server": settings.server},
                    "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
                },
            },
        },
    }


# --- Flux --------------------------------------------------------------------


def _git_repository(settings: Settings) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": settings.source_name, "namespace": settings.engine_namespace("flux")},
        "spec": {"interval": settings.interval, "url": settings.repo_url, "ref": {"branch": settings.revision}},
    }


def _flux(release: Release, settings: Settings, repo_root: Path) -> list[dict[str, Any]]:
    namespace = settings.engine_namespace("flux")
    if isinstance(release.source, HelmSource) and _helm_objects_apply(release):
        target = FluxTarget(settings.source_name, namespace)
        objects = _helm_objects(release, dataclasses.replace(release.source, flux=target, argocd=None), repo_root)
        for obj in objects:
            obj["metadata"]["name"] = _gate_name(release, "flux", _directory_name(release))
            obj["spec"]["interval"] = settings.interval
        return objects
    return [
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": _gate_name(release, "flux", _directory_name(release)), "namespace": namespace},
            "spec": {
                "interval": settings.interval,
                "path": "./" + posixpath.normpath(release.output_path),
                "prune": True,
                # Ready only when what it applied is healthy: the flux gate's evidence.
                "wait": True,
                "timeout": "5m",
                "sourceRef": {"kind": "GitRepository", "name": settings.source_name},
            },
        }
    ]


# --- shared ------------------------------------------------------------------


def _helm_objects_apply(release: Release) -> bool:
    """Whether the engine applies the release's rendered Application or HelmRelease (a chart in this repository).

    A chart from a repository renders its output as a Kustomize directory (one
    HelmRelease or Application per version in it): the engine applies that
    directory, like a Kustomize release's.
    """
    return isinstance(release.source, HelmSource) and release.source.remote is None


def _helm_objects(release: Release, source: HelmSource, repo_root: Path) -> list[dict[str, Any]]:
    """The Application or HelmRelease :mod:`rollgen.render.helm` writes for the release, read back."""
    from rollgen import yamlload
    from rollgen.plan import plan_release
    from rollgen.render.helm import read_chart, render_state

    if source.per_version is not None:
        raise UsageError(
            f"release {release.name}: a chart with one Helm release per version changes its releases at every step; "
            "set source.helm.argocd or source.helm.flux so each step commits them, and point the engine at "
            f"{release.output_path} yourself"
        )
    where = dataclasses.replace(release, source=source)
    rendered = render_state(where, plan_release(where).initial, read_chart(repo_root, where))
    name = "application.yaml" if source.argocd is not None else "helmrelease.yaml"
    return [d for d in yamlload.load_all(rendered[name]) if d]


def _gate_name(release: Release, kind: str, default: str) -> str:
    """The name the release's argocd (flux) gate watches, so the gate judges what bootstrap wrote."""
    for gate in release.gates:
        if gate.kind == kind:
            name = gate.config.get("application" if kind == "argocd" else "name")
            if isinstance(name, str):
                return name
    return default


def _directory_name(release: Release) -> str:
    """The output directory's name as Argo CD's ``path.basenameNormalized`` gives it."""
    return re.sub(r"[^a-zA-Z0-9-]", "-", posixpath.basename(posixpath.normpath(release.output_path)))


def _check_unique(releases: list[Release]) -> None:
    seen: dict[str, str] = {}
    for release in releases:
        path = posixpath.normpath(release.output_path)
        if path in seen:
            raise UsageError(f"releases {seen[path]} and {release.name} both write {path}: one release per output")
        seen[path] = release.name


# --- command -----------------------------------------------------------------


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
    from rollgen.cli.root import load_release
    from rollgen.spec.discover import release_specs

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
    objects = bootstrap_objects(args.engine, (load_release(str(p)) for p in paths), settings, Path(args.repo))
    changed = write(Path(args.out), files(objects))
    for name in changed:
        print(f"wrote {Path(args.out) / name}", file=sys.stderr)
    print(f"{len(paths)} release(s), {len(objects)} object(s), {len(changed) or 'no'} file(s) changed", file=sys.stderr)
    return EXIT_OK


def write(out: Path, wanted: dict[str, bytes]) -> list[str]:
    """Make ``out`` hold ``wanted``: files whose bytes differ are written, bootstrap's stale files removed."""
    out.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, content in wanted.items():
        path = out / name
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)
            changed.append(name)
    for path in sorted(out.glob("*.yaml")):
        # Only files this command wrote (they start with its header) are its to remove.
        if path.name not in wanted and path.read_bytes().startswith(HEADER.encode()):
            path.unlink()
            changed.append(path.name)
    return changed
