"""``rollgen import`` on every Argo Rollouts and Flagger example of the shared data, through the CLI.

Every spec an import writes passes ``rollgen validate`` as written (:func:`imported`
checks each one): it describes what runs, ready for ``rollgen adopt``. Each note
points at the input line holding the key it names; once the version is bumped (as
after adoption), the imported canaries move pods and weights as Argo Rollouts and
Flagger do, and a step of the imported release builds with the real kustomize.
``tests/importer/test_adopt_imported.py`` adopts one and rolls it out.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgen.gates.analysis import Measurement, MeasurementPolicy, Phase, assess
from rollgen.importer.flagger import flagger_weights
from rollgen.plan.steps import plan_release
from rollgen.render.manifests import dump_yaml
from rollgen.spec.load import load_release
from rollgen.spec.model import Analysis, BlueGreen, Release
from testkit import cli
from testkit.built import kustomize_build, of_kind
from testkit.tools import REPO_ROOT, shared_data, shared_root

NOTE = re.compile(r"^  (?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


def rollgen(*args: str | Path, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return cli.rollgen(*map(str, args), cwd=cwd)


def argo_examples() -> list[Path]:
    root = shared_root() / "argo-rollouts"
    return sorted(
        p
        for p in root.rglob("*.yaml")
        if any(d and d.get("kind") == "Rollout" for d in yaml.safe_load_all(p.read_text()))
    )


def flagger_examples() -> list[Path]:
    root = shared_root() / "flagger"
    return sorted(p for p in root.rglob("*.yaml") if "kind: Canary" in p.read_text() and "{{" not in p.read_text())


def examples(find: Any) -> list[Any]:
    """``find()`` for parametrize; without the shared data one case, which skips (or fails in CI) when run."""
    return find() if shared_root().is_dir() else [pytest.param(None, id="no-shared-data")]


def notes_of(output: str) -> list[re.Match[str]]:
    return [m for m in map(NOTE.match, output.splitlines()) if m]


def check_notes_point_at_their_keys(output: str) -> None:
    """Every note's position is a line of the input that holds the last key the note names."""
    for note in notes_of(output):
        line = Path(note["path"]).read_text().splitlines()[int(note["line"]) - 1]
        named = re.match(r"(spec(?:\.[\w-]+)+) is not converted", note["message"])
        if named:
            key = named[1].rsplit(".", 1)[1]
            assert line[int(note["col"]) - 1 :].startswith(key), (note.group(0), line)


