"""charts/rollgen, rendered and linted with real Helm, validated against Kubernetes' schemas.

Its RBAC is checked against what the gates actually do: every gate module
that talks to the Kubernetes API declares ``ACCESS`` (and the patch it needs
for refresh/reconcile) and connects with it, and ``Kube`` refuses any call
outside it; the chart's rules must grant exactly the union, nothing more.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rollgen.cli import COMMANDS
from rollgen.gates.kube import Access
from rollgen.gates.registry import KINDS
from rollgen.gitops.repo import Repo
from rollgen.rollout import operations
from rollgen.shard import parse_shard
from rollgen.spec.load import load_release
from testkit.built import validate
from testkit.git import git, init_repo
from testkit.helm import applied, hooks_of
from testkit.rollouts import make_repo, write_spec
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
PROXY = {"name": "proxy", "image": "ghcr.io/example/proxy:1.0", "restartPolicy": "Always"}
SIDECAR = {"name": "metrics", "image": "ghcr.io/example/metrics:1.0", "ports": [{"containerPort": 9100}]}
POD_FIELDS: dict[str, Any] = {
    "podAnnotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"},
    "podLabels": {"team": "platform"},
    "imagePullSecrets": [{"name": "registry"}],
    "priorityClassName": "platform",
    "topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}
    ],
    "volumes": [{"name": "ca", "configMap": {"name": "forge-ca"}}],
    "volumeMounts": [{"name": "ca", "mountPath": "/etc/ssl/forge", "readOnly": True}],
    "initContainers": [PROXY],
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
}
VARIANTS["pod-fields"] = {**SHARDED, **POD_FIELDS}
VARIANTS["pod-fields-deployment"] = {**SHARDED, **POD_FIELDS, "mode": "deployment", "extraContainers": [SIDECAR]}


def render_files(helm: Any, values: dict[str, Any]) -> dict[str, str]:
    with helm.Chart.load(CHART) as chart:
        return dict(chart.render(values=values, name="rollgen", namespace="rollgen"))


def render(helm: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
    """What Argo CD or Flux applies."""
    return applied(render_files(helm, values))


def pod_templates(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    templates = []
    for obj in objects:
        if obj["kind"] == "CronJob":
            templates.append(obj["spec"]["jobTemplate"]["spec"]["template"])
        elif obj["kind"] == "Deployment":
            templates.append(obj["spec"]["template"])
    return templates


def pod_specs(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [template["spec"] for template in pod_templates(objects)]


def own_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The containers the chart itself runs: the clones and rollgen (not the ones values add)."""
    return [c for c in spec["initContainers"] + spec["containers"] if c["name"].startswith(("clone-", "rollgen-"))]


@pytest.mark.parametrize("name", VARIANTS)
def test_lints_clean_and_renders_valid_objects(helm: Any, name: str) -> None:
    values = VARIANTS[name]
    report = helm.lint(str(CHART), values, strict=True, kube_version="v1.30.0")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []
    objects = render(helm, values)
    validate(objects)
    assert len(pod_specs(objects)) == (values.get("shards", 1) if values.get("mode") == "deployment" else 1)


