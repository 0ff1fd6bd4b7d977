"""charts/rollgen-app's Pod fields, ServiceAccount, NOTES.txt and ``helm test`` hook, with real Helm.

Every value a team sets is rendered and the objects validated against
Kubernetes 1.30's schemas (kubernetes-validate, strict); the values schema
refuses each field given the wrong type; the test hook's own command (real
wget) passes against a loopback server answering 200 and fails on a 500.
How rollgen freezes ``container`` and ``pod`` with each revision is proved on
the renderer in tests/render/test_helm.py.
"""

from __future__ import annotations

import http.server
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from testkit.built import Obj, of_kind, validate
from testkit.helm import applied, hooks_of, merge
from testkit.tools import REPO_ROOT, require_tool

CHART = REPO_ROOT / "charts" / "rollgen-app"
BASE: dict[str, Any] = {
    "app": "web",
    "image": {"repository": "ghcr.io/example/web"},
    "versions": [
        {"version": "1.0.0", "name": "web-1-0-0", "replicas": 3},
        {"version": "1.1.0", "name": "web-1-1-0", "replicas": 1},
    ],
}
CONTAINER: dict[str, Any] = {
    "name": "web",
    "command": ["/bin/web"],
    "args": ["--listen", ":8080"],
    "ports": [{"name": "http", "containerPort": 8080}],
    "env": [{"name": "MODE", "value": "prod"}],
    "envFrom": [{"secretRef": {"name": "web-secrets"}}, {"configMapRef": {"name": "web-config"}, "prefix": "CFG_"}],
    "volumeMounts": [
        {"name": "cache", "mountPath": "/cache"},
        {"name": "config", "mountPath": "/etc/web", "readOnly": True},
    ],
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    },
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
    "startupProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "failureThreshold": 30, "periodSeconds": 2},
    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
    "livenessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 20},
}
SIDECAR = {"name": "proxy", "image": "ghcr.io/example/proxy:2.0", "ports": [{"containerPort": 15000}]}
POD: dict[str, Any] = {
    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"},
    "labels": {"team": "payments"},
    "securityContext": {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "volumes": [
        {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}},
        {"name": "config", "configMap": {"name": "web-config"}},
    ],
    "imagePullSecrets": [{"name": "registry"}],
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}],
    "affinity": {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": {"app": "web"}},
                    },
                }
            ]
        }
    },
    "topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"},
        {
            "maxSkew": 2,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}},
        },
    ],
    "priorityClassName": "business-critical",
    "initContainers": [{"name": "migrate", "image": "ghcr.io/example/web-migrate:1.0.0", "args": ["up"]}],
    "extraContainers": [SIDECAR],
}
EVERYTHING: dict[str, Any] = {
    **BASE,
    "container": CONTAINER,
    "pod": POD,
    "serviceAccount": {"create": True, "annotations": {"iam.example.com/role": "web"}, "automount": False},
}


def render_files(helm: Any, values: dict[str, Any]) -> dict[str, str]:
    with helm.Chart.load(CHART) as chart:
        return dict(chart.render(values=values, name="web", namespace="prod"))


def render(helm: Any, values: dict[str, Any]) -> list[Obj]:
    return applied(render_files(helm, values))


def pod_templates(objects: list[Obj]) -> dict[str, Obj]:
    return {name: d["spec"]["template"] for name, d in of_kind(objects, "Deployment").items()}


def test_every_pod_field_renders_into_valid_deployments(helm: Any) -> None:
    report = helm.lint(str(CHART), EVERYTHING, strict=True, kube_version="v1.30.0")
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] >= 2] == []
    objects = render(helm, EVERYTHING)
    validate(objects)
    templates = pod_templates(objects)
    assert sorted(templates) == ["web-1-0-0", "web-1-1-0"]
    for name, template in templates.items():
        version = name.removeprefix("web-").replace("-", ".")
        assert template["metadata"]["labels"] == {"app": "web", "version": version, "team": "payments"}
        assert template["metadata"]["annotations"] == POD["annotations"]
        spec = template["spec"]
        for field in ("securityContext", "volumes", "imagePullSecrets", "nodeSelector", "tolerations", "affinity"):
            assert spec[field] == POD[field], field
        assert spec["priorityClassName"] == "business-critical"
        assert spec["serviceAccountName"] == "web"
        assert spec["initContainers"] == POD["initContainers"]
        app, sidecar = spec["containers"]
        assert sidecar == SIDECAR
        assert app["image"] == f"ghcr.io/example/web:{version}"
        assert {k: v for k, v in app.items() if k not in ("image", "imagePullPolicy")} == CONTAINER
        # The constraint without a selector spreads its own version's pods; the other keeps its own.
        zone, host = spec["topologySpreadConstraints"]
        assert zone["labelSelector"] == {"matchLabels": {"app": "web", "version": version}}
        assert host["labelSelector"] == {"matchLabels": {"app": "web"}}
    (account,) = of_kind(objects, "ServiceAccount").values()
    assert account["metadata"]["name"] == "web" and account["metadata"]["namespace"] == "prod"
    assert account["metadata"]["annotations"] == {"iam.example.com/role": "web"}
    assert account["automountServiceAccountToken"] is False


