"""The Dockerfile (no daemon here to build it): what can be checked from its instructions.

Its final stage runs as a numeric non-root user, installs git and a kubectl
that builds what rollgen renders, installs rollgen itself from the source
tree, downloads nothing but packages, and starts rollgen.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from testkit.tools import REPO_ROOT

TEXT = (REPO_ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", TEXT)
    found = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def test_every_stage_starts_from_a_slim_python() -> None:
    bases = [rest.split()[0] for keyword, rest in instructions() if keyword == "FROM"]
    assert bases and all(re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base) for base in bases)
    # Debian's kubernetes-client before trixie is kubectl 1.20, whose kustomize cannot build rollgen's overlays.
    assert all(base.endswith("-trixie") for base in bases)


def test_the_final_stage_runs_rollgen_as_a_numeric_non_root_user() -> None:
    stage = final_stage()
    users = [rest for keyword, rest in stage if keyword == "USER"]
    assert users, "no USER in the final stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0  # numeric, so runAsNonRoot can check it
    assert json.loads(dict(stage)["ENTRYPOINT"]) == ["rollgen"]
    # Nothing runs as root after the switch.
    after = stage[[k for k, _ in stage].index("USER") :]
    assert not [rest for keyword, rest in after if keyword == "RUN"]


def test_it_installs_git_kubectl_and_rollgen_with_package_managers_only() -> None:
    runs = " ".join(rest for keyword, rest in final_stage() if keyword == "RUN")
    assert re.search(r"apt-get install .*\bgit\b.*\bkubernetes-client\b", runs)
    assert "rm -rf /var/lib/apt/lists/*" in runs
    # From the build stage's wheels only, with the extras the build argument names (charts/rollgen runs this image).
    assert 'pip install --no-cache-dir --no-index --find-links /wheels "rollgen[${EXTRAS}]"' in runs
    everything = " ".join(rest for keyword, rest in instructions() if keyword in ("RUN", "ADD"))
    assert not re.search(r"\b(curl|wget)\b|https?://", everything)
    assert 'pip wheel --no-cache-dir --wheel-dir /wheels ".[${EXTRAS}]"' in everything


def test_the_image_has_every_extra_a_gate_needs_and_helm_on_request() -> None:
    """By default the client the cluster gates read with and botocore for cloudWatch; Helm (250 MB) when asked."""
    every = instructions()
    (default,) = [rest for keyword, rest in every if keyword == "ARG" and rest.startswith("EXTRAS=")]
    extras = set(default.removeprefix("EXTRAS=").split(","))
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras == {"kubernetes", "aws"} and extras <= declared.keys() and "helm" in declared
    # Each stage re-declares the argument, or its RUN lines would see it empty.
    assert [rest for keyword, rest in every if keyword == "ARG"].count("EXTRAS") == 2
    assert "--build-arg EXTRAS=kubernetes,aws,helm" in TEXT


def test_the_build_context_holds_what_the_package_needs() -> None:
    copied = {
        source
        for keyword, rest in instructions()
        if keyword == "COPY" and "--from" not in rest
        for source in rest.split()[:-1]
    }
    assert copied == {"pyproject.toml", "README.md", "rollgen", "schemas"}
    for path in copied:
        assert (REPO_ROOT / path).exists()
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert not set(ignored) & copied


def test_the_build_stage_makes_a_wheel_with_the_cli_and_the_schema(tmp_path: Path) -> None:
    """The build stage's `pip wheel .`, from exactly what it copies (offline: no build isolation)."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    for name in ("rollgen", "schemas"):
        shutil.copytree(REPO_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = wheels.glob("rollgen-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "rollgen = rollgen" in archive.read(entry_points).decode()
    assert {"rollgen/cli/__init__.py", "rollgen/controller/notify.py", "rollgen/schemas/release.schema.json"} <= names
