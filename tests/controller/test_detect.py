"""``rollgen detect`` end to end: a real docker-registry, a real git repository served by ``git daemon``."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.git import clone, git
from testkit.gitservers import FakeGitHub, GitDaemon, git_daemon, serve
from testkit.registryservers import Registry, copy_tags, docker_registry, push_tags, skopeo_push, token_gate
from testkit.tools import REPO_ROOT
from testkit.webhooks import receiving

USER, PASSWORD = "ci-bot", "pa55-never-printed"

SPEC = """\
# yaml-language-server: $schema=../schemas/release.schema.json
# The web app. Its version is detected from the registry; `rollgen advance` rolls it out.
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: {name}   # the Deployment's name

spec:
  namespace: prod
  replicas: 2
  image: '{image}'        # single quotes, as the team writes them
  stable: "1.0.0"
  # Written by rollgen detect: do not edit by hand.
  version: "1.1.0"        # tag
  digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
  imagePolicy:
    semver:
      range: ">=1.0.0 <2"   # stay on 1.x
    pin: digest
  source: {{kustomize: {{base: apps/web/base}}}}
  output: {{path: overlays/{name}}}
  strategy:
    canary:
      steps:
        - setWeight: 50     # half first
  gates:
    - name: up
      kubernetes: {{}}
{git}"""

TAGS = ["1.0.0", "1.1.0", "1.1.5", "1.2.0-rc.1", "2.0.0", "v0.9.0", "latest"] + [f"sha-{i:04x}" for i in range(150)]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with docker_registry(tmp_path_factory.mktemp("registry"), users={USER: PASSWORD}) as served:
        for repository in ("team/web", "team/api"):
            digest = push_tags(served, repository, ["1.0.0"])["1.0.0"]
            copy_tags(served, repository, digest, [t for t in TAGS if t != "1.0.0"])
        yield served


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitDaemon]:
    with git_daemon(tmp_path_factory.mktemp("served")) as served:
        yield served


def _gitops(daemon: GitDaemon, tmp_path: Path, specs: dict[str, str]) -> tuple[str, Path]:
    """A served repository holding ``releases/<file>`` for each spec, and a clone of it."""
    url = daemon.create(tmp_path.name)
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "main", "work")
    (work / "releases").mkdir()
    (work / "releases" / "README.md").write_text("Release specs; rollgen detect keeps their versions current.\n")
    for name, text in specs.items():
        (work / "releases" / name).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "releases")
    git(work, "remote", "add", "origin", url)
    git(work, "push", "-q", "origin", "main")
    return url, work


def _detect(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rollgen", "detect", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _env(registry: Registry, password: str = PASSWORD) -> dict[str, str]:
    return {
        "ROLLGEN_REGISTRY_HOST": registry.host,
        "ROLLGEN_REGISTRY_USERNAME": USER,
        "ROLLGEN_REGISTRY_PASSWORD": password,
    }


def _changed(before: str, after: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]


def test_detection_commit_changes_only_the_version_lines(registry: Registry, daemon: GitDaemon, tmp_path: Path) -> None:
    spec = SPEC.format(name="web", image=f"{registry.host}/team/web", git="")
    url, work = _gitops(daemon, tmp_path, {"web.yaml": spec})
    expected = push_tags(registry, "team/web", ["1.1.5"], label="web 1.1.5")["1.1.5"]

    done = _detect(work, "releases", "-o", "json", env=_env(registry))

    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert row["release"] == "prod/web"
    assert row["status"] == "updated"
    assert (row["previous"], row["version"], row["digest"]) == ("1.1.0", "1.1.5", expected)
    # The commit is on the remote; the spec there differs from the user's by exactly the version lines.
    fresh = clone(url, tmp_path / "fresh")
    after = (fresh / "releases" / "web.yaml").read_text()
    assert _changed(spec, after) == [
        ('  version: "1.1.0"        # tag', '  version: "1.1.5"        # tag'),
        (
            '  digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"',
            f'  digest: "{expected}"',
        ),
    ]
    assert (fresh / "releases" / "README.md").read_text().startswith("Release specs")
    assert git(fresh, "log", "-1", "--format=%s") == "prod/web: new image 1.1.5 detected (was 1.1.0)"
    assert "Rollgen-Release" not in git(fresh, "log", "-1", "--format=%B")  # no rollout reads it as a step
    assert git(fresh, "rev-list", "--count", "HEAD") == "2"
    # The working copy followed the commit; the next pass finds nothing new and commits nothing.
    assert (work / "releases" / "web.yaml").read_text() == after
    again = _detect(work, "releases", env=_env(registry))
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"prod/web: up to date at 1.1.5 ({expected})\n"
    git(fresh, "pull", "-q")
    assert git(fresh, "rev-list", "--count", "HEAD") == "2"
    assert PASSWORD not in done.stdout + done.stderr + again.stdout + again.stderr
    assert PASSWORD not in git(fresh, "log", "-p", "--all")


def test_a_failing_release_never_stops_the_others(registry: Registry, daemon: GitDaemon, tmp_path: Path) -> None:
    specs = {
        "api.yaml": SPEC.format(name="api", image=f"{registry.host}/team/api", git=""),
        "gone.yaml": SPEC.format(name="gone", image=f"{registry.host}/team/gone", git=""),
        "plain.yaml": SPEC.format(name="plain", image="example.invalid/plain", git="").replace(
            '  imagePolicy:\n    semver:\n      range: ">=1.0.0 <2"   # stay on 1.x\n    pin: digest\n', ""
        ),
    }
    _, work = _gitops(daemon, tmp_path, specs)

    done = _detect(work, "releases/gone.yaml", "releases", env=_env(registry))

    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("prod/gone: failed: registry ") and "HTTP 404" in lines[0]
    assert lines[1].startswith("prod/api: 1.1.0 -> 1.1.5 (sha256:") and ", updated: commit " in lines[1]
    assert lines[2] == "prod/gone: failed: " + lines[0].split(": failed: ", 1)[1]
    assert lines[3] == "prod/plain: skipped (no spec.imagePolicy)"
    assert "Traceback" not in done.stderr


def test_wrong_credentials_fail_without_printing_them(registry: Registry, daemon: GitDaemon, tmp_path: Path) -> None:
    _, work = _gitops(
        daemon, tmp_path, {"web.yaml": SPEC.format(name="web", image=f"{registry.host}/team/web", git="")}
    )
    done = _detect(work, "releases", env=_env(registry, "wrong-" + PASSWORD))
    assert done.returncode == 1
    assert "HTTP 401; check the registry credentials" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr


def test_token_flow_with_docker_config_credentials(registry: Registry, daemon: GitDaemon, tmp_path: Path) -> None:
    with token_gate(registry, "robot", "t0ken-secret") as gate:
        spec = SPEC.format(name="web", image=f"{gate.host}/team/web", git="")
        _, work = _gitops(daemon, tmp_path, {"web.yaml": spec})
        config = tmp_path / "docker"
        config.mkdir()
        auth = base64.b64encode(b"robot:t0ken-secret").decode()
        (config / "config.json").write_text(json.dumps({"auths": {gate.host: {"auth": auth}}}))
        done = _detect(work, "releases/web.yaml", env={"DOCKER_CONFIG": str(config)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "prod/web: 1.1.0 -> 1.1.5" in done.stdout
    assert gate.token_requests == [{"service": "rollgen-test", "scope": "repository:team/web:pull"}]
    assert "t0ken-secret" not in done.stdout + done.stderr


def test_pull_request_mode_proposes_the_version(registry: Registry, daemon: GitDaemon, tmp_path: Path) -> None:
    git_block = (
        "  git:\n    mode: pull-request\n"
        "    pullRequest: {repository: acme/gitops, provider: github, tokenEnv: FORGE_TOKEN}\n"
    )
    spec = SPEC.format(name="web", image=f"{registry.host}/team/web", git=git_block)
    _, work = _gitops(daemon, tmp_path, {"web.yaml": spec})
    bare = daemon.base / f"{tmp_path.name}.git"
    with serve(FakeGitHub("acme", "gitops", "forge-token", bare)) as github:
        env = {**_env(registry), "FORGE_TOKEN": "forge-token"}
        # The forge's API URL comes from the spec; point it at the fake.
        text = (
            (work / "releases" / "web.yaml")
            .read_text()
            .replace("tokenEnv: FORGE_TOKEN}", f"tokenEnv: FORGE_TOKEN, apiURL: '{github.url}'}}")
        )
        (work / "releases" / "web.yaml").write_text(text)
        git(work, "commit", "-q", "-am", "forge url")
        git(work, "push", "-q", "origin", "main")
        first = _detect(work, "releases", env=env)
        second = _detect(work, "releases", env=env)
        github.merge(1)
        merged = _detect(work, "releases", env=env)  # this checkout was not pulled: the branch is what counts
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith("prod/web: 1.1.0 -> 1.1.5 (sha256:") and "proposed: pull request " in first.stdout
    assert second.stdout == first.stdout  # the open pull request is found, not opened twice
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert merged.stdout.startswith("prod/web: up to date at 1.1.5 (sha256:")
    [pull] = github.pulls.values()
    assert pull["head"]["ref"] == "rollgen/prod/web/detect-1.1.5"
    assert pull["title"] == "prod/web: new image 1.1.5 detected (was 1.1.0)"
    proposed = git(bare, "show", f"{pull['head']['sha']}:releases/web.yaml")
    assert _changed(text, proposed + "\n")[0] == ('  version: "1.1.0"        # tag', '  version: "1.1.5"        # tag')
    assert git(bare, "rev-list", "--count", f"main..{pull['head']['sha']}") == "0"  # merged, not committed again


def test_a_tag_pushed_with_skopeo_and_a_moved_tag(registry: Registry, daemon: GitDaemon, tmp_path: Path) -> None:
    # Its own repository, holding only what this test pushes.
    url, work = _gitops(
        daemon, tmp_path, {"jobs.yaml": SPEC.format(name="jobs", image=f"{registry.host}/team/jobs", git="")}
    )
    (tmp_path / "push1").mkdir()
    pushed = skopeo_push(registry, "team/jobs", "1.3.0", tmp_path / "push1")
    first = _detect(work, "releases", "-o", "json", env=_env(registry))
    assert first.returncode == 0, first.stderr
    assert [(r["version"], r["digest"], r["status"]) for r in json.loads(first.stdout)] == [
        ("1.3.0", pushed, "updated")
    ]
    # The same tag moved to another image: pinned by digest, that is a change to record.
    moved = push_tags(registry, "team/jobs", ["1.3.0"], label="jobs 1.3.0, rebuilt")["1.3.0"]
    assert moved != pushed
    second = _detect(work, "releases", "-o", "json", env=_env(registry))
    [row] = json.loads(second.stdout)
    assert (row["previous"], row["version"], row["digest"], row["status"]) == ("1.3.0", "1.3.0", moved, "updated")
    # Pinned by tag, a moved tag is not news.
    spec = work / "releases" / "jobs.yaml"
    spec.write_text(spec.read_text().replace("pin: digest", "pin: tag"))
    git(work, "commit", "-q", "-am", "follow tags only")
    git(work, "push", "-q", "origin", "main")
    push_tags(registry, "team/jobs", ["1.3.0"], label="jobs 1.3.0, rebuilt again")
    third = _detect(work, "releases", "-o", "json", env=_env(registry))
    assert [r["status"] for r in json.loads(third.stdout)] == ["current"]
    fresh = clone(url, tmp_path / "fresh")
    assert f'digest: "{moved}"' in (fresh / "releases" / "jobs.yaml").read_text()


def test_a_detected_version_is_announced_to_the_release_webhooks(
    registry: Registry, daemon: GitDaemon, tmp_path: Path
) -> None:
    """``rollgen detect`` sends ``detected`` (with the commit it made) to the webhooks of the spec it changed."""
    hooks = "  notifications:\n    webhooks:\n      - {name: audit, kind: json, url: {env: HOOK_URL}}\n"
    spec = SPEC.format(name="web", image=f"{registry.host}/team/web", git="") + hooks
    url, work = _gitops(daemon, tmp_path, {"web.yaml": spec})
    push_tags(registry, "team/web", ["1.1.5"], label="web 1.1.5")
    with receiving() as (got, hook_url):
        done = _detect(work, "releases", env={**_env(registry), "HOOK_URL": hook_url})
    assert done.returncode == 0, done.stderr
    [body] = got
    assert (body["event"], body["release"], body["fromVersion"], body["toVersion"]) == (
        "detected",
        "prod/web",
        "1.1.0",
        "1.1.5",
    )
    assert body["commit"] == git(clone(url, tmp_path / "fresh"), "rev-parse", "HEAD")
