"""Pull-request mode: opening and following pull/merge requests through a forge's REST API.

In pull-request mode each step is pushed to its own branch
(:func:`rollgen.gitops.repo.push_step_branch`) and proposed with
:meth:`Forge.open_pull_request`; merging it is the approval, which the
controller notices with :meth:`Forge.get_pull_request`::

    forge = GitHub("acme", "gitops", Token.load((SecretRef(env="GITHUB_TOKEN"),), Secrets.of_process()))
    pushed = push_step_branch(repo, "origin", "main", change)
    pr = forge.find_open(pushed.name) or forge.open_pull_request(pushed.name, "main", title, body)
    ...
    if forge.get_pull_request(pr.number).state == "merged": ...

An abort closes the rollout's open step pull requests with
:meth:`Forge.close_pull_request`, so that none can be merged on top of it.
:meth:`Forge.set_status` puts a commit status on a step's commit (pending,
success, failure), shown on its pull request as checks are.

Two implementations share one small HTTP client (stdlib ``urllib``):
:class:`GitHub` (``api_url`` points at GitHub Enterprise or a test server)
and :class:`GitLab` merge requests.

The token never leaves the ``Authorization`` header: it is not in any
``repr``, error message or log line, and redirects are not followed, so it
is never sent to another host. A token that cannot be sent in a header (a
line break, a space, a non-ASCII character) is refused when it is loaded,
without showing it. Every answer is read through :func:`rollgen.web.fetch`:
at most :data:`MAX_ANSWER` bytes and within ``timeout`` seconds in all, however
slowly the server sends.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from rollgen.errors import UsageError
from rollgen.gitops.errors import ForgeError
from rollgen.redact import redact
from rollgen.secretref import SecretRef
from rollgen.secrets import SecretError, Secrets
from rollgen.web import WebError, fetch

PullState = Literal["open", "closed", "merged"]
# A commit status, in GitHub's words (GitLab's failed for failure and error).
CommitState = Literal["pending", "success", "failure", "error"]
_T = TypeVar("_T")

# A page of pull requests is some hundreds of KiB; more is a misbehaving server.
MAX_ANSWER = 8 << 20

# GitHub keeps at most 140 characters of a status description.
MAX_DESCRIPTION = 140

# What a token may hold: visible ASCII. Anything else cannot travel in an HTTP header.
_TOKEN = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class PullRequest:
    """An open pull request: its number, web page and the head commit it proposes."""

    number: int
    url: str
    head_sha: str


@dataclass(frozen=True)
class PullRequestStatus:
    """Where a pull request stands; ``merge_commit_sha`` is set once it is merged."""

    number: int
    state: PullState
    head_sha: str
    merge_commit_sha: str | None


class Forge(Protocol):
    """What pull-request mode needs from a forge."""

    def open_pull_request(self, head: str, base: str, title: str, body: str) -> PullRequest:
        """Propose branch ``head`` for ``base``; returns the open one if it already exists."""
        ...

    def get_pull_request(self, number: int) -> PullRequestStatus: ...

    def find_open(self, head: str) -> PullRequest | None:
        """The open pull request from branch ``head``, if any."""
        ...

    def close_pull_request(self, number: int, comment: str) -> None:
        """Comment on pull request ``number``, then close it unmerged.

        Idempotent: a closed one is left as it is (no second comment). A
        merged one cannot be closed any more: that is a ForgeError.
        """
        ...

    def set_status(self, sha: str, state: CommitState, *, context: str, description: str) -> None:
        """Put a commit status named ``context`` on commit ``sha``; a later one of the same name replaces it."""
        ...


class ForgeToken:
    """An API token that never shows itself.

    >>> ForgeToken("ghp_secret")
    ForgeToken(***)
    >>> f"{ForgeToken('ghp_secret')}"
    '***'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip()
        if not value or "\n" in value:
            raise UsageError("the API token is empty or spans several lines")
        if not _TOKEN.fullmatch(value):
            # Never the value, nor where in it: the message may end up in a CI log.
            raise UsageError(
                "the API token holds a space, a control character (such as a carriage return) or a "
                "non-ASCII character, so it cannot be sent in an HTTP header; check the variable or file it "
                "comes from (the token is not shown)"
            )
        self._value = value

    @classmethod
    def load(cls, places: Sequence[SecretRef], secrets: Secrets) -> ForgeToken:
        """The token at the first of ``places`` that has it (a variable that is not set is passed over)."""
        try:
            return cls(secrets.first(places, "API token"))
        except SecretError as error:
            raise UsageError(str(error)) from None

    def reveal(self) -> str:
        """The secret itself: only for the Authorization header."""
        return self._value

    def __repr__(self) -> str:
        return "ForgeToken(***)"

    def __str__(self) -> str:
        return "***"


