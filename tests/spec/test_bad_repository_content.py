"""Bad content in the repository (a base, a chart) gives `file: message` and exit 2, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from testkit.cli import rollgen
from testkit.git import git
from testkit.specs import KUSTOMIZE_SPEC
from testkit.tools import REPO_ROOT, require_tool

HELM_SPEC = KUSTOMIZE_SPEC.replace("{kustomize: {base: apps/web/base}}", "{helm: {chart: charts/web}}")


def kustomize_repo(tmp_path: Path, deployment_edit: tuple[str, str], service_edit: tuple[str, str]) -> Path:
    repo = tmp_path / "gitops"
    base = repo / "apps" / "web" / "base"
    shutil.copytree(REPO_ROOT / "examples" / "apps" / "web" / "base", base)
    for name, (old, new) in (("deployment.yaml", deployment_edit), ("service.yaml", service_edit)):
        text = (base / name).read_text()
        assert old in text
        (base / name).write_text(text.replace(old, new))
    git(repo.parent, "init", "-q", str(repo))
    (repo / "web.yaml").write_text(KUSTOMIZE_SPEC)
    return repo


@pytest.mark.parametrize(
    ("deployment_edit", "service_edit", "message"),
    [
        (("  template:", "  templat:"), ("", ""), "apps/web/base: the field 'template' is missing in the built base"),
        (("", ""), ("port: 80", "protocol: TCP"), "apps/web/base: the field 'port' is missing in the built base"),
    ],
    ids=["deployment-without-template", "service-port-without-port"],
)
def test_a_broken_base_is_a_usage_error_naming_the_base(
    tmp_path: Path, deployment_edit: tuple[str, str], service_edit: tuple[str, str], message: str
) -> None:
    require_tool("kubectl")
    repo = kustomize_repo(tmp_path, deployment_edit, service_edit)
    run = rollgen("render", "web.yaml", "--out", str(tmp_path / "out"), cwd=repo)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name: [web\n", "charts/web/Chart.yaml: not valid YAML (line 2, column 1)"),
        (b"name: w\xe9b\n", "charts/web/Chart.yaml: not UTF-8 (byte 7)"),
        (b"version: 1.0.0\n", "charts/web/Chart.yaml: has no chart name"),
    ],
    ids=["malformed", "not-utf8", "no-name"],
)
def test_a_broken_chart_is_reported_by_validate_and_render(tmp_path: Path, content: bytes, message: str) -> None:
    repo = tmp_path / "gitops"
    (repo / "charts" / "web").mkdir(parents=True)
    (repo / "charts" / "web" / "Chart.yaml").write_bytes(content)
    git(repo.parent, "init", "-q", str(repo))
    (repo / "web.yaml").write_text(HELM_SPEC)
    validate = rollgen("validate", "web.yaml", cwd=repo)
    assert validate.returncode == 1
    assert validate.stdout.startswith(f"web.yaml:10:26: chart: {message}")
    render = rollgen("render", "web.yaml", "--out", str(tmp_path / "out"), cwd=repo)
    assert render.returncode == 2, render.stdout + render.stderr
    assert message in render.stderr
    assert "Traceback" not in render.stderr
