"""The pre-commit hook, run by the real ``pre-commit try-repo`` in a throwaway repository.

pre-commit passes the hook only the staged files its ``files`` and ``types``
select; validate still checks them against every release spec in the
repository, so a partial change cannot hide an overlap with a spec it leaves alone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from testkit.git import git, snapshot
from testkit.tools import REPO_ROOT, require_tool

GOOD = (REPO_ROOT / "examples" / "recreate.yaml").read_text()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of this checkout: try-repo installs the hook from a git repository's HEAD."""
    require_tool("pre-commit")
    return snapshot(REPO_ROOT, tmp_path_factory.mktemp("hook-repo") / "rollgen")


def try_repo(hook_repo: Path, project: Path, *, all_files: bool = True) -> subprocess.CompletedProcess[str]:
    which = ["--all-files"] if all_files else []  # else the staged files, as on `git commit`
    return subprocess.run(
        [require_tool("pre-commit"), "try-repo", str(hook_repo), "rollgen-validate", *which],
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


def hook_config() -> dict[str, object]:
    (hook,) = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(hook, dict)
    return hook


def test_the_hook_takes_yaml_files_under_releases_in_one_process() -> None:
    hook = hook_config()
    assert hook["types"] == ["yaml"]
    assert re.search(str(hook["files"]), "releases/web.yaml") and re.search(str(hook["files"]), "team/release/a.yml")
    assert not re.search(str(hook["files"]), "apps/web/base/deployment.yaml")
    assert hook["require_serial"] is True  # the repository read once for every changed spec
    assert hook["entry"] == "rollgen validate" and hook["language"] == "python"


@pytest.mark.slow
def test_a_partial_change_overlapping_an_unchanged_spec_fails_the_hook(hook_repo: Path, tmp_path: Path) -> None:
    project = tmp_path / "gitops"
    (project / "releases").mkdir(parents=True)
    shutil.copytree(REPO_ROOT / "examples" / "apps" / "web" / "base", project / "examples" / "apps" / "web" / "base")
    (project / "releases" / "web.yaml").write_text(GOOD)
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "web")

    # Only a file pre-commit's `types: [yaml]` leaves out: the hook has nothing to check.
    (project / "releases" / "README.md").write_text("# The release specs of this repository\n")
    git(project, "add", "releases/README.md")
    skipped = try_repo(hook_repo, project, all_files=False)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "(no files to check)Skipped" in skipped.stdout

    # A new release writing the unchanged one's output path (another namespace, so another release).
    (project / "releases" / "web-copy.yaml").write_text(GOOD.replace("namespace: staging", "namespace: qa"))
    git(project, "add", "releases/web-copy.yaml")
    bad = try_repo(hook_repo, project, all_files=False)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    problems = [line for line in bad.stdout.splitlines() if re.match(r"\S+:\d+:\d+: ", line)]
    assert problems == [
        "releases/web-copy.yaml:17:11: output.path 'examples/out/web-recreate' overlaps the output.path "
        "'examples/out/web-recreate' of releases/web.yaml:17:11"
    ]  # in the file pre-commit passed; README.md was not passed (validate would call it no release spec)

    (project / "releases" / "web-copy.yaml").write_text(
        GOOD.replace("namespace: staging", "namespace: qa").replace("web-recreate", "web-qa")
    )
    git(project, "add", "releases/web-copy.yaml")
    good = try_repo(hook_repo, project, all_files=False)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout
