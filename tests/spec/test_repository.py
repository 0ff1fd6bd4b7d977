"""`rollgen validate` over a real repository: directories, several releases, what they read and write."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from rollgen.kustomize_inputs import inputs
from rollgen.spec.discover import release_specs
from testkit.cli import rollgen
from testkit.git import git
from testkit.tools import REPO_ROOT

SPEC = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: web
spec:
  namespace: {name}
  replicas: 4
  image: ghcr.io/example/web
  stable: "1.0.0"
  version: "1.1.0"
  source: {{kustomize: {{base: {base}}}}}
  output: {{path: {output}}}
  strategy: {{recreate: {{}}}}
  gates: [{{name: synced, argocd: {{application: web}}}}]
"""


def repository(tmp_path: Path) -> Path:
    repo = tmp_path / "gitops"
    shutil.copytree(REPO_ROOT / "examples" / "apps" / "web" / "base", repo / "apps" / "web" / "base")
    (repo / "apps/web/env/prod").mkdir(parents=True)
    (repo / "apps/web/env/prod/kustomization.yaml").write_text("resources: [../../base]\n")
    git(repo.parent, "init", "-q", str(repo))
    (repo / "releases").mkdir()
    (repo / "docs").mkdir()
    (repo / "docs/notes.yaml").write_text("kind: Release\n")  # not a rollgen spec: no apiVersion
    return repo


def spec(repo: Path, name: str, base: str, output: str) -> Path:
    """The example base's release (its Deployment is web) in namespace ``name``, as releases/<name>.yaml."""
    path = repo / "releases" / f"{name}.yaml"
    path.write_text(SPEC.format(name=name, base=base, output=output))
    return path


def validate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return rollgen("validate", *args, cwd=cwd)


def test_a_layered_base_reads_its_parent() -> None:
    assert [p.as_posix() for p in inputs(REPO_ROOT, "examples/apps/web/base")] == ["examples/apps/web/base"]


