"""Flagger's analysis webhooks as rollgen gates: each an http gate that POSTs Flagger's payload."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rollgen.durations import is_go_duration
from rollgen.importer.conversion import Notes, dns_label
from rollgen.importer.documents import Manifest
from rollgen.spec.yamldoc import JsonPath

_WEBHOOK_WHY = {
    "post-rollout": "rollgen runs no hook after the rollout",
    "rollback": "rollgen aborts on failed gates or `rollgen abort`, not on a webhook's answer",
    "event": "rollgen's notifications are configured apart from the release spec",
}
# The durations Flagger and rollgen both read the same way (Go's, without fractions).


def webhook_gates(
    canary: Manifest, analysis: Mapping[str, Any], gates: list[dict[str, Any]], notes: Notes
) -> dict[str, list[str]]:
    """Gate names by webhook type; each webhook is an http gate that POSTs Flagger's payload."""
    found: dict[str, list[str]] = {
        t: [] for t in ("pre-rollout", "rollout", "confirm-rollout", "confirm-promotion", "confirm-traffic-increase")
    }
    for i, hook in enumerate(analysis.get("webhooks", []) or []):
        where: JsonPath = ("spec", "analysis", "webhooks", i)
        kind = str(hook.get("type", "rollout"))
        notes.unconverted(
            canary,
            where,
            hook,
            frozenset({"name", "type", "url", "timeout", "metadata"}),
            {
                "muteAlert": "rollgen's notifications are configured apart from the release spec",
                "retries": "gates retry errors themselves (consecutiveErrorLimit)",
            },
        )
        if kind not in found:
            notes.add(
                canary,
                (*where, "type"),
                f"webhook type {kind} is not converted: {_WEBHOOK_WHY.get(kind, 'rollgen has no equivalent')}",
            )
            continue
        if kind == "confirm-rollout":
            notes.add(
                canary,
                (*where, "type"),
                "confirm-rollout is not converted: a rollout starts when a human runs `rollgen start` or merges the spec",
            )
            continue
        if kind.startswith("confirm-"):
            notes.add(
                canary,
                (*where, "type"),
                f"{kind} became a `pause: {{}}` step: a human runs `rollgen promote` instead of the webhook answering",
            )
            found[kind].append(str(hook.get("name")))
            continue
        mentioned = json.dumps(hook.get("metadata", {}), sort_keys=True)
        for suffix in ("-canary", "-primary"):
            if f"{canary.name}{suffix}" in mentioned:
                notes.add(
                    canary,
                    (*where, "metadata"),
                    f"the webhook's command addresses {canary.name}{suffix}, a Service Flagger creates and rollgen "
                    f"does not: point it at the base Service or the version's pods",
                )
        payload = {
            "name": "{{ release }}",
            "namespace": "{{ namespace }}",
            "phase": "Progressing",
            "metadata": {str(k): str(v) for k, v in (hook.get("metadata", {}) or {}).items()},
        }
        name = dns_label(str(hook.get("name", f"webhook-{i}")))
        gate: dict[str, Any] = {"name": name}
        if is_go_duration(hook.get("timeout")):
            gate["timeout"] = hook["timeout"]
        gate["http"] = {
            "url": str(hook.get("url")),
            "method": "POST",
            "headers": {"Content-Type": "application/json"},
            "requestBody": json.dumps(payload, sort_keys=True),
        }
        gates.append(gate)
        found[kind].append(name)
    return found
