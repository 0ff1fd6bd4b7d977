"""`rollgen validate` builds the base as `render` does: what render refuses, validate refuses first.

Each case is a real repository with the example base broken one way; both
commands run as a user runs them, with the real ``kubectl kustomize``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.cli import rollgen
from testkit.git import git
from testkit.specs import KUSTOMIZE_SPEC
from testkit.tools import REPO_ROOT, require_tool

# With a canary, so that the plan has several states to render.
SPEC = KUSTOMIZE_SPEC.replace("strategy: {recreate: {}}", "strategy: {canary: {steps: [{setWeight: 50}]}}")
BASE = "web.yaml:10:30"  # where the spec names its base


def repository(tmp_path: Path) -> Path:
    repo = tmp_path / "gitops"
    shutil.copytree(REPO_ROOT / "examples" / "apps" / "web" / "base", repo / "apps" / "web" / "base")
    git(repo.parent, "init", "-q", str(repo))
    (repo / "web.yaml").write_text(SPEC)
    return repo


def edit(repo: Path, name: str, old: str, new: str) -> None:
    path = repo / "apps" / "web" / "base" / name
    text = path.read_text()
    assert old in text, text
    path.write_text(text.replace(old, new, 1))


def line_of(repo: Path, name: str, text: str) -> int:
    lines = (repo / "apps" / "web" / "base" / name).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_the_example_base_builds_and_validates(tmp_path: Path) -> None:
    require_tool("kubectl")
    repo = repository(tmp_path)
    run = rollgen("validate", "web.yaml", cwd=repo)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


def test_a_duplicate_key_in_a_base_file_is_refused_at_its_line_and_column(tmp_path: Path) -> None:
    require_tool("kubectl")
    repo = repository(tmp_path)
    edit(repo, "deployment.yaml", "  replicas: 4\n", "  replicas: 4\n  replicas: 3\n")
    first, second = line_of(repo, "deployment.yaml", "replicas: 4"), line_of(repo, "deployment.yaml", "replicas: 3")
    run = rollgen("validate", "web.yaml", cwd=repo)
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        f"apps/web/base/deployment.yaml:{second}:3: duplicate key 'replicas' (first defined at line {first})"
    ]
    render = rollgen("render", "web.yaml", "--out", str(tmp_path / "out"), cwd=repo)
    assert render.returncode == 2  # what validate refuses, render refuses: kubectl's words, without the file
    assert f'line {second}: mapping key "replicas" already defined at line {first}' in render.stderr


def test_every_yaml_error_of_every_file_the_build_parses_at_once(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    edit(repo, "service.yaml", "spec:", "spec: [")
    edit(repo, "kustomization.yaml", "resources:", "namespace: a\nnamespace: b\nresources:")
    # Not named by the kustomization (kustomize never reads it), or a generator's data: not YAML to parse.
    (repo / "apps" / "web" / "base" / "notes.yaml").write_text("a: [\n")
    (repo / "apps" / "web" / "base" / "settings.yaml").write_text("a: [\n")
    edit(
        repo, "kustomization.yaml", "resources:", "configMapGenerator: [{name: s, files: [settings.yaml]}]\nresources:"
    )
    run = rollgen("validate", "web.yaml", cwd=repo)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert len(lines) == 2, lines
    assert lines[0] == "apps/web/base/kustomization.yaml:4:1: duplicate key 'namespace' (first defined at line 3)"
    assert lines[1].startswith("apps/web/base/service.yaml:") and ": not valid YAML: " in lines[1]


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        ("service.yaml", "kind: Service", "kind: ConfigMap", "a base for rollgen needs exactly one Service; it has 0"),
        ("deployment.yaml", "  template:", "  templat:", "the field 'template' is missing in the built base"),
        (
            "kustomization.yaml",
            "  - service.yaml",
            "  - service.yaml\n  - nope.yaml",
            "nope.yaml: no such file or directory",
        ),
        ("kustomization.yaml", "resources:", "resourcez:", 'invalid Kustomization: json: unknown field "resourcez"'),
    ],
    ids=["no-service", "deployment-without-template", "missing-resource", "unknown-field"],
)
def test_what_the_build_or_the_renderer_refuses_is_a_problem_at_the_base(
    tmp_path: Path, name: str, old: str, new: str, message: str
) -> None:
    require_tool("kubectl")
    repo = repository(tmp_path)
    edit(repo, name, old, new)
    render = rollgen("render", "web.yaml", "--out", str(tmp_path / "out"), cwd=repo)
    assert render.returncode == 2, render.stdout + render.stderr
    run = rollgen("validate", "web.yaml", cwd=repo)
    assert run.returncode == 1, run.stdout + run.stderr
    (line,) = run.stdout.splitlines()  # one line, kubectl's log header gone
    assert line.startswith(f"{BASE}: base: ") and message in line, line
    assert "command failed" not in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_container_the_spec_cannot_roll_is_refused_by_validate_as_by_render(tmp_path: Path) -> None:
    require_tool("kubectl")
    repo = repository(tmp_path)
    (repo / "web.yaml").write_text(
        SPEC.replace("  image: ghcr.io/example/web\n", "  image: ghcr.io/example/web\n  container: proxy\n")
    )
    render = rollgen("render", "web.yaml", "--out", str(tmp_path / "out"), cwd=repo)
    assert render.returncode == 2
    said = "container proxy is not in Deployment web (it has web)"
    assert said in render.stderr
    run = rollgen("validate", "web.yaml", cwd=repo)
    assert run.returncode == 1
    assert run.stdout.splitlines() == [f"web.yaml:11:30: base: {said}"]  # a line lower: spec.container


def test_specs_sharing_a_broken_base_report_its_problem_once(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    (repo / "api.yaml").write_text(SPEC.replace("{name: web}", "{name: api}").replace("out/web", "out/api"))
    edit(repo, "deployment.yaml", "  replicas: 4\n", "  replicas: 4\n  replicas: 3\n")
    run = rollgen("validate", "web.yaml", "api.yaml", cwd=repo)
    assert run.returncode == 1
    assert len(run.stdout.splitlines()) == 1


def test_without_kubectl_the_yaml_is_still_read_and_validate_says_what_was_not_built(tmp_path: Path) -> None:
    if (Path(sys.executable).parent / "kubectl").exists():
        pytest.skip("kubectl is installed next to this Python (the demo extra): it cannot be taken away here")
    repo = repository(tmp_path)
    tools = tmp_path / "bin"  # git, and no kubectl
    tools.mkdir()
    git_path = shutil.which("git")
    assert git_path is not None
    (tools / "git").symlink_to(git_path)

    def validate() -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PATH": str(tools)}
        argv = [sys.executable, "-m", "rollgen", "validate", "web.yaml"]
        return subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, timeout=60, check=False)

    run = validate()
    assert (run.returncode, run.stdout) == (0, "")
    assert "note: kubectl is not installed, so these specs' bases were not built (their YAML was read): web.yaml" in (
        run.stderr
    )
    edit(repo, "deployment.yaml", "  replicas: 4\n", "  replicas: 4\n  replicas: 3\n")
    run = validate()
    assert run.returncode == 1
    assert "apps/web/base/deployment.yaml:" in run.stdout and "duplicate key 'replicas'" in run.stdout
