"""The pieces validation shares with the rest of rollgen: template names, kustomization inputs, discovery, liveness."""

from __future__ import annotations

from pathlib import Path

from rollgen.gates.kind import GateContext
from rollgen.gates.template import NAMES
from rollgen.kustomize_inputs import inputs
from rollgen.spec.discover import release_specs
from rollgen.spec.load import load_release

HERE = Path(__file__).parent


def test_validation_knows_exactly_the_names_a_gate_is_given() -> None:
    context = GateContext(release="web", namespace="prod", version="1.1.0", stable="1.0.0", commit="c0ffee", step=3)
    assert set(context.template_values()) == NAMES


def test_kustomization_inputs_follow_resources_components_patches_and_generators(tmp_path: Path) -> None:
    files = {
        "apps/web/env/prod/kustomization.yaml": (
            "resources: [../../base, https://example.com/remote.yaml]\n"
            "components: [../../components/probes]\n"
            "patches: [{path: ../../patches/limits.yaml}]\n"
            "configMapGenerator: [{name: cfg, files: [app.conf=../../config/app.conf], envs: [../../config/env]}]\n"
        ),
        "apps/web/base/kustomization.yaml": "resources: [deployment.yaml]\n",
        "apps/web/base/deployment.yaml": "",
        "apps/web/components/probes/kustomization.yaml": "kind: Component\n",
        "apps/web/patches/limits.yaml": "",
        "apps/web/config/app.conf": "",
        "apps/web/config/env": "",
        "apps/web/unrelated/kustomization.yaml": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert [p.as_posix() for p in inputs(tmp_path, "apps/web/env/prod")] == [
        "apps/web/base",
        "apps/web/components/probes",
        "apps/web/config",
        "apps/web/env/prod",
        "apps/web/patches",
    ]


def test_a_directory_yields_its_release_specs_and_named_files_stay(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "spec.yaml").write_text("apiVersion: rollgen.io/v1alpha1\nkind: Release\n")
    (tmp_path / "a.yaml").write_text("apiVersion: rollgen.io/v1alpha1\nkind: Release\n")
    (tmp_path / "b.yml").write_text("kind: 'Release'\napiVersion: \"rollgen.io/v1alpha1\"\n")
    (tmp_path / "rollout.yaml").write_text("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\n")
    (tmp_path / "other.yaml").write_text("apiVersion: rollgen.io/v1alpha1\nkind: ReleaseSet\n")
    named = tmp_path / "rollout.yaml"
    assert release_specs([tmp_path, named, tmp_path / "a.yaml"]) == [tmp_path / "a.yaml", tmp_path / "b.yml", named]


def test_liveness_choice_and_integer_durations_reach_the_model() -> None:
    release = load_release(HERE / "valid" / "argo-habits.yaml")
    assert release.liveness_assume_after == 90.0
    assert release.progress_deadline == 600.0
    assert release.strategy.steps[1].seconds == 30.0  # type: ignore[union-attr]
    own_chart = load_release(HERE / "valid" / "helm-own-chart.yaml")
    assert own_chart.source.per_version.image_tag == "image.tag"  # type: ignore[union-attr]
