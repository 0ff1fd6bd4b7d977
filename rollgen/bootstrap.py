"""``rollgen bootstrap argocd|flux SPEC|DIR...``: what points the GitOps engine at every release's output.

rollgen commits each step into a release's ``output.path``; something must
make Argo CD or Flux apply that directory, with the settings the gates rely
on:

* **Argo CD**: an Application per release (``--applicationset``: one
  ApplicationSet whose list generator holds every Kustomize release's name,
  output path and namespace), with automated sync, ``prune`` (a version
  removed from the output is deleted) and ``selfHeal`` (drift is undone, so
  the cluster is what Git says). Argo CD's health assessment is what the
  ``argocd`` gate reads.
* **Flux**: one GitRepository for the repository (with ``secretRef`` for a
  private one), or an existing one reused (``--source-ref``, such as the
  ``flux-system`` GitRepository ``flux bootstrap`` made), and, per release, a
  Kustomization with ``prune: true`` and ``wait: true`` (Ready only once every
  object it applied is healthy, which the ``flux`` gate reads). A reference to
  a GitRepository in another namespace names its namespace (Flux needs it
  there, and only there).

Helm releases get the objects :mod:`rollgen.render.helm` already renders (a
multi-source Application or a HelmRelease over the chart in the repository),
with the same sync settings; they need the single Helm release of
charts/rollgen-app, since one release per version changes with every step.
A chart from a repository (``source.helm.repository``) renders its output as
a Kustomize directory of HelmReleases or Applications, applied like a
Kustomize release's output.

Every Application (and each one the ApplicationSet generates) gets its
release's namespace as destination and ``CreateNamespace=true``.

An object is named after the release's own ``argocd`` or ``flux`` gate when it
has one (so the gate watches what bootstrap wrote), else after the whole
output path (``overlays/web/prod`` -> ``overlays-web-prod``, never the
directory's base name, which two releases may share; a path too long for a
name keeps its start and gains a digest of the whole). Two objects of one name
are refused, never one written over the other. The output is one file per
object plus a ``kustomization.yaml`` listing them, in a fixed order with fixed
text: running the command again writes nothing.

Credentials are never written: Flux reads them from the Secret ``secretRef``
names (in the GitRepository's namespace); Argo CD from a repository Secret it
matches by URL (docs/tutorial-argocd.md shows one).
"""

from __future__ import annotations

import dataclasses
import hashlib
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollgen import yamlload
from rollgen.errors import UsageError
from rollgen.names import MAX_NAME, slug
from rollgen.plan.steps import plan_release
from rollgen.render.helm import read_chart, render_state
from rollgen.render.manifests import dump_yaml
from rollgen.spec.helmsource import ArgoCDTarget, FluxTarget, HelmSource
from rollgen.spec.model import Release

HEADER = "# Written by rollgen bootstrap: edit the release specs or the command's options, not this file.\n"
ENGINES = ("argocd", "flux")


@dataclass(frozen=True, kw_only=True)
class SourceRef:
    """A Flux GitRepository: an existing one the objects pull from, or the one bootstrap writes."""

    namespace: str | None  # None: the engine's namespace
    name: str


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Where the GitOps repository is and where the engine's objects live."""

    repo_url: str | None  # None only with source_ref: the reused GitRepository has its own
    revision: str = "main"
    namespace: str | None = None  # the engine's namespace: argocd or flux-system by default
    project: str = "default"
    server: str = "https://kubernetes.default.svc"
    interval: str = "1m0s"  # Flux's interval, in Go's form
    source_name: str = "rollgen"
    applicationset: bool = False
    secret_ref: str | None = None  # Flux: the Secret the written GitRepository authenticates with
    source_ref: SourceRef | None = None

    def engine_namespace(self, engine: str) -> str:
        return self.namespace or ("argocd" if engine == "argocd" else "flux-system")

    def url(self) -> str:
        if self.repo_url is None:
            raise UsageError("--repo-url is required (Flux can reuse a GitRepository instead: --source-ref)")
        return self.repo_url

    def check(self, engine: str) -> None:
        """Refuse combinations that would silently drop an option."""
        if engine == "argocd" and self.secret_ref is not None:
            raise UsageError(
                "--secret-ref is Flux's: Argo CD reads a repository's credentials from a Secret labelled "
                "argocd.argoproj.io/secret-type: repository that it matches by URL (see docs/tutorial-argocd.md)"
            )
        if engine == "argocd" and self.source_ref is not None:
            raise UsageError("--source-ref names a Flux GitRepository; Argo CD pulls --repo-url itself")
        if self.source_ref is not None and (self.repo_url is not None or self.secret_ref is not None):
            raise UsageError(
                f"--source-ref reuses GitRepository {self.source_ref.name}, which has its own URL and credentials: "
                "drop --repo-url and --secret-ref"
            )
        if self.source_ref is None:
            self.url()  # refuses a missing --repo-url before anything is written


def parse_source_ref(text: str) -> SourceRef:
    """``NAME`` (in the engine's namespace) or ``NAMESPACE/NAME``.

    >>> parse_source_ref("flux-system"), parse_source_ref("infra/gitops")
    (SourceRef(namespace=None, name='flux-system'), SourceRef(namespace='infra', name='gitops'))
    """
    namespace, slash, name = text.partition("/")
    if not slash:
        namespace, name = "", text
    if not name or "/" in name or (slash and not namespace):
        raise UsageError(f"--source-ref {text}: give NAME or NAMESPACE/NAME of a GitRepository")
    return SourceRef(namespace=namespace or None, name=name)


Objects = dict[str, dict[str, Any]]  # file name -> object


def bootstrap_objects(engine: str, releases: Iterable[Release], settings: Settings, repo_root: Path) -> Objects:
    """Every object the engine needs for ``releases``, by file name, in a fixed order."""
    settings.check(engine)
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
        if settings.source_ref is None:
            objects["gitrepository.yaml"] = _git_repository(settings)
        for release in ordered:
            for obj in _flux(release, settings, repo_root):
                _add(objects, f"{obj['metadata']['name']}.{obj['kind'].lower()}.yaml", obj, release)
    return objects


def _add(objects: Objects, name: str, obj: dict[str, Any], release: Release) -> None:
    if name in objects:
        raise UsageError(
            f"release {release.name}: {obj['kind']} {obj['metadata']['name']} is already written for another release; "
            "give the releases argocd/flux gates naming distinct objects, or output paths that differ in more than "
            "punctuation"
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
        target = ArgoCDTarget(settings.url(), settings.project, namespace)
        apps = _helm_objects(release, dataclasses.replace(release.source, argocd=target, flux=None), repo_root)
        for app in apps:
            app["metadata"]["name"] = object_name(release, "argocd")
            app["spec"]["destination"]["server"] = settings.server
            app["spec"]["syncPolicy"] = _sync_policy()
        return apps
    return [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": object_name(release, "argocd"), "namespace": namespace},
            "spec": {
                "project": settings.project,
                "source": {
                    "repoURL": settings.url(),
                    "targetRevision": settings.revision,
                    "path": posixpath.normpath(release.output_path),
                },
                "destination": {"server": settings.server, "namespace": release.namespace},
                "syncPolicy": _sync_policy(),
            },
        }
    ]


def _application_set(releases: list[Release], settings: Settings) -> dict[str, Any]:
    """One ApplicationSet: its list generator holds each release's name, output path and namespace."""
    elements = [
        {"name": object_name(r, "argocd"), "path": posixpath.normpath(r.output_path), "namespace": r.namespace}
        for r in releases
    ]
    names = [e["name"] for e in elements]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise UsageError(
            f"the ApplicationSet would generate two Applications named {', '.join(clash)}: give the releases "
            "argocd gates naming distinct Applications, or output paths that differ in more than punctuation"
        )
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": settings.source_name, "namespace": settings.engine_namespace("argocd")},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": elements}}],
            # A release dropped from the set loses its Application, never what it runs.
            "syncPolicy": {"preserveResourcesOnDeletion": True},
            "template": {
                "metadata": {"name": "{{ .name }}"},
                "spec": {
                    "project": settings.project,
                    "source": {
                        "repoURL": settings.url(),
                        "targetRevision": settings.revision,
                        "path": "{{ .path }}",
                    },
                    "destination": {"server": settings.server, "namespace": "{{ .namespace }}"},
                    "syncPolicy": _sync_policy(),
                },
            },
        },
    }


