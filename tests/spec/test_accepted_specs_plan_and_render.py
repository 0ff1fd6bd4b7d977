"""Validation is the one gate: every spec `validate` accepts plans and renders without a usage error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollgen.plan.steps import abort_states, plan_release
from rollgen.render.renderer import Renderer
from rollgen.spec.load import load_file
from rollgen.spec.model import Release
from testkit.tools import REPO_ROOT

HERE = Path(__file__).parent
EXAMPLES = sorted(REPO_ROOT.glob("examples/**/*.yaml"))
EXAMPLES = [p for p in EXAMPLES if "apps/" not in p.as_posix() and "/values/" not in p.as_posix()]
CORPUS = sorted((HERE / "valid").glob("*.yaml"))


def plan_and_render(release: Release, repo: Path) -> None:
    plan = plan_release(release)
    renderer = Renderer(repo, release)
    states = [plan.initial, *(step.state for step in plan.steps)]
    for index in range(1, len(plan.steps) + 1):
        states += abort_states(plan, index)
    for state in states:
        files = renderer.render(state)
        # Only an empty state (recreate's downtime) with one Helm release per version renders no file.
        assert files or not state.workloads


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_every_example_plans_and_renders(path: Path) -> None:
    result = load_file(path, repo=REPO_ROOT)
    assert result.problems == () and result.release is not None
    plan_and_render(result.release, REPO_ROOT)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_every_valid_corpus_spec_plans(path: Path, tmp_path: Path) -> None:
    result = load_file(path)
    assert result.release is not None
    release = result.release
    plan = plan_release(release)
    for index in range(1, len(plan.steps) + 1):
        abort_states(plan, index)


def _base(tmp: Path) -> Path:
    """A repository with a Kustomize base, rollgen's chart and a team's own chart."""
    repo = tmp / "repo"
    if not repo.exists():
        shutil.copytree(REPO_ROOT / "examples" / "apps" / "web" / "base", repo / "base")
        shutil.copytree(REPO_ROOT / "charts" / "rollgen-app", repo / "charts" / "rollgen-app")
        (repo / "charts" / "own").mkdir(parents=True)
        (repo / "charts" / "own" / "Chart.yaml").write_text("apiVersion: v2\nname: own\nversion: 1.0.0\n")
    return repo


_SOURCES = st.sampled_from(
    [
        {"kustomize": {"base": "base"}},
        {"helm": {"chart": "charts/rollgen-app"}},
        {
            "helm": {
                "chart": "charts/own",
                "perVersion": {"name": "fullnameOverride", "imageTag": "image.tag", "replicas": "replicaCount"},
            }
        },
    ]
)


_weights = st.lists(st.integers(0, 100), min_size=1, max_size=4)
_count = st.one_of(st.integers(0, 12), st.sampled_from(["0%", "25%", "50%", "100%"]))


@st.composite
def specs(draw: st.DrawFn) -> dict[str, object]:
    replicas = draw(st.integers(1, 12))
    kind = draw(st.sampled_from(["canary", "blueGreen", "rollingUpdate", "recreate"]))
    strategy: dict[str, object]
    if kind == "canary":
        traffic = draw(st.sampled_from(["replicas", "istio", "gatewayAPI"]))
        canary: dict[str, object] = {"maxSurge": draw(_count), "maxUnavailable": draw(_count), "traffic": traffic}
        if traffic == "istio":
            canary["istio"] = {"hosts": ["web"]}
        if traffic == "gatewayAPI":
            canary["gatewayAPI"] = {"parentRefs": [{"name": "edge"}]}
        style = draw(st.sampled_from(["steps", "stepWeights", "stepWeight", "waves"]))
        if style == "steps":
            steps: list[dict[str, object]] = []
            for _ in range(draw(st.integers(1, 5))):
                steps.append(
                    draw(
                        st.one_of(
                            st.builds(lambda w: {"setWeight": w}, st.integers(0, 100)),
                            st.builds(lambda n: {"setCanaryScale": {"replicas": n}}, st.integers(0, 13)),
                            st.just({"pause": {}}),
                            st.builds(lambda d: {"pause": {"duration": d}}, st.integers(0, 90)),
                        )
                    )
                )
            canary["steps"] = steps
        elif style == "stepWeights":
            canary["stepWeights"] = draw(_weights)
        elif style == "stepWeight":
            canary["stepWeight"], canary["maxWeight"] = draw(st.integers(1, 100)), draw(st.integers(1, 100))
        else:
            canary["waves"] = {"count": draw(st.integers(1, 12))}
        strategy = {"canary": canary}
    elif kind == "blueGreen":
        bg: dict[str, object] = {"previewService": "web-preview"} if draw(st.booleans()) else {}
        if draw(st.booleans()):
            bg["previewReplicaCount"] = draw(st.integers(1, 13))
        bg["autoPromotionEnabled"] = draw(st.booleans())
        strategy = {"blueGreen": bg}
    elif kind == "rollingUpdate":
        strategy = {"rollingUpdate": {"maxSurge": draw(_count), "maxUnavailable": draw(_count)}}
    else:
        strategy = {"recreate": {}}
    versions = st.sampled_from(["1.0.0", "1.1.0", "1_0_0", "RC", "rc", "2.0.0-rc.1", "v3"])
    return {
        "apiVersion": "rollgen.io/v1alpha1",
        "kind": "Release",
        "metadata": {"name": "web"},
        "spec": {
            "namespace": "prod",
            "replicas": replicas,
            "image": "ghcr.io/example/web",
            "stable": draw(versions),
            "version": draw(versions),
            "source": draw(_SOURCES),
            "output": {"path": "out/web"},
            "liveness": {"assumeAfter": "1m"},
            "strategy": strategy,
        },
    }


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=specs())
def test_generated_specs_that_validate_plan_and_render(spec: dict[str, object], tmp_path: Path) -> None:
    repo = _base(tmp_path)
    path = repo / "release.yaml"
    path.write_text(json.dumps(spec))  # JSON is YAML
    result = load_file(path, repo=repo)
    if result.release is not None:
        plan_and_render(result.release, repo)
