"""Promotions on a real git repository served by ``git daemon``: the soak's clock, comments, pull requests.

The upstream environment is rolled out by rollgen's own ``advance`` passes
(its real ``command`` gate judged, measurements kept in git notes); promotions
are made by :func:`rollgen.pipeline.passes.promote_due` with an injected clock, or by
``rollgen pipeline advance``.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from rollgen.pipeline import passes
from rollgen.pipeline.promotion import PromotionVerdict
from rollgen.spec.load import load_pipeline
from testkit.git import git
from testkit.gitservers import FakeGitHub, GitDaemon, serve
from testkit.pipelines import env_spec, gitops, ok, roll_out, spec_version
from testkit.webhooks import receiving

DIGEST = "sha256:" + "ab" * 32
TOKEN = "ghp_PIPELINE0123456789token"

PIPELINE = """\
# Staging first; production only what staging completed and soaked.
apiVersion: rollgen.io/v1alpha1
kind: Pipeline
metadata:
  name: web   # the app
spec:
  environments:
    - name: staging
      release: staging.yaml
      soak: 1h              # an hour in staging before production
    # the last stage
    - name: production
      release: production.yaml   # its own namespace, output and gate
"""

ENVIRONMENTS = ("staging", "production")


def staging_spec() -> str:
    """Staging's spec naming 1.1.0 and its digest, as a detection or an earlier promotion wrote them."""
    return env_spec("staging", "ghcr.io/example/web").replace(
        '  version: "1.0.0"        # tag\n', f'  version: "1.1.0"        # tag\n  digest: "{DIGEST}"\n'
    )


def changed(before: str, after: str) -> list[str]:
    """The lines removed (``-``) and added (``+``) from ``before`` to ``after``."""
    return [d for d in difflib.ndiff(before.splitlines(), after.splitlines()) if d[:1] in "+-"]


def test_a_version_waits_for_its_soak_then_only_its_lines_change(daemon: GitDaemon, tmp_path: Path) -> None:
    production = env_spec("production", "ghcr.io/example/web")
    specs = {"pipeline.yaml": PIPELINE, "staging.yaml": staging_spec(), "production.yaml": production}
    work = gitops(daemon, tmp_path, specs, ENVIRONMENTS)
    assert roll_out(work, "staging") == 0
    git(work, "pull", "-q", "--ff-only")
    completed_at = int(git(work, "log", "-1", "--format=%ct"))  # the complete commit
    loaded = load_pipeline(work / "releases" / "pipeline.yaml")
    commits = git(work, "rev-list", "--count", "origin/main")

    [early] = passes.promote_due(loaded, now=completed_at + 60)
    assert (early.decision.verdict, early.decision.reason) == (
        PromotionVerdict.SOAKING,
        "1.1.0 soaks in staging: 59m0s left of 1h0m0s",
    )
    assert early.commit is None
    [still] = passes.promote_due(loaded, now=completed_at + 3599)
    assert still.decision.verdict is PromotionVerdict.SOAKING and still.decision.remaining == 1
    git(work, "fetch", "-q")
    assert git(work, "rev-list", "--count", "origin/main") == commits  # nothing written while it soaks
    [row] = [r for r in passes.status(loaded, now=completed_at + 60) if r.environment == "production"]
    assert row.waiting == "1.1.0 soaks in staging: 59m0s left of 1h0m0s"

    [done] = passes.promote_due(loaded, now=completed_at + 3600)
    assert done.decision.verdict is PromotionVerdict.PROMOTE and done.commit is not None
    assert spec_version(work, "production") == ("1.1.0", DIGEST)
    after = (work / "releases" / "production.yaml").read_text()
    assert changed(production, after) == [
        '-   version: "1.0.0"        # tag',
        '+   version: "1.1.0"        # tag',
        f'+   digest: "{DIGEST}"',
    ]
    assert (work / "releases" / "pipeline.yaml").read_text() == PIPELINE
    assert (work / "releases" / "staging.yaml").read_text() == staging_spec()
    body = git(work, "log", "-1", "--format=%B")
    assert body.startswith("production/web: promote 1.1.0 from staging to production\n\n")
    assert "ran there 1h0m0s (soak 1h0m0s)" in body and "Rollgen-Release" not in body
    # A second pass finds production's spec at staging's version: nothing more.
    [again] = passes.promote_due(load_pipeline(work / "releases" / "pipeline.yaml"), now=completed_at + 7200)
    assert (again.decision.verdict, again.commit) == (PromotionVerdict.CURRENT, None)


