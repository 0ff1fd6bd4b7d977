"""Webhook notifications: what a controller pass did, sent to Slack or any JSON receiver.

Pure core, thin shell:

- :func:`events_of` compares where a rollout stood before a pass with where it
  stands after (and the pass's judgement) and returns the :class:`Event` values
  to announce: started, step, gate-failed, paused, aborted, completed;
- :func:`slack_body` and :func:`json_body` turn an event into a request body;
- :class:`Notifier` sends them from one background thread, so a failing or
  slow receiver never blocks nor breaks a rollout: a bounded number of
  attempts with backoff, each within what is left of a total deadline.

Webhook URLs carry their secret in the URL itself (Slack's do), so they come
from an environment variable or a file, never from the spec, and are never
written anywhere: errors name the webhook, not its URL. Redirects are refused,
so a body never reaches an origin other than the one configured.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollgen.controller.decision import Abort, Hold
from rollgen.gates.analysis import Phase
from rollgen.gates.template import render
from rollgen.gitops.trailers import Action
from rollgen.rollout.state import RolloutPhase, RolloutState
from rollgen.secrets import Secrets
from rollgen.spec.model import Notifications, Pause, Webhook
from rollgen.spec.vocabulary import EventKind

if TYPE_CHECKING:
    from rollgen.controller.decision import Judgement


# Actions whose commit puts a plan step live, and those that begin a rollout.
_FORWARD = frozenset({Action.START, Action.ADVANCE, Action.PROMOTE, Action.RETRY, Action.UNDO})
_STARTING = frozenset({Action.START, Action.RETRY, Action.UNDO})


@dataclass(frozen=True)
class GateOutcome:
    gate: str
    phase: str
    message: str


@dataclass(frozen=True)
class Event:
    """One thing a pass did to one rollout. ``release`` is ``<namespace>/<name>``."""

    kind: EventKind
    release: str
    rollout: str
    step: int
    steps: int
    from_label: str
    to_label: str
    commit: str
    reason: str = ""
    gates: tuple[GateOutcome, ...] = ()


def events_of(
    before: RolloutState | None,
    after: RolloutState | None,
    judgement: Judgement | None = None,
    *,
    measured: bool = False,
) -> tuple[Event, ...]:
    """What happened between ``before`` and ``after`` (None: the release had no rollout).

    Only changes are announced, so calling this after every pass of a cron job
    or of ``rollgen run`` sends each event once: a step is announced when its
    commit appears, a manual pause when the step that waits for ``rollgen
    promote`` is committed, a failed gate when the pass decides to abort, and
    a hold on an inconclusive gate when the pass ``measured`` (a hold stops all
    measuring, so only the pass whose measurement made it says so).

    >>> events_of(None, None)
    ()
    """
    if after is None:
        return ()
    now = after

    def event(kind: EventKind, reason: str = "", gates: tuple[GateOutcome, ...] = ()) -> Event:
        return Event(
            kind,
            now.release,
            now.rollout,
            now.step,
            now.steps,
            now.from_label,
            now.to_label,
            now.commit,
            reason,
            gates,
        )

    aborts = (RolloutPhase.ABORTING, RolloutPhase.ABORTED)

    same_rollout = before is not None and before.rollout == after.rollout
    moved = before is None or before.commit != after.commit
    events: list[Event] = []
    if judgement is not None and isinstance(judgement.decision, Abort):
        failed = tuple(
            GateOutcome(view.gate, view.verdict.phase.value, view.verdict.message)
            for view in judgement.gates
            if view.verdict.phase in (Phase.FAILED, Phase.ERROR)
        )
        events.append(event("gate-failed", judgement.decision.reason, failed))
    if judgement is not None and isinstance(judgement.decision, Hold) and measured:
        held = tuple(
            GateOutcome(view.gate, view.verdict.phase.value, view.verdict.message)
            for view in judgement.gates
            if view.verdict.phase is Phase.INCONCLUSIVE
        )
        events.append(event("paused", f"inconclusive, waiting for a human: {judgement.decision.reason}", held))
    if moved and after.action in _FORWARD and after.step >= 1:
        if after.action in _STARTING and not same_rollout:
            events.append(event("started", f"{after.from_label} -> {after.to_label}"))
        events.append(event("step", f"step {after.step}/{after.steps} committed"))
        if any(isinstance(wait, Pause) and wait.seconds is None for wait in after.waits):
            events.append(event("paused", "waiting for `rollgen promote`"))
    was = before.phase if before is not None and same_rollout else None
    # An abort is announced when it begins and when its last commit restored the stable version.
    if after.phase in aborts and was != after.phase and (was not in aborts or after.phase is RolloutPhase.ABORTED):
        restored = after.phase is RolloutPhase.ABORTED
        reason = f"{after.from_label} restored" if restored else "walking back to the stable version"
        events.append(event("aborted", reason))
    if after.phase is RolloutPhase.COMPLETED and was is not RolloutPhase.COMPLETED:
        events.append(event("completed", f"{after.to_label} runs"))
    return tuple(events)


# --- bodies ---------------------------------------------------------------------------------------


def commit_url(template: str | None, commit: str) -> str | None:
    """The link to ``commit`` from the spec's ``commitURL`` template (``{{ commit }}`` substituted)."""
    if template is None or not commit:
        return None

    return render(template, {"commit": commit})


