"""The controller end to end against real servers: Prometheus, the loopback Kubernetes API, git.

Each test builds a GitOps repository (a clone of a bare remote) with the demo's
Kustomize base, starts a rollout and lets ``follow`` drive it with 1 s
intervals, then checks what Git holds.
"""

from __future__ import annotations

import io
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from rollgen.cli.demo import DemoService, demo_release, init_gitops
from rollgen.cli.follow import follow
from rollgen.controller.advance import Pass, advance
from rollgen.gates.analysis import Phase
from rollgen.gitops.notes import load_records
from rollgen.gitops.repo import Repo
from rollgen.plan.steps import plan_release
from rollgen.render.renderer import Renderer
from rollgen.rollout import operations
from rollgen.spec.load import load_release
from rollgen.spec.model import Release
from testkit.gateservers import FakeKubeAPI, MetricsApp, PrometheusServer
from testkit.git import git
from testkit.kubeobjects import application
from testkit.tools import require_tool

ERROR_RATIO = (
    'sum(rate(http_requests_total{version="{{ version }}",code="500"}[4s]))'
    ' / sum(rate(http_requests_total{version="{{ version }}"}[4s]))'
)
STEPS = ({"setWeight": 25}, {"analysis": {"gates": ["errors"]}}, {"setWeight": 50}, {"analysis": {"gates": ["errors"]}})


def setup(tmp_path: Path, document: Mapping[str, Any], *, seed: bool = False) -> tuple[Repo, Release, Path]:
    """The repository with the spec; ``seed`` first commits the pre-rollout state's rendered files."""
    require_tool("git")
    require_tool("kubectl")
    work = init_gitops(tmp_path, {"release.yaml": str(document_text(document))})
    release = load_release(work / "release.yaml")
    if seed:
        for relative, content in Renderer(work, release).render(plan_release(release).initial).items():
            path = work / release.output_path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        git(work, "add", release.output_path)
        git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "web 1.0.0 runs")
        git(work, "push", "-q", "origin", "main")
    return Repo.open(work), release, work


def document_text(document: Mapping[str, Any]) -> str:
    import json

    return json.dumps(document, indent=2)


def drive(repo: Repo, release: Release) -> tuple[int, str]:
    """Start the rollout and run the controller to the end; its exit code and what it printed."""
    operations.start(repo, release, remote="origin")
    out = io.StringIO()
    code = follow(repo, release, remote="origin", out=out, live=False)
    return code, out.getvalue()


def measured(repo: Repo, work: Path, key: str) -> Sequence[Any]:
    """The measurements under ``key`` in the notes of the rollout's commits (the one step that has them)."""
    found = [load_records(repo, sha).get(key) for sha in git(work, "rev-list", "origin/main").split()]
    kept = [records for records in found if records]
    assert len(kept) == 1, kept
    return kept[0]


def prometheus_gate(address: str, **limits: Any) -> dict[str, Any]:
    return {
        "name": "errors",
        "interval": "1s",
        "count": 2,
        "successCondition": "result < 0.05",
        "prometheus": {"address": address, "query": ERROR_RATIO},
        **limits,
    }


