"""The Kustomize renderer, proved by building its overlays with the real kustomize.

Every state of every example plan (each step and every abort path) is
rendered over the real podinfo base (Deployment + Service + HPA) and over the
examples' own base (no HPA, ``replicas`` set), built with ``kubectl
kustomize``, validated (Kubernetes 1.30 schemas, Istio and Gateway API CRDs)
and compared with the state the plan asked for.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rollgen.errors import UsageError
from rollgen.plan.model import State, Workload
from rollgen.plan.steps import abort_states, plan_release
from rollgen.render.kustomize import render_overlay
from rollgen.render.userbase import KustomizeBase, read_base
from rollgen.spec.load import load_release
from rollgen.spec.model import Canary, KustomizeSource, Release
from testkit.built import (
    assert_deployment_strategies,
    assert_matches_state,
    every_state,
    kustomize_build,
    kustomize_build_all,
    kustomize_build_text,
    of_kind,
    validate,
    write_files,
)
from testkit.tools import REPO_ROOT, require_tool

EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.yaml"))
PODINFO_HPA = {"minReplicas": 2, "maxReplicas": 4}
GOLDEN = REPO_ROOT / "tests" / "golden" / "kustomize"


def podinfo_release(example: Path) -> Release:
    """An example's strategy applied to the real podinfo base (in ``apps/podinfo/base`` of a test repo)."""
    return dataclasses.replace(
        load_release(example),
        name="podinfo",
        image="ghcr.io/stefanprodan/podinfo",
        stable="6.4.0",
        version="6.5.0",
        source=KustomizeSource("apps/podinfo/base"),
        output_path="clusters/prod/podinfo",
    )


@pytest.fixture
def podinfo_repo(tmp_path: Path, shared: Path) -> Path:
    """A repository holding a copy of the real podinfo base."""
    require_tool("kubectl")  # read_base builds the base
    shutil.copytree(shared / "podinfo" / "kustomize", tmp_path / "apps" / "podinfo" / "base")
    return tmp_path


@pytest.fixture
def examples_repo(tmp_path: Path) -> Path:
    require_tool("kubectl")
    shutil.copytree(REPO_ROOT / "examples" / "apps", tmp_path / "examples" / "apps")
    return tmp_path


def check_every_state(repo: Path, release: Release, hpa: dict[str, int] | None) -> int:
    base = read_base(repo, release)
    plan = plan_release(release)
    states = list(dict.fromkeys(every_state(plan)))
    outputs = []
    for number, state in enumerate(states):
        # One output directory per state, so no state sees files another one left behind.
        where = dataclasses.replace(release, output_path=f"out/state-{number}")
        write_files(repo / where.output_path, render_overlay(where, state, base))
        outputs.append(repo / where.output_path)
    for state, objects in zip(states, kustomize_build_all(outputs), strict=True):
        validate(objects)
        assert_matches_state(release, state, base, objects, hpa)
        assert_deployment_strategies(plan, objects)
    return len(states)


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_state_of_the_plan_builds_on_the_podinfo_base(example: Path, podinfo_repo: Path) -> None:
    assert check_every_state(podinfo_repo, podinfo_release(example), PODINFO_HPA) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_state_of_the_plan_builds_on_the_examples_base(example: Path, examples_repo: Path) -> None:
    assert check_every_state(examples_repo, load_release(example), None) >= 2


