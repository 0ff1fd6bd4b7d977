"""The registry: every kind listed once, measuring never raises nor hangs, importing stays cheap."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from rollgen.gates import registry
from rollgen.gates.analysis import CheckResult, Phase
from rollgen.gates.kind import GateContext, GateError
from rollgen.gates.registry import KINDS, config_of, kind_of, measure
from rollgen.spec.vocabulary import GATE_KINDS
from testkit.gates import context, gate


def test_every_kind_the_spec_knows_is_registered_under_its_own_name() -> None:
    assert sorted(KINDS) == sorted(GATE_KINDS)
    assert all(kind.name == name for name, kind in KINDS.items())


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(
        GateError,
        match="unknown gate kind 'graphite'; known kinds: argocd, cloudWatch, command, datadog, flux, http, "
        "kubernetes, newRelic, prometheus",
    ):
        kind_of("graphite")
    result = measure(gate("graphite", {}), context())
    assert result.phase is Phase.ERROR and "unknown gate kind" in result.message


def test_config_lays_settings_over_defaults_and_adds_timeout_and_conditions() -> None:
    checked = gate("http", {"url": "http://x", "method": "HEAD"}, timeout=7.0, success_condition="result == 'ok'")
    assert config_of(checked) == {
        "method": "HEAD",
        "headers": {},
        "url": "http://x",
        "timeout": 7.0,
        "successCondition": "result == 'ok'",
    }


def test_conditions_on_a_kind_without_them_are_rejected() -> None:
    result = measure(gate("command", {"command": ["true"]}, success_condition="result == 0"), context())
    assert result.phase is Phase.ERROR
    assert "a command gate takes no successCondition/failureCondition" in result.message


def test_the_check_gets_the_gate_timeout() -> None:
    assert config_of(gate("http", {"url": "http://x"}, timeout=3.0))["timeout"] == 3.0


class _Broken:
    name = "broken"
    defaults: Mapping[str, Any] = {}
    conditions = False

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.release = threading.Event()

    def check(self, config: Mapping[str, Any], context: GateContext) -> CheckResult:
        if self.behaviour == "raise":
            raise KeyError("status")
        self.release.wait(30)  # "hang", until the test lets go
        return CheckResult(Phase.SUCCESSFUL)


def test_a_bug_in_a_check_is_an_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "KINDS", {"broken": _Broken("raise")})
    result = measure(gate("broken", {}), context())
    assert result.phase is Phase.ERROR
    assert result.message == "test-broken: unexpected KeyError: 'status'"


def test_a_check_that_hangs_is_abandoned(monkeypatch: pytest.MonkeyPatch) -> None:
    hanging = _Broken("hang")
    monkeypatch.setattr(registry, "KINDS", {"broken": hanging})
    monkeypatch.setattr(registry, "GRACE", 0.1)
    try:
        result = measure(gate("broken", {}, timeout=0.1), context())
    finally:
        hanging.release.set()
    assert result.phase is Phase.ERROR
    assert "check did not finish within 0.1s" in result.message


def test_importing_the_registry_stays_cheap() -> None:
    heavy = {"kubernetes", "urllib3", "urllib.request", "ssl", "jinja2", "yaml", "ruamel", "http.client"}
    code = f"import sys, rollgen.gates.registry; print(sorted(set({sorted(heavy)!r}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_a_context_offers_its_names_to_templates() -> None:
    assert context().template_values() == {
        "release": "podinfo",
        "namespace": "prod",
        "version": "6.5.0",
        "stable": "6.4.0",
        "commit": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
        "step": "2",
    }


def test_each_kind_takes_conditions_as_its_facts_say() -> None:
    # The facts are read by validation without loading the kinds; the kinds must agree with them.
    from rollgen.gates.facts import FACTS

    assert {name: kind.conditions for name, kind in KINDS.items()} == {
        name: facts.conditions for name, facts in FACTS.items()
    }