def _summary(event: Event) -> str:
    name = event.release
    return {
        "started": f"{name}: rollout of {event.to_label} started (from {event.from_label})",
        "step": f"{name}: step {event.step}/{event.steps} of {event.to_label} committed",
        "gate-failed": f"{name}: gate failed at step {event.step}/{event.steps}: {event.reason}",
        "paused": f"{name}: paused at step {event.step}/{event.steps}, waiting for `rollgen promote`",
        "aborted": f"{name}: rollout of {event.to_label} aborted ({event.reason})",
        "completed": f"{name}: rollout of {event.to_label} completed",
    }[event.kind]


def json_body(event: Event, commit_template: str | None = None) -> dict[str, Any]:
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
        "gates": [{"gate": g.gate, "phase": g.phase, "message": g.message} for g in event.gates],
        "text": _summary(event),
    }


# Slack refuses a section whose text is longer than this.
_SLACK_TEXT_LIMIT = 3000


def _escape(text: str) -> str:
    # Slack's mrkdwn gives &, < and > a meaning of their own.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str) -> str:
    return text if len(text) <= _SLACK_TEXT_LIMIT else text[: _SLACK_TEXT_LIMIT - 1] + "…"


def slack_body(event: Event, commit_template: str | None = None) -> dict[str, Any]:
    """A Slack incoming-webhook body: ``text`` (the notification's fallback) and ``blocks``."""
    text = _summary(event)
    link = commit_url(commit_template, event.commit)
    short = event.commit[:12]
    commit = f"<{link}|{short}>" if link else f"`{short}`"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": _cut(_escape(text))}}]
    if event.gates:
        lines = "\n".join(f"• *{_escape(g.gate)}* {g.phase}: {_escape(g.message)}" for g in event.gates)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(lines)}})
    context = f"rollout `{event.rollout}` · step {event.step}/{event.steps} · commit {commit}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": text, "blocks": blocks}


BODIES: Mapping[str, Callable[[Event, str | None], dict[str, Any]]] = {"slack": slack_body, "json": json_body}


# --- sending --------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is refused: following it would send the body to wherever the receiver says."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class Delivery:
    """How sending one body to one webhook ended. ``problem`` never holds the URL."""

    webhook: str
    event: EventKind
    delivered: bool
    attempts: int
    problem: str = ""


