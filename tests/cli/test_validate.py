"""``rollgen validate`` and ``rollgen schema`` as a user runs them: a real process."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from testkit.cli import rollgen
from testkit.git import git
from testkit.tools import REPO_ROOT

SPEC_DIR = Path(__file__).parent.parent / "spec"


def test_valid_files_exit_zero_and_print_nothing() -> None:
    run = rollgen("validate", *sorted(str(p) for p in (REPO_ROOT / "examples").glob("*.yaml")))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == ""


def test_invalid_file_reports_every_problem_and_exits_one(tmp_path: Path) -> None:
    # A repository of its own: in rollgen's, the corpus's specs would overlap each other's outputs.
    repo = tmp_path / "gitops"
    shutil.copytree(REPO_ROOT / "examples", repo / "examples")
    git(tmp_path, "init", "-q", str(repo))
    bad = repo / "weights-not-increasing.yaml"
    shutil.copy(SPEC_DIR / "invalid" / bad.name, bad)
    run = rollgen("validate", str(bad), str(repo / "examples" / "canary.yaml"))
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines == [
        # The repository has no such base: the filesystem check says so.
        f"{bad}:13:30: base: 'apps/web/base' is not a directory under {repo}",
        f"{bad}:20:22: weights must increase strictly: 40 after 50",
        f"{bad}:21:22: weights must increase strictly: 40 after 40",
    ]
    assert "1 of 2 file(s) invalid, 3 problem(s)" in run.stderr
    assert "Traceback" not in run.stderr


def test_json_output_is_machine_readable() -> None:
    bad = SPEC_DIR / "invalid" / "duplicate-key.yaml"
    run = rollgen("validate", "-o", "json", str(bad))
    assert run.returncode == 1
    data = json.loads(run.stdout)
    assert data["valid"] is False
    assert data["problems"] == [
        {"path": str(bad), "line": 8, "column": 3, "message": "duplicate key 'namespace' (first defined at line 7)"}
    ]


def test_usage_errors_exit_two() -> None:
    assert rollgen("validate").returncode == 2
    assert rollgen("no-such-command").returncode == 2
    assert rollgen("validate", "-o", "xml", "x.yaml").returncode == 2


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    run = rollgen("validate", str(tmp_path / "absent.yaml"))
    assert run.returncode == 2  # unreadable input
    assert run.stdout.strip() == f"{tmp_path / 'absent.yaml'}:1:1: no such file"


def test_schema_command_prints_the_schema_file() -> None:
    run = rollgen("schema")
    assert run.returncode == 0
    assert json.loads(run.stdout) == json.loads((REPO_ROOT / "schemas" / "release.schema.json").read_text())
    pipeline = rollgen("schema", "--kind", "pipeline")
    assert pipeline.returncode == 0
    assert json.loads(pipeline.stdout) == json.loads((REPO_ROOT / "schemas" / "pipeline.schema.json").read_text())


def test_the_pipeline_schema_accepts_the_readmes_pipeline_and_refuses_what_validate_refuses() -> None:
    """Checked with the reference validator (jsonschema), not the one rollgen runs (jsonschema-rs)."""
    import jsonschema
    import yaml

    validator = jsonschema.Draft7Validator(json.loads((REPO_ROOT / "schemas" / "pipeline.schema.json").read_text()))
    validator.check_schema(validator.schema)
    readme = (REPO_ROOT / "README.md").read_text()
    [example] = [b for b in re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL) if "kind: Pipeline" in b]
    assert list(validator.iter_errors(yaml.safe_load(example))) == []
    one = yaml.safe_load(example)
    one["spec"]["environments"] = one["spec"]["environments"][:1]
    one["spec"]["environments"][0]["soak"] = "30 minutes"
    assert {e.validator for e in validator.iter_errors(one)} == {"minItems", "pattern"}


def test_help_teaches_the_commands() -> None:
    run = rollgen("--help")
    assert run.returncode == 0
    assert "validate" in run.stdout and "schema" in run.stdout


# What validate never imports: the Kubernetes client and its tree (not in the base install), the libraries of the
# other commands, the gate kinds' implementations, the git layer and the controller.
NEVER = (
    "kubernetes",
    "urllib3",
    "rich",
    "jinja2",
    "helm_python",
    "jsonschema",
    # The registry itself is cheap (the spec checks read the kinds' facts from it);
    # the kinds' implementations are not.
    *(f"rollgen.gates.{kind}" for kind in ("argocd", "flux", "kubernetes", "prometheus", "http", "command")),
    "rollgen.gates.kube",
    "rollgen.gitops",
    "rollgen.controller",
    "rollgen.rollout",
    "rollgen.cli.rollout",
    "rollgen.cli.controller",
)
# Outside a repository validate checks every rule itself: it needs neither the planner, the model nor a renderer,
# nor the gates' measuring (the kinds' facts are enough), nor git. In one it renders what `render` would
# (rollgen.preflight), so those come in there.
OUTSIDE_A_REPOSITORY = (
    "rollgen.preflight",
    "rollgen.plan",
    "rollgen.spec.model",
    "rollgen.render",
    "rollgen.gates.registry",
    "rollgen.gates.analysis",
    # validate parses conditions; only a gate evaluates them (and loads the regex engine for `matches`).
    "rollgen.gates.conditions.evaluate",
    "re2",
    "subprocess",
)


def imported_by_validate(cwd: Path, *args: str, watch: tuple[str, ...]) -> str:
    probe = (
        "import sys\n"
        f"sys.argv = ['rollgen', 'validate', *{list(args)!r}]\n"
        "from rollgen.cli import main\n"
        "code = main()\n"
        f"loaded = [m for m in {watch!r} if m in sys.modules]\n"
        "print(code, loaded)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, env=env, timeout=60, check=False
    )
    return run.stdout.strip() if run.stdout.startswith("0 ") else run.stdout + run.stderr


def test_validate_outside_a_repository_imports_nothing_heavy(tmp_path: Path) -> None:
    for name in ("canary.yaml", "blue-green.yaml"):
        shutil.copy(REPO_ROOT / "examples" / name, tmp_path / name)
    assert (
        imported_by_validate(tmp_path, "canary.yaml", "blue-green.yaml", watch=NEVER + OUTSIDE_A_REPOSITORY) == "0 []"
    )


def test_validate_in_a_repository_renders_but_imports_no_client_no_git_layer() -> None:
    args = ("examples/canary.yaml", "examples/blue-green.yaml", "examples/helm")
    assert imported_by_validate(REPO_ROOT, *args, watch=NEVER) == "0 []"
    assert imported_by_validate(REPO_ROOT, *args, watch=OUTSIDE_A_REPOSITORY[:1]) == "0 ['rollgen.preflight']"
