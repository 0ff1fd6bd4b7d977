"""Releases and repositories for rollout tests: a spec file, a repository holding its base and output."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from testkit.git import git, git_bytes, init_repo

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# What the output directory holds before any rollout: rollgen must give back exactly these bytes.
BEFORE = {"kustomization.yaml": b"# hand-written\r\nresources: [old.yaml]\n", "old.yaml": b"kind: ConfigMap\n\x00raw"}


def canary(weights: list[int], *, surge: int | str = 1, unavailable: int | str = 0) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    for weight in weights:
        steps += [{"setWeight": weight}, {"pause": {}}]
    return {"canary": {"maxSurge": surge, "maxUnavailable": unavailable, "traffic": "replicas", "steps": steps}}


def write_spec(
    repo: Path,
    name: str = "web",
    *,
    namespace: str = "prod",
    stable: str = "1.0.0",
    version: str = "1.1.0",
    replicas: int = 4,
    strategy: dict[str, Any] | None = None,
    extra_git: dict[str, Any] | None = None,
) -> Path:
    """A spec file outside the repository (so it is not part of any step); output deploy/<name or namespace>."""
    out = name if namespace == "prod" else namespace
    spec = {
        "apiVersion": "rollgen.io/v1alpha1",
        "kind": "Release",
        "metadata": {"name": name},
        "spec": {
            "namespace": namespace,
            "replicas": replicas,
            "image": "ghcr.io/example/web",
            "stable": stable,
            "version": version,
            "source": {"kustomize": {"base": "apps/web/base"}},
            "output": {"path": f"deploy/{out}"},
            "strategy": strategy or canary([50]),
            "liveness": {"assumeAfter": "0s"},  # no cluster in these tests: nothing proves a commit live
            "git": {"branch": "main", **(extra_git or {})},
        },
    }
    path = repo.parent / f"{repo.name}-{namespace}-{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def make_repo(path: Path, names: tuple[str, ...] = ("web",)) -> Path:
    """A repository on main holding the example base and each release's pre-rollout output."""
    init_repo(path)
    shutil.copytree(EXAMPLES / "apps" / "web" / "base", path / "apps" / "web" / "base")
    for name in names:
        for rel, data in BEFORE.items():
            (path / "deploy" / name / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / "deploy" / name / rel).write_bytes(data)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base and hand-written output")
    return path


def output_files(repo: Path, name: str = "web", rev: str = "HEAD") -> dict[str, bytes]:
    listing = git(repo, "ls-tree", "-r", "--name-only", rev, "--", f"deploy/{name}").split("\n")
    return {p.removeprefix(f"deploy/{name}/"): _show(repo, f"{rev}:{p}") for p in listing if p}


def _show(repo: Path, rev: str) -> bytes:
    return git_bytes(repo, "cat-file", "blob", rev)