def send(
    name: str,
    url: str,
    body: bytes,
    *,
    event: EventKind,
    attempts: int,
    timeout: float,
    backoff: float,
    deadline: float,
) -> Delivery:
    """POST ``body`` to ``url``: up to ``attempts`` tries, all within ``deadline`` (a monotonic time).

    Retried: no answer, a timeout, HTTP 429 and 5xx. Not retried: any other
    status (a 4xx or a redirect will not change by asking again).
    """
    problem = ""
    for attempt in range(1, attempts + 1):
        left = deadline - time.monotonic()
        if left <= 0:
            return Delivery(name, event, False, attempt - 1, f"{problem}; gave up at the deadline".lstrip("; "))
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "rollgen"}
        )
        try:
            with _OPENER.open(request, timeout=min(timeout, left)) as response:
                response.read(65536)
            return Delivery(name, event, True, attempt)
        except urllib.error.HTTPError as error:
            problem = f"HTTP {error.code}"
            if 300 <= error.code < 400:
                return Delivery(name, event, False, attempt, f"{problem}: redirects are not followed")
            if error.code != 429 and error.code < 500:
                return Delivery(name, event, False, attempt, problem)
        except (urllib.error.URLError, OSError) as error:
            # The reason's text may repeat the host; the kind of failure is enough to act on.
            reason = getattr(error, "reason", error)
            problem = "timed out" if isinstance(reason, TimeoutError) else f"no answer ({type(reason).__name__})"
        if attempt < attempts:
            pause = min(backoff * 2 ** (attempt - 1), max(0.0, deadline - time.monotonic()))
            time.sleep(pause)  # backoff between attempts: nothing else to wait on
    return Delivery(name, event, False, attempts, problem)


class Notifier:
    """Sends events to the release's webhooks from a background thread.

    :meth:`emit` returns at once. :meth:`close` waits for what is queued, at
    most until the deadline of the last event, so a short-lived ``rollgen
    advance`` still delivers before it exits. ``report`` receives one line per
    failed delivery or unusable webhook (never a URL).
    """

    def __init__(
        self,
        settings: Notifications | None,
        *,
        environ: Mapping[str, str] | None = None,
        base: Path = Path(),
        report: Callable[[str], None] = lambda line: None,
        attempts: int = 3,
        timeout: float = 5.0,
        backoff: float = 0.5,
        deadline: float = 15.0,
    ) -> None:
        self._settings = settings
        # A webhook's URL is a secret, read when an event is sent (a urlFile relative to ``base``).
        self._secrets = Secrets(environ=os.environ if environ is None else environ, base=base)
        self._report = report
        self._attempts, self._timeout, self._backoff, self._deadline = attempts, timeout, backoff, deadline
        self._queue: queue.Queue[tuple[Webhook, str, bytes, EventKind, float] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._last_deadline = 0.0
        self.deliveries: list[Delivery] = []

    def emit(self, event: Event) -> None:
        """Queue ``event`` for every webhook that wants it; never raises, never blocks."""
        if self._settings is None:
            return
        deadline = time.monotonic() + self._deadline
        for webhook in self._settings.webhooks:
            if event.kind not in webhook.events:
                continue
            try:
                url = self._secrets.reveal(webhook.url, f"webhook {webhook.name!r}")
                body = json.dumps(BODIES[webhook.kind](event, self._settings.commit_url), sort_keys=True).encode()
            except Exception as error:  # a notification problem must never break a rollout
                # The URL is not in these messages: reading it or building the body failed.
                self._report(f"notification {event.kind} not sent: {error}")
                continue
            self._last_deadline = deadline
            self._queue.put((webhook, url, body, event.kind, deadline))
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="rollgen-notify", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            webhook, url, body, kind, deadline = item
            try:
                delivery = send(
                    webhook.name,
                    url,
                    body,
                    event=kind,
                    attempts=self._attempts,
                    timeout=self._timeout,
                    backoff=self._backoff,
                    deadline=deadline,
                )
            except Exception as error:  # never let the thread die with items left in the queue
                delivery = Delivery(webhook.name, kind, False, 0, type(error).__name__)
            self.deliveries.append(delivery)
            if not delivery.delivered:
                problem = _redacted(delivery.problem, (url,))
                self._report(
                    f"notification {kind} to webhook {webhook.name!r} failed after "
                    f"{delivery.attempts} attempt(s): {problem}"
                )
            self._queue.task_done()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Wait for queued deliveries, at most until the last event's deadline, then stop the thread."""
        if self._worker is None:
            return
        self._queue.put(None)
        self._worker.join(timeout=max(0.0, self._last_deadline - time.monotonic()) + 0.5)
        self._worker = None


def _redacted(text: str, urls: tuple[str, ...]) -> str:
    for url in urls:
        text = text.replace(url, "<webhook URL>")
    return text