# --- Flux --------------------------------------------------------------------


def _git_repository(settings: Settings) -> dict[str, Any]:
    spec: dict[str, Any] = {"interval": settings.interval, "url": settings.url(), "ref": {"branch": settings.revision}}
    if settings.secret_ref is not None:
        # The Secret lives beside the GitRepository: username/password (HTTPS) or identity/known_hosts (SSH).
        spec["secretRef"] = {"name": settings.secret_ref}
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": settings.source_name, "namespace": settings.engine_namespace("flux")},
        "spec": spec,
    }


def _source(settings: Settings) -> tuple[str, str]:
    """The namespace and name of the GitRepository every Flux object pulls from: the one reused, or the one written."""
    source = settings.source_ref or SourceRef(namespace=None, name=settings.source_name)
    return source.namespace or settings.engine_namespace("flux"), source.name


def _source_ref(settings: Settings, namespace: str) -> dict[str, str]:
    """The sourceRef of a Kustomization in ``namespace``: Flux reads one without a namespace as the object's own."""
    source_namespace, name = _source(settings)
    ref = {"kind": "GitRepository", "name": name}
    if source_namespace != namespace:
        ref["namespace"] = source_namespace
    return ref


def _flux(release: Release, settings: Settings, repo_root: Path) -> list[dict[str, Any]]:
    namespace = settings.engine_namespace("flux")
    if isinstance(release.source, HelmSource) and _helm_objects_apply(release):
        source_namespace, name = _source(settings)
        # The HelmRelease lives in the release's namespace: its chart's sourceRef always names the source's.
        target = FluxTarget(name, source_namespace)
        objects = _helm_objects(release, dataclasses.replace(release.source, flux=target, argocd=None), repo_root)
        for obj in objects:
            obj["metadata"]["name"] = object_name(release, "flux")
            obj["spec"]["interval"] = settings.interval
        return objects
    return [
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": object_name(release, "flux"), "namespace": namespace},
            "spec": {
                "interval": settings.interval,
                "path": "./" + posixpath.normpath(release.output_path),
                "prune": True,
                # Ready only when what it applied is healthy: the flux gate's evidence.
                "wait": True,
                "timeout": "5m",
                "sourceRef": _source_ref(settings, namespace),
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


def object_name(release: Release, kind: str) -> str:
    """The name the release's argocd (flux) gate watches, so the gate judges what bootstrap wrote; else its path's."""
    for gate in release.gates:
        if gate.kind == kind:
            name = gate.config.get("application" if kind == "argocd" else "name")
            if isinstance(name, str):
                return name
    return path_name(release.output_path)


def path_name(output_path: str) -> str:
    """A name for the whole output path, unique per path as far as a name's characters allow.

    >>> path_name("overlays/web/prod"), path_name("overlays/api/prod"), path_name("./Apps/web_v2/")
    ('overlays-web-prod', 'overlays-api-prod', 'apps-web-v2')
    >>> long = path_name("clusters/production-eu-west-1/teams/payments/apps/checkout-service/overlays/prod")
    >>> len(long), long[:40]
    (63, 'clusters-production-eu-west-1-teams-paym')
    """
    path = posixpath.normpath(output_path)
    name = slug(path)
    if len(name) <= MAX_NAME:
        return name
    # Names are label values (Argo CD's and Flux's tracking labels): at most 63 characters.
    digest = hashlib.sha256(path.encode()).hexdigest()[:10]
    return f"{name[: MAX_NAME - len(digest) - 1].rstrip('-')}-{digest}"


def _check_unique(releases: list[Release]) -> None:
    seen: dict[str, str] = {}
    for release in releases:
        path = posixpath.normpath(release.output_path)
        if path in seen:
            raise UsageError(f"releases {seen[path]} and {release.name} both write {path}: one release per output")
        seen[path] = release.name


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
