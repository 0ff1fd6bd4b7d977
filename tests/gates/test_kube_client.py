"""Without the ``kubernetes`` extra: the gates that read the cluster say which extra to install.

The base install leaves the official client out (``pip install rollgen`` is what
the pre-commit hook and a CI ``validate`` job get). Its absence is made real here
by hiding the package from the import system (``sys.modules['kubernetes'] = None``
makes ``import kubernetes`` fail as it does when it is not installed), in process
for one check and in a ``python -m rollgen``-like process for a whole pass.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rollgen.errors import EXIT_USAGE
from rollgen.gates.analysis import Phase
from rollgen.gates.facts import FACTS
from rollgen.gates.registry import measure
from testkit.gates import context, gate
from testkit.git import git
from testkit.rollouts import make_repo, write_spec
from testkit.tools import REPO_ROOT

WITHOUT_CLIENT = (
    "import sys; sys.modules['kubernetes'] = None; from rollgen.cli import main; raise SystemExit(main(sys.argv[1:]))"
)


def rollgen_without_client(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_CLIENT, *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )


def test_exactly_the_liveness_kinds_read_the_cluster() -> None:
    assert sorted(name for name, facts in FACTS.items() if facts.cluster) == ["argocd", "flux", "kubernetes"]


@pytest.mark.parametrize("kind", ["argocd", "flux", "kubernetes"])
def test_a_check_without_the_client_is_an_error_naming_the_extra(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    config = {"argocd": {"application": "web"}, "flux": {"name": "web"}, "kubernetes": {}}[kind]
    result = measure(gate(kind, config), context())
    assert result.phase is Phase.ERROR
    assert "pip install 'rollgen[kubernetes]'" in result.message, result.message
    assert "unexpected" not in result.message  # said as what it is, not as a crash


def test_a_pass_over_a_cluster_gate_without_the_client_is_refused_before_it_commits(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "gitops")
    spec = write_spec(repo)
    data = yaml.safe_load(spec.read_text())
    del data["spec"]["liveness"]  # proved by the argocd gate instead
    data["spec"]["gates"] = [{"name": "synced", "argocd": {"application": "web-prod"}}]
    spec.write_text(yaml.safe_dump(data))
    adopted = rollgen_without_client("adopt", str(spec), "--repo", str(repo))  # needs no gate
    assert adopted.returncode == 0, adopted.stderr
    head = git(repo, "rev-parse", "HEAD")

    for command in ("advance", "run"):
        done = rollgen_without_client(command, str(spec), "--repo", str(repo))
        said = done.stdout + done.stderr  # advance says it on the release's line, run as its error
        assert done.returncode == EXIT_USAGE, said
        assert "gate synced (argocd): reading the cluster needs the official Kubernetes client" in said
        assert "pip install 'rollgen[kubernetes]'" in said
        assert "Traceback" not in said
        assert git(repo, "rev-parse", "HEAD") == head  # the rollout was not started
