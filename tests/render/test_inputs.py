"""The files a Kustomize base reads, found without building it, and their fingerprint."""

from __future__ import annotations

from pathlib import Path

from rollgen.kustomize_inputs import fingerprint, reads


def layered(root: Path) -> None:
    """apps/web/env/prod includes ../../base, a component, a patch file above it and a generator source."""
    files = {
        "apps/web/base/kustomization.yaml": "resources: [deployment.yaml]\n",
        "apps/web/base/deployment.yaml": "kind: Deployment\n",
        "apps/web/env/prod/kustomization.yaml": (
            "resources: [../../base, https://example.com/remote.yaml]\n"
            "components: [../../../../components/probes]\n"
            "patches: [{path: ../patches/memory.yaml}]\n"
            "configMapGenerator: [{name: cfg, files: [app.properties=../config/app.properties], envs: [../config/.env]}]\n"
        ),
        "apps/web/env/patches/memory.yaml": "memory: 1Gi\n",
        "apps/web/env/patches/unused.yaml": "not read\n",
        "apps/web/env/config/app.properties": "a=1\n",
        "apps/web/env/config/.env": "B=2\n",
        "components/probes/kustomization.yaml": "kind: Component\n",
        "unrelated/file.yaml": "x\n",
    }
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def test_every_directory_and_file_a_layered_base_reads_is_an_input(tmp_path: Path) -> None:
    layered(tmp_path)
    found = set(reads(tmp_path, "apps/web/env/prod"))
    assert found == {
        "apps/web/env/prod",
        "apps/web/base",
        "components/probes",
        "apps/web/env/patches/memory.yaml",
        "apps/web/env/config/app.properties",
        "apps/web/env/config/.env",
    }


def test_the_fingerprint_moves_with_an_input_and_only_with_one(tmp_path: Path) -> None:
    layered(tmp_path)

    def now() -> str:
        return fingerprint(tmp_path, reads(tmp_path, "apps/web/env/prod"))

    first = now()
    (tmp_path / "unrelated" / "file.yaml").write_text("changed\n")
    (tmp_path / "apps/web/env/patches/unused.yaml").write_text("changed\n")
    assert now() == first
    (tmp_path / "components/probes/kustomization.yaml").write_text("kind: Component\n# edited\n")
    second = now()
    assert second != first
    (tmp_path / "apps/web/env/config/.env").write_text("B=3\n")
    assert now() != second


def test_the_fingerprint_is_the_same_in_any_clone(tmp_path: Path) -> None:
    layered(tmp_path / "one")
    layered(tmp_path / "two")
    assert fingerprint(tmp_path / "one", reads(tmp_path / "one", "apps/web/env/prod")) == fingerprint(
        tmp_path / "two", reads(tmp_path / "two", "apps/web/env/prod")
    )