def test_shared_objects_are_rendered_once_and_config_per_version(tmp_path: Path, shared: Path) -> None:
    require_tool("kubectl")
    base = tmp_path / "apps" / "podinfo" / "base"
    shutil.copytree(shared / "podinfo" / "kustomize", base)
    deployment = (base / "deployment.yaml").read_text()
    deployment = deployment.replace("  progressDeadlineSeconds: 60\n", "  progressDeadlineSeconds: 60\n  replicas: 2\n")
    deployment = deployment.replace(
        "      containers:\n",
        "      serviceAccountName: podinfo\n      containers:\n      - name: sidecar\n        image: busybox:1.36\n        envFrom:\n"
        "        - configMapRef: {name: podinfo-env}\n        - secretRef: {name: podinfo-token}\n",
    )
    (base / "deployment.yaml").write_text(deployment)
    (base / "shared.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: podinfo}\n---\n"
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: podinfo}\n"
        "spec: {minAvailable: 1, selector: {matchLabels: {app: podinfo}}}\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata: {name: podinfo-token}\nstringData: {token: x}\n"
    )
    (base / "kustomization.yaml").write_text(
        (base / "kustomization.yaml").read_text()
        + "  - shared.yaml\nconfigMapGenerator:\n  - name: podinfo-env\n    literals: [MODE=prod]\n"
    )
    release = dataclasses.replace(podinfo_release(REPO_ROOT / "examples" / "canary.yaml"), container="podinfod")
    state = State((Workload("6.4.0", "podinfo-6-4-0", 3), Workload("6.5.0", "podinfo-6-5-0", 1)))
    write_files(tmp_path / release.output_path, render_overlay(release, state, read_base(tmp_path, release)))

    objects = kustomize_build(tmp_path / release.output_path)
    validate(objects)
    assert_matches_state(release, state, read_base(tmp_path, release), objects, PODINFO_HPA)
    assert set(of_kind(objects, "ServiceAccount")) == {"podinfo"}
    assert set(of_kind(objects, "PodDisruptionBudget")) == {"podinfo"}
    configmaps = of_kind(objects, "ConfigMap")
    secrets = of_kind(objects, "Secret")
    # Each version freezes the base as built, generated hash suffix included; the version suffix follows it.
    assert {re.sub(r"^podinfo-env-[a-z0-9]{10}-", "", n) for n in configmaps} == {"6-4-0", "6-5-0"}
    assert set(secrets) == {"podinfo-token-6-4-0", "podinfo-token-6-5-0"}
    for name, deployment_obj in of_kind(objects, "Deployment").items():
        pod = deployment_obj["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == "podinfo"
        (sidecar,) = [c for c in pod["containers"] if c["name"] == "sidecar"]
        assert sidecar["image"] == "busybox:1.36"  # only the rolled-out container changes image
        # Each version reads its own copies, generated hash suffix and all.
        suffix = name.removeprefix("podinfo")
        (configmap,) = [c for c in configmaps if c.startswith("podinfo-env-") and c.endswith(suffix)]
        refs = {next(iter(ref.values()))["name"] for ref in sidecar["envFrom"]}
        assert refs == {configmap, f"podinfo-token{suffix}"}


def test_aborting_from_any_step_renders_the_initial_bytes(podinfo_repo: Path) -> None:
    for example in EXAMPLES:
        release = podinfo_release(example)
        base = read_base(podinfo_repo, release)
        plan = plan_release(release)
        initial = render_overlay(release, plan.initial, base)
        assert all(text.endswith(b"\n") and not text.endswith(b"\n\n") for text in initial.values())
        for index in range(1, len(plan.steps) + 1):
            assert render_overlay(release, abort_states(plan, index)[-1], base) == initial, (example.stem, index)


DIGEST_EVERY_STATE = r"""
import hashlib, sys
from pathlib import Path
from rollgen.plan.steps import plan_release
from rollgen.render.userbase import parse_base
from rollgen.render.kustomize import render_overlay
from rollgen.spec.load import load_release
EXAMPLES = sorted(Path("examples").glob("*.yaml"))
base = parse_base(sys.stdin.read(), "examples/apps/web/base")
digest = hashlib.sha256()
for example in EXAMPLES:
    release = load_release(example)
    plan = plan_release(release)
    for state in [plan.initial, *(step.state for step in plan.steps)]:
        for path, text in render_overlay(release, state, base).items():
            digest.update(path.encode() + b"\0" + text + b"\0")
print(digest.hexdigest())
"""


def test_rendering_gives_the_same_bytes_in_every_process() -> None:
    # Different hash seeds change set and dict-of-set orders: bytes that depended on them would differ.
    built = kustomize_build_text(REPO_ROOT / "examples" / "apps" / "web" / "base")
    digests = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", DIGEST_EVERY_STATE],
            input=built,
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=env,
            check=True,
        )
        digests.add(done.stdout)
    assert len(digests) == 1


GOLDEN_CASES = {
    "canary-istio-step-2": ("canary-istio.yaml", 2),
    "blue-green-step-1": ("blue-green.yaml", 1),
    "canary-step-2": ("canary.yaml", 2),
}


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_golden_files(case: str, shared: Path, update_golden: bool) -> None:
    require_tool("kubectl")
    example, step = GOLDEN_CASES[case]
    # The base is read in place; its path relative to the shared data is part of the golden text.
    release = dataclasses.replace(
        podinfo_release(REPO_ROOT / "examples" / example), source=KustomizeSource("podinfo/kustomize")
    )
    files = render_overlay(release, plan_release(release).steps[step - 1].state, read_base(shared, release))
    directory = GOLDEN / case
    if update_golden:
        shutil.rmtree(directory, ignore_errors=True)
        write_files(directory, files)
    on_disk = {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
    assert on_disk == files, f"rendered files differ from {directory}; review and rerun with ROLLGEN_UPDATE_GOLDEN=1"


def test_a_base_deployment_not_named_after_the_release_is_refused(podinfo_repo: Path) -> None:
    release = podinfo_release(REPO_ROOT / "examples" / "canary.yaml")
    base = read_base(podinfo_repo, release)
    renamed = dataclasses.replace(release, name="frontend")
    with pytest.raises(UsageError, match="base's Deployment is podinfo"):
        render_overlay(renamed, plan_release(renamed).initial, base)


def test_the_container_to_roll_out_must_be_named_when_there_are_several(podinfo_repo: Path) -> None:
    release = podinfo_release(REPO_ROOT / "examples" / "canary.yaml")
    base = read_base(podinfo_repo, release)
    two = dataclasses.replace(base, containers=base.containers * 2)
    with pytest.raises(UsageError, match=r"set spec\.container"):
        render_overlay(release, plan_release(release).initial, two)
    with pytest.raises(UsageError, match="container web is not in Deployment podinfo"):
        render_overlay(dataclasses.replace(release, container="web"), plan_release(release).initial, base)


def test_weights_without_a_router_are_a_planner_bug(podinfo_repo: Path) -> None:
    release = dataclasses.replace(podinfo_release(REPO_ROOT / "examples" / "canary.yaml"), strategy=Canary())
    state = State((Workload("6.4.0", "podinfo-6-4-0", 4),), weights=(("6.4.0", 100),))
    with pytest.raises(ValueError, match="routes by replicas"):
        render_overlay(release, state, read_base(podinfo_repo, release))


def test_helm_releases_are_not_rendered_here(podinfo_repo: Path) -> None:
    from rollgen.spec.helmsource import HelmSource

    release = dataclasses.replace(
        podinfo_release(REPO_ROOT / "examples" / "canary.yaml"), source=HelmSource("charts/podinfo")
    )
    base: KustomizeBase = read_base(podinfo_repo, podinfo_release(REPO_ROOT / "examples" / "canary.yaml"))
    with pytest.raises(UsageError, match="Helm"):
        render_overlay(release, plan_release(release).initial, base)
