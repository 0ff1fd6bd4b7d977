"""Every entry point notifies: each command, run through the CLI, sends its events to a loopback webhook.

The release's webhook is a signed ``json`` receiver; each test checks the events
one command sent, and the signature of every body (HMAC-SHA256 of the bytes
received, keyed by the secret the spec names by reference).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgen.cli import main
from rollgen.errors import EXIT_OK
from testkit.gateservers import _Quiet, serving, url_of
from testkit.git import git
from testkit.rollouts import canary, make_repo, write_spec

SECRET = "shh-signing-key"


@dataclass
class Hook:
    """What the receiver got: each body with its headers; ``statuses`` answered in turn (then 200)."""

    url: str = ""
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[str]:
        return [json.loads(body)["event"] for _, body in self.got]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.got]

    def take(self) -> list[str]:
        """The events received so far, forgotten afterwards (each test step sees its own)."""
        with self.lock:
            kinds = self.events()
            self.got.clear()
        return kinds


@pytest.fixture
def hook() -> Iterator[Hook]:
    seen = Hook()

    class Handler(_Quiet):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with seen.lock:
                status = seen.statuses.pop(0) if seen.statuses else 200
                if status == 200:
                    seen.got.append((dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as server:
        seen.url = url_of(server) + "/hooks/rollgen"
        yield seen


def release(tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch, strategy: dict[str, Any]) -> Path:
    """A repository and a spec whose one webhook is a signed json receiver, URL and secret from the environment."""
    work = make_repo(tmp_path / "work")
    spec = write_spec(work, strategy=strategy)
    data = yaml.safe_load(spec.read_text())
    data["spec"]["notifications"] = {
        "webhooks": [{"name": "audit", "kind": "json", "url": {"env": "HOOK_URL"}, "secret": {"env": "HOOK_KEY"}}]
    }
    spec.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("HOOK_URL", hook.url)
    monkeypatch.setenv("HOOK_KEY", SECRET)
    return spec


def rollgen(spec: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main([*argv, str(spec), "--repo", str(spec.parent / "work")])
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    return out.err


def signed(hook: Hook) -> None:
    for headers, body in hook.got:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Rollgen-Signature-256"] == expected
        assert headers["Content-Type"] == "application/json"


TWO_PAUSES = canary([25, 50])
NO_PAUSE = {"canary": {"maxSurge": 1, "maxUnavailable": 0, "traffic": "replicas", "steps": [{"setWeight": 50}]}}


def test_start_sends_started_and_its_step_signed(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = release(tmp_path, hook, monkeypatch, TWO_PAUSES)
    err = rollgen(spec, capsys, "start")
    signed(hook)
    bodies = hook.bodies()
    assert [b["event"] for b in bodies] == ["started", "step"]
    assert bodies[1]["commit"] == git(tmp_path / "work", "rev-parse", "HEAD")
    assert bodies[0]["fromVersion"] == "1.0.0" and bodies[0]["toVersion"] == "1.1.0"
    assert hook.url not in err and SECRET not in err


def test_promote_sends_the_step_it_committed(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = release(tmp_path, hook, monkeypatch, TWO_PAUSES)
    rollgen(spec, capsys, "start")
    hook.take()
    rollgen(spec, capsys, "promote")
    signed(hook)
    assert hook.events()[0] == "step" and hook.bodies()[0]["step"] == 2


def test_pause_and_resume_send_paused_and_resumed(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = release(tmp_path, hook, monkeypatch, TWO_PAUSES)
    rollgen(spec, capsys, "start")
    hook.take()
    rollgen(spec, capsys, "pause")
    assert hook.take() == ["paused"]
    rollgen(spec, capsys, "pause")  # already paused: nothing committed, nothing sent
    assert hook.take() == []
    rollgen(spec, capsys, "resume")
    assert hook.take() == ["resumed"]


def test_abort_and_retry_send_aborted_then_a_new_start(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = release(tmp_path, hook, monkeypatch, TWO_PAUSES)
    rollgen(spec, capsys, "start")
    hook.take()
    rollgen(spec, capsys, "abort", "--now")
    assert hook.take() == ["aborted"]
    rollgen(spec, capsys, "retry")
    assert hook.take()[:2] == ["started", "step"]


def test_run_delivers_the_events_of_a_whole_rollout_and_undo_its_rollback(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = release(tmp_path, hook, monkeypatch, NO_PAUSE)
    rollgen(spec, capsys, "adopt")  # what runs becomes rollgen's: then the spec's version is rolled out
    assert hook.take() == []
    rollgen(spec, capsys, "run")
    signed(hook)
    events = hook.take()
    assert events[:2] == ["started", "step"] and events[-1] == "completed"
    assert events.count("started") == 1 and events.count("completed") == 1
    rollgen(spec, capsys, "undo")
    undone = hook.bodies()
    assert [b["event"] for b in undone][:2] == ["started", "step"]
    assert undone[0]["fromVersion"] == "1.1.0" and undone[0]["toVersion"] == "1.0.0"


def test_advance_sends_the_step_it_committed(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = release(tmp_path, hook, monkeypatch, NO_PAUSE)
    rollgen(spec, capsys, "adopt")
    rollgen(spec, capsys, "advance")
    assert hook.take() == ["started", "step"]


def test_a_failing_webhook_is_reported_and_the_command_still_succeeds(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = release(tmp_path, hook, monkeypatch, TWO_PAUSES)
    rollgen(spec, capsys, "start")
    hook.take()
    hook.statuses += [503] * 10
    err = rollgen(spec, capsys, "abort", "--now")
    assert hook.take() == []
    assert "warning: notification aborted to webhook 'audit' failed after 3 attempt(s): HTTP 503" in err
    assert hook.url not in err and SECRET not in err
