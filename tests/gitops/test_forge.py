"""Pull-request mode against local fakes of the GitHub and GitLab REST APIs (real HTTP on loopback)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from rollgen.errors import UsageError
from rollgen.gitops.change import Change
from rollgen.gitops.errors import ForgeError
from rollgen.gitops.forge import ForgeToken, GitHub, GitLab, PullRequest, PullRequestStatus
from rollgen.gitops.repo import Repo, push_step_branch
from rollgen.gitops.trailers import Action, StepRecord
from rollgen.secretref import SecretRef
from rollgen.secrets import Secrets
from testkit.gateservers import StreamingApp
from testkit.git import clone, git
from testkit.gitservers import FakeGitHub, FakeGitLab, GitDaemon, serve

SENTINEL = "ghp_SENTINEL0123456789abcdefSECRET"


def step_change(step: int) -> Change:
    record = StepRecord("prod/podinfo", "r1", step, 3, "p", Action.ADVANCE, "6.4.0", "6.5.0")
    return Change(
        root="overlays/podinfo/prod",
        files={"k.yaml": f"step {step}\n".encode()},
        message=f"podinfo: step {step}/3",
        record=record,
    )


def bare_path(remote_url: str, daemon_base: Path) -> Path:
    return daemon_base / remote_url.rsplit("/", 1)[1]


def test_pull_request_life_cycle(remote_url: str, daemon: GitDaemon, tmp_path: Path) -> None:
    work = clone(remote_url, tmp_path / "w")
    repo = Repo.open(work)
    with serve(FakeGitHub("acme", "gitops", SENTINEL, bare_path(remote_url, daemon.base))) as api:
        forge = GitHub("acme", "gitops", ForgeToken(SENTINEL), api_url=api.url)
        pushed = push_step_branch(repo, "origin", "main", step_change(1))
        assert forge.find_open(pushed.name) is None
        pr = forge.open_pull_request(pushed.name, "main", "podinfo: step 1/3", "| step | weight |")
        assert pr == PullRequest(1, "https://github.example/acme/gitops/pull/1", pushed.commit)
        assert forge.find_open(pushed.name) == pr
        assert forge.open_pull_request(pushed.name, "main", "again", "") == pr  # rerun: no second PR
        # Open: GitHub's test-merge sha must not be taken for a merge.
        assert forge.get_pull_request(1) == PullRequestStatus(1, "open", pushed.commit, None)
        merged = api.merge(1)
        assert forge.get_pull_request(1) == PullRequestStatus(1, "merged", pushed.commit, merged)
        assert forge.find_open(pushed.name) is None
        assert api.seen_auth and set(api.seen_auth) == {f"Bearer {SENTINEL}"}
    git(work, "fetch", "-q")
    assert git(work, "rev-parse", "origin/main") == pushed.commit  # the merge is what lands


def test_token_never_shows(
    remote_url: str,
    daemon: GitDaemon,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    work = clone(remote_url, tmp_path / "w")
    with serve(FakeGitHub("acme", "gitops", "another-token", bare_path(remote_url, daemon.base))) as api:
        forge = GitHub("acme", "gitops", ForgeToken(SENTINEL), api_url=api.url)
        pushed = push_step_branch(Repo.open(work), "origin", "main", step_change(1))
        with pytest.raises(ForgeError) as caught:
            forge.open_pull_request(pushed.name, "main", f"title {SENTINEL}", SENTINEL)
        assert "401" in str(caught.value) and "Bad credentials" in str(caught.value)
        with pytest.raises(ForgeError) as missing:
            forge.get_pull_request(99)
    seen = [str(caught.value), str(missing.value), repr(caught.value), repr(forge.__dict__), repr(ForgeToken(SENTINEL))]
    seen += [caplog.text, *capsys.readouterr()]
    seen.append(git(work, "log", "--all", "-p", "--format=%B"))
    assert not [s for s in seen if SENTINEL in s]


def test_unreachable_api_is_a_clean_error() -> None:
    forge = GitHub("acme", "gitops", ForgeToken(SENTINEL), api_url="http://127.0.0.1:9")
    with pytest.raises(ForgeError, match="failed") as caught:
        forge.find_open("x")
    assert SENTINEL not in str(caught.value)


def test_token_from_environment_or_file(tmp_path: Path) -> None:
    variable, file = SecretRef(env="ROLLGEN_TEST_TOKEN"), SecretRef(file="token")
    assert ForgeToken.load((variable,), Secrets(environ={"ROLLGEN_TEST_TOKEN": SENTINEL})).reveal() == SENTINEL
    (tmp_path / "token").write_text(SENTINEL + "\n")
    unset = Secrets(environ={}, base=tmp_path)
    assert ForgeToken.load((variable, file), unset).reveal() == SENTINEL  # the variable is unset: the file
    with pytest.raises(UsageError, match=r"API token: cannot read .*absent"):
        ForgeToken.load((variable, SecretRef(file="absent")), unset)
    with pytest.raises(UsageError, match=r"no API token found \(set \$ROLLGEN_TEST_TOKEN\)"):
        ForgeToken.load((variable,), unset)


def test_gitlab_merge_requests_behind_the_same_protocol() -> None:
    with serve(FakeGitLab("group/gitops", SENTINEL)) as api:
        forge = GitLab("group/gitops", ForgeToken(SENTINEL), api_url=api.url)
        mr = forge.open_pull_request("rollgen/x/step-1", "main", "step 1", "body")
        assert mr == PullRequest(1, "https://gitlab.example/group/gitops/-/merge_requests/1", "a" * 40)
        assert forge.open_pull_request("rollgen/x/step-1", "main", "again", "") == mr  # 409 -> the open one
        assert forge.find_open("rollgen/x/step-1") == mr
        assert forge.get_pull_request(1).state == "open"
        api.merge(1, "b" * 40)
        assert forge.get_pull_request(1) == PullRequestStatus(1, "merged", "a" * 40, "b" * 40)
        with pytest.raises(ForgeError, match="404"):
            forge.get_pull_request(7)
    with serve(FakeGitLab("group/gitops", "other")) as api, pytest.raises(ForgeError, match="401") as caught:
        GitLab("group/gitops", ForgeToken(SENTINEL), api_url=api.url).find_open("b")
    assert SENTINEL not in str(caught.value)


def test_closing_a_pull_request_comments_once_and_cannot_undo_a_merge(
    remote_url: str, daemon: GitDaemon, tmp_path: Path
) -> None:
    repo = Repo.open(clone(remote_url, tmp_path / "w"))
    with serve(FakeGitHub("acme", "gitops", SENTINEL, bare_path(remote_url, daemon.base))) as api:
        forge = GitHub("acme", "gitops", ForgeToken(SENTINEL), api_url=api.url)
        first = push_step_branch(repo, "origin", "main", step_change(1))
        pr = forge.open_pull_request(first.name, "main", "podinfo: step 1/3", "")
        forge.close_pull_request(pr.number, "aborted by abc123")
        assert forge.get_pull_request(pr.number).state == "closed" and forge.find_open(first.name) is None
        assert api.comments == {1: ["aborted by abc123"]}
        forge.close_pull_request(pr.number, "again")  # idempotent: no second comment
        assert api.comments == {1: ["aborted by abc123"]} and api.pulls[1]["merged"] is False
        second = push_step_branch(repo, "origin", "main", step_change(2))
        merged = forge.open_pull_request(second.name, "main", "podinfo: step 2/3", "")
        api.merge(merged.number)
        with pytest.raises(ForgeError, match="pull request #2 is already merged"):
            forge.close_pull_request(merged.number, "too late")
        assert 2 not in api.comments
        api.failing.add("PATCH")
        third = forge.open_pull_request(push_step_branch(repo, "origin", "main", step_change(3)).name, "main", "s3", "")
        with pytest.raises(ForgeError, match=r"PATCH .*/pulls/3 answered 502") as caught:
            forge.close_pull_request(third.number, "x")
        assert forge.get_pull_request(third.number).state == "open" and SENTINEL not in str(caught.value)


def test_gitlab_closes_a_merge_request_with_a_note() -> None:
    with serve(FakeGitLab("group/gitops", SENTINEL)) as api:
        forge = GitLab("group/gitops", ForgeToken(SENTINEL), api_url=api.url)
        mr = forge.open_pull_request("rollgen/x/step-2", "main", "step 2", "body")
        forge.close_pull_request(mr.number, "aborted by abc123")
        forge.close_pull_request(mr.number, "again")
        assert forge.get_pull_request(mr.number).state == "closed" and forge.find_open("rollgen/x/step-2") is None
        assert api.notes == {1: ["aborted by abc123"]}
        merged = forge.open_pull_request("rollgen/x/step-3", "main", "step 3", "")
        api.merge(merged.number, "b" * 40)
        with pytest.raises(ForgeError, match="merge request #2 is already merged"):
            forge.close_pull_request(merged.number, "too late")
        with pytest.raises(ForgeError, match="404"):
            forge.close_pull_request(9, "absent")


def test_a_token_file_with_windows_line_ends_is_read_without_them(tmp_path: Path) -> None:
    (tmp_path / "token").write_bytes(SENTINEL.encode() + b"\r\n")
    assert ForgeToken.load((SecretRef(file=str(tmp_path / "token")),), Secrets.of_process()).reveal() == SENTINEL


@pytest.mark.parametrize(
    "raw", [f"ghp_\r{SENTINEL}", f"{SENTINEL}\rX-Injected: 1", f"{SENTINEL}\u00e9\u2019", f"{SENTINEL} x"]
)
def test_a_token_that_cannot_go_in_a_header_is_refused_on_load_without_showing_it(
    raw: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLGEN_TEST_TOKEN", raw)
    (tmp_path / "token").write_text(raw, encoding="utf-8")
    secrets = Secrets.of_process(tmp_path)
    for place in (SecretRef(env="ROLLGEN_TEST_TOKEN"), SecretRef(file="token")):
        with pytest.raises(UsageError, match="API token") as caught:
            ForgeToken.load((place,), secrets)
        assert SENTINEL not in str(caught.value) and "ghp_" not in str(caught.value)


def test_a_huge_answer_is_refused_without_reading_it_all() -> None:
    with StreamingApp(b"[" + b" " * 65535, every=0) as endless:
        forge = GitHub("acme", "gitops", ForgeToken(SENTINEL), api_url=endless.url, timeout=10)
        with pytest.raises(ForgeError, match="larger than"):
            forge.find_open("x")
        assert endless.sent < 100_000_000


def test_a_trickling_forge_cannot_hold_a_call_past_its_deadline() -> None:
    with StreamingApp(b" ", every=0.2) as trickle:
        forge = GitLab("group/gitops", ForgeToken(SENTINEL), api_url=trickle.url, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(ForgeError, match="no answer within 1s"):
            forge.get_pull_request(1)
        assert time.monotonic() - started < 3


def test_credentials_in_the_api_url_never_show() -> None:
    with serve(FakeGitLab("group/gitops", "other")) as api:
        url = api.url.replace("http://", "http://admin:url-SECRET-pw@")
        with pytest.raises(ForgeError, match="401") as caught:
            GitLab("group/gitops", ForgeToken(SENTINEL), api_url=url).find_open("b")
    assert "url-SECRET-pw" not in str(caught.value) and SENTINEL not in str(caught.value)
    forge = GitHub("acme", "gitops", ForgeToken(SENTINEL), api_url="http://admin:url-SECRET-pw@127.0.0.1:9")
    with pytest.raises(ForgeError) as unreachable:
        forge.find_open("x")
    assert "url-SECRET-pw" not in str(unreachable.value)
