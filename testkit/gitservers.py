"""Real servers on loopback for git tests: ``git daemon`` and a fake GitHub REST API.

Importable by any test (and by ``bench/git.py``)::

    with git_daemon(tmp_path / "served") as daemon:
        url = daemon.create("gitops")      # a bare repository, served read/write
        subprocess.run(["git", "clone", url, work])

    with serve(FakeGitHub("acme", "gitops", token, bare)) as github:
        GitHub("acme", "gitops", Token(token), api_url=github.url)
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

from testkit.gateservers import free_port, serving, url_of


@dataclass(frozen=True)
class GitDaemon:
    """A running ``git daemon`` serving bare repositories under ``base``."""

    base: Path
    port: int

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}.git"

    def create(self, name: str, branch: str = "main") -> str:
        """Make an empty bare repository ``<name>.git`` (default branch ``branch``); return its URL."""
        subprocess.run(["git", "init", "-q", "--bare", "-b", branch, str(self.base / f"{name}.git")], check=True)
        return self.url(name)


@contextmanager
def git_daemon(base: Path, *, ready_within: float = 10.0, port: int | None = None) -> Iterator[GitDaemon]:
    """Run ``git daemon`` (push enabled) on a free loopback port (or ``port``: a restart) until the block ends."""
    base.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            f"--base-path={base}",
            "--export-all",
            "--enable=receive-pack",
            "--informative-errors",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # The daemon's upload-pack/receive-pack never read the developer's git configuration.
        env={**os.environ, "HOME": str(base), "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"},
    )
    try:
        _wait_listening(proc, port, ready_within)
        yield GitDaemon(base, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def _wait_listening(proc: subprocess.Popen[bytes], port: int, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"git daemon exited with {proc.returncode}: {err}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"git daemon did not listen on 127.0.0.1:{port} within {within}s")


@dataclass
class FakeGitHub:
    """The pull-request endpoints of GitHub's REST API, backed by a real bare repository.

    Implements exactly ``POST /repos/{owner}/{repo}/pulls``,
    ``GET /repos/{owner}/{repo}/pulls/{number}``,
    ``GET /repos/{owner}/{repo}/pulls?head=owner:branch&state=open``,
    ``PATCH /repos/{owner}/{repo}/pulls/{number}`` (``state``),
    ``POST /repos/{owner}/{repo}/issues/{number}/comments`` and
    ``POST /repos/{owner}/{repo}/statuses/{sha}`` in the
    shapes GitHub documents (the fields rollgen reads and a few around them),
    answering 401 ``Bad credentials`` unless ``Authorization: Bearer <token>``.
    Head commits are read from ``bare``, and :meth:`merge` fast-forwards the
    base branch there, as a "rebase and merge" of one commit would.
    ``comments`` holds each pull request's comment bodies and ``statuses``
    each commit's statuses, oldest first; a method in ``failing`` answers
    502 (an outage of that kind of call), a path in ``forbidden`` 403.
    """

    owner: str
    repo: str
    token: str
    bare: Path
    url: str = ""
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[str]] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    forbidden: set[str] = field(default_factory=set)
    seen_auth: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def merge(self, number: int) -> str:
        """Merge pull request ``number``: its base branch moves to its head; returns that commit."""
        with self.lock:
            pull = self.pulls[number]
            head = pull["head"]["sha"]
            subprocess.run(["git", "update-ref", f"refs/heads/{pull['base']['ref']}", head], cwd=self.bare, check=True)
            pull.update(state="closed", merged=True, merge_commit_sha=head, merged_at="2024-01-01T00:00:00Z")
            return str(head)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.seen_auth.append(headers.get("authorization", ""))
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        if method in self.failing:
            return 502, {"message": "Server Error"}
        parts = urlsplit(target)
        if any(word in parts.path for word in self.forbidden):
            return 403, {"message": "Resource not accessible by integration"}
        prefix = f"/repos/{self.owner}/{self.repo}/pulls"
        status = re.fullmatch(rf"/repos/{re.escape(self.owner)}/{re.escape(self.repo)}/statuses/(\w+)", parts.path)
        if method == "POST" and status:
            return self._status(status[1], json.loads(body))
        issue = re.fullmatch(
            rf"/repos/{re.escape(self.owner)}/{re.escape(self.repo)}/issues/(\d+)/comments", parts.path
        )
        if method == "POST" and issue:
            return self._comment(int(issue[1]), json.loads(body))
        if method == "POST" and parts.path == prefix:
            return self._create(json.loads(body))
        if method == "GET" and parts.path == prefix:
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            with self.lock:
                found = [
                    p
                    for p in self.pulls.values()
                    if (query.get("state", "open") in ("all", p["state"]))
                    and ("head" not in query or query["head"] == p["head"]["label"])
                ]
            return 200, found
        number = re.fullmatch(re.escape(prefix) + r"/(\d+)", parts.path)
        if method == "GET" and number:
            with self.lock:
                pull = self.pulls.get(int(number[1]))
            return (200, pull) if pull else (404, {"message": "Not Found"})
        if method == "PATCH" and number:
            return self._update(int(number[1]), json.loads(body))
        return 404, {"message": "Not Found"}

    def _comment(self, number: int, request: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            if number not in self.pulls:  # every pull request is an issue; this fake has no other issues
                return 404, {"message": "Not Found"}
            if not request.get("body"):
                missing = {"resource": "IssueComment", "code": "missing_field", "field": "body"}
                return 422, {"message": "Validation Failed", "errors": [missing]}
            bodies = self.comments.setdefault(number, [])
            bodies.append(request["body"])
            comment_id = 2000 + sum(len(c) for c in self.comments.values())
        return 201, {
            "id": comment_id,
            "url": f"{self.url}/repos/{self.owner}/{self.repo}/issues/comments/{comment_id}",
            "html_url": f"https://github.example/{self.owner}/{self.repo}/pull/{number}#issuecomment-{comment_id}",
            "issue_url": f"{self.url}/repos/{self.owner}/{self.repo}/issues/{number}",
            "body": request["body"],
            "user": {"login": "rollgen-bot", "type": "Bot"},
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "author_association": "MEMBER",
        }

    def _status(self, sha: str, request: dict[str, Any]) -> tuple[int, Any]:
        exists = subprocess.run(["git", "cat-file", "-e", f"{sha}^{{commit}}"], cwd=self.bare, check=False)
        if exists.returncode != 0:
            return 422, {"message": f"No commit found for SHA: {sha}"}
        if request.get("state") not in ("error", "failure", "pending", "success"):
            invalid = {"resource": "Status", "code": "custom", "field": "state"}
            return 422, {"message": "Validation Failed", "errors": [invalid]}
        with self.lock:
            made = self.statuses.setdefault(sha, [])
            status = {
                "url": f"{self.url}/repos/{self.owner}/{self.repo}/statuses/{sha}",
                "id": 4000 + len(made),
                "state": request["state"],
                "description": request.get("description"),
                "target_url": request.get("target_url"),
                "context": request.get("context", "default"),
                "created_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
                "creator": {"login": "rollgen-bot", "type": "Bot"},
            }
            made.append(status)
        return 201, status

    def _update(self, number: int, request: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            pull = self.pulls.get(number)
            if pull is None:
                return 404, {"message": "Not Found"}
            state = request.get("state", pull["state"])
            if state not in ("open", "closed") or (pull["merged"] and state != pull["state"]):
                invalid = {"resource": "PullRequest", "code": "invalid", "field": "state"}
                return 422, {"message": "Validation Failed", "errors": [invalid]}
            pull["state"] = state
            return 200, pull

    def _create(self, request: dict[str, Any]) -> tuple[int, Any]:
        head, base = request.get("head", ""), request.get("base", "")
        sha = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", f"refs/heads/{head}"],
            cwd=self.bare,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if not sha or not request.get("title"):
            return 422, {"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "invalid"}]}
        with self.lock:
            if any(p["head"]["ref"] == head and p["state"] == "open" for p in self.pulls.values()):
                return 422, {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {self.owner}:{head}.",
                        }
                    ],
                }
            number = len(self.pulls) + 1
            pull = {
                "url": f"{self.url}/repos/{self.owner}/{self.repo}/pulls/{number}",
                "id": 1000 + number,
                "html_url": f"https://github.example/{self.owner}/{self.repo}/pull/{number}",
                "number": number,
                "state": "open",
                "locked": False,
                "title": request["title"],
                "body": request.get("body"),
                "draft": False,
                "merged": False,
                "mergeable": None,
                "merged_at": None,
                "merge_commit_sha": "f" * 40,  # GitHub's test merge commit while open
                "head": {"label": f"{self.owner}:{head}", "ref": head, "sha": sha},
                "base": {"label": f"{self.owner}:{base}", "ref": base},
            }
            self.pulls[number] = pull
        return 201, pull


class _Api(Protocol):
    url: str

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]: ...


_A = TypeVar("_A", bound=_Api)


@contextmanager
def serve(api: _A) -> Iterator[_A]:
    """Serve a fake API on a free loopback port; sets ``api.url`` to its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload = api.handle(self.command, self.path, headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet tests

    with serving(Handler) as server:
        api.url = url_of(server)
        yield api


@dataclass
class FakeGitLab:
    """GitLab's merge-request endpoints (``/projects/:id/merge_requests``), ``PRIVATE-TOKEN`` auth.

    Same idea as :class:`FakeGitHub`, in GitLab's documented shapes
    (``iid``, ``web_url``, ``sha``, ``state`` opened/merged/closed, 409 on a
    second open request for one source branch), with
    ``PUT .../merge_requests/:iid`` (``state_event`` close/reopen) and
    ``POST .../merge_requests/:iid/notes``, whose bodies ``notes`` holds,
    and ``POST /projects/:id/statuses/:sha`` (``state`` pending, running,
    success, failed or canceled; ``name``), which ``statuses`` holds.
    """

    project: str
    token: str
    url: str = ""
    requests: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[str]] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def merge(self, iid: int, sha: str) -> None:
        self.requests[iid].update(state="merged", merge_commit_sha=sha)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if headers.get("private-token") != self.token:
            return 401, {"message": "401 Unauthorized"}
        parts = urlsplit(target)
        prefix = f"/projects/{quote(self.project, safe='')}/merge_requests"
        status = re.fullmatch(rf"/projects/{re.escape(quote(self.project, safe=''))}/statuses/(\w+)", parts.path)
        if method == "POST" and status:
            return self._status(status[1], json.loads(body))
        if method == "POST" and parts.path == prefix:
            request = json.loads(body)
            source = request["source_branch"]
            if any(r["source_branch"] == source and r["state"] == "opened" for r in self.requests.values()):
                return 409, {"message": ["Another open merge request already exists for this source branch: !1"]}
            iid = len(self.requests) + 1
            self.requests[iid] = {
                "id": 500 + iid,
                "iid": iid,
                "project_id": 7,
                "title": request["title"],
                "description": request.get("description"),
                "state": "opened",
                "source_branch": source,
                "target_branch": request["target_branch"],
                "sha": "a" * 40,
                "merge_commit_sha": None,
                "squash_commit_sha": None,
                "web_url": f"https://gitlab.example/{self.project}/-/merge_requests/{iid}",
            }
            return 201, self.requests[iid]
        if method == "GET" and parts.path == prefix:
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            return 200, [
                r
                for r in self.requests.values()
                if r["source_branch"] == query.get("source_branch") and r["state"] == query.get("state")
            ]
        found = re.fullmatch(re.escape(prefix) + r"/(\d+)", parts.path)
        if method == "GET" and found and int(found[1]) in self.requests:
            return 200, self.requests[int(found[1])]
        if method == "PUT" and found and int(found[1]) in self.requests:
            return self._update(self.requests[int(found[1])], json.loads(body))
        noted = re.fullmatch(re.escape(prefix) + r"/(\d+)/notes", parts.path)
        if method == "POST" and noted and int(noted[1]) in self.requests:
            return self._note(int(noted[1]), json.loads(body))
        return 404, {"message": "404 Not found"}

    def _update(self, request: dict[str, Any], change: dict[str, Any]) -> tuple[int, Any]:
        # GitLab ignores a state_event that does not apply (closing a merged or closed request).
        event = change.get("state_event")
        if event == "close" and request["state"] == "opened":
            request["state"] = "closed"
        elif event == "reopen" and request["state"] == "closed":
            request["state"] = "opened"
        elif event not in (None, "close", "reopen"):
            return 400, {"error": "state_event does not have a valid value"}
        return 200, request

    def _status(self, sha: str, request: dict[str, Any]) -> tuple[int, Any]:
        if request.get("state") not in ("pending", "running", "success", "failed", "canceled"):
            return 400, {"message": "state is missing, state does not have a valid value"}
        made = self.statuses.setdefault(sha, [])
        made.append(
            {
                "id": 6000 + len(made),
                "sha": sha,
                "ref": None,
                "status": request["state"],
                "name": request.get("name", "default"),
                "description": request.get("description"),
                "target_url": request.get("target_url"),
                "created_at": "2024-01-01T00:00:00.000Z",
                "allow_failure": False,
                "author": {"id": 1, "username": "rollgen-bot"},
            }
        )
        return 201, made[-1]

    def _note(self, iid: int, request: dict[str, Any]) -> tuple[int, Any]:
        if not request.get("body"):
            return 400, {"message": {"note": ["can't be blank"]}}
        bodies = self.notes.setdefault(iid, [])
        bodies.append(request["body"])
        note_id = 3000 + sum(len(n) for n in self.notes.values())
        return 201, {
            "id": note_id,
            "type": None,
            "body": request["body"],
            "attachment": None,
            "author": {"id": 1, "username": "rollgen-bot", "name": "rollgen", "state": "active"},
            "created_at": "2024-01-01T00:00:00.000Z",
            "updated_at": "2024-01-01T00:00:00.000Z",
            "system": False,
            "noteable_id": 500 + iid,
            "noteable_type": "MergeRequest",
            "noteable_iid": iid,
            "resolvable": False,
            "confidential": False,
            "internal": False,
        }