def test_directory_form_finds_release_specs_only(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    spec(repo, "web", "apps/web/env/prod", "out/web")
    assert release_specs([repo]) == [repo / "releases" / "web.yaml"]
    run = validate(repo, ".")
    assert (run.returncode, run.stdout) == (0, ""), run.stdout + run.stderr


def test_overlapping_outputs_between_releases_name_both_positions(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    spec(repo, "prod", "apps/web/env/prod", "overlays/web")
    spec(repo, "stage", "apps/web/env/prod", "overlays/web/stage")
    run = validate(repo, "releases")
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        "releases/prod.yaml:12:18: output.path 'overlays/web' overlaps the output.path 'overlays/web/stage' "
        "of releases/stage.yaml:12:18",
        "releases/stage.yaml:12:18: output.path 'overlays/web/stage' overlaps the output.path 'overlays/web' "
        "of releases/prod.yaml:12:18",
    ]


def test_output_may_not_overlap_what_a_layered_base_or_a_spec_reads(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    spec(repo, "web", "apps/web/env/prod", "apps/web/base")
    spec(repo, "api", "apps/web/env/prod", "releases")
    run = validate(repo, "releases/web.yaml", "releases/api.yaml")
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert (
        "releases/web.yaml:12:18: output.path 'apps/web/base' overlaps 'apps/web/base', which a release reads "
        "(the base reads apps/web/base, releases/web.yaml:11:30): rollgen rewrites the whole output directory"
    ) in lines
    assert any(
        line.startswith("releases/api.yaml:12:18: output.path 'releases' overlaps 'releases/api.yaml'")
        for line in lines
    )
    assert any(
        line.startswith("releases/api.yaml:12:18: output.path 'releases' overlaps 'releases/web.yaml'")
        for line in lines
    )


def test_missing_base_is_reported_relative_to_the_repository(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    spec(repo, "web", "apps/nope", "out/web")
    run = validate(tmp_path, str(repo / "releases"))
    assert run.returncode == 1
    assert f"releases/web.yaml:11:30: base: 'apps/nope' is not a directory under {repo}" in run.stdout
    run = validate(tmp_path, "--repo", str(tmp_path), str(repo / "releases"))
    assert f"base: 'apps/nope' is not a directory under {tmp_path}" in run.stdout


def test_a_directory_without_release_specs_is_a_usage_error(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    run = validate(repo, "docs")
    assert (run.returncode, run.stdout) == (2, "")
    assert "no release spec (apiVersion: rollgen.io/..., kind: Release) under docs" in run.stderr


def test_outside_a_repository_the_paths_are_not_checked_and_validate_says_so(tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(SPEC.format(name="web", base="apps/nope", output="out/web"))
    run = validate(tmp_path, "web.yaml")
    assert (run.returncode, run.stdout) == (0, "")
    assert (
        "note: not in a git repository, so the paths these specs name were not checked (give --repo DIR): web.yaml"
        in run.stderr
    )
    run = validate(tmp_path, "--repo", ".", "web.yaml")
    assert run.returncode == 1
    assert run.stdout.startswith("web.yaml:11:30: base: 'apps/nope' is not a directory under .")


def test_a_published_chart_is_a_name_and_its_resources_must_exist(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    text = (REPO_ROOT / "tests" / "spec" / "valid" / "helm-remote-chart.yaml").read_text()
    (repo / "releases" / "podinfo.yaml").write_text(text)
    (repo / "apps/podinfo").mkdir(parents=True)
    (repo / "apps/podinfo/values.yaml").write_text("replicaCount: 2\n")
    done = validate(repo, "releases/podinfo.yaml")
    # The chart is a name in its repository, never looked for here; the resources directory is.
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "releases/podinfo.yaml:20:18: resources: 'apps/podinfo/shared' is not a directory under " + str(repo)
    ]
    (repo / "apps/podinfo/shared").mkdir()
    (repo / "apps/podinfo/shared/kustomization.yaml").write_text("resources: []\n")
    assert validate(repo, "releases/podinfo.yaml").returncode == 0
    # What the release reads is its own: an output over the resources is refused.
    (repo / "releases" / "podinfo.yaml").write_text(text.replace("path: apps/production", "path: apps/podinfo"))
    overlap = validate(repo, "releases/podinfo.yaml")
    assert overlap.returncode == 1 and "overlaps 'apps/podinfo/shared', which a release reads" in overlap.stdout


# --- the whole repository, given one file (the pre-commit hook passes only the changed specs) ----------------


def test_one_spec_given_is_checked_against_every_release_in_the_repository(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    spec(repo, "web", "apps/web/env/prod", "overlays/web")
    spec(repo, "api", "apps/web/env/prod", "overlays/api")
    new = spec(repo, "copy", "apps/web/env/prod", "overlays/web")  # two releases, one path
    run = validate(repo, "releases/copy.yaml")
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout.splitlines() == [
        "releases/copy.yaml:12:18: output.path 'overlays/web' overlaps the output.path 'overlays/web' "
        "of releases/web.yaml:12:18"
    ]  # reported in the file given only; api does not overlap
    new.write_text(SPEC.format(name="copy", base="apps/web/env/prod", output="overlays/web/canary"))  # nested
    run = validate(repo, "releases/copy.yaml")
    assert run.stdout.splitlines() == [
        "releases/copy.yaml:12:18: output.path 'overlays/web/canary' overlaps the output.path 'overlays/web' "
        "of releases/web.yaml:12:18"
    ]
    new.write_text(SPEC.format(name="copy", base="apps/web/env/prod", output="overlays/copy"))
    assert (validate(repo, "releases/copy.yaml").returncode, validate(repo, "releases/copy.yaml").stdout) == (0, "")


def test_what_a_given_spec_reads_may_not_lie_in_the_output_of_one_not_given(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    spec(repo, "web", "apps/web/env/prod", "apps/web/env")  # rewrites the overlay the new spec builds from
    spec(repo, "api", "apps/web/base", "out/api")
    run = validate(repo, "releases/api.yaml")
    assert run.returncode == 0, run.stdout  # the base api reads is not in web's output
    spec(repo, "api", "apps/web/env/prod", "out/api")
    run = validate(repo, "releases/api.yaml")
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        "releases/api.yaml:11:30: 'apps/web/env/prod' (the base) overlaps the output.path 'apps/web/env' "
        "of releases/web.yaml:12:18: rollgen rewrites the whole output directory"
    ]
    # The other way round: the given spec's output over a base another release reads.
    spec(repo, "api", "apps/web/base", "apps/web/env/prod")
    spec(repo, "web", "apps/web/env/prod", "out/web")
    run = validate(repo, "releases/api.yaml")
    assert (
        "releases/api.yaml:12:18: output.path 'apps/web/env/prod' overlaps 'apps/web/env/prod', which a " in run.stdout
    )


def test_ignored_files_are_not_part_of_the_repository_and_untracked_ones_are(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    (repo / "scratch").mkdir()
    (repo / ".gitignore").write_text("scratch/\n")
    (repo / "scratch" / "old.yaml").write_text(SPEC.format(name="old", base="apps/web/base", output="out/web"))
    spec(repo, "web", "apps/web/env/prod", "out/web")
    assert validate(repo, "releases/web.yaml").returncode == 0
    (repo / "old.yaml").write_text(SPEC.format(name="old", base="apps/web/base", output="out/web"))  # untracked
    run = validate(repo, "releases/web.yaml")
    assert run.returncode == 1
    assert "overlaps the output.path 'out/web' of old.yaml:12:18" in run.stdout


def test_a_spec_outside_any_repository_is_checked_against_the_repository_named(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    spec(repo, "web", "apps/web/env/prod", "out/web")
    outside = tmp_path / "web-copy.yaml"
    outside.write_text(SPEC.format(name="copy", base="apps/web/env/prod", output="out/web"))
    run = validate(tmp_path, "--repo", str(repo), str(outside))
    assert run.returncode == 1
    assert "output.path 'out/web' overlaps the output.path 'out/web' of gitops/releases/web.yaml:12:18" in run.stdout
