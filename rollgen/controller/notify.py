"""Webhook notifications: what a command did to a release, sent to the webhooks its spec names.

Pure core, thin shell:

- :func:`events_of` compares where a rollout stood before a commit or a pass
  with where it stands after (and the pass's judgement) and returns the
  :class:`Event` values to announce: started, step, gate-failed, paused,
  resumed, aborted, completed; ``detect`` and ``pipeline advance`` announce
  detected and promoted themselves;
- :mod:`rollgen.controller.webhooks` turns an event into a body (Slack, JSON,
  CloudEvents, Teams) and signs it;
- :class:`Notifier` sends them from one background thread, so a failing or
  slow receiver never blocks nor breaks a rollout: a bounded number of
  attempts with backoff, each within what is left of a total deadline.
  :func:`notifier_for` is where every command gets its one.

Webhook URLs carry their secret in the URL itself (Slack's do), so they come
from an environment variable or a file, never from the spec, and are never
written anywhere: errors name the webhook, not its URL. Redirects are refused,
so a body never reaches an origin other than the one configured.
"""

from __future__ import annotations

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
from rollgen.controller.webhooks import CONTENT_TYPES, SIGNATURE_HEADER, encoded, signature
from rollgen.gates.analysis import Phase
from rollgen.gitops.trailers import Action
from rollgen.rollout.state import RolloutPhase, RolloutState
from rollgen.secrets import Secrets
from rollgen.spec.model import Notifications, Pause, Release, Webhook
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
    if same_rollout and before is not None and before.commit == after.commit and after.phase.in_progress:
        # A pause or resume commit marks the step it holds: the state names the same step commit.
        if after.paused and not before.paused:
            events.append(event("paused", "held by `rollgen pause`"))
        if before.paused and not after.paused:
            events.append(event("resumed", "`rollgen resume`"))
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


def spec_changed(kind: EventKind, release: str, previous: str, version: str, commit: str, reason: str) -> Event:
    """A version written into a release's spec: ``detected`` (by ``rollgen detect``) or ``promoted`` (by a pipeline).

    No rollout yet: the next pass starts one (and announces it).

    >>> spec_changed("detected", "prod/web", "1.0.0", "1.1.0", "c0ffee", "committed").to_label
    '1.1.0'
    """
    return Event(kind, release, "", 0, 0, previous, version, commit, reason)


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
    headers: Mapping[str, str],
    attempts: int,
    timeout: float,
    backoff: float,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``body`` to ``url``: up to ``attempts`` tries, all within ``deadline`` (a time of ``clock``).

    Retried: no answer, a timeout, HTTP 429 and 5xx, after ``backoff``, then
    twice that, and so on (never past the deadline). Not retried: any other
    status (a 4xx or a redirect will not change by asking again).
    """
    problem = ""
    for attempt in range(1, attempts + 1):
        left = deadline - clock()
        if left <= 0:
            return Delivery(name, event, False, attempt - 1, f"{problem}; gave up at the deadline".lstrip("; "))
        request = urllib.request.Request(url, data=body, method="POST", headers={"User-Agent": "rollgen", **headers})
        try:
            with _OPENER.open(request, timeout=min(timeout, left)) as response:
                response.read(_ANSWER_LIMIT)
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
            sleep(min(backoff * 2 ** (attempt - 1), max(0.0, deadline - clock())))
    return Delivery(name, event, False, attempts, problem)


# Bounds of one delivery: what is sent (a gate's message is cut before, this is the last guard) and read back.
BODY_LIMIT = 256 * 1024
_ANSWER_LIMIT = 64 * 1024


def notifier_for(release: Release, spec: Path, report: Callable[[str], None]) -> Notifier:
    """The one notifier of a command acting on ``release`` (its spec file ``spec``): what every entry point uses.

    A webhook's ``file`` references are relative to its spec, as every path a spec names.
    """
    return Notifier(release.notifications, base=spec.parent, report=report)


class Notifier:
    """Sends events to the release's webhooks from a background thread.

    :meth:`emit` returns at once. :meth:`close` waits for what is queued, at
    most until the deadline of the last event, so a short-lived ``rollgen
    advance`` still delivers before it exits. ``report`` receives one line per
    failed delivery or unusable webhook (never a URL nor a secret). ``wall`` is
    the time written in a body (a CloudEvent's ``time``), ``clock`` and
    ``sleep`` time the attempts.
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
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        # A webhook's URL and secret are read when an event is sent (a file relative to ``base``).
        self._secrets = Secrets(environ=os.environ if environ is None else environ, base=base)
        self._report = report
        self._attempts, self._timeout, self._backoff, self._deadline = attempts, timeout, backoff, deadline
        self._wall, self._clock, self._sleep = wall, clock, sleep
        self._queue: queue.Queue[tuple[Webhook, str, bytes, dict[str, str], EventKind, float] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._last_deadline = 0.0
        self.deliveries: list[Delivery] = []

    def emit(self, event: Event) -> None:
        """Queue ``event`` for every webhook that wants it; never raises, never blocks."""
        if self._settings is None:
            return
        deadline = self._clock() + self._deadline
        for webhook in self._settings.webhooks:
            if event.kind not in webhook.events:
                continue
            try:
                url = self._secrets.reveal(webhook.url, f"webhook {webhook.name!r}")
                body = encoded(webhook.kind, event, self._settings.commit_url, self._wall())
                if len(body) > BODY_LIMIT:
                    raise ValueError(f"webhook {webhook.name!r}: a body of {len(body)} bytes, over {BODY_LIMIT}")
                headers = {"Content-Type": CONTENT_TYPES.get(webhook.kind, "application/json")}
                if webhook.secret is not None:
                    key = self._secrets.reveal(webhook.secret, f"webhook {webhook.name!r} secret")
                    headers[SIGNATURE_HEADER] = signature(key, body)
            except Exception as error:  # a notification problem must never break a rollout
                # The URL and secret are not in these messages: reading them or building the body failed.
                self._report(f"notification {event.kind} not sent: {error}")
                continue
            self._last_deadline = deadline
            self._queue.put((webhook, url, body, headers, event.kind, deadline))
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="rollgen-notify", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            webhook, url, body, headers, kind, deadline = item
            try:
                delivery = send(
                    webhook.name,
                    url,
                    body,
                    event=kind,
                    headers=headers,
                    attempts=self._attempts,
                    timeout=self._timeout,
                    backoff=self._backoff,
                    deadline=deadline,
                    clock=self._clock,
                    sleep=self._sleep,
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
        self._worker.join(timeout=max(0.0, self._last_deadline - self._clock()) + 0.5)
        self._worker = None


def _redacted(text: str, urls: tuple[str, ...]) -> str:
    for url in urls:
        text = text.replace(url, "<webhook URL>")
    return text
