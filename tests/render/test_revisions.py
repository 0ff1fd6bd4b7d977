"""Revisions, proved on real ``kubectl kustomize`` builds of every committed state.

A base edit is a new revision: it reaches pods only by a rollout, the stable
Deployment builds the same at every step, and an abort builds byte for byte
what ran before. Whether the base changed is known without a build when its
files did not change.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from rollgen.errors import UsageError
from rollgen.plan.steps import abort_states, plan_release
from rollgen.render import desired
from rollgen.render.desired import desired_revision
from rollgen.render.renderer import Renderer
from rollgen.render.revision import Revision, live_revision, live_revisions, revision_label
from rollgen.spec.load import load_release
from rollgen.spec.model import Release
from testkit.built import Obj, kustomize_build, kustomize_build_text, of_kind, write_files
from testkit.tools import REPO_ROOT, require_tool

Files = dict[str, bytes]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    require_tool("kubectl")
    shutil.copytree(REPO_ROOT / "examples" / "apps", tmp_path / "examples" / "apps")
    return tmp_path


def deployment_file(repo: Path) -> Path:
    return repo / "examples" / "apps" / "web" / "base" / "deployment.yaml"


def set_env(repo: Path, value: str) -> None:
    """Give the base's container an env var: a configuration-only change."""
    path = deployment_file(repo)
    text = re.sub(r"\n          env: \[[^\]]*\]", "", path.read_text())
    image = "          image: ghcr.io/example/web:1.0.0\n"
    path.write_text(text.replace(image, f"{image}          env: [{{name: MODE, value: {value}}}]\n"))


def running(repo: Path, release: Release) -> Files:
    """The output before any rollout: the stable revision alone, frozen (what a first render commits)."""
    return Renderer(repo, release).render(plan_release(release).initial)


def build(directory: Path, files: Files) -> str:
    shutil.rmtree(directory, ignore_errors=True)
    write_files(directory, files)
    return kustomize_build_text(directory)


def deployments(directory: Path, files: Files) -> dict[str, Obj]:
    shutil.rmtree(directory, ignore_errors=True)
    write_files(directory, files)
    return of_kind(kustomize_build(directory), "Deployment")


def without_replicas(deployment: Obj) -> Obj:
    return {**deployment, "spec": {k: v for k, v in deployment["spec"].items() if k != "replicas"}}


def config_rollout(repo: Path, example: str) -> tuple[Release, Files, Revision, str]:
    """The release at 1.0.0 running, its base then edited: the config-only rollout that follows."""
    release = dataclasses.replace(load_release(REPO_ROOT / "examples" / example), stable="1.0.0", version="1.0.0")
    before = running(repo, release)
    live = live_revision(before)
    assert live == Revision("1.0.0", live.config if live else "")
    set_env(repo, "new")
    desired = desired_revision(repo, release, live)
    name = revision_label(desired, live)
    return dataclasses.replace(release, version=name), before, desired, name


@pytest.mark.parametrize("example", ["canary.yaml", "blue-green.yaml", "rolling-update.yaml"])
def test_a_base_edit_is_a_new_revision_and_never_touches_the_stable_pods(repo: Path, example: str) -> None:
    rollout, before, desired, name = config_rollout(repo, example)
    assert re.fullmatch(r"1\.0\.0-[0-9a-f]{6}", name)
    assert desired.version == "1.0.0" and name == f"1.0.0-{desired.config[:6]}"
    (stable_name,) = deployments(repo / "out", before)
    stable = deployments(repo / "out", before)[stable_name]

    tip, seen_new = before, False
    for step in plan_release(rollout).steps:
        tip = Renderer(repo, rollout).render(step.state, frozen=tip, revisions={name: desired})
        built = deployments(repo / "out", tip)
        by_version = {d["spec"]["template"]["metadata"]["labels"]["version"]: d for d in built.values()}
        if "1.0.0" in by_version:
            # The stable revision builds from its frozen files: only its replica count moves.
            assert without_replicas(built[stable_name]) == without_replicas(stable), step.index
        new = by_version.get(name)
        if new is not None:
            seen_new = True
            (container,) = new["spec"]["template"]["spec"]["containers"]
            assert container["image"] == "ghcr.io/example/web:1.0.0"  # the image is the version, not the label
            assert container["env"] == [{"name": "MODE", "value": "new"}]
    assert seen_new
    assert list(live_revisions(tip)) == [name]
    assert live_revision(tip) == desired


@pytest.mark.parametrize("example", ["canary.yaml", "blue-green.yaml"])
def test_aborting_a_bad_config_revision_builds_what_ran_byte_for_byte(repo: Path, example: str) -> None:
    rollout, before, desired, name = config_rollout(repo, example)
    expected = build(repo / "before", before)
    plan = plan_release(rollout)
    tip = before
    for step in plan.steps[:-1]:  # the last step removes the stable: nothing left to abort to
        tip = Renderer(repo, rollout).render(step.state, frozen=tip, revisions={name: desired})
        back = tip
        for state in abort_states(plan, step.index):
            back = Renderer(repo, rollout).render(state, frozen=back, revisions={name: desired})
        assert back == before, step.index
        assert build(repo / "aborted", back) == expected, step.index


def test_a_later_base_edit_renders_the_running_revision_unchanged(repo: Path) -> None:
    release = load_release(REPO_ROOT / "examples" / "canary.yaml")
    release = dataclasses.replace(release, version=release.stable)
    before = running(repo, release)
    set_env(repo, "edited")
    assert Renderer(repo, release).render(plan_release(release).initial, frozen=before) == before
    # Without the frozen files (what rollgen did before revisions) the edit would reach the pods.
    assert Renderer(repo, release).render(plan_release(release).initial) != before


