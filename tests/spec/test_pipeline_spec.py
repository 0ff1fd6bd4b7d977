"""Pipeline specs (``kind: Pipeline``) through ``rollgen validate``: a real process, every problem at its line and column."""

from __future__ import annotations

import json
from pathlib import Path

from rollgen.spec.load import load_pipeline
from rollgen.spec.pipeline import Environment
from testkit.cli import rollgen
from testkit.tools import REPO_ROOT

GOOD = """\
apiVersion: rollgen.io/v1alpha1
kind: Pipeline   # environments in order
metadata:
  name: web
spec:
  environments:
    - name: dev
      release: dev.yaml
      soak: 10m
    - name: production
      release: production.yaml
"""

DNS_LABEL = "A DNS-1123 label: lower-case alphanumerics and '-', at most 63 characters."
DURATION = (
    "A Go duration, as Argo Rollouts, Flagger and Flux read it, such as 30s, 1.5m, 1h30m or 500ms "
    "(units ns, us, ms, s, m, h); a bare integer counts seconds, as in Argo Rollouts."
)

BAD = """\
apiVersion: rollgen.io/v1alpha1
kind: Pipeline
metadata:
  name: Web
  labels: {}
spec:
  environments:
    - name: dev
      release: dev.yaml
      soak: 10 minutes
      gates: []
    - name: dev
      release: missing.yaml
    - name: again
      release: dev.yaml
    - name: broken
      release: broken.yaml
    - name: production
      release: production.yaml
      soak: 1h
"""


def releases(directory: Path) -> None:
    """dev.yaml and production.yaml: the canary example in two namespaces; broken.yaml: an invalid spec."""
    text = (REPO_ROOT / "examples" / "canary.yaml").read_text()
    for env in ("dev", "production"):
        own = text.replace("namespace: prod", f"namespace: {env}").replace("out/web-canary", f"out/web-{env}")
        (directory / f"{env}.yaml").write_text(own)
    (directory / "broken.yaml").write_text(text.replace("replicas: 4", "replicas: -1"))


def test_a_valid_pipeline_and_its_releases_pass(tmp_path: Path) -> None:
    releases(tmp_path)
    (tmp_path / "broken.yaml").unlink()
    (tmp_path / "pipeline.yaml").write_text(GOOD)
    run = rollgen("validate", "--repo", str(REPO_ROOT), str(tmp_path))
    assert (run.returncode, run.stdout) == (0, ""), run.stdout + run.stderr
    loaded = load_pipeline(tmp_path / "pipeline.yaml")
    assert loaded.environments == (
        Environment("dev", tmp_path / "dev.yaml", 600.0),
        Environment("production", tmp_path / "production.yaml", 0.0, after=("dev",)),
    )
    assert [r.namespace for r in loaded.releases] == ["dev", "production"]


def test_every_problem_is_reported_at_its_position(tmp_path: Path) -> None:
    releases(tmp_path)
    path = tmp_path / "pipeline.yaml"
    path.write_text(BAD)
    run = rollgen("validate", "-o", "json", str(path))
    assert run.returncode == 1
    problems = [(p["line"], p["column"], p["message"]) for p in json.loads(run.stdout)["problems"]]
    assert problems == [
        (4, 9, "metadata.name: 'Web' is not valid: " + DNS_LABEL),
        (5, 3, "unknown field 'labels'; allowed: name"),
        (10, 13, "spec.environments[0].soak: '10 minutes' is not valid: " + DURATION),
        (11, 7, "unknown field 'gates'; allowed: after, autoPromote, name, release, soak, windows"),
        (12, 13, "spec.environments[1].name: environment 'dev' is named twice"),
        (13, 16, f"spec.environments[1].release: no release spec at {tmp_path / 'missing.yaml'}"),
        (
            15,
            16,
            "spec.environments[2].release: environments 0 and 2 are the same release dev/web on branch main; "
            "each needs its own namespace or name",
        ),
        (
            17,
            16,
            f"spec.environments[3].release: {tmp_path / 'broken.yaml'} is not a valid release spec "
            f"(1 problem(s); rollgen validate {tmp_path / 'broken.yaml'})",
        ),
        (20, 13, "spec.environments[4].soak: no environment comes after 'production': nothing waits for its soak"),
    ]


def test_pipeline_commands_refuse_an_invalid_pipeline_with_its_problems(tmp_path: Path) -> None:
    releases(tmp_path)
    (tmp_path / "pipeline.yaml").write_text(GOOD.replace("soak: 10m", "soak: soon"))
    run = rollgen("pipeline", "advance", str(tmp_path / "pipeline.yaml"))
    assert run.returncode == 1
    assert run.stderr == (
        f"rollgen: {tmp_path / 'pipeline.yaml'}:9:13: spec.environments[0].soak: 'soon' is not valid: {DURATION}\n"
    )
    missing = rollgen("pipeline", "status", str(tmp_path / "nothing.yaml"))
    assert (missing.returncode, missing.stderr) == (
        2,
        f"rollgen: {tmp_path / 'nothing.yaml'}: no such file, or not readable\n",
    )
