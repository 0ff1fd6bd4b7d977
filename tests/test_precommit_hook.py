"""The pre-commit hook, run by the real ``pre-commit try-repo`` in a throwaway repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from testkit.git import git
from testkit.tools import REPO_ROOT, require_tool

GOOD = (REPO_ROOT / "examples" / "recreate.yaml").read_text()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of this checkout: try-repo installs the hook from a git repository's HEAD."""
    require_tool("pre-commit")
    copy = tmp_path_factory.mktemp("hook-repo") / "rollgen"
    for name in git(REPO_ROOT, "ls-files", "-co", "--exclude-standard").splitlines():
        source = REPO_ROOT / name
        if source.is_file():
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git(copy, "init", "-q", "-b", "main")
    git(copy, "add", "-A")
    git(copy, "commit", "-q", "-m", "snapshot")
    return copy


def try_repo(hook_repo: Path, project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pre-commit", "try-repo", str(hook_repo), "rollgen-validate", "--all-files"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_hook_passes_a_good_spec_and_rejects_a_bad_one(hook_repo: Path, tmp_path: Path) -> None:
    project = tmp_path / "gitops"
    (project / "releases").mkdir(parents=True)
    (project / "releases" / "web.yaml").write_text(GOOD)
    # validate checks that the base the spec names is there, relative to the repository root.
    shutil.copytree(REPO_ROOT / "examples" / "apps" / "web" / "base", project / "examples" / "apps" / "web" / "base")
    (project / "deploy.yaml").write_text("kind: Deployment\n")  # not a release: the hook leaves it alone
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")

    good = try_repo(hook_repo, project)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout

    (project / "releases" / "web.yaml").write_text(GOOD.replace('version: "1.1.0"', 'version: "1.0.0"'))
    git(project, "add", "-A")
    bad = try_repo(hook_repo, project)
    assert bad.returncode == 1
    assert "Failed" in bad.stdout
    assert "releases/web.yaml:" in bad.stdout and "spec.version must differ from spec.stable" in bad.stdout
