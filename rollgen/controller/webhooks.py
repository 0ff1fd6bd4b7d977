"""What a webhook is sent: one event as a Slack, JSON, CloudEvents or Microsoft Teams body, and its signature.

Pure: every function takes the event and the moment it is sent, and returns
bytes or plain data, so bodies are tested without a receiver.

- ``slack``: Slack's incoming-webhook body (``text`` and ``blocks``), its text
  escaped as Slack asks (``&``, ``<``, ``>``);
- ``json``: every field of the event, plus its summary and the commit's link;
- ``cloudevents``: a CloudEvents 1.0 event in structured JSON mode, the JSON
  body as its ``data``;
- ``teams``: a message holding one Adaptive Card, the shape Teams incoming
  webhooks and Workflows ("post to a channel when a webhook request is
  received") accept.

A webhook with a ``secret`` is signed as GitHub signs its deliveries: the header
``X-Rollgen-Signature-256: sha256=<hex HMAC-SHA256 of the body>``, so a receiver
knows the body came from whoever holds the secret and was not changed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rollgen.gates.template import render

if TYPE_CHECKING:
    from rollgen.controller.notify import Event

SIGNATURE_HEADER = "X-Rollgen-Signature-256"
CLOUDEVENTS_TYPE = "io.rollgen.rollout."
"""The prefix of a CloudEvent's ``type``: ``io.rollgen.rollout.aborted``, ``io.rollgen.rollout.gate-failed`` ..."""

# Slack refuses a section whose text is longer than this; a gate's message is cut to it in every body.
_TEXT_LIMIT = 3000


def commit_url(template: str | None, commit: str) -> str | None:
    """The link to ``commit`` from the spec's ``commitURL`` template (``{{ commit }}`` substituted)."""
    if template is None or not commit:
        return None
    return render(template, {"commit": commit})


def summary(event: Event) -> str:
    """One line saying what happened, the text every kind of body leads with."""
    name = event.release
    return {
        "started": f"{name}: rollout of {event.to_label} started (from {event.from_label})",
        "step": f"{name}: step {event.step}/{event.steps} of {event.to_label} committed",
        "gate-failed": f"{name}: gate failed at step {event.step}/{event.steps}: {event.reason}",
        "paused": f"{name}: paused at step {event.step}/{event.steps} ({event.reason})",
        "resumed": f"{name}: resumed at step {event.step}/{event.steps}",
        "aborted": f"{name}: rollout of {event.to_label} aborted ({event.reason})",
        "completed": f"{name}: rollout of {event.to_label} completed",
        "promoted": f"{name}: {event.to_label} promoted ({event.reason})",
        "detected": f"{name}: new version {event.to_label} detected (was {event.from_label})",
    }[event.kind]


def _cut(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def json_body(event: Event, commit_template: str | None, now: float) -> dict[str, Any]:
    """The generic body: every field of the event, plus its summary and the commit's link."""
    return {
        "event": event.kind,
        "release": event.release,
        "rollout": event.rollout,
        "step": event.step,
        "steps": event.steps,
        "fromVersion": event.from_label,
        "toVersion": event.to_label,
        "commit": event.commit,
        "commitURL": commit_url(commit_template, event.commit),
        "reason": event.reason,
        "gates": [{"gate": g.gate, "phase": g.phase, "message": _cut(g.message)} for g in event.gates],
        "text": summary(event),
    }


def slack_escape(text: str) -> str:
    """``text`` as Slack shows it literally: ``&``, ``<`` and ``>`` have a meaning of their own in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(event: Event, commit_template: str | None, now: float) -> dict[str, Any]:
    """A Slack incoming-webhook body: ``text`` (the notification's fallback) and ``blocks``."""
    text = slack_escape(summary(event))
    link = commit_url(commit_template, event.commit)
    short = event.commit[:12]
    commit = f"<{link}|{short}>" if link else f"`{short}`"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": _cut(text)}}]
    if event.gates:
        lines = "\n".join(f"• *{slack_escape(g.gate)}* {g.phase}: {slack_escape(g.message)}" for g in event.gates)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(lines)}})
    context = f"rollout `{slack_escape(event.rollout)}` · step {event.step}/{event.steps} · commit {commit}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": text, "blocks": blocks}


def event_id(event: Event) -> str:
    """The same id for the same event: a receiver deduplicates a retried or repeated delivery by it."""
    seen = "\n".join((event.kind, event.release, event.rollout, str(event.step), event.commit, event.to_label))
    return hashlib.sha256(seen.encode()).hexdigest()[:32]


def cloudevents_body(event: Event, commit_template: str | None, now: float) -> dict[str, Any]:
    """A CloudEvents 1.0 event in structured mode: the context attributes, and the JSON body as ``data``."""
    body: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id(event),
        "source": f"/rollgen/releases/{event.release}",
        "type": CLOUDEVENTS_TYPE + event.kind,
        "time": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": json_body(event, commit_template, now),
    }
    if event.rollout:
        body["subject"] = event.rollout
    return body


def teams_body(event: Event, commit_template: str | None, now: float) -> dict[str, Any]:
    """A Teams message with one Adaptive Card: the summary, the facts, each gate, and a link to the commit."""
    facts = [{"title": "Release", "value": event.release}]
    if event.rollout:
        facts.append({"title": "Rollout", "value": event.rollout})
    if event.steps:
        facts.append({"title": "Step", "value": f"{event.step}/{event.steps}"})
    facts.append({"title": "Versions", "value": f"{event.from_label} → {event.to_label}"})
    if event.commit:
        facts.append({"title": "Commit", "value": event.commit[:12]})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": _cut(summary(event)), "weight": "Bolder", "wrap": True},
            {"type": "FactSet", "facts": facts},
            *(
                {"type": "TextBlock", "text": _cut(f"{g.gate} {g.phase}: {g.message}"), "wrap": True}
                for g in event.gates
            ),
        ],
    }
    link = commit_url(commit_template, event.commit)
    if link is not None:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Commit", "url": link}]
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


BODIES: Mapping[str, Callable[[Event, str | None, float], dict[str, Any]]] = {
    "slack": slack_body,
    "json": json_body,
    "cloudevents": cloudevents_body,
    "teams": teams_body,
}
CONTENT_TYPES: Mapping[str, str] = {"cloudevents": "application/cloudevents+json"}
"""A body's Content-Type when it is not application/json."""


def encoded(kind: str, event: Event, commit_template: str | None, now: float) -> bytes:
    """The bytes sent for ``event`` to a webhook of ``kind`` (keys sorted: the same event, the same bytes)."""
    return json.dumps(BODIES[kind](event, commit_template, now), sort_keys=True, ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    """The value of the signature header: ``sha256=`` and the hex HMAC-SHA256 of ``body`` keyed by ``secret``.

    >>> signature("It's a Secret to Everybody", b"Hello, World!")
    'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