@pytest.mark.parametrize(
    "bad",
    [
        {"mode": "daemon"},
        {"shards": 0},
        {"repositories": []},
        {"repositories": [{"name": "a", "url": "https://me:token@git.example/a.git", "specs": ["r"]}]},
        {"shard": 2},  # closed: a misspelt key is refused, not dropped
        {"podAnnotations": {"prometheus.io/port": 9100}},
        {"podLabels": {"app.kubernetes.io/instance": "other"}},  # the Deployments' selectors own it
        {"podLabels": {"rollgen.io/shard": "0"}},
        {"imagePullSecrets": ["registry"]},
        {"priorityClassName": 1000},
        {"tolerations": {"key": "dedicated"}},
        {"topologySpreadConstraints": [{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]},
        {"volumes": [{"name": "ca"}]},
        {"volumeMounts": [{"mountPath": "/etc/ssl/forge"}]},
        {"initContainers": [{"name": "proxy"}]},
        {"extraContainers": [{"image": "x"}]},
        {"podSecurityContext": {"runAsNonRoot": "yes"}},
        {"securityContext": {"capabilities": {"drop": "ALL"}}},
        {"resources": {"requests": {"cpu": [1]}}},
        {"serviceAccount": {"annotations": {"role": 1}}},
        {"mode": "deployment", "extraContainers": [SIDECAR], "schedule": 5},
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
        for container in own_containers(spec):
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


def published_release(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A GitOps repository with a release under releases/, pushed to a bare remote: (work tree, remote, spec)."""
    work = make_repo(tmp_path / "work")
    (work / "releases").mkdir()
    spec = write_spec(work).rename(work / "releases" / "web.yaml")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "release web")
    remote = init_repo(tmp_path / "remote.git", bare=True)
    git(work, "push", "-q", "--force", str(remote), "main")
    git(work, "remote", "add", "origin", str(remote))
    return work, remote, spec


def run_pod(spec: dict[str, Any], root: Path) -> subprocess.CompletedProcess[str]:
    """Run the pod's containers in order, as the kubelet would, up to the first that fails; the last one's result.

    The pod's emptyDirs are /work and /tmp under ``root``; rollgen's image entrypoint is this interpreter's rollgen.
    """

    def local(text: str) -> str:
        return f"{root}{text}" if text == "/tmp" or text.startswith("/work/") else text

    (root / "tmp").mkdir(parents=True)
    for container in spec["initContainers"] + spec["containers"]:
        env = {e["name"]: local(e["value"]) for e in container["env"] if "value" in e}
        command = container.get("command", [sys.executable, "-m", "rollgen"])
        argv = [*command, *(local(a) for a in container["args"])]
        cwd = local(container["workingDir"]) if "workingDir" in container else str(root)
        done = subprocess.run(
            argv, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, check=False, timeout=120
        )
        if done.returncode != 0:
            break
    return done


def repository_values(remote: Path) -> dict[str, Any]:
    return {
        "repositories": [
            {"name": "gitops", "url": f"file://{remote}", "branch": "main", "specs": ["releases/web.yaml"]}
        ]
    }


def test_the_pod_commands_clone_and_advance_a_real_rollout(tmp_path: Path, helm: Any) -> None:
    """Run what the chart's containers run, in order, against a real remote: the clone, then rollgen."""
    work, remote, spec = published_release(tmp_path)
    operations.start(Repo.open(work), load_release(spec), remote="origin")
    started = git(remote, "rev-parse", "main")
    (pod,) = pod_specs(render(helm, repository_values(remote)))
    done = run_pod(pod, tmp_path / "pod")
    assert done.returncode == 0, f"{done.args}: {done.stdout}{done.stderr}"
    # The pass judged step 1 (no gates) and pushed step 2 to the remote.
    assert git(remote, "rev-parse", "main~1") == started
    assert "Rollgen-Step: 2/" in git(remote, "log", "-1", "--format=%B", "main")


def test_the_test_hook_clones_each_repository_and_validates_its_specs(tmp_path: Path, helm: Any) -> None:
    """``helm test``: the hook Pod's containers, run against a real remote, pass, and fail on an invalid spec."""
    work, remote, spec = published_release(tmp_path)
    values = {**repository_values(remote), **POD_FIELDS, "initContainers": [], "extraArgs": ["-o", "json"]}
    (hook,) = hooks_of(render_files(helm, values))
    validate([hook])
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert hook["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "true"
    assert hook["spec"]["restartPolicy"] == "Never"
    (container,) = hook["spec"]["containers"]
    assert container["args"][:2] == ["validate", "releases/web.yaml"] and "--shard" not in container["args"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert run_pod(hook["spec"], tmp_path / "pod").returncode == 0
    # An invalid spec on the branch: the hook fails, saying what is wrong (as JSON: extraArgs reach it too).
    spec.write_text(spec.read_text().replace("replicas:", "replicas: many\n  former:"))
    git(work, "commit", "-q", "-am", "break web")
    git(work, "push", "-q", str(remote), "main")
    done = run_pod(hook["spec"], tmp_path / "pod-again")
    assert done.returncode == 1 and json.loads(done.stdout)["valid"] is False and "former" in done.stdout


def test_the_test_hook_runs_no_extra_containers(helm: Any) -> None:
    """A sidecar beside rollgen would keep the test Pod running: the hook has only the chart's containers."""
    (hook,) = hooks_of(render_files(helm, VARIANTS["pod-fields-deployment"]))
    assert [c["name"] for c in hook["spec"]["containers"]] == ["rollgen-a", "rollgen-b"]
    assert hook["spec"]["initContainers"][0] == PROXY


def test_pod_fields_reach_every_pod(helm: Any) -> None:
    for name in ("pod-fields", "pod-fields-deployment"):
        for template in pod_templates(render(helm, VARIANTS[name])):
            assert template["metadata"]["annotations"] == POD_FIELDS["podAnnotations"]
            assert template["metadata"]["labels"]["team"] == "platform"
            assert template["metadata"]["labels"]["app.kubernetes.io/instance"] == "rollgen"
            spec = template["spec"]
            for field in ("imagePullSecrets", "priorityClassName", "nodeSelector", "tolerations", "affinity"):
                assert spec[field] == POD_FIELDS[field], field
            (spread,) = spec["topologySpreadConstraints"]
            assert spread["labelSelector"] == {"matchLabels": {"app.kubernetes.io/instance": "rollgen"}}
            # The sidecar the clones need starts first; the chart's own volumes stay.
            assert spec["initContainers"][0] == PROXY
            assert [v["name"] for v in spec["volumes"]] == ["work", "tmp", "ca"]
            for container in own_containers(spec):
                assert POD_FIELDS["volumeMounts"][0] in container["volumeMounts"]
            extra = [c for c in spec["containers"] if not c["name"].startswith("rollgen-")]
            assert extra == ([SIDECAR] if name == "pod-fields-deployment" else [])


def test_extra_containers_are_refused_with_a_cronjob(helm: Any) -> None:
    """They would keep each Job's pod running until its deadline; a native sidecar ends with the pass."""
    with pytest.raises(helm.HelmRenderError, match="restartPolicy: Always"):
        render(helm, {"extraContainers": [SIDECAR]})


@pytest.mark.parametrize(
    ("values", "lines"),
    [
        (
            {},
            [
                'rollgen advance on schedule "*/2 * * * *" (CronJob rollgen)',
                "get jobs -l app.kubernetes.io/instance=rollgen",
            ],
        ),
        (
            {**SHARDED, "mode": "deployment"},
            ["rollgen run as 3 Deployment(s) named rollgen-0..2", "https://git.example/b.git (main): r/x.yaml, r/y"],
        ),
    ],
)
def test_notes_say_what_runs_and_how_to_read_it(helm: Any, values: dict[str, Any], lines: list[str]) -> None:
    notes = render_files(helm, values)["rollgen/templates/NOTES.txt"]
    for line in [*lines, "helm test rollgen -n rollgen"]:
        assert line in notes, line