@dataclass(frozen=True)
class _Api:
    """JSON over HTTPS with one authentication header; errors become ForgeError."""

    base_url: str
    token: ForgeToken
    auth_header: str
    auth_scheme: str
    extra_headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 30.0

    def call(self, method: str, path: str, *, query: dict[str, str] | None = None, body: Any = None) -> tuple[int, Any]:
        """Return (status, decoded JSON) for 2xx and 4xx answers; raise ForgeError otherwise."""
        url = self.base_url.rstrip("/") + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json", "User-Agent": "rollgen", **dict(self.extra_headers)}
        headers[self.auth_header] = f"{self.auth_scheme}{self.token.reveal()}"
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            # No redirects: the token must not follow one, and a POST must not turn into a GET.
            response = fetch(
                url,
                timeout=self.timeout,
                method=method,
                headers=headers,
                data=data,
                limit=MAX_ANSWER,
                follow_redirects=False,
                secrets=(self.token.reveal(),),
            )
        except WebError as exc:
            raise ForgeError(self._clean(f"{exc} (the forge API call failed)")) from None
        payload = self._decode(response.body, method, path)
        if 200 <= response.status < 300 or (400 <= response.status < 500 and response.status not in (401, 403, 404)):
            return response.status, payload
        raise self.error(method, path, response.status, payload)

    def expect(self, method: str, path: str, ok: int, *, query: dict[str, str] | None = None, body: Any = None) -> Any:
        """The decoded answer of a call that must answer status ``ok``; any other is a ForgeError."""
        status, payload = self.call(method, path, query=query, body=body)
        if status != ok:
            raise self.error(method, path, status, payload)
        return payload

    def error(self, method: str, path: str, status: int, payload: Any) -> ForgeError:
        message = payload.get("message", "") if isinstance(payload, dict) else ""
        hint = " (check the token and its permissions)" if status in (401, 403) else ""
        return ForgeError(self._clean(f"{method} {self.base_url}{path} answered {status}: {message}{hint}".rstrip()))

    def _decode(self, raw: bytes, method: str, path: str) -> Any:
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise ForgeError(self._clean(f"{method} {self.base_url}{path} did not answer JSON")) from None

    def _clean(self, text: str) -> str:
        return redact(text, secrets=(self.token.reveal(),))


def _open(
    api: _Api,
    path: str,
    request: dict[str, str],
    exists: int,
    parse: Callable[[Any], PullRequest],
    find_open: Callable[[], PullRequest | None],
) -> PullRequest:
    """Open a pull request, or return the one already open for the branch (``exists``: a rerun after a crash)."""
    status, payload = api.call("POST", path, body=request)
    if status == 201:
        return _parsed(path, lambda: parse(payload))
    if status == exists:
        existing = find_open()
        if existing is not None:
            return existing
    raise api.error("POST", path, status, payload)


class GitHub:
    """Pull requests on GitHub (or GitHub Enterprise: ``api_url="https://ghe.example/api/v3"``)."""

    def __init__(
        self, owner: str, repo: str, token: ForgeToken, *, api_url: str | None = None, timeout: float = 30.0
    ) -> None:
        self.owner = owner
        self._repo = f"/repos/{urllib.parse.quote(owner, safe='')}/{urllib.parse.quote(repo, safe='')}"
        self._path = f"{self._repo}/pulls"
        github = (("X-GitHub-Api-Version", "2022-11-28"),)
        self._api = _Api(api_url or "https://api.github.com", token, "Authorization", "Bearer ", github, timeout)

    def open_pull_request(self, head: str, base: str, title: str, body: str) -> PullRequest:
        # 422: "A pull request already exists for owner:head"
        request = {"title": title, "head": head, "base": base, "body": body}
        return _open(self._api, self._path, request, 422, _github_pull, lambda: self.find_open(head))

    def get_pull_request(self, number: int) -> PullRequestStatus:
        path = f"{self._path}/{number}"
        payload = self._api.expect("GET", path, 200)
        return _parsed(path, lambda: _github_status(payload))

    def find_open(self, head: str) -> PullRequest | None:
        payload = self._api.expect("GET", self._path, 200, query={"head": f"{self.owner}:{head}", "state": "open"})
        return _parsed(self._path, lambda: _github_pull(payload[0])) if payload else None

    def close_pull_request(self, number: int, comment: str) -> None:
        if not _needs_closing(self.get_pull_request(number), "pull request"):
            return
        # A pull request's conversation is its issue's: comments go through the issues API.
        self._api.expect("POST", f"{self._repo}/issues/{number}/comments", 201, body={"body": comment})
        self._api.expect("PATCH", f"{self._path}/{number}", 200, body={"state": "closed"})

    def set_status(self, sha: str, state: CommitState, *, context: str, description: str) -> None:
        body = {"state": state, "context": context, "description": _description(description)}
        self._api.expect("POST", f"{self._repo}/statuses/{urllib.parse.quote(sha, safe='')}", 201, body=body)


