"""charts/rollgen, rendered and linted with real Helm, validated against Kubernetes' schemas.

Its RBAC is checked against what the gates actually do: every gate module
that talks to the Kubernetes API declares ``ACCESS`` (and the patch it needs
for refresh/reconcile) and connects with it, and ``Kube`` refuses any call
outside it; the chart's rules must grant exactly the union, nothing more.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgen.cli import COMMANDS
from rollgen.gates.kube import Access
from rollgen.gates.registry import KINDS
from rollgen.shard import parse_shard
from testkit.built import validate
from testkit.tools import REPO_ROOT

CHART = REPO_ROOT / "charts" / "rollgen"
SHARDED = {
    "shards": 3,
    "repositories": [
        {"name": "a", "url": "https://git.example/a.git", "specs": ["releases"]},
        {"name": "b", "url": "https://git.example/b.git", "specs": ["r/x.yaml", "r/y"]},
    ],
}
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "cronjob-sharded": SHARDED,
    "deployment-sharded": {**SHARDED, "mode": "deployment"},
    "credentials": {
        "git": {"credentialsSecret": "gitops-credentials"},
        "forge": {"tokenSecret": {"name": "forge", "key": "token", "env": "GITLAB_TOKEN"}},
        "envFromSecrets": ["webhooks"],
    },
    "namespaced-refresh": {"rbac": {"namespaces": ["argocd", "flux-system", "prod"], "requestRefresh": True}},
}


def render(helm: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values=values, name="rollgen", namespace="rollgen")
    return [doc for text in rendered.values() for doc in yaml.safe_load_all(text) if doc]


def pod_specs(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    specs = []
    for obj in objects:
        if obj["kind"] == "CronJob":
            specs.append(obj["spec"]["jobTemplate"]["spec"]["template"]["spec"])
        elif obj["kind"] == "Deployment":
            specs.append(obj["spec"]["template"]["spec"])
    return specs


@pytest.mark.parametrize("name", VARIANTS)
def test_lints_clean_and_renders_valid_objects(helm: Any, name: str) -> None:
    values = VARIANTS[name]
    report = helm.lint(str(CHART), values, strict=True, kube_version="v1.30.0")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []
    objects = render(helm, values)
    validate(objects)
    assert len(pod_specs(objects)) == (3 if name == "deployment-sharded" else 1)


@pytest.mark.parametrize(
    "bad",
    [
        {"mode": "daemon"},
        {"shards": 0},
        {"repositories": []},
        {"repositories": [{"name": "a", "url": "https://me:token@git.example/a.git", "specs": ["r"]}]},
    ],
)
def test_bad_values_are_refused_by_lint(helm: Any, bad: dict[str, Any]) -> None:
    assert helm.lint(str(CHART), bad, strict=True, kube_version="v1.30.0")["errors"]


def declared_access(refresh: bool) -> set[Access]:
    """The union of what the gate modules declare (refresh: with their patch sets)."""
    granted: set[Access] = set()
    for kind in KINDS.values():
        module = sys.modules[type(kind).__module__]
        source = inspect.getsource(module)
        if "connect(" in source:
            # Whoever talks to the API must say what for: the chart is built from these.
            assert hasattr(module, "ACCESS"), f"{module.__name__} calls connect() without declaring ACCESS"
        granted |= set(getattr(module, "ACCESS", ()))
        if refresh:
            granted |= set(getattr(module, "REFRESH_ACCESS", ())) | set(getattr(module, "RECONCILE_ACCESS", ()))
    return granted


def rules_of(role: dict[str, Any]) -> set[Access]:
    return {
        Access(group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


@pytest.mark.parametrize("refresh", [False, True])
@pytest.mark.parametrize("namespaces", [[], ["argocd", "prod"]])
def test_rbac_grants_exactly_what_the_gates_declare(helm: Any, refresh: bool, namespaces: list[str]) -> None:
    objects = render(helm, {"rbac": {"requestRefresh": refresh, "namespaces": namespaces}})
    roles = [o for o in objects if o["kind"] in ("Role", "ClusterRole")]
    assert [r["kind"] for r in roles] == (["Role"] * len(namespaces) or ["ClusterRole"])
    expected: list[str | None] = [*namespaces] or [None]
    assert [r["metadata"].get("namespace") for r in roles] == expected
    for role in roles:
        assert rules_of(role) == declared_access(refresh)
    bindings = [o for o in objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    (account,) = [o for o in objects if o["kind"] == "ServiceAccount"]
    for binding in bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "rollgen"}
        ]
    # Never secrets, never writes beyond the refresh annotations.
    assert not {a for a in declared_access(True) if a.resource == "secrets" or a.verb in ("create", "update", "delete")}


@pytest.mark.parametrize("name", VARIANTS)
def test_pods_run_locked_down(helm: Any, name: str) -> None:
    for spec in pod_specs(render(helm, VARIANTS[name])):
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in spec["initContainers"] + spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
            env = {e["name"]: e for e in container.get("env", [])}
            # A read-only root: git's HOME and every write go to emptyDirs.
            assert env["HOME"]["value"] == "/tmp"
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert {"/tmp", "/work"} <= mounts
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes["work"] and "emptyDir" in volumes["tmp"]


def test_credentials_come_from_secrets_never_from_values(helm: Any) -> None:
    (spec,) = pod_specs(render(helm, VARIANTS["credentials"]))
    (container,) = spec["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["GITLAB_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "forge", "key": "token"}}
    assert container["envFrom"] == [{"secretRef": {"name": "webhooks"}}]
    assert {"name": "git-credentials", "secret": {"secretName": "gitops-credentials", "defaultMode": 0o440}} in spec[
        "volumes"
    ]
    helper = env["GIT_CONFIG_VALUE_0"]["value"]
    assert env["GIT_CONFIG_KEY_0"]["value"] == "credential.helper"
    assert "/etc/rollgen/git/username" in helper and "/etc/rollgen/git/password" in helper
    for c in spec["initContainers"] + spec["containers"]:
        assert all("valueFrom" in e or "password" not in e["name"].lower() for e in c["env"])


def test_the_credential_helper_gives_git_the_mounted_files(tmp_path: Path, helm: Any) -> None:
    """Run the helper the chart configures through real git, reading files where the Secret would be mounted."""
    import subprocess

    (spec,) = pod_specs(render(helm, VARIANTS["credentials"]))
    env = {e["name"]: e["value"] for e in spec["containers"][0]["env"] if "value" in e}
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "username").write_text("rollgen-bot")
    (secret / "password").write_text("s3cret")
    helper = env["GIT_CONFIG_VALUE_0"].replace("/etc/rollgen/git", str(secret))
    done = subprocess.run(
        ["git", "credential", "fill"],
        input="protocol=https\nhost=git.example\n\n",
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "credential.helper",
            "GIT_CONFIG_VALUE_0": helper,
        },
        check=True,
    )
    assert "username=rollgen-bot" in done.stdout and "password=s3cret" in done.stdout


def test_cronjob_runs_one_sharded_advance_per_repository(helm: Any) -> None:
    (cron,) = [o for o in render(helm, SHARDED) if o["kind"] == "CronJob"]
    job = cron["spec"]["jobTemplate"]["spec"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert (job["completionMode"], job["completions"], job["parallelism"]) == ("Indexed", 3, 3)
    spec = job["template"]["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["clone-a", "clone-b"]
    assert spec["initContainers"][0]["args"][-2:] == ["https://git.example/a.git", "/work/repos/a"]
    a, b = spec["containers"]
    assert a["args"] == ["advance", "releases", "--repo", "/work/repos/a", "--shard", "$(JOB_COMPLETION_INDEX)/3"]
    assert b["args"][:3] == ["advance", "r/x.yaml", "r/y"]
    index = {e["name"]: e for e in a["env"]}["JOB_COMPLETION_INDEX"]
    assert (
        index["valueFrom"]["fieldRef"]["fieldPath"]
        == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    )
    for i in range(3):
        assert parse_shard(a["args"][-1].replace("$(JOB_COMPLETION_INDEX)", str(i))).count == 3


def test_deployment_mode_runs_one_worker_per_shard_with_probes(helm: Any) -> None:
    deployments = [o for o in render(helm, {**SHARDED, "mode": "deployment"}) if o["kind"] == "Deployment"]
    assert [d["spec"]["replicas"] for d in deployments] == [1, 1, 1]
    shards = []
    for deployment in deployments:
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["args"][0] == "run"
            shards.append(parse_shard(container["args"][container["args"].index("--shard") + 1]))
            assert container["readinessProbe"]["exec"]["command"][:3] == ["git", "-C", container["args"][-3]]
            assert container["livenessProbe"]
    assert sorted({(s.index, s.count) for s in shards}) == [(0, 3), (1, 3), (2, 3)]


def test_one_shard_passes_no_shard_argument(helm: Any) -> None:
    (spec,) = pod_specs(render(helm, {}))
    assert "--shard" not in spec["containers"][0]["args"]


def test_the_commands_the_chart_runs_exist() -> None:
    assert {"advance", "run"} <= set(COMMANDS)


def test_the_pod_commands_clone_and_advance_a_real_rollout(tmp_path: Path, helm: Any) -> None:
    """Run what the chart's containers run, in order, against a real remote: the clone, then rollgen."""
    import os
    import subprocess

    from rollgen.gitops.repo import Repo
    from rollgen.rollout import operations
    from rollgen.spec.load import load_release
    from testkit.git import git, init_repo
    from testkit.rollouts import make_repo, write_spec

    # The GitOps repository: a release under releases/, its rollout started, pushed to a bare remote.
    work = make_repo(tmp_path / "work")
    (work / "releases").mkdir()
    spec = write_spec(work).rename(work / "releases" / "web.yaml")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "release web")
    remote = init_repo(tmp_path / "remote.git", bare=True)
    git(work, "push", "-q", "--force", str(remote), "main")
    git(work, "remote", "add", "origin", str(remote))
    release = load_release(spec)
    operations.start(Repo.open(work), release, remote="origin")
    started = git(remote, "rev-parse", "main")

    values = {
        "repositories": [
            {"name": "gitops", "url": f"file://{remote}", "branch": "main", "specs": ["releases/web.yaml"]}
        ]
    }
    (spec_,) = pod_specs(render(helm, values))
    root = tmp_path / "pod"

    def local(text: str) -> str:
        # The pod's emptyDirs, here: /work and /tmp under the test's directory.
        return f"{root}{text}" if text == "/tmp" or text.startswith("/work/") else text

    (root / "tmp").mkdir(parents=True)
    for container in spec_["initContainers"] + spec_["containers"]:
        env = {e["name"]: local(e["value"]) for e in container["env"] if "value" in e}
        command = container.get("command", [sys.executable, "-m", "rollgen"])
        argv = [*command, *(local(a) for a in container["args"])]
        cwd = local(container["workingDir"]) if "workingDir" in container else str(root)
        done = subprocess.run(
            argv, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, check=False, timeout=120
        )
        assert done.returncode == 0, f"{container['name']}: {done.stdout}{done.stderr}"
    # The pass judged step 1 (no gates) and pushed step 2 to the remote.
    assert git(remote, "rev-parse", "main~1") == started
    assert "Rollgen-Step: 2/" in git(remote, "log", "-1", "--format=%B", "main")
