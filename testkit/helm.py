"""Real Helm (helm-python-sdk) for tests: the SDK (the ``helm`` fixture of tests/conftest.py) and templating what
rollgen's Argo CD Applications describe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from testkit.built import Obj
from testkit.tools import missing


def helm_sdk() -> Any:
    """The ``helm_python`` module, or skip (fail in CI) without it."""
    try:
        import helm_python
    except ImportError:
        missing("helm-python-sdk is not installed")
    return helm_python


def merge(into: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of values files: maps merge key by key, anything else replaces."""
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


def template(helm: Any, repo: Path, files: dict[str, bytes]) -> list[Obj]:
    """Template every Helm release the rendered Argo CD Applications describe, with their values files in order."""
    objects: list[Obj] = []
    for app in yaml.safe_load_all(files["application.yaml"]):
        source = app["spec"]["sources"][0]
        values: dict[str, Any] = {}
        for path in source["helm"]["valueFiles"]:
            merge(values, yaml.safe_load((repo / path.removeprefix("$values/")).read_text()) or {})
        with helm.Chart.load(repo / source["path"]) as chart:
            rendered = chart.render(
                values=values, name=source["helm"]["releaseName"], namespace=app["spec"]["destination"]["namespace"]
            )
        objects += applied(rendered)
    return objects


def applied(rendered: dict[str, str]) -> list[Obj]:
    """What Argo CD and Flux apply of a rendered chart: its manifests, not NOTES.txt and not ``helm test`` hooks."""
    return [d for d in _manifests(rendered) if not _is_test_hook(d)]


def hooks_of(rendered: dict[str, str]) -> list[Obj]:
    """What ``helm test`` runs of a rendered chart."""
    return [d for d in _manifests(rendered) if _is_test_hook(d)]


def _manifests(rendered: dict[str, str]) -> list[Obj]:
    return [d for name, text in rendered.items() if name.endswith(".yaml") for d in yaml.safe_load_all(text) if d]


def _is_test_hook(obj: Obj) -> bool:
    hooks = (obj.get("metadata", {}).get("annotations") or {}).get("helm.sh/hook", "")
    return bool({"test", "test-success"} & {h.strip() for h in hooks.split(",")})
