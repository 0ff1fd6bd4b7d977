"""The Renderer builds a Kustomize base once per process and again only when the base changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rollgen.plan.steps import plan_release
from rollgen.render import renderer as renderer_module
from rollgen.render import userbase as base_module
from rollgen.render.renderer import Renderer
from rollgen.spec.load import load_release
from testkit.tools import REPO_ROOT, require_tool


def test_base_is_read_once_and_again_after_an_edit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("kubectl")
    shutil.copytree(REPO_ROOT / "examples" / "apps", tmp_path / "examples" / "apps")
    release = load_release(REPO_ROOT / "examples" / "blue-green.yaml")  # its preview Service copies the base ports
    plan = plan_release(release)
    builds: list[str] = []
    real = base_module.read_base

    def counting(repo_root: Path, rel: object) -> object:
        builds.append(str(repo_root))
        return real(repo_root, rel)  # type: ignore[arg-type]

    monkeypatch.setattr(renderer_module, "read_base", counting)
    first = [Renderer(tmp_path, release).render(step.state) for step in plan.steps]
    assert len(builds) == 1

    service = tmp_path / "examples" / "apps" / "web" / "base" / "service.yaml"
    service.write_text(service.read_text().replace("port: 80", "port: 8080"))
    again = Renderer(tmp_path, release).render(plan.steps[0].state)
    assert len(builds) == 2
    assert b"port: 8080" in again["preview-service.yaml"] and b"port: 8080" not in first[0]["preview-service.yaml"]