def test_pull_request_mode_proposes_the_promotion_and_the_merge_is_the_approval(
    daemon: GitDaemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(FakeGitHub("acme", "gitops", TOKEN, daemon.base / f"{tmp_path.name}.git")) as api:
        pr = (
            "    mode: pull-request   # production changes are reviewed\n"
            f"    pullRequest: {{repository: acme/gitops, apiURL: '{api.url}', tokenEnv: FORGE_TOKEN}}\n"
        )
        production = env_spec("production", "ghcr.io/example/web", git_extra=pr)
        pipeline_text = PIPELINE.replace("soak: 1h ", "soak: 0s ")
        specs = {"pipeline.yaml": pipeline_text, "staging.yaml": staging_spec(), "production.yaml": production}
        work = gitops(daemon, tmp_path, specs, ENVIRONMENTS)
        assert roll_out(work, "staging") == 0
        env = {"FORGE_TOKEN": TOKEN}

        first = ok(work, "pipeline", "advance", "releases/pipeline.yaml", env=env)
        second = ok(work, "pipeline", "advance", "releases/pipeline.yaml", env=env)
        waiting = ok(work, "pipeline", "status", "releases/pipeline.yaml", "-o", "json", env=env)
        [pull] = api.pulls.values()
        api.merge(pull["number"])
        merged = ok(work, "pipeline", "advance", "releases/pipeline.yaml", env=env)

    assert first == f"production: proposed 1.1.0: pull request {pull['html_url']}\n"
    assert second == first  # the open pull request is found, not opened twice
    assert f'"waiting": "the merge of pull request {pull["html_url"]} (1.1.0)"' in waiting
    assert merged == "production: current: at 1.1.0, as staging\n"
    assert spec_version(work, "production") == ("1.1.0", DIGEST)
    assert pull["head"]["ref"] == "rollgen/production/web/promote-1.1.0"
    assert pull["title"] == "production/web: promote 1.1.0 from staging to production"
    body = pull["body"]
    assert "rollgen promotes **1.1.0** of `production/web` from `staging` to `production`." in body
    assert f"- digest: `{DIGEST}`" in body
    assert "**Merging this pull request is the approval**" in body
    # What it passed upstream: every step commit of staging's rollout with its gate verdicts.
    steps = git(work, "log", "--format=%H", "--grep=^Rollgen-Release: staging/web$", "origin/main").split()
    assert len(steps) == 6  # five steps (surge, 50%, surge, promote, cleanup), then complete
    for sha in steps:
        assert f"| {sha} |" in body
    assert "| start 1/5 | none recorded |" in body
    assert "| advance 2/5 | smoke: Successful |" in body
    # The spec's diff, and the rendered output once 1.1.0 completes there (pinned to the digest).
    assert '+  version: "1.1.0"        # tag' in body and f'+  digest: "{DIGEST}"' in body
    assert "+++ b/deploy/production/kustomization.yaml" in body
    assert f"newTag: 1.1.0@{DIGEST}" in body
    assert TOKEN not in body + first + waiting


def test_pipeline_advance_announces_the_promotion_to_the_environment_webhooks(
    daemon: GitDaemon, tmp_path: Path
) -> None:
    hooks = "  notifications:\n    webhooks:\n      - {name: audit, kind: json, url: {env: HOOK_URL}}\n"
    production = env_spec("production", "ghcr.io/example/web") + hooks
    pipeline_text = PIPELINE.replace("soak: 1h ", "soak: 0s ")
    specs = {"pipeline.yaml": pipeline_text, "staging.yaml": staging_spec(), "production.yaml": production}
    work = gitops(daemon, tmp_path, specs, ENVIRONMENTS)
    assert roll_out(work, "staging") == 0
    with receiving() as (got, hook_url):
        said = ok(work, "pipeline", "advance", "releases/pipeline.yaml", env={"HOOK_URL": hook_url})
    assert said.startswith("production: promoted 1.1.0: commit ")
    [body] = got
    assert (body["event"], body["release"], body["fromVersion"], body["toVersion"]) == (
        "promoted",
        "production/web",
        "1.0.0",
        "1.1.0",
    )
    assert body["commit"] == git(work, "rev-parse", "origin/main")
    assert body["reason"].startswith("from staging into production, commit ")
