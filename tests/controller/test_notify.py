"""Notifications: events from passes (pure), bodies, and delivery to real HTTP receivers on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rollgen.controller.decision import Abort, Advance, GateView, Hold, Judgement
from rollgen.controller.notify import Event, GateOutcome, Notifier, events_of, send
from rollgen.controller.webhooks import cloudevents_body, json_body, slack_body, teams_body
from rollgen.gates.analysis import GateVerdict, Phase
from rollgen.gitops.trailers import Action
from rollgen.plan.steps import plan_release
from rollgen.rollout.state import RolloutPhase, RolloutState
from rollgen.secretref import SecretRef
from rollgen.spec.load import load_release
from rollgen.spec.model import Notifications, Pause, Webhook
from testkit.gateservers import _Quiet, serving, url_of
from testkit.tools import REPO_ROOT

SHA = "0123456789abcdef0123456789abcdef01234567"
PLAN = plan_release(load_release(REPO_ROOT / "examples" / "canary.yaml"))


def state(step: int, action: Action, phase: str, *, rollout: str = "r1", commit: str = SHA) -> RolloutState:
    return RolloutState(
        release="prod/web",
        rollout=rollout,
        step=step,
        steps=len(PLAN.steps),
        action=action,
        phase=RolloutPhase(phase),
        from_label="1.0.0",
        to_label="1.1.0",
        plan="digest",
        commit=commit,
        since=0,
        plan_step=PLAN.steps[step - 1] if step >= 1 else None,
    )


def kinds(events: tuple[Event, ...]) -> list[str]:
    return [e.kind for e in events]


# --- events_of (pure) -----------------------------------------------------------------------------


def test_a_start_announces_the_rollout_and_its_first_step() -> None:
    before = state(0, Action.COMPLETE, "completed", rollout="r0", commit="a" * 40)
    after = state(1, Action.START, "progressing")
    events = events_of(before, after)
    assert kinds(events) == ["started", "step"]
    assert events[0].from_label == "1.0.0" and events[0].to_label == "1.1.0" and events[0].commit == SHA


def test_a_pass_that_commits_nothing_announces_nothing() -> None:
    now = state(2, Action.ADVANCE, "progressing")
    assert events_of(now, now, Judgement(Advance())) == ()
    done = state(len(PLAN.steps), Action.COMPLETE, "completed")
    assert events_of(done, done) == ()


def test_the_step_that_waits_for_a_human_is_announced_as_paused_once() -> None:
    manual = next(s.index for s in PLAN.steps if any(isinstance(w, Pause) and w.seconds is None for w in s.after))
    before = state(manual - 1, Action.ADVANCE, "progressing", commit="b" * 40)
    after = state(manual, Action.ADVANCE, "waiting")
    assert kinds(events_of(before, after)) == ["step", "paused"]
    assert events_of(after, after) == ()


def test_a_failed_gate_and_the_abort_it_starts() -> None:
    failing = GateVerdict(Phase.FAILED, "success rate 0.42 < 0.99", None, count=2, failed=2)
    passing = GateVerdict(Phase.SUCCESSFUL, "ok", None, count=2, successful=2)
    judgement = Judgement(
        Abort("gate success-rate failed"),
        (GateView("analysis-1", "success-rate", failing), GateView("analysis-1", "healthz", passing)),
    )
    before = state(3, Action.ADVANCE, "progressing", commit="c" * 40)
    after = state(3, Action.ABORT, "aborting")
    events = events_of(before, after, judgement)
    assert kinds(events) == ["gate-failed", "aborted"]
    assert [g.gate for g in events[0].gates] == ["success-rate"]
    assert events[0].gates[0].phase == "Failed" and "0.42" in events[0].gates[0].message
    # The walk back goes on: nothing new until the stable version is restored.
    further = state(2, Action.ABORT, "aborting", commit="d" * 40)
    assert events_of(after, further) == ()
    restored = state(0, Action.ABORT, "aborted", commit="e" * 40)
    assert kinds(events_of(further, restored)) == ["aborted"]


def test_an_inconclusive_gate_is_announced_by_the_pass_that_measured_it() -> None:
    unsure = GateVerdict(Phase.INCONCLUSIVE, "empty result", None, count=1, inconclusive=1)
    judgement = Judgement(Hold("gate success-rate: empty result"), (GateView("analysis-1", "success-rate", unsure),))
    now = state(3, Action.ADVANCE, "progressing")
    (event,) = events_of(now, now, judgement, measured=True)
    assert event.kind == "paused" and [(g.gate, g.phase) for g in event.gates] == [("success-rate", "Inconclusive")]
    # The passes after it hold without measuring: nothing new to say.
    assert events_of(now, now, judgement) == ()


def test_completion() -> None:
    last = len(PLAN.steps)
    before = state(last, Action.ADVANCE, "progressing", commit="f" * 40)
    assert kinds(events_of(before, state(last, Action.COMPLETE, "completed"))) == ["completed"]


def test_bodies_carry_the_release_versions_step_verdicts_and_commit_link() -> None:
    event = Event("gate-failed", "prod/web", "r1", 3, 7, "1.0.0", "1.1.0", SHA, "a <bad> & gate", ())
    template = "https://git.example/acme/gitops/commit/{{ commit }}"
    body = json_body(event, template, 0.0)
    assert body["release"] == "prod/web" and body["step"] == 3 and body["toVersion"] == "1.1.0"
    assert body["commitURL"] == f"https://git.example/acme/gitops/commit/{SHA}"
    slack = slack_body(event, template, 0.0)
    assert "prod/web" in slack["text"]
    assert "&lt;bad&gt; &amp; gate" in slack["blocks"][0]["text"]["text"]
    long = slack_body(replace(event, gates=(GateOutcome("g", "Failed", "x" * 5000),)), None, 0.0)
    assert all(len(b["text"]["text"]) <= 3000 for b in long["blocks"] if b["type"] == "section")
    assert f"<https://git.example/acme/gitops/commit/{SHA}|{SHA[:12]}>" in json.dumps(slack)


def test_the_spec_block_loads(tmp_path: Path) -> None:
    text = (REPO_ROOT / "examples" / "canary.yaml").read_text()
    text += (
        "  notifications:\n"
        "    commitURL: https://git.example/acme/gitops/commit/{{ commit }}\n"
        "    webhooks:\n"
        "      - {name: chat, kind: slack, urlEnv: SLACK_URL, events: [aborted, completed]}\n"
        "      - {name: audit, kind: json, urlFile: /run/secrets/audit-url}\n"
        "      - {name: ops, kind: json, url: {file: /run/secrets/ops-url}}\n"
    )
    spec = tmp_path / "release.yaml"
    spec.write_text(text)
    release = load_release(spec)
    assert release.notifications is not None
    chat, audit, ops = release.notifications.webhooks
    assert chat.events == {"aborted", "completed"} and chat.url == SecretRef(env="SLACK_URL")
    assert audit.url == SecretRef(file="/run/secrets/audit-url") and "step" in audit.events
    assert ops.url == SecretRef(file="/run/secrets/ops-url")  # the one spelling every secret has


def test_a_url_in_the_spec_is_refused(tmp_path: Path) -> None:
    from rollgen.errors import SpecError

    text = (REPO_ROOT / "examples" / "canary.yaml").read_text()
    text += "  notifications:\n    webhooks:\n      - {name: chat, kind: slack, url: 'https://hooks.example/T0/B0/secret'}\n"
    spec = tmp_path / "release.yaml"
    spec.write_text(text)
    with pytest.raises(SpecError):
        load_release(spec)


# --- delivery to real receivers -------------------------------------------------------------------


@dataclass
class Receiver:
    """What a loopback receiver got, and how it answers: ``statuses`` in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    hang: threading.Event | None = None
    redirect_to: str | None = None
    bodies: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, ThreadingHTTPServer]]:
    got = Receiver()

    class Handler(_Quiet):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with got.lock:
                got.attempts += 1
                status = got.statuses.pop(0) if got.statuses else 200
            if got.hang is not None:
                got.hang.wait(30)
            if got.redirect_to is not None:
                self.send_response(307)
                self.send_header("Location", got.redirect_to)
                self.end_headers()
                return
            if status == 200:
                got.bodies.append(json.loads(body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            with got.lock:
                got.attempts += 1
            self.send_response(200)
            self.end_headers()

    with serving(Handler) as server:
        yield got, server
        if got.hang is not None:
            got.hang.set()


def notifier(kind: str, url: str, lines: list[str], **timing: float) -> Notifier:
    settings = Notifications((Webhook("chat", kind, frozenset({"started", "aborted"}), url=SecretRef(env="HOOK")),))  # type: ignore[arg-type]
    return Notifier(settings, environ={"HOOK": url}, report=lines.append, **timing)  # type: ignore[arg-type]


EVENT = Event("aborted", "prod/web", "r1", 0, 7, "1.0.0", "1.1.0", SHA, "1.0.0 restored")


def test_a_slack_body_reaches_the_receiver(receiver: tuple[Receiver, ThreadingHTTPServer]) -> None:
    got, server = receiver
    lines: list[str] = []
    sender = notifier("slack", url_of(server) + "/services/T0/B0/secret", lines)
    sender.emit(EVENT)
    sender.emit(replace(EVENT, kind="step"))  # not asked for
    sender.close()
    assert lines == []
    assert [b["text"] for b in got.bodies] == ["prod/web: rollout of 1.1.0 aborted (1.0.0 restored)"]
    assert got.bodies[0]["blocks"][0]["type"] == "section"


def test_a_receiver_failing_twice_then_succeeding_gets_the_body(
    receiver: tuple[Receiver, ThreadingHTTPServer],
) -> None:
    got, server = receiver
    got.statuses = [503, 500]
    lines: list[str] = []
    sender = notifier("json", url_of(server), lines, backoff=0.05)
    sender.emit(EVENT)
    sender.close()
    assert got.attempts == 3 and lines == []
    assert got.bodies[0]["event"] == "aborted" and got.bodies[0]["commit"] == SHA
    assert sender.deliveries[0].delivered and sender.deliveries[0].attempts == 3


def test_retries_are_bounded_and_the_url_is_never_reported(receiver: tuple[Receiver, ThreadingHTTPServer]) -> None:
    got, server = receiver
    got.statuses = [500] * 10
    lines: list[str] = []
    url = url_of(server) + "/hook/secret-token"
    sender = notifier("json", url, lines, attempts=3, backoff=0.01)
    sender.emit(EVENT)
    sender.close()
    assert got.attempts == 3
    (line,) = lines
    assert (
        "chat" in line
        and "HTTP 500" in line
        and "secret-token" not in line
        and str(server.server_address[1]) not in line
    )


def test_a_hanging_receiver_never_blocks_the_caller_and_is_given_up_at_the_deadline(
    receiver: tuple[Receiver, ThreadingHTTPServer],
) -> None:
    got, server = receiver
    got.hang = threading.Event()
    lines: list[str] = []
    sender = notifier("json", url_of(server), lines, timeout=0.5, deadline=1.0, backoff=0.05)
    started = time.monotonic()
    sender.emit(EVENT)
    assert time.monotonic() - started < 0.2
    sender.close()
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    (line,) = lines
    assert "timed out" in line or "deadline" in line
    assert not sender.deliveries[0].delivered


def test_a_redirect_to_another_origin_is_not_followed(receiver: tuple[Receiver, ThreadingHTTPServer]) -> None:
    got, server = receiver

    other = Receiver()

    class Elsewhere(_Quiet):
        def do_POST(self) -> None:
            other.attempts += 1
            other.bodies.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
            self.send_response(200)
            self.end_headers()

        do_GET = do_POST

    with serving(Elsewhere) as elsewhere:
        got.redirect_to = url_of(elsewhere).replace("127.0.0.1", "localhost") + "/steal"
        lines: list[str] = []
        sender = notifier("json", url_of(server) + "/hook/secret-token", lines, backoff=0.01)
        sender.emit(EVENT)
        sender.close()
    assert other.attempts == 0 and other.bodies == []
    assert got.attempts == 1
    (line,) = lines
    assert "redirect" in line and "secret-token" not in line


def test_a_missing_url_is_reported_and_never_raised() -> None:
    lines: list[str] = []
    settings = Notifications((Webhook("chat", "slack", frozenset({"aborted"}), url=SecretRef(env="UNSET_HOOK")),))
    sender = Notifier(settings, environ={}, report=lines.append)
    sender.emit(EVENT)
    sender.close()
    assert lines == ["notification aborted not sent: webhook 'chat': environment variable UNSET_HOOK is not set"]


def test_the_url_is_read_from_a_file(tmp_path: Path, receiver: tuple[Receiver, ThreadingHTTPServer]) -> None:
    got, server = receiver
    (tmp_path / "url").write_text(url_of(server) + "\n")
    settings = Notifications((Webhook("audit", "json", frozenset({"aborted"}), url=SecretRef(file="url")),))
    with Notifier(settings, base=tmp_path) as sender:
        sender.emit(EVENT)
    assert [b["release"] for b in got.bodies] == ["prod/web"]


# --- events of a real rollout in a real repository ------------------------------------------------


def test_the_events_of_a_real_rollout_and_abort(tmp_path: Path) -> None:
    """Start, a step that waits for promote, an abort walked back: each announced once, in order."""
    from rollgen.gitops.repo import Repo
    from rollgen.rollout import operations
    from testkit.rollouts import make_repo, write_spec

    work = make_repo(tmp_path / "work")
    release = load_release(write_spec(work))
    repo = Repo.open(work)
    seen: list[str] = []
    before = operations.current_state(repo, release)

    def step(operation: Any) -> RolloutState:
        after: RolloutState = operation(repo, release).state
        seen.extend(kinds(events_of(before, after)))
        assert events_of(after, after) == ()  # nothing new when nothing moved
        return after

    before = step(operations.start)
    assert seen == ["started", "step"]
    while "paused" not in seen:
        before = step(operations.promote)
    assert seen[-2:] == ["step", "paused"]
    while before.phase != "aborted":
        before = step(operations.abort)
    assert seen.count("started") == 1 and seen.count("paused") == 1
    assert [k for k in seen if k == "aborted"] == ["aborted", "aborted"]  # begun, then restored
    assert seen[-1] == "aborted" and "completed" not in seen


# --- the kinds of body, signing, and backoff timed by an injected clock ---------------------------


def test_a_cloudevent_in_structured_mode() -> None:
    body = cloudevents_body(EVENT, None, 1_765_000_000.5)
    assert body["specversion"] == "1.0" and body["type"] == "io.rollgen.rollout.aborted"
    assert body["source"] == "/rollgen/releases/prod/web" and body["subject"] == "r1"
    assert body["time"] == "2025-12-06T05:46:40.500000Z" and body["datacontenttype"] == "application/json"
    assert body["data"] == json_body(EVENT, None, 0.0)
    assert body["id"] == cloudevents_body(EVENT, None, 0.0)["id"]  # a retried delivery is the same event
    assert body["id"] != cloudevents_body(replace(EVENT, kind="step"), None, 0.0)["id"]


def test_a_teams_message_holds_one_adaptive_card() -> None:
    event = replace(EVENT, kind="gate-failed", gates=(GateOutcome("error-rate", "Failed", "0.2 > 0.01"),))
    body = teams_body(event, "https://git.example/c/{{ commit }}", 0.0)
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"][0]["text"].startswith("prod/web: gate failed at step 0/7")
    assert {"title": "Step", "value": "0/7"} in card["body"][1]["facts"]
    assert card["body"][2]["text"] == "error-rate Failed: 0.2 > 0.01"
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Commit", "url": f"https://git.example/c/{SHA}"}]


def test_slack_text_is_escaped_everywhere() -> None:
    event = replace(EVENT, release="prod/<web>", reason="a & b <!channel>")
    body = slack_body(event, None, 0.0)
    assert body["text"] == "prod/&lt;web&gt;: rollout of 1.1.0 aborted (a &amp; b &lt;!channel&gt;)"
    assert "<!channel>" not in json.dumps(body)


@dataclass
class FakeTime:
    """A monotonic clock that moves only when slept on: the backoff is measured, never waited."""

    now: float = 100.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_retries_back_off_doubling_and_stop_at_the_deadline(receiver: tuple[Receiver, ThreadingHTTPServer]) -> None:
    got, server = receiver
    got.statuses = [503] * 10
    fake = FakeTime()
    timing = {"timeout": 5.0, "backoff": 0.5, "clock": fake.clock, "sleep": fake.sleep}
    done = send("chat", url_of(server), b"{}", event="aborted", headers={}, attempts=4, deadline=200.0, **timing)  # type: ignore[arg-type]
    assert (done.delivered, done.attempts, done.problem) == (False, 4, "HTTP 503")
    assert fake.slept == [0.5, 1.0, 2.0]
    fake.slept.clear()
    got.attempts = 0
    short = send(
        "chat", url_of(server), b"{}", event="aborted", headers={}, attempts=4, deadline=fake.now + 1.2, **timing
    )  # type: ignore[arg-type]
    assert fake.slept == [0.5, pytest.approx(0.7)] and got.attempts == 2
    assert short.problem == "HTTP 503; gave up at the deadline"


@pytest.fixture
def headers_seen() -> Iterator[tuple[list[tuple[dict[str, str], bytes]], str]]:
    seen: list[tuple[dict[str, str], bytes]] = []

    class Handler(_Quiet):
        def do_POST(self) -> None:
            seen.append((dict(self.headers.items()), self.rfile.read(int(self.headers.get("Content-Length") or 0))))
            self.send_response(204)
            self.end_headers()

    with serving(Handler) as server:
        yield seen, url_of(server)


def test_a_signed_cloudevents_webhook(headers_seen: tuple[list[tuple[dict[str, str], bytes]], str]) -> None:
    seen, url = headers_seen
    hook = Webhook("bus", "cloudevents", frozenset({"aborted"}), url=SecretRef(env="HOOK"), secret=SecretRef(env="KEY"))
    lines: list[str] = []
    with Notifier(Notifications((hook,)), environ={"HOOK": url, "KEY": "k3y"}, report=lines.append) as sender:
        sender.emit(EVENT)
    [(headers, body)] = seen
    assert lines == [] and headers["Content-Type"] == "application/cloudevents+json"
    assert headers["X-Rollgen-Signature-256"] == "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert json.loads(body)["type"] == "io.rollgen.rollout.aborted"


def test_an_unreadable_signing_secret_sends_nothing_and_says_so(
    headers_seen: tuple[list[tuple[dict[str, str], bytes]], str],
) -> None:
    seen, url = headers_seen
    hook = Webhook("audit", "json", frozenset({"aborted"}), url=SecretRef(env="HOOK"), secret=SecretRef(env="KEY"))
    lines: list[str] = []
    with Notifier(Notifications((hook,)), environ={"HOOK": url}, report=lines.append) as sender:
        sender.emit(EVENT)
    assert seen == []  # an unsigned body is never sent in place of a signed one
    assert lines == ["notification aborted not sent: webhook 'audit' secret: environment variable KEY is not set"]


def test_the_signing_secret_loads_from_either_spelling_and_not_both(tmp_path: Path) -> None:
    from rollgen.errors import SpecError

    text = (REPO_ROOT / "examples" / "canary.yaml").read_text()
    spec = tmp_path / "release.yaml"
    spec.write_text(
        text + "  notifications:\n    webhooks:\n"
        "      - {name: a, kind: json, url: {env: A}, secret: {file: /run/secrets/a}}\n"
        "      - {name: b, kind: cloudevents, url: {env: B}, secretEnv: B_KEY}\n"
        "      - {name: c, kind: teams, url: {env: C}}\n"
    )
    notifications = load_release(spec).notifications
    assert notifications is not None
    a, b, c = notifications.webhooks
    assert (a.secret, b.secret, c.secret) == (SecretRef(file="/run/secrets/a"), SecretRef(env="B_KEY"), None)
    spec.write_text(
        text + "  notifications:\n    webhooks:\n"
        "      - {name: a, kind: json, url: {env: A}, secret: {env: K}, secretEnv: K}\n"
    )
    with pytest.raises(SpecError):
        load_release(spec)


def test_validate_names_each_webhook_problem_without_a_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rollgen.cli import main

    spec = tmp_path / "release.yaml"
    spec.write_text(
        (REPO_ROOT / "examples" / "canary.yaml").read_text() + "  notifications:\n    webhooks:\n"
        "      - {name: a, kind: json, url: {env: A}, secret: {env: K}, secretEnv: K}\n"
        "      - {name: b, kind: teams, url: {env: B}, events: [resumed, detected, nope]}\n"
        "      - {name: c, kind: cloudevents, url: {env: C}, secret: literal-key-value}\n"
    )
    assert main(["validate", str(spec)]) == 1
    said = capsys.readouterr()
    err = said.out + said.err
    assert "webhooks[0]: give one of secret or secretEnv, not both" in err
    assert 'webhooks[1].events[2]: "nope" is not one of' in err
    assert "webhooks[2].secret: a secret is never written in the spec (value not shown)" in err
    assert "literal-key-value" not in err
