from __future__ import annotations

import json
import re

import yaml

from rollgen.plan.steps import plan_release
from rollgen.plan.table import format_plan, plan_to_data
from rollgen.spec.model import Analysis, BlueGreen, Canary, KustomizeSource, Pause, Release, SetWeight, Strategy


def release(strategy: Strategy, replicas: int = 10) -> Release:
    return Release(
        "podinfo",
        "prod",
        replicas,
        "ghcr.io/stefanprodan/podinfo",
        "6.4.0",
        "6.5.0",
        KustomizeSource("base"),
        "out",
        strategy,
    )


RATIO = Canary(
    max_surge=1, max_unavailable=0, steps=(SetWeight(10), Pause(600.0), SetWeight(14), Analysis(("success-rate",)))
)


def rows(text: str) -> dict[str, list[str]]:
    """Table rows by step number, split on runs of two or more spaces."""
    table = text.split("\n\n")[1].splitlines()
    return {re.split(r"\s{2,}", line.strip())[0]: re.split(r"\s{2,}", line.strip()) for line in table}


def test_table_shows_pods_weights_availability_traffic_and_waits() -> None:
    text = format_plan(plan_release(release(RATIO)))
    assert (
        text.splitlines()[0]
        == "podinfo in prod: canary (traffic: replicas), 6.4.0 -> 6.5.0, 10 replicas, maxSurge 1, maxUnavailable 0"
    )
    table = rows(text)
    assert table["step"] == [
        "step",
        "action",
        "asked",
        "weight",
        "6.4.0",
        "6.5.0",
        "total",
        "min avail",
        "traffic",
        "gates",
        "pause",
    ]
    assert table["0"] == ["0", "initial", "-", "0%", "10", "-", "10", "-", "100:0 pods"]
    # 10% of 10 pods with a surge pod: one canary pod comes up first, then a stable pod goes.
    assert table["1"] == ["1", "surge", "-", "9.1%", "10", "1", "11", "10", "90.9:9.1 pods"]
    assert table["2"] == ["2", "setWeight", "10%", "10%", "9", "1", "10", "10", "90:10 pods", "10m0s"]
    assert table["3"] == ["3", "setWeight", "14%", "10%", "9", "1", "10", "10", "90:10 pods", "success-rate"]
    assert table[str(len(table) - 2)][:7] == [str(len(table) - 2), "cleanup", "-", "100%", "-", "10", "10"]


def test_warnings_and_notes_follow_the_table() -> None:
    plan = plan_release(release(RATIO))
    text = format_plan(plan)
    warnings = text.split("warnings:\n")[1].split("\n\n")[0].splitlines()
    assert warnings == [f"  {plan.warnings[0]}"]
    notes = text.split("notes:\n")[1].splitlines()
    # The surge/drain steps share one note, listed once with every step it applies to.
    inserted = [s.index for s in plan.steps if s.action in ("surge", "drain")]
    assert inserted[:2] == [1, 4]
    assert notes[0].startswith(f"  steps 1, 4-{inserted[-1]}: inserted so that at least 10 pods stay available")
    assert notes[-1] == f"  step {len(plan.steps)}: remove 6.4.0"


def test_blue_green_traffic_is_the_selector_and_pauses_read_plainly() -> None:
    plan = plan_release(
        release(BlueGreen(preview_service="preview", auto_promotion_enabled=False, scale_down_delay_seconds=90), 3)
    )
    table = rows(format_plan(plan))
    assert table["1"][-2:] == ["100:0 selector, preview 6.5.0", "until promoted"]
    assert table["2"][-2:] == ["0:100 selector, preview 6.5.0", "1m30s"]
    assert table["3"][-1] == "0:100 selector"


def test_routed_traffic_is_the_route_weights() -> None:
    plan = plan_release(release(Canary(traffic="gatewayAPI", steps=(SetWeight(20),))))
    table = rows(format_plan(plan))
    # initial, scale, setWeight 20, scale to full, promote, cleanup
    traffic = [table[str(i)][8] for i in range(6)]
    assert traffic == ["100:0 route", "100:0 route", "80:20 route", "80:20 route", "0:100 route", "0:100 route"]
    assert "maxSurge" not in format_plan(plan).splitlines()[0]


def test_data_is_json_and_yaml_with_stable_keys() -> None:
    plan = plan_release(release(RATIO))
    data = plan_to_data(plan)
    assert json.loads(json.dumps(data)) == data
    assert yaml.safe_load(yaml.safe_dump(data)) == data
    assert list(data) == [
        "release",
        "namespace",
        "strategy",
        "traffic",
        "stable",
        "version",
        "replicas",
        "maxSurge",
        "maxUnavailable",
        "digest",
        "initial",
        "steps",
        "warnings",
    ]
    assert data["digest"] == plan.digest() and data["warnings"] == list(plan.warnings)
    second = data["steps"][1]
    assert second == {
        "index": 2,
        "action": "setWeight",
        "setWeight": 10,
        "weight": 10.0,
        "minAvailable": 10,
        "state": {
            "workloads": [
                {"name": "podinfo-6-4-0", "version": "6.4.0", "replicas": 9},
                {"name": "podinfo-6-5-0", "version": "6.5.0", "replicas": 1},
            ],
            "totalPods": 10,
            "serviceVersion": None,
            "previewVersion": None,
            "weights": [],
        },
        "after": [{"pause": {"duration": "10m0s"}}],
        "note": "",
    }
    assert data["steps"][2]["after"] == [{"analysis": {"gates": ["success-rate"]}}]


def test_data_of_a_pause_for_a_human_and_route_weights() -> None:
    plan = plan_release(release(Canary(traffic="istio", steps=(SetWeight(50), Pause(None)))))
    data = plan_to_data(plan)
    assert data["steps"][1]["after"] == [{"pause": {}}]
    assert data["steps"][1]["state"]["weights"] == [
        {"version": "6.4.0", "weight": 50},
        {"version": "6.5.0", "weight": 50},
    ]
    assert data["initial"]["weights"] == [{"version": "6.4.0", "weight": 100}]
    assert (data["traffic"], data["maxSurge"], data["maxUnavailable"]) == ("istio", None, None)
