"""Each metric provider end to end, through the CLI: a good canary completes and a bad one aborts.

A GitOps repository (a clone of a bare remote) with the demo's Kustomize base, a
spec whose analysis is one datadog, newRelic or cloudWatch gate against that
provider's API on loopback, ``rollgen validate`` then ``rollgen run``; then what
Git holds, built with the real ``kubectl kustomize``. The keys are in the
environment only: the test checks that none reached the repository or its notes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rollgen.cli import main
from rollgen.cli.demo import demo_release, init_gitops
from testkit.git import git
from testkit.providerservers import (
    AWS_KEYS,
    DATADOG_KEYS,
    NEW_RELIC_ACCOUNT,
    NEW_RELIC_KEY,
    FakeCloudWatch,
    FakeDatadog,
    FakeNerdGraph,
    ProviderApp,
)
from testkit.tools import require_tool

GOOD, BAD = "2.0.0", "2.1.0"
STEPS = ({"setWeight": 50}, {"analysis": {"gates": ["errors"]}})
KEYS = (*DATADOG_KEYS, NEW_RELIC_KEY, AWS_KEYS[1])


def provider_gate(kind: str, app: ProviderApp) -> dict[str, Any]:
    """The gate, as a user writes it: the version in the query, the keys by reference."""
    if kind == "datadog":
        settings: dict[str, Any] = {
            "address": app.url,
            "query": "sum:trace.http.request.errors{service:web,version:{{ version }}}.as_count()",
            "apiKey": {"env": "DD_API_KEY"},
            "appKey": {"env": "DD_APP_KEY"},
        }
        condition = "result < 0.05"
    elif kind == "newRelic":
        settings = {
            "address": f"{app.url}/graphql",
            "accountId": NEW_RELIC_ACCOUNT,
            "query": "SELECT percentage(count(*), WHERE error IS true) AS errors FROM Transaction "
            "WHERE tags.version = '{{ version }}' SINCE 1 minute ago",
            "apiKey": {"env": "NEW_RELIC_API_KEY"},
        }
        condition = "result.errors < 0.05"
    else:
        settings = {
            "region": "eu-west-1",
            "address": app.url,
            "metricDataQueries": [{"id": "ratio", "expression": "errors / requests", "label": "web {{ version }}"}],
        }
        condition = "result[0].Values[0] < 0.05"
    return {"name": "errors", "interval": "1s", "count": 2, "successCondition": condition, kind: settings}


@pytest.fixture
def keys(aws: pytest.MonkeyPatch) -> None:
    """Every provider's keys in the environment, where rollgen reads them."""
    aws.setenv("DD_API_KEY", DATADOG_KEYS[0])
    aws.setenv("DD_APP_KEY", DATADOG_KEYS[1])
    aws.setenv("NEW_RELIC_API_KEY", NEW_RELIC_KEY)
    aws.setenv("AWS_ACCESS_KEY_ID", AWS_KEYS[0])
    aws.setenv("AWS_SECRET_ACCESS_KEY", AWS_KEYS[1])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["datadog", "newRelic", "cloudWatch"])
@pytest.mark.parametrize("version", [GOOD, BAD])
@pytest.mark.usefixtures("keys")
def test_a_good_canary_completes_and_a_bad_one_aborts(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    datadog: FakeDatadog,
    nerdgraph: FakeNerdGraph,
    cloudwatch: FakeCloudWatch,
    kind: str,
    version: str,
) -> None:
    require_tool("git")
    require_tool("kubectl")
    app = {"datadog": datadog, "newRelic": nerdgraph, "cloudWatch": cloudwatch}[kind]
    app.measured.update({GOOD: 0.001, BAD: 0.5})
    document = demo_release("0.9.0", "1.0.0", [provider_gate(kind, app)], STEPS)
    del document["spec"]["stable"]  # derived from Git: what runs
    work = init_gitops(tmp_path, {"release.yaml": json.dumps(document, indent=2)})
    spec, repo = str(work / "release.yaml"), ["--repo", str(work)]
    assert main(["adopt", spec, *repo]) == 0  # 1.0.0 runs, written by rollgen
    built_before = kustomize(work, "deploy/web")
    git(work, "pull", "-q", "--rebase", "origin", "main")
    document["spec"]["version"] = version  # the user asks for the new version, as a commit
    (work / "release.yaml").write_text(json.dumps(document, indent=2))
    git(work, "commit", "-q", "-am", f"web {version}")
    git(work, "push", "-q", "origin", "main")

    assert main(["validate", spec, *repo]) == 0
    code = main(["run", spec, *repo])
    shown = capsys.readouterr().out

    assert app.requests, shown
    git(work, "fetch", "-q", "origin")
    subjects = git(work, "log", "--format=%s", "origin/main").splitlines()
    built = kustomize(work, "deploy/web")
    if version == GOOD:
        assert code == 0, shown
        assert subjects[0] == f"demo/web: complete 1.0.0 -> {GOOD}" and "COMPLETED" in shown
        assert "name: web-2-0-0" in built and "name: web-1-0-0" not in built
    else:
        assert code == 1, shown
        assert "ABORTED" in shown and "successCondition" in shown and "does not hold" in shown
        assert subjects[0].startswith("demo/web: abort, 1.0.0 restored")
        assert "name: web-1-0-0" in built and "name: web-2-1-0" not in built
        assert built == built_before
    everything = git(work, "log", "-p", "--notes=*", "--all") + shown
    assert not [key for key in KEYS if key in everything], "a key reached git, the notes or the output"


def kustomize(work: Path, path: str) -> str:
    return subprocess.run(["kubectl", "kustomize", str(work / path)], capture_output=True, text=True, check=True).stdout