class GitLab:
    """Merge requests on GitLab; ``project`` is the numeric id or the ``group/name`` path."""

    def __init__(self, project: str, token: ForgeToken, *, api_url: str | None = None, timeout: float = 30.0) -> None:
        self._project = f"/projects/{urllib.parse.quote(project, safe='')}"
        self._path = f"{self._project}/merge_requests"
        self._api = _Api(api_url or "https://gitlab.com/api/v4", token, "PRIVATE-TOKEN", "", (), timeout)

    def open_pull_request(self, head: str, base: str, title: str, body: str) -> PullRequest:
        # 409: "Another open merge request already exists for this source branch"
        request = {"source_branch": head, "target_branch": base, "title": title, "description": body}
        return _open(self._api, self._path, request, 409, _gitlab_merge_request, lambda: self.find_open(head))

    def get_pull_request(self, number: int) -> PullRequestStatus:
        path = f"{self._path}/{number}"
        payload = self._api.expect("GET", path, 200)
        return _parsed(path, lambda: _gitlab_status(payload))

    def find_open(self, head: str) -> PullRequest | None:
        payload = self._api.expect("GET", self._path, 200, query={"source_branch": head, "state": "opened"})
        return _parsed(self._path, lambda: _gitlab_merge_request(payload[0])) if payload else None

    def close_pull_request(self, number: int, comment: str) -> None:
        if not _needs_closing(self.get_pull_request(number), "merge request"):
            return
        self._api.expect("POST", f"{self._path}/{number}/notes", 201, body={"body": comment})
        self._api.expect("PUT", f"{self._path}/{number}", 200, body={"state_event": "close"})

    def set_status(self, sha: str, state: CommitState, *, context: str, description: str) -> None:
        body = {"state": _GITLAB_STATES[state], "name": context, "description": _description(description)}
        self._api.expect("POST", f"{self._project}/statuses/{urllib.parse.quote(sha, safe='')}", 201, body=body)


_GITLAB_STATES: dict[CommitState, str] = {
    "pending": "pending",
    "success": "success",
    "failure": "failed",
    "error": "failed",
}


def _description(text: str) -> str:
    """A status description within GitHub's limit, cut at a word with an ellipsis.

    >>> _description("step 2/9 done")
    'step 2/9 done'
    >>> cut = _description("word " * 40)
    >>> len(cut) <= 140, cut[-6:]
    (True, 'word …')
    """
    if len(text) <= MAX_DESCRIPTION:
        return text
    return text[: MAX_DESCRIPTION - 1].rsplit(" ", 1)[0] + " …"


def _parsed(path: str, build: Callable[[], _T]) -> _T:
    """Read an answer's fields; an answer of another shape is an error, not a traceback."""
    try:
        return build()
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        raise ForgeError(f"unexpected answer from {path}: not the documented shape") from None


def _needs_closing(status: PullRequestStatus, noun: str) -> bool:
    """Whether a close has anything to do: a closed one is done; a merged one can no longer be."""
    if status.state == "merged":
        raise ForgeError(f"{noun} #{status.number} is already merged: it cannot be closed")
    return status.state == "open"


def _github_status(payload: Any) -> PullRequestStatus:
    merged = payload["merged"] is True
    state: PullState = "merged" if merged else ("open" if payload["state"] == "open" else "closed")
    # GitHub fills merge_commit_sha with a test merge while the PR is open: only a merge counts.
    merge_sha = str(payload["merge_commit_sha"]) if merged else None
    return PullRequestStatus(int(payload["number"]), state, str(payload["head"]["sha"]), merge_sha)


def _gitlab_status(payload: Any) -> PullRequestStatus:
    states: dict[str, PullState] = {"opened": "open", "merged": "merged"}
    state = states.get(payload["state"], "closed")  # closed, locked
    merged_as = payload.get("merge_commit_sha") or payload.get("squash_commit_sha")
    merge_sha = str(merged_as) if state == "merged" and merged_as else None
    return PullRequestStatus(int(payload["iid"]), state, str(payload["sha"]), merge_sha)


def _github_pull(payload: Any) -> PullRequest:
    return PullRequest(int(payload["number"]), str(payload["html_url"]), str(payload["head"]["sha"]))


def _gitlab_merge_request(payload: Any) -> PullRequest:
    return PullRequest(int(payload["iid"]), str(payload["web_url"]), str(payload["sha"]))