def imported(tmp_path: Path, *inputs: Path, out: str = "imported") -> tuple[subprocess.CompletedProcess[str], Path]:
    """``rollgen import`` into ``out``; the spec it writes must pass ``rollgen validate`` as written."""
    done = rollgen("import", *inputs, "--out", out, "--base-path", f"{out}/base", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    valid = rollgen("validate", f"{out}/release.yaml", cwd=tmp_path)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    return done, tmp_path / out


def bumped(out: Path, version: str) -> Release:
    """The imported release once adopted and asked for ``version``: what ran (its version) becomes the stable."""
    release = load_release(out / "release.yaml")
    assert release.stable is None  # an import names what runs, nothing to roll out
    return dataclasses.replace(release, stable=release.version, version=version)


def bump_file(out: Path, version: str) -> Path:
    """:func:`bumped`, written back, for commands that read the spec file (``render``)."""
    data = yaml.safe_load((out / "release.yaml").read_text())
    data["spec"] = {**data["spec"], "stable": data["spec"]["version"], "version": version}
    (out / "release.yaml").write_text(dump_yaml(data))
    return out / "release.yaml"


@pytest.mark.parametrize("example", examples(argo_examples), ids=lambda p: getattr(p, "name", str(p)))
def test_every_argo_rollouts_example_imports_to_a_valid_spec(tmp_path: Path, example: Path | None) -> None:
    templates = shared_data() / "argo-rollouts" / "examples" / "analysis-templates.yaml"
    assert example is not None
    done, out = imported(tmp_path, example, templates)
    check_notes_point_at_their_keys(done.stdout)
    release = load_release(out / "release.yaml")
    assert any(g.kind == "kubernetes" for g in release.gates)  # proof of liveness by default
    assert plan_release(bumped(out, "next")).steps


@pytest.mark.parametrize("example", examples(flagger_examples), ids=lambda p: getattr(p, "name", str(p)))
def test_every_flagger_example_imports_to_a_valid_spec(tmp_path: Path, example: Path | None) -> None:
    podinfo = shared_data() / "podinfo" / "kustomize"
    assert example is not None
    done, out = imported(tmp_path, example, podinfo / "deployment.yaml", podinfo / "hpa.yaml")
    check_notes_point_at_their_keys(done.stdout)
    canary = yaml.safe_load(example.read_text())["spec"]["analysis"]
    weights = [s.set_weight for s in plan_release(bumped(out, "next")).steps if s.set_weight is not None]
    if "iterations" in canary:
        assert weights == []  # no weights: blue/green, noted
    else:
        assert weights == flagger_weights(canary)
        assert weights == list(range(canary["stepWeight"], canary["maxWeight"] + 1, canary["stepWeight"]))


def test_exit_codes_nothing_convertible_unreadable_and_nonempty_out(tmp_path: Path) -> None:
    templates = shared_data() / "argo-rollouts" / "examples" / "analysis-templates.yaml"
    done = rollgen("import", templates, "--out", "a", cwd=tmp_path)
    assert done.returncode == 1
    assert f"{templates}:6:1: no Argo Rollouts Rollout, Flagger Canary, Flux HelmRelease or Argo CD" in done.stdout
    helm_template = shared_data() / "flagger" / "charts" / "podinfo" / "templates" / "canary.yaml"
    done = rollgen("import", helm_template, "--out", "b", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{helm_template}:1:" in done.stderr
    canary = shared_data() / "flagger" / "artifacts" / "examples" / "istio-canary.yaml"
    done = rollgen("import", canary, "--out", "c", cwd=tmp_path)  # the target Deployment is not given
    assert done.returncode == 1
    assert re.search(rf"{re.escape(str(canary))}:9:3: Deployment podinfo is not among the input files", done.stdout)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep").write_text("x")
    done = rollgen("import", argo_examples()[0], "--out", "d", cwd=tmp_path)
    assert done.returncode == 2 and "not an empty directory" in done.stderr
    assert not list((tmp_path / "d").glob("release.yaml"))
    assert rollgen("import", "missing.yaml", "--out", "e", cwd=tmp_path).returncode == 2


def test_import_is_deterministic(tmp_path: Path) -> None:
    example = shared_data() / "flagger" / "artifacts" / "examples" / "istio-canary.yaml"
    podinfo = shared_data() / "podinfo" / "kustomize"
    outputs = []
    for name in ("one", "two"):
        done = rollgen("import", example, podinfo / "deployment.yaml", "--out", name, "--base-path", "b", cwd=tmp_path)
        assert done.returncode == 0
        outputs.append({p.relative_to(tmp_path / name): p.read_bytes() for p in (tmp_path / name).rglob("*.yaml")})
    assert outputs[0] == outputs[1] and len(outputs[0]) == 4


# Argo Rollouts' basic canary (no traffic router): the documented rule is the
# closest achievable ratio of canary to all pods, over replicas or, with surge,
# replicas + 1; the ceiling wins ties; neither side is zero strictly between 0
# and 100 ("10 replicas and 10% → 1 new, 9 old"). Worked by hand:
# (replicas, maxSurge, weight) -> (canary, stable)
ARGO_BASIC_CANARY = [
    (10, 3, 10, (1, 9)),  # Argo's own example
    (5, 2, 20, (1, 4)),
    (5, 2, 40, (2, 3)),
    (5, 2, 60, (3, 2)),
    (5, 2, 80, (4, 1)),
    (4, 1, 25, (1, 3)),
    (4, 1, 50, (2, 2)),
    (3, 1, 50, (2, 2)),  # 2 of 4 is exactly 50%: one surge pod beats 1 or 2 of 3
    (3, 0, 50, (2, 1)),  # 33% and 67% tie: the ceiling wins
    (1, 1, 50, (1, 1)),  # neither side may be zero: only the surged total works
    (10, 1, 33, (3, 7)),  # 30% (3 of 10) beats 36.4% (4 of 11)
    (10, 1, 25, (3, 8)),  # 27.3% (3 of 11) beats 30% (3 of 10)
    (10, 0, 15, (2, 8)),  # 1.5 pods: the ceiling
    (10, 0, 5, (1, 9)),  # 0.5 pods: never zero
    (10, 1, 95, (10, 1)),  # 90.9% (10 of 11) beats 90% (9 of 10)
]


def rollout(replicas: int, surge: int, weights: list[int]) -> str:
    steps = "".join(f"        - setWeight: {w}\n        - pause: {{duration: 1m}}\n" for w in weights)
    return (
        textwrap.dedent(
            f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {{name: web, namespace: prod}}
        spec:
          replicas: {replicas}
          selector: {{matchLabels: {{app: web}}}}
          template:
            metadata: {{labels: {{app: web}}}}
            spec:
              containers:
                - name: web
                  image: ghcr.io/example/web:1.0.0
                  ports: [{{name: http, containerPort: 8080}}]
          strategy:
            canary:
              maxSurge: {surge}
              maxUnavailable: {0 if surge else 1}
              steps:
        """
        )
        + steps
    )


@pytest.mark.parametrize(("replicas", "surge", "weight", "expected"), ARGO_BASIC_CANARY)
def test_imported_basic_canary_moves_pods_as_argo_rollouts(
    tmp_path: Path, replicas: int, surge: int, weight: int, expected: tuple[int, int]
) -> None:
    (tmp_path / "rollout.yaml").write_text(rollout(replicas, surge, [weight]))
    _, out = imported(tmp_path, tmp_path / "rollout.yaml")
    plan = plan_release(bumped(out, "1.1.0"))
    (step,) = [s for s in plan.steps if s.set_weight is not None]
    assert (step.state.replicas("1.1.0"), step.state.replicas("1.0.0")) == expected


def test_imported_argo_example_canary_pods_at_every_set_weight(tmp_path: Path) -> None:
    example = shared_data() / "argo-rollouts" / "examples" / "rollout-canary.yaml"
    _, out = imported(tmp_path, example)
    plan = plan_release(bumped(out, "green"))
    moves = [(s.set_weight, s.state.replicas("green"), s.state.replicas("blue")) for s in plan.steps if s.set_weight]
    # 5 replicas, Argo's default maxSurge 25% (2): 20% of 5 is exactly 1 pod, and so on.
    assert moves == [(20, 1, 4), (40, 2, 3), (60, 3, 2), (80, 4, 1)]


def canary_yaml(analysis: str) -> str:
    return (
        textwrap.dedent(
            """\
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: {name: web, namespace: prod}
            spec:
              provider: istio
              targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
              service: {port: 80, targetPort: 8080}
              analysis:
            """
        )
        + textwrap.indent(textwrap.dedent(analysis), "    ")
        + textwrap.dedent(
            """\
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              replicas: 4
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec: {containers: [{name: web, image: "ghcr.io/example/web:1.0.0"}]}
            ---
            apiVersion: flagger.app/v1beta1
            kind: MetricTemplate
            metadata: {name: errors, namespace: prod}
            spec:
              provider: {type: prometheus, address: "http://prometheus.monitoring:9090"}
              query: sum(rate(http_requests_total{namespace="{{ namespace }}",status=~"5.."}[{{ interval }}]))
            """
        )
    )


@pytest.mark.parametrize(
    ("analysis", "weights"),
    [
        ("stepWeight: 10\nmaxWeight: 50\n", [10, 20, 30, 40, 50]),
        ("stepWeight: 20\nmaxWeight: 50\n", [20, 40, 60]),  # Flagger steps past maxWeight, then promotes
        ("stepWeight: 30\n", [30, 60, 90, 100]),  # maxWeight defaults to 100; weights stop at 100
        ("stepWeights: [1, 2, 10, 80]\n", [1, 2, 10, 80]),
    ],
)
def test_imported_flagger_canary_walks_flaggers_weights(tmp_path: Path, analysis: str, weights: list[int]) -> None:
    (tmp_path / "canary.yaml").write_text(canary_yaml("interval: 30s\nthreshold: 3\n" + analysis))
    _, out = imported(tmp_path, tmp_path / "canary.yaml")
    plan = plan_release(bumped(out, "1.1.0"))
    assert [s.set_weight for s in plan.steps if s.set_weight is not None] == weights
    # With Istio the weight asked is the weight routed.
    assert [s.weight for s in plan.steps if s.set_weight is not None] == weights


def test_flagger_threshold_is_failed_checks_before_rollback(tmp_path: Path) -> None:
    analysis = """\
        interval: 30s
        threshold: 3
        stepWeight: 25
        maxWeight: 50
        metrics:
          - name: errors
            templateRef: {name: errors, namespace: prod}
            thresholdRange: {max: 1}
            interval: 2m
        """
    (tmp_path / "canary.yaml").write_text(canary_yaml(analysis))
    done, out = imported(tmp_path, tmp_path / "canary.yaml")
    assert re.search(r"canary\.yaml:\d+:\d+: threshold 3: each check is a gate measured every 30s", done.stdout)
    release = load_release(out / "release.yaml")
    gate = release.gate("errors")
    assert gate.config["query"] == 'sum(rate(http_requests_total{namespace="{{ namespace }}",status=~"5.."}[2m]))'
    assert gate.success_condition == "result <= 1"
    assert (gate.policy.interval, gate.policy.count, gate.policy.failure_limit) == (30.0, 3, 2)

    def verdict(phases: list[Phase]) -> Phase:
        taken = [Measurement(p, 0.0, "", 30.0 * i) for i, p in enumerate(phases)]
        return assess(gate.policy, taken, started_at=0.0).phase

    # Flagger rolls back at the threshold-th failed check; so does the gate.
    assert verdict([Phase.FAILED] * 3) is Phase.FAILED
    assert verdict([Phase.FAILED] * 2) is Phase.RUNNING
    assert verdict([Phase.FAILED, Phase.FAILED, Phase.SUCCESSFUL]) is Phase.SUCCESSFUL
    assert isinstance(gate.policy, MeasurementPolicy)


def test_analysis_templates_become_prometheus_and_http_gates(tmp_path: Path) -> None:
    manifests = rollout(4, 1, [25]).replace(
        "        - pause: {duration: 1m}\n",
        "        - analysis:\n            templates: [{templateName: health}]\n"
        "            args: [{name: service, value: web-canary}]\n",
    )
    manifests += textwrap.dedent(
        """\
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata: {name: health}
        spec:
          args: [{name: service}, {name: threshold, value: "0.95"}]
          metrics:
            - name: success-rate
              interval: 1m
              initialDelay: 1.5m
              count: 5
              failureLimit: 1
              successCondition: result[0] >= 0.95
              provider:
                prometheus:
                  address: http://prometheus.monitoring:9090
                  query: sum(rate(requests{service="{{args.service}}",code!~"5.."}[1m])) / sum(rate(requests{service="{{args.service}}"}[1m]))
            - name: ready
              successCondition: result == true
              provider:
                web:
                  url: "http://{{args.service}}.prod.svc/status"
                  jsonPath: "{$.ready}"
                  timeoutSeconds: 5
            - name: odd
              provider:
                web: {url: "http://{{args.service}}/{{ workflow.name }}"}
            - name: smoke
              provider:
                job: {spec: {template: {spec: {containers: [{name: t, image: busybox}], restartPolicy: Never}}}}
        """
    )
    (tmp_path / "rollout.yaml").write_text(manifests)
    done, out = imported(tmp_path, tmp_path / "rollout.yaml")
    assert re.search(r"rollout\.yaml:\d+:\d+: metric smoke: provider job is not converted", done.stdout)
    assert re.search(r"rollout\.yaml:\d+:\d+: metric odd uses workflow.name, which rollgen cannot fill in", done.stdout)
    release = load_release(out / "release.yaml")
    prometheus, web = release.gate("health-success-rate"), release.gate("health-ready")
    assert 'service="web-canary"' in prometheus.config["query"] and "args." not in prometheus.config["query"]
    assert (prometheus.policy.count, prometheus.policy.failure_limit, prometheus.policy.interval) == (5, 1, 60.0)
    assert prometheus.policy.initial_delay == 90.0  # a Go duration with a fraction carries over as written
    assert web.config == {"url": "http://web-canary.prod.svc/status", "jsonPath": "$.ready"}
    assert web.policy.timeout == 5.0
    plan = plan_release(bumped(out, "1.1.0"))
    gates = [g for s in plan.steps for w in s.after if isinstance(w, Analysis) for g in w.gates]
    assert gates == ["health-success-rate", "health-ready"]


def rollout_measuring(metric: str) -> str:
    """A Rollout whose one analysis step uses an AnalysisTemplate with ``metric`` (YAML, one list item)."""
    manifests = rollout(4, 1, [25]).replace(
        "        - pause: {duration: 1m}\n", "        - analysis: {templates: [{templateName: latency}]}\n"
    )
    template = (
        "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: latency}\nspec:\n  metrics:\n"
    )
    return manifests + "---\n" + template + textwrap.indent(textwrap.dedent(metric), "    ")


# From Argo Rollouts' analysis docs: conditions and durations as teams write them.
DEFAULT_CONDITION = """\
    - name: p99
      interval: 5m
      successCondition: default(result, 0) < 5
      provider: {prometheus: {address: "http://prometheus:9090", query: "histogram_quantile(0.99, sum(rate(x[5m])) by (le))"}}
    """
DECIMAL_DURATION = """\
    - name: p99
      interval: 1.5m
      initialDelay: 30s
      successCondition: result[0] < 5
      provider: {prometheus: {address: "http://prometheus:9090", query: "histogram_quantile(0.99, sum(rate(x[5m])) by (le))"}}
    """


def test_conditions_and_durations_are_carried_over_verbatim(tmp_path: Path) -> None:
    for name, metric in (("a", DEFAULT_CONDITION), ("b", DECIMAL_DURATION)):
        (tmp_path / f"{name}.yaml").write_text(rollout_measuring(metric))
        done = rollgen("import", f"{name}.yaml", "--out", name, cwd=tmp_path)
        assert done.returncode == 0 and "latency" not in done.stdout, done.stdout  # no note: nothing left out
        _, gate = yaml.safe_load((tmp_path / name / "release.yaml").read_text())["spec"]["gates"]
        source = yaml.safe_load(textwrap.dedent(metric))[0]
        assert {k: gate[k] for k in ("interval", "successCondition", "initialDelay") if k in source} == {
            k: source[k] for k in ("interval", "successCondition", "initialDelay") if k in source
        }


def test_an_argo_condition_with_default_validates_as_imported(tmp_path: Path) -> None:
    (tmp_path / "rollout.yaml").write_text(rollout_measuring(DEFAULT_CONDITION))
    imported(tmp_path, tmp_path / "rollout.yaml")


def test_an_argo_decimal_duration_validates_as_imported(tmp_path: Path) -> None:
    (tmp_path / "rollout.yaml").write_text(rollout_measuring(DECIMAL_DURATION))
    imported(tmp_path, tmp_path / "rollout.yaml")


def test_datadog_new_relic_and_cloudwatch_templates_become_their_gates_with_keys_by_reference(tmp_path: Path) -> None:
    manifests = rollout(4, 1, [25]).replace(
        "        - pause: {duration: 1m}\n",
        "        - analysis:\n            templates: [{templateName: providers}]\n"
        "            args: [{name: service, value: web}, {name: token, valueFrom: {secretKeyRef: {name: t, key: k}}}]\n",
    )
    manifests += textwrap.dedent(
        """\
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata: {name: providers}
        spec:
          args: [{name: service}, {name: token}]
          metrics:
            - name: dd
              interval: 30s
              failureLimit: 2
              successCondition: result < 10
              provider:
                datadog:
                  apiVersion: v2
                  interval: 5m
                  requestTimeout: 20s
                  secretRef: {name: dd-keys, namespaced: true}
                  queries:
                    a: sum:requests.errors{service:{{args.service}}}.as_count()
                    b: sum:requests{service:{{args.service}}}.as_count()
                  formula: "a / b"
            - name: nr
              successCondition: result.errors < 1
              provider:
                newRelic:
                  profile: nr-profile
                  timeout: 10
                  query: "SELECT count(*) AS errors FROM Transaction WHERE appName = '{{args.service}}'"
            - name: cw
              successCondition: result[0].Values[0] <= 0.01
              provider:
                cloudWatch:
                  interval: 30m
                  metricDataQueries:
                    - {id: rate, expression: errors / requests}
                    - id: errors
                      returnData: false
                      metricStat:
                        metric: {namespace: app, metricName: errors, dimensions: [{name: service, value: "{{args.service}}"}]}
                        period: "300"
                        stat: Sum
                        unit: Count
            - name: guarded
              provider:
                web:
                  url: http://{{args.service}}/status
                  headers: [{key: Authorization, value: "Bearer {{args.token}}"}]
        """
    )
    (tmp_path / "rollout.yaml").write_text(manifests)
    done, out = imported(tmp_path, tmp_path / "rollout.yaml")
    check_notes_point_at_their_keys(done.stdout)
    release = load_release(out / "release.yaml")
    datadog, newrelic = release.gate("providers-dd"), release.gate("providers-nr")
    cloudwatch, web = release.gate("providers-cw"), release.gate("providers-guarded")
    assert datadog.config == {
        "apiVersion": "v2",
        "queries": {"a": "sum:requests.errors{service:web}.as_count()", "b": "sum:requests{service:web}.as_count()"},
        "formula": "a / b",
        "interval": "5m",
        "apiKey": {"env": "DD_API_KEY"},
        "appKey": {"env": "DD_APP_KEY"},
    }
    assert (datadog.policy.timeout, datadog.policy.failure_limit, datadog.success_condition) == (20.0, 2, "result < 10")
    assert newrelic.config == {
        "accountId": {"env": "NEW_RELIC_ACCOUNT_ID"},
        "query": "SELECT count(*) AS errors FROM Transaction WHERE appName = 'web'",
        "apiKey": {"env": "NEW_RELIC_API_KEY"},
    }
    assert newrelic.policy.timeout == 10.0
    stat = cloudwatch.config["metricDataQueries"][1]["metricStat"]
    assert cloudwatch.config["interval"] == "30m" and stat["period"] == 300
    assert stat["metric"]["dimensions"] == [{"name": "service", "value": "web"}]
    assert web.config["headers"] == {"Authorization": {"env": "TOKEN"}}
    for said in (
        r"datadog keys: Argo Rollouts reads them from the Secret dd-keys .* rollgen reads \$DD_API_KEY and \$DD_APP_KEY",
        r"newRelic: Argo Rollouts reads the account and key from the Secret nr-profile .* \$NEW_RELIC_API_KEY",
        r"cloudWatch: credentials and the region come from the standard AWS sources",
        r"header Authorization takes argument token from the cluster: rollgen reads the whole header value from "
        r"\$TOKEN where it runs \(set it to 'Bearer <token>'\)",
    ):
        assert re.search(said, done.stdout), said
    assert "secretKeyRef" not in (out / "release.yaml").read_text()


def test_imported_release_renders_a_step_kustomize_builds(tmp_path: Path) -> None:
    """The imported base is a real base: rollgen renders a step from it and kustomize builds it."""
    example = shared_data() / "flagger" / "artifacts" / "examples" / "linkerd-canary.yaml"
    podinfo = shared_data() / "podinfo" / "kustomize"
    _, out = imported(tmp_path, example, podinfo / "deployment.yaml", podinfo / "hpa.yaml", out="apps/podinfo")
    bump_file(out, "6.6.0")
    base = kustomize_build(tmp_path / "apps" / "podinfo" / "base")
    assert set(of_kind(base, "Deployment")) == {"podinfo"} and set(of_kind(base, "Service")) == {"podinfo"}
    spec: dict[str, Any] = yaml.safe_load((tmp_path / "apps/podinfo/release.yaml").read_text())
    output = tmp_path / spec["spec"]["output"]["path"]
    rendered = rollgen("render", "apps/podinfo/release.yaml", "--step", "1", "--out", output, cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    built = kustomize_build(output)
    assert set(of_kind(built, "Deployment")) == {"podinfo-6-14-1", "podinfo-6-6-0"}
    # The imported HPA (podinfo's, minReplicas 2) is pinned per version while both run.
    pinned = {
        n: (h["spec"]["minReplicas"], h["spec"]["maxReplicas"])
        for n, h in of_kind(built, "HorizontalPodAutoscaler").items()
    }
    step = plan_release(load_release(tmp_path / "apps/podinfo/release.yaml")).steps[0]
    assert pinned == {w.name: (w.replicas, w.replicas) for w in step.state.workloads}


def test_imported_rollout_renders_every_setweight_step_kustomize_builds(tmp_path: Path) -> None:
    """Each weight step of an imported Rollout builds to the pods Argo Rollouts would run."""
    example = shared_data() / "argo-rollouts" / "examples" / "rollout-canary.yaml"
    _, out = imported(tmp_path, example, out="apps/demo")
    release = load_release(bump_file(out, "green"))
    for step in plan_release(release).steps:
        if step.set_weight is None:
            continue
        # A step's files refer to the base relatively from the release's output path: render them there.
        output = tmp_path / release.output_path
        shutil.rmtree(output, ignore_errors=True)
        rendered = rollgen(
            "render", "apps/demo/release.yaml", "--step", str(step.index), "--out", release.output_path, cwd=tmp_path
        )
        assert rendered.returncode == 0, rendered.stderr
        deployments = of_kind(kustomize_build(output), "Deployment")
        assert {n: d["spec"]["replicas"] for n, d in deployments.items()} == {
            w.name: w.replicas for w in step.state.workloads
        }


def test_an_imported_spec_names_what_runs_and_nothing_to_roll_out(tmp_path: Path) -> None:
    example = shared_data() / "argo-rollouts" / "examples" / "rollout-canary.yaml"
    done, out = imported(tmp_path, example)
    spec = yaml.safe_load((out / "release.yaml").read_text())["spec"]
    assert (spec["image"], spec["version"], "stable" in spec) == ("argoproj/rollouts-demo", "blue", False)
    assert "next version" not in done.stdout
    assert "then take it over with rollgen adopt" in done.stderr
    # The option that named a version to roll out is gone: adopting such a spec would have deployed it at once.
    refused = rollgen("import", example, "--out", "again", "--version", "green", cwd=tmp_path)
    assert refused.returncode == 2 and "--version" in refused.stderr


def test_flagger_iterations_become_blue_green_checks_measured_that_often(tmp_path: Path) -> None:
    analysis = """\
        interval: 1m
        threshold: 2
        iterations: 5
        metrics:
          - name: errors
            templateRef: {name: errors}
            thresholdRange: {max: 1}
        """
    (tmp_path / "canary.yaml").write_text(canary_yaml(analysis))
    _, out = imported(tmp_path, tmp_path / "canary.yaml")
    release = load_release(out / "release.yaml")
    assert release.strategy == BlueGreen(pre_promotion_analysis=Analysis(("errors",)))
    gate = release.gate("errors")
    assert (gate.policy.interval, gate.policy.count, gate.policy.failure_limit) == (60.0, 5, 1)
