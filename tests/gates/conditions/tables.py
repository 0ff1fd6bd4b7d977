"""The ported tables (argo_rollouts.yaml, expr_lang.yaml; their sources and licences are in their headers)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
ARGO = yaml.safe_load((HERE / "argo_rollouts.yaml").read_text(encoding="utf-8"))
EXPR = yaml.safe_load((HERE / "expr_lang.yaml").read_text(encoding="utf-8"))

ARGO_CONDITIONS: list[dict[str, Any]] = ARGO["conditions"]
ARGO_MEASUREMENTS: list[dict[str, Any]] = ARGO["measurements"]
EXPR_CASES: list[dict[str, Any]] = EXPR["cases"]


def case_id(case: dict[str, Any]) -> str:
    text = case.get("condition") or f"{case.get('success')} / {case.get('failure')}"
    return f"{text} <- {json.dumps(case.get('result'), default=str)}"


def refused(case: dict[str, Any]) -> bool:
    """Whether ``validate`` refuses the case's condition, whatever the result."""
    return "refused" in case


def same(got: Any, want: Any) -> bool:
    """Equal, with Go's types told apart: 1 and 1.0 differ, as they do in expr-lang's assertions."""
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if type(got) is not type(want):
        return False
    if isinstance(want, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    return bool(got == want)