def test_defaults_add_nothing_to_the_pods(helm: Any) -> None:
    """A chart upgrade with unchanged values changes no pod template, so it restarts no running version."""
    objects = render(helm, BASE)
    validate(objects)
    assert "ServiceAccount" not in {o["kind"] for o in objects}
    for template in pod_templates(objects).values():
        assert set(template["metadata"]) == {"labels"} and set(template["metadata"]["labels"]) == {"app", "version"}
        assert set(template["spec"]) == {"containers"}
        (container,) = template["spec"]["containers"]
        assert set(container) == {"name", "image", "imagePullPolicy", "ports"}


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        ({"create": True}, "web"),
        ({"create": True, "name": "web-runtime"}, "web-runtime"),
        ({"create": False, "name": "shared-runtime"}, "shared-runtime"),
    ],
)
def test_the_pods_run_as_the_service_account_named(helm: Any, account: dict[str, Any], expected: str) -> None:
    objects = render(helm, {**BASE, "serviceAccount": account})
    validate(objects)
    assert {t["spec"]["serviceAccountName"] for t in pod_templates(objects).values()} == {expected}
    written = [o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"]
    assert written == ([expected] if account["create"] else [])


def test_each_version_runs_its_frozen_pod_and_container(helm: Any) -> None:
    """A version entry's own pod and container win over the live values; an empty frozen pod is what ran."""
    stable = {"name": "web", "env": [{"name": "MODE", "value": "old"}]}
    values = {
        **BASE,
        "container": CONTAINER,
        "pod": POD,
        "versions": [
            {"version": "1.0.0", "name": "web-1-0-0", "replicas": 3, "container": stable, "pod": {}},
            {"version": "1.1.0", "name": "web-1-1-0", "replicas": 1, "container": CONTAINER, "pod": POD},
            {"version": "0.9.0", "name": "web-0-9-0", "replicas": 1},  # written by hand: the live values
        ],
    }
    objects = render(helm, values)
    validate(objects)
    templates = pod_templates(objects)
    old = templates["web-1-0-0"]
    assert "annotations" not in old["metadata"] and set(old["spec"]) == {"containers"}
    assert old["spec"]["containers"] == [
        {**stable, "image": "ghcr.io/example/web:1.0.0", "imagePullPolicy": "IfNotPresent"}
    ]
    for name in ("web-1-1-0", "web-0-9-0"):
        assert templates[name]["metadata"]["annotations"] == POD["annotations"]
        assert templates[name]["spec"]["volumes"] == POD["volumes"]


@pytest.mark.parametrize(
    "bad",
    [
        {"pod": {"annotations": {"prometheus.io/port": 8080}}},  # Kubernetes wants strings
        {"pod": {"labels": {"app": "other"}}},  # rollgen's selectors own app and version
        {"pod": {"labels": {"version": "x"}}},
        {"pod": {"podAnnotations": {"a": "b"}}},  # closed: a misspelt key is refused, not dropped
        {"pod": {"volumes": [{"name": "cache"}]}},  # a volume without a source
        {"pod": {"volumes": {"cache": {"emptyDir": {}}}}},
        {"pod": {"imagePullSecrets": ["registry"]}},
        {"pod": {"nodeSelector": {"disk": True}}},
        {"pod": {"tolerations": [{"key": "k", "operator": "In"}]}},
        {"pod": {"affinity": {"nodeSelector": {}}}},
        {"pod": {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone"}]}},
        {"pod": {"priorityClassName": 1000}},
        {"pod": {"securityContext": {"runAsUser": "root"}}},
        {"pod": {"initContainers": [{"name": "migrate"}]}},  # no image
        {"pod": {"extraContainers": [{"name": "Proxy", "image": "p"}]}},
        {"container": {"name": "web", "command": "/bin/web"}},
        {"container": {"name": "web", "args": [1]}},
        {"container": {"name": "web", "envFrom": [{"secretRef": "web-secrets"}]}},
        {"container": {"name": "web", "env": [{"name": "PORT", "value": 8080}]}},
        {"container": {"name": "web", "volumeMounts": [{"name": "cache"}]}},
        {"container": {"name": "web", "securityContext": {"privileged": "no"}}},
        {"container": {"name": "web", "resources": {"limits": {"memory": ["128Mi"]}}}},
        {"container": {"name": "web", "startupProbe": {"httpGet": {"path": "/"}}}},
        {"container": {"name": "web", "readinessProbe": {"periodSeconds": "10s"}}},
        {"serviceAccount": {"create": "yes"}},
        {"serviceAccount": {"name": "Web_Runtime"}},
        {"serviceAccount": {"annotations": {"role": 1}}},
        {"test": {"enabled": True, "image": "busybox", "path": "healthz"}},
        {"test": {"enabled": "true"}},
        {"versions": [{"version": "1.0.0", "name": "web-1-0-0", "replicas": 1, "pod": {"labels": []}}]},
    ],
)
def test_schema_refuses_a_wrong_type(helm: Any, bad: dict[str, Any]) -> None:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError):
        chart.validate_schema(merge(merge(chart.values, BASE), bad))


def test_notes_say_what_runs_and_how_to_check_it(helm: Any) -> None:
    values = {
        **BASE,
        "preview": {"name": "web-preview", "version": "1.1.0"},
        "traffic": {"weights": [{"version": "1.0.0", "weight": 90}, {"version": "1.1.0", "weight": 10}], "istio": {}},
    }
    notes = render_files(helm, values)["rollgen-app/templates/NOTES.txt"]
    for line in (
        "1.0.0: Deployment web-1-0-0, 3 pod(s)",
        "1.1.0: Deployment web-1-1-0, 1 pod(s)",
        "Service web selects every version's pods.",
        "Preview Service web-preview selects version 1.1.0.",
        "Traffic: 1.0.0 90%, 1.1.0 10%.",
        "kubectl -n prod get deployments,pods -l app=web",
        "helm test web -n prod",
    ):
        assert line in notes, line
    blue_green = render_files(helm, {**BASE, "service": {"version": "1.0.0"}})["rollgen-app/templates/NOTES.txt"]
    assert "Service web selects version 1.0.0." in blue_green
    empty = render_files(helm, {"image": {"repository": "ghcr.io/example/web"}})["rollgen-app/templates/NOTES.txt"]
    assert "none yet" in empty and "helm test" not in empty


@pytest.fixture
def app_server() -> Iterator[tuple[str, list[int]]]:
    """A loopback HTTP server answering /healthz with the status at the head of its list (404 elsewhere)."""
    statuses = [200]

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(statuses[0] if self.path == "/healthz" else 404)
            self.end_headers()
            self.wfile.write(b"ok\n")

        def log_message(self, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"127.0.0.1:{httpd.server_address[1]}", statuses
        finally:
            httpd.shutdown()
            thread.join()


def test_the_test_hook_asks_the_service_and_fails_when_it_fails(helm: Any, app_server: tuple[str, list[int]]) -> None:
    """Run the hook's own command with real wget, the Service's address pointed at a loopback server."""
    wget = require_tool("wget")
    (pod,) = hooks_of(render_files(helm, {**BASE, "test": {"path": "/healthz"}}))
    validate([pod])
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["automountServiceAccountToken"] is False
    (container,) = pod["spec"]["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["args"][-1] == "http://web:80/healthz"
    address, statuses = app_server

    def run() -> int:
        args = [a.replace("web:80", address) for a in container["args"]]
        return subprocess.run([wget, *args], capture_output=True, timeout=30, check=False).returncode

    assert run() == 0
    statuses[0] = 500
    assert run() != 0


def test_no_test_hook_without_versions_or_when_disabled(helm: Any) -> None:
    assert hooks_of(render_files(helm, {"image": {"repository": "ghcr.io/example/web"}})) == []
    assert hooks_of(render_files(helm, {**BASE, "test": {"enabled": False}})) == []
    assert len(hooks_of(render_files(helm, BASE))) == 1