@contextmanager
def fake_argocd(api: FakeKubeAPI, remote: Path, name: str, *, stuck: bool = False) -> Iterator[None]:
    """An Argo CD that syncs the remote's main within ~0.1 s (or, ``stuck``, never moves past the first)."""
    stop = threading.Event()
    synced = git(remote, "rev-parse", "main")

    def sync() -> None:
        while not stop.is_set():
            tip = synced if stuck else git(remote, "rev-parse", "main")
            api.put(application(name, revision=tip))
            stop.wait(0.1)

    thread = threading.Thread(target=sync, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def argocd_gate(config: Path, name: str) -> dict[str, Any]:
    return {"name": "synced", "interval": "1s", "argocd": {"application": name, "kubeconfig": str(config)}}


@pytest.mark.slow
def test_a_good_version_goes_live_step_by_step_to_one_deployment(
    tmp_path: Path,
    prometheus: PrometheusServer,
    metrics_app: MetricsApp,
    kube: FakeKubeAPI,
    kubeconfig: Path,
) -> None:
    metrics_app.set_error_rate("2.0.0", 0.0)
    prometheus.wait_for(ERROR_RATIO.replace("{{ version }}", "2.0.0"))
    gates = [prometheus_gate(prometheus.url), argocd_gate(kubeconfig, "web")]
    repo, release, work = setup(tmp_path, demo_release("1.0.0", "2.0.0", gates, STEPS))

    with fake_argocd(kube, tmp_path / "remote.git", "web"):
        code, shown = drive(repo, release)

    assert code == 0, shown
    assert "COMPLETED" in shown
    steps = len(plan_release(release).steps)
    subjects = git(work, "log", "--format=%s", "origin/main").splitlines()
    assert subjects[0] == "demo/web: complete 1.0.0 -> 2.0.0"
    assert [s for s in subjects if ": step " in s] == [s for s in subjects if s.startswith("demo/web: step ")]
    assert len([s for s in subjects if s.startswith("demo/web: step ")]) == steps
    # Every step commit went live (Argo CD at that commit) and its analysis was measured: see the notes.
    for sha in git(work, "log", "--format=%H", "--grep=^Rollgen-Action: advance", "origin/main").splitlines():
        records = load_records(repo, sha)
        assert records["live/synced"][-1].phase is Phase.SUCCESSFUL
    built = subprocess.run(
        ["kubectl", "kustomize", str(work / release.output_path)], capture_output=True, text=True, check=True
    ).stdout
    assert built.count("kind: Deployment") == 1
    assert "name: web-2-0-0" in built and "image: ghcr.io/example/web:2.0.0" in built


def test_a_bad_version_is_aborted_and_the_files_are_restored_byte_for_byte(
    tmp_path: Path,
    prometheus: PrometheusServer,
    metrics_app: MetricsApp,
) -> None:
    metrics_app.set_error_rate("2.1.0", 0.5)
    prometheus.wait_for(ERROR_RATIO.replace("{{ version }}", "2.1.0"))
    repo, release, work = setup(
        tmp_path, demo_release("1.0.0", "2.1.0", [prometheus_gate(prometheus.url)], STEPS), seed=True
    )
    before = git(work, "rev-parse", f"HEAD:{release.output_path}")

    code, shown = drive(repo, release)

    assert code == 1, shown
    assert "ABORTED" in shown and "successCondition 'result < 0.05' does not hold" in shown
    assert git(work, "rev-parse", f"origin/main:{release.output_path}") == before
    assert git(work, "log", "-1", "--format=%s", "origin/main").startswith("demo/web: abort, 1.0.0 restored")


def test_a_stuck_sync_hits_the_progress_deadline(tmp_path: Path, kube: FakeKubeAPI, kubeconfig: Path) -> None:
    document = demo_release(
        "1.0.0", "2.0.0", [argocd_gate(kubeconfig, "web")], ({"setWeight": 50},), progress_deadline="2s"
    )
    repo, release, work = setup(tmp_path, document)

    with fake_argocd(kube, tmp_path / "remote.git", "web", stuck=True):
        code, shown = drive(repo, release)

    assert code == 1, shown
    assert "progressDeadline passed before the step was live" in shown
    step_one = git(work, "log", "--format=%H", "--grep=^Rollgen-Action: start", "origin/main")
    assert [m.phase for m in load_records(repo, step_one)["live/synced"]] == [Phase.PENDING]


class Flapping(DemoService):
    """Fails every other request, starting with a failure."""

    def answer(self, path: str) -> tuple[int, bytes]:
        self.requests += 1
        return (500, b"failing\n") if self.requests % 2 else (200, b"ok\n")


@pytest.mark.slow
@pytest.mark.parametrize(("failure_limit", "expected"), [(1, 1), (2, 0)])
def test_a_flapping_metric_respects_failure_limit(tmp_path: Path, failure_limit: int, expected: int) -> None:
    with Flapping() as service:
        gate = {
            "name": "errors",
            "interval": "1s",
            "count": 4,
            "failureLimit": failure_limit,
            "http": {"url": f"{service.url}/healthz"},
        }
        steps = ({"setWeight": 50}, {"analysis": {"gates": ["errors"]}})
        repo, release, work = setup(tmp_path, demo_release("1.0.0", "2.0.0", [gate], steps))
        code, shown = drive(repo, release)
    assert code == expected, shown
    phases = [m.phase for m in measured(repo, work, "1:analysis/errors")]
    assert phases == [Phase.FAILED, Phase.SUCCESSFUL, Phase.FAILED, Phase.SUCCESSFUL][: 3 if expected else 4]


def test_cron_passes_in_fresh_clones_carry_on_from_the_notes(
    tmp_path: Path,
    prometheus: PrometheusServer,
    metrics_app: MetricsApp,
) -> None:
    """A cron job in a new clone each time measures on where the last one stopped."""
    metrics_app.set_error_rate("2.0.0", 0.0)
    prometheus.wait_for(ERROR_RATIO.replace("{{ version }}", "2.0.0"))
    gate = prometheus_gate(prometheus.url, count=3)
    repo, release, work = setup(tmp_path, demo_release("1.0.0", "2.0.0", [gate], STEPS))
    operations.start(repo, release, remote="origin")

    def cron(n: int, now: float) -> Pass:
        clone = tmp_path / f"cron-{n}"
        git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), str(clone))
        return advance(Repo.open(clone), release, remote="origin", now=now)

    first = cron(1, now := float(git(work, "log", "-1", "--format=%ct")) + 0.5)
    assert [len(v) for v in first.records.values()] == [1] and not first.committed
    assert not cron(2, now + 0.5).records["1:analysis/errors"][1:]  # not due yet: nothing measured
    assert len(cron(3, now + 1).records["1:analysis/errors"]) == 2
    last = cron(4, now + 2)
    assert last.committed and last.after.step == 2
    assert [m.phase for m in last.records["1:analysis/errors"]] == [Phase.SUCCESSFUL] * 3


def test_cli_advance_reports_what_it_waits_for_and_run_exits_1_on_abort(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rollgen.cli import main

    with DemoService(bad=["2.0.0"]) as service:
        gate = {
            "name": "errors",
            "interval": "1s",
            "count": 3,
            "failureLimit": 1,
            "http": {"url": f"{service.url}/healthz?version={{{{ version }}}}"},
        }
        steps = ({"setWeight": 50}, {"analysis": {"gates": ["errors"]}})
        work = setup(tmp_path, demo_release("1.0.0", "2.0.0", [gate], steps))[2]
        spec = str(work / "release.yaml")
        assert main(["start", spec, "--repo", str(work)]) == 0
        while "analysis" not in capsys.readouterr().out:  # the surge commits before the analysis pass at once
            assert main(["advance", spec, "--repo", str(work)]) == 0
        assert main(["run", spec, "--repo", str(work)]) == 1
    shown = capsys.readouterr().out
    assert "ABORTED" in shown and "2 failed measurements > failureLimit 1" in shown
    assert main(["run", spec, "--repo", str(work)]) == 1  # already aborted: says so again
    assert main(["run", str(tmp_path / "missing.yaml"), "--repo", str(work)]) == 2