def test_desired_revision_builds_nothing_while_the_inputs_are_unchanged(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = load_release(REPO_ROOT / "examples" / "canary.yaml")
    live = live_revision(running(repo, dataclasses.replace(release, version=release.stable)))
    assert live is not None and live.inputs is not None
    path = str(Path(shutil.which("kubectl") or "").parent)
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # any build would fail: kubectl cannot be found

    same = desired_revision(repo, release, live)
    assert same == Revision(release.version, live.config) and same.inputs == live.inputs

    # A comment changes the inputs: now a build is needed (and fails without kubectl) ...
    deployment_file(repo).write_text("# a comment kustomize drops\n" + deployment_file(repo).read_text())
    with pytest.raises(UsageError, match="kubectl is not installed"):
        desired_revision(repo, release, live)
    # ... and it builds to the same bytes: the same configuration, no new revision.
    monkeypatch.setenv("PATH", path)
    commented = desired_revision(repo, release, live)
    assert commented.config == live.config and commented.inputs != live.inputs
    assert revision_label(commented, live) == release.version

    set_env(repo, "new")
    assert desired_revision(repo, release, live).config != live.config


def test_a_renderer_refuses_a_revision_whose_base_changed_since_it_was_computed(repo: Path) -> None:
    rollout, before, desired, name = config_rollout(repo, "canary.yaml")
    set_env(repo, "newer")
    with pytest.raises(UsageError, match="the base changed meanwhile"):
        Renderer(repo, rollout).render(plan_release(rollout).steps[0].state, frozen=before, revisions={name: desired})


@pytest.mark.parametrize("example", ["canary.yaml", "blue-green.yaml", "rolling-update.yaml"])
def test_an_adopted_app_keeps_its_deployment_through_a_rollout_and_an_abort(repo: Path, example: str) -> None:
    # What the team runs today: the base applied as is, one unversioned Deployment `web`.
    (today,) = of_kind(kustomize_build(repo / "examples" / "apps" / "web" / "base"), "Deployment").values()
    release = load_release(REPO_ROOT / "examples" / example)
    adopted = Renderer(repo, release).adopt()

    (kept,) = deployments(repo / "out", adopted).values()
    assert kept["metadata"]["name"] == "web"
    assert kept["spec"]["selector"] == today["spec"]["selector"]  # immutable: left exactly as it was
    assert kept["spec"]["template"]["spec"] == today["spec"]["template"]["spec"]  # same image, same configuration
    assert kept["spec"]["template"]["metadata"]["labels"] == {"app": "web", "version": "1.0.0"}
    assert live_revision(adopted) == Revision("1.0.0", live_revision(adopted).config)  # type: ignore[union-attr]

    plan = plan_release(release)
    # The plan's own starting state, rendered over the adopted output, is the adopted output.
    assert Renderer(repo, release).render(plan.initial, frozen=adopted) == adopted
    tip = adopted
    for step in plan.steps:
        tip = Renderer(repo, release).render(step.state, frozen=tip)
        built = deployments(repo / "out", tip)
        stable_pods = step.state.replicas(release.stable)
        if any(w.version == release.stable for w in step.state.workloads):
            # The adopted Deployment runs the stable until a state removes it; never a renamed copy.
            assert built["web"]["spec"]["template"]["metadata"]["labels"]["version"] == "1.0.0"
            assert built["web"]["spec"].get("replicas", stable_pods) == stable_pods
        assert "web-1-0-0" not in built
        if step.index < len(plan.steps):
            back = tip
            for state in abort_states(plan, step.index):
                back = Renderer(repo, release).render(state, frozen=back)
            assert back == adopted, step.index  # an abort returns to the adopted app, never to nothing
    assert live_revision(tip) == Revision("1.1.0", live_revision(adopted).config)  # type: ignore[union-attr]


def test_adoption_refuses_a_spec_whose_stable_is_not_what_runs(repo: Path) -> None:
    release = dataclasses.replace(load_release(REPO_ROOT / "examples" / "canary.yaml"), stable="0.9.0")
    with pytest.raises(UsageError, match=r"the base runs 1\.0\.0 but the spec says stable 0\.9\.0"):
        Renderer(repo, release).adopt()


def test_a_pinned_digest_keeps_the_tag_readable_and_is_recorded(repo: Path) -> None:
    digest = "sha256:" + "0123456789abcdef" * 4
    release = dataclasses.replace(load_release(REPO_ROOT / "examples" / "canary.yaml"), digest=digest)
    desired = desired_revision(repo, release, None)
    state = plan_release(release).steps[0].state
    files = Renderer(repo, release).render(state, revisions={release.version: desired})
    built = deployments(repo / "out", files)
    (container,) = built["web-1-1-0"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"ghcr.io/example/web:1.1.0@{digest}"
    (stable,) = built["web-1-0-0"]["spec"]["template"]["spec"]["containers"]
    assert stable["image"] == "ghcr.io/example/web:1.0.0"
    assert live_revision(files) == desired and live_revision(files).digest == digest  # type: ignore[union-attr]


def test_within_one_pass_a_shared_base_is_fingerprinted_once(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = load_release(REPO_ROOT / "examples" / "canary.yaml")
    other = dataclasses.replace(release, namespace="staging")  # another release on the same base
    reads: list[object] = []
    real = desired.fingerprint
    monkeypatch.setattr(desired, "fingerprint", lambda *args: reads.append(args) or real(*args))
    with desired.one_pass():
        first = desired.input_fingerprint(repo, release)
        assert desired.input_fingerprint(repo, other) == first
    assert len(reads) == 1
    # Outside a pass every call reads the files again: an edit is seen at once.
    deployment_file(repo).write_text("# edited\n" + deployment_file(repo).read_text())
    assert desired.input_fingerprint(repo, release) != first and len(reads) == 2
