"""Pull-request mode end to end: a git-daemon remote, the fake GitHub (and GitLab) API, rollgen's CLI and controller."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rollgen.cli import main
from rollgen.controller.advance import advance
from rollgen.gitops.repo import Repo
from rollgen.gitops.trailers import Action, StepRecord
from rollgen.plan.steps import plan_release
from rollgen.rollout import operations
from rollgen.rollout.proposal import pending_pull_request
from rollgen.rollout.proposal_body import pull_request_body
from rollgen.secretref import SecretRef
from rollgen.spec.load import load_release
from rollgen.spec.model import Release
from testkit.git import clone, git
from testkit.gitservers import FakeGitHub, FakeGitLab, GitDaemon, serve
from testkit.rollouts import canary, make_repo, write_spec

TOKEN = "ghp_PRMODE0123456789SENTINELtoken"
TOKEN_ENV = "ROLLGEN_TEST_PR_TOKEN"


@dataclass(frozen=True)
class Setup:
    work: Path
    bare: Path
    spec: Path
    api: FakeGitHub

    @property
    def release(self) -> Release:
        return load_release(self.spec)

    def remote_main(self) -> str:
        return git(self.bare, "rev-parse", "refs/heads/main")


@pytest.fixture
def setup(daemon: GitDaemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    """A clone of a served repository holding the example base, and a spec in pull-request mode."""
    seed = make_repo(tmp_path / "seed")
    url = daemon.create(tmp_path.name)
    git(seed, "push", "-q", url, "main")
    work = clone(url, tmp_path / "work")
    bare = daemon.base / f"{tmp_path.name}.git"
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with serve(FakeGitHub("acme", "gitops", TOKEN, bare)) as api:
        pr = {"repository": "acme/gitops", "apiURL": api.url, "token": {"env": TOKEN_ENV}}
        spec = write_spec(work, strategy=canary([25, 50]), extra_git={"mode": "pull-request", "pullRequest": pr})
        yield Setup(work, bare, spec, api)


def test_each_step_is_a_pull_request_and_merging_it_goes_on(
    setup: Setup, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    spec, repo_args = str(setup.spec), ["--repo", str(setup.work)]
    before = setup.remote_main()

    assert main(["start", spec, *repo_args]) == 0
    assert "merge pull request #1 to go on: https://github.example/acme/gitops/pull/1" in capsys.readouterr().out
    assert setup.remote_main() == before  # nothing committed to the branch
    pull = setup.api.pulls[1]
    head = pull["head"]["sha"]
    assert pull["base"]["ref"] == "main" and pull["head"]["ref"].startswith("rollgen/prod/web/")
    assert pull["title"] == git(setup.bare, "log", "-1", "--format=%s", head)
    assert pull["title"].startswith("prod/web: step 1/")
    body = pull["body"]
    assert "\n▶    1  " in body  # the proposed row of the plan table
    assert "```mermaid\nflowchart LR\n" in body and "class s1 proposed" in body
    assert "```diff\ndiff --git a/deploy/web/" in body
    assert git(setup.bare, "diff", before, head, "--", "deploy/web") in body  # the rendered diff, whole

    assert main(["start", spec, *repo_args]) == 0  # a rerun finds the open pull request
    assert "pull request #1" in capsys.readouterr().out
    assert len(setup.api.pulls) == 1

    setup.api.merge(1)
    assert main(["status", spec, *repo_args, "-o", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["step"], row["action"], row["commit"], row["pullRequest"]) == (1, "start", head, None)

    assert main(["promote", spec, *repo_args]) == 0
    assert "merge pull request #2" in capsys.readouterr().out
    assert main(["status", spec, *repo_args]) == 0
    assert "at step 1/" in (out := capsys.readouterr().out)
    assert "waiting for pull request #2 to be merged (https://github.example/acme/gitops/pull/2)" in out
    outcome = operations.promote(Repo.open(setup.work), setup.release, remote="origin")  # a rerun: same PR
    assert outcome.pull_request is not None and outcome.pull_request.number == 2 and not outcome.committed
    assert len(setup.api.pulls) == 2 and setup.remote_main() == head
    assert "class s2 proposed" in setup.api.pulls[2]["body"]

    # An emergency does not wait for a review: the abort lands on the branch at once,
    # then the open step pull request is closed, so that no later merge lands the step on top of it.
    assert main(["abort", spec, *repo_args, "--now"]) == 0
    assert "aborted at step 0/" in (out := capsys.readouterr().out)
    assert "warning" not in out
    aborted = setup.remote_main()
    assert git(setup.bare, "log", "-1", "--format=%(trailers:key=Rollgen-Action,valueonly)", aborted) == "abort"
    assert len(setup.api.pulls) == 2
    assert (setup.api.pulls[2]["state"], setup.api.pulls[2]["merged"]) == ("closed", False)
    [comment] = setup.api.comments[2]
    assert f"was aborted by commit {aborted}" in comment and setup.api.comments.keys() == {2}
    assert main(["status", spec, *repo_args, "-o", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["phase"], row["step"], row["commit"], row["pullRequest"]) == ("aborted", 0, aborted, None)

    # The token went into the Authorization header, and nowhere else.
    assert set(setup.api.seen_auth) == {f"Bearer {TOKEN}"}
    captured = capsys.readouterr()
    seen = [caplog.text, captured.out, captured.err, json.dumps(setup.api.pulls), json.dumps(setup.api.comments)]
    seen += [git(place, "log", "--all", "-p", "--format=%H%n%B") for place in (setup.work, setup.bare)]
    assert not [text for text in seen if TOKEN in text]


def test_the_controller_opens_the_next_pull_request_and_waits_for_its_merge(setup: Setup) -> None:
    repo, release = Repo.open(setup.work), setup.release
    operations.start(repo, release, remote="origin")
    setup.api.merge(1)
    # Step 1 is followed by `pause: {}`: in pull-request mode the merge of step 2 is that approval.
    first = advance(repo, release, remote="origin")
    assert (first.state.step, first.after.step, first.committed) == (1, 1, False)
    assert first.note == "waiting for pull request #2 to be merged: https://github.example/acme/gitops/pull/2"
    again = advance(repo, release, remote="origin")
    assert (again.committed, again.note, len(setup.api.pulls)) == (False, first.note, 2)
    merged = setup.api.merge(2)
    moved = advance(repo, release, remote="origin")
    assert (moved.state.step, moved.state.commit) == (2, merged)  # the merged step, judged next
    # Walk to the end: the last step's PR, then the complete commit, which changes no file, goes straight in.
    while moved.after.phase != "completed":
        if moved.note:
            setup.api.merge(max(setup.api.pulls))
        moved = advance(repo, release, remote="origin")
    assert git(setup.bare, "log", "-1", "--format=%(trailers:key=Rollgen-Action,valueonly)", "main") == "complete"
    assert len(setup.api.pulls) == moved.after.steps


def _statuses(api: FakeGitHub, sha: str) -> list[tuple[str, str]]:
    """The ``rollgen/prod/web`` statuses of commit ``sha``, oldest first: (state, description)."""
    return [(s["state"], s["description"]) for s in api.statuses.get(sha, []) if s["context"] == "rollgen/prod/web"]


def test_each_step_commit_carries_a_status_that_follows_the_rollout(setup: Setup) -> None:
    repo, release = Repo.open(setup.work), setup.release
    operations.start(repo, release, remote="origin")
    first = setup.api.pulls[1]["head"]["sha"]
    steps = len(plan_release(release).steps)
    assert _statuses(setup.api, first) == [("pending", f"step 1/{steps} proposed: merge to run it")]
    setup.api.merge(1)
    proposed = operations.promote(repo, release, remote="origin")
    assert proposed.warnings == () and proposed.pull_request is not None
    second = proposed.pull_request.head_sha
    assert _statuses(setup.api, first)[-1] == ("success", f"step 1/{steps} done: step 2 proposed")
    assert _statuses(setup.api, second) == [("pending", f"step 2/{steps} proposed: merge to run it")]
    setup.api.merge(2)
    operations.promote(repo, release, remote="origin")  # step 3 proposed; then abort at once
    third = setup.api.pulls[3]["head"]["sha"]

    aborted = operations.abort(repo, release, immediate=True, remote="origin")
    assert aborted.state is not None and aborted.warnings == ()
    why = f"rollout aborted by {aborted.state.commit[:12]}"
    # The step that ran (merged) and the one proposed (closed) both say so.
    assert _statuses(setup.api, second)[-1] == ("failure", f"step 2/{steps}: {why}")
    assert _statuses(setup.api, third)[-1] == ("failure", f"step 3/{steps}: {why}")
    assert [state for state, _ in _statuses(setup.api, first)] == ["pending", "success"]


def test_the_last_step_turns_success_when_the_rollout_completes(setup: Setup) -> None:
    repo = Repo.open(setup.work)
    release = load_release(
        write_spec(
            setup.work,
            strategy=canary([50]),
            extra_git={
                "mode": "pull-request",
                "pullRequest": {"repository": "acme/gitops", "apiURL": setup.api.url, "token": {"env": TOKEN_ENV}},
            },
        )
    )
    operations.start(repo, release, remote="origin")
    heads = []
    while True:
        heads.append(setup.api.pulls[max(setup.api.pulls)]["head"]["sha"])
        setup.api.merge(max(setup.api.pulls))
        outcome = operations.promote(repo, release, remote="origin")
        if outcome.committed:
            break
    assert outcome.state is not None and outcome.state.phase == "completed" and outcome.warnings == ()
    last = outcome.state.steps
    assert _statuses(setup.api, heads[-1])[-1] == ("success", f"step {last}/{last} done: rollout complete")
    assert all(_statuses(setup.api, head)[-1][0] == "success" for head in heads)


def test_a_forge_refusing_statuses_is_a_warning_and_the_step_is_still_proposed(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.api.forbidden.add("/statuses/")
    assert main(["start", str(setup.spec), "--repo", str(setup.work)]) == 0
    captured = capsys.readouterr()
    assert "merge pull request #1 to go on" in captured.out
    assert "warning: commit status pending for " in captured.err
    assert "answered 403" in captured.err and "write access to statuses" in captured.err
    assert TOKEN not in captured.err and setup.api.statuses == {}


def test_a_forge_failing_to_close_leaves_the_abort_committed_with_a_warning(setup: Setup) -> None:
    repo, release = Repo.open(setup.work), setup.release
    operations.start(repo, release, remote="origin")
    setup.api.merge(1)
    proposed = operations.promote(repo, release, remote="origin").pull_request
    assert proposed is not None and proposed.number == 2
    setup.api.failing.add("PATCH")  # the comment is posted, the close itself fails

    outcome = operations.abort(repo, release, remote="origin")
    assert outcome.committed and outcome.state is not None and outcome.state.action == Action.ABORT
    assert outcome.state.commit == setup.remote_main()  # on the branch despite the forge
    [warning] = outcome.warnings
    assert warning.startswith("the abort is committed, but its step pull requests could not be closed: PATCH ")
    assert "answered 502" in warning and f"rollgen/prod/web/{outcome.state.rollout}/step-1 to step-" in warning
    assert setup.api.pulls[2]["state"] == "open" and len(setup.api.comments[2]) == 1
    assert TOKEN not in warning


def test_rollgen_abort_prints_the_warning(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    spec, repo_args = str(setup.spec), ["--repo", str(setup.work)]
    assert main(["start", spec, *repo_args]) == 0
    setup.api.merge(1)
    assert main(["promote", spec, *repo_args]) == 0
    capsys.readouterr()
    setup.api.failing.add("POST")  # the comment fails: nothing is closed
    assert main(["abort", spec, *repo_args]) == 0
    captured = capsys.readouterr()
    assert "aborted at step 0/" in captured.out and "(committed)" in captured.out
    assert "warning: the abort is committed, but its step pull requests could not be closed: POST " in captured.err
    assert setup.api.pulls[2]["state"] == "open" and setup.api.comments == {}


def test_an_abort_outside_pull_request_mode_asks_no_forge(setup: Setup) -> None:
    repo = Repo.open(setup.work)
    release = load_release(write_spec(setup.work, strategy=canary([25, 50])))
    operations.start(repo, release, remote="origin")
    outcome = operations.abort(repo, release, remote="origin")
    assert outcome.committed and outcome.warnings == () and setup.api.seen_auth == []


def test_a_pull_request_needs_the_remote_and_the_token(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo.open(setup.work)
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(Exception, match=rf"no API token found \(set \${TOKEN_ENV}\)"):
        operations.start(repo, setup.release, remote="origin")
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with pytest.raises(Exception, match="pushes to remote 'origin', which this repository does not have"):
        operations.start(repo, setup.release, remote=None)
    assert setup.api.pulls == {}


def test_gitlab_merge_request(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(FakeGitLab("group/gitops", TOKEN)) as api:
        pr = {"provider": "gitlab", "repository": "group/gitops", "apiURL": api.url, "tokenEnv": TOKEN_ENV}
        spec = write_spec(setup.work, strategy=canary([50]), extra_git={"mode": "pull-request", "pullRequest": pr})
        release, repo = load_release(spec), Repo.open(setup.work)
        opened = operations.start(repo, release, remote="origin")
        assert opened.pull_request is not None and opened.pull_request.number == 1
        assert "```mermaid" in api.requests[1]["description"] and api.requests[1]["target_branch"] == "main"
        assert operations.start(repo, release, remote="origin").pull_request == opened.pull_request  # 409: the open one
        assert len(api.requests) == 1
        # Merge it (the fake's merge only flags it: the branch moves here), propose step 2, abort.
        source = api.requests[1]["source_branch"]
        git(setup.bare, "update-ref", "refs/heads/main", f"refs/heads/{source}")
        step_1 = setup.remote_main()
        api.merge(1, step_1)
        proposed = operations.promote(repo, release, remote="origin").pull_request
        assert proposed is not None and proposed.number == 2
        aborted = operations.abort(repo, release, immediate=True, remote="origin")
        assert aborted.warnings == () and aborted.state is not None and aborted.state.phase == "aborted"
        assert (api.requests[1]["state"], api.requests[2]["state"]) == ("merged", "closed")
        # GitLab's words for the statuses: pending, success, failed (the fake's merge requests all
        # name one head, a*40; step 1's commit on the branch went success, then failed with the abort;
        # the rerun of start that found the open request posted nothing).
        named = {
            sha: [s["status"] for s in made if s["name"] == "rollgen/prod/web"] for sha, made in api.statuses.items()
        }
        assert named == {"a" * 40: ["pending", "pending", "failed"], step_1: ["success", "failed"]}
        [note] = api.notes[2]
        assert f"was aborted by commit {setup.remote_main()}" in note and api.notes.keys() == {2}
        assert pending_pull_request(repo, release, aborted.state) is None


# --- the body, pure -------------------------------------------------------------------------------


def _body(tmp_path: Path, diff: str, limit: int = 1000) -> str:
    release = load_release(write_spec(tmp_path / "work", strategy=canary([25, 50])))
    plan = plan_release(release)
    record = StepRecord("prod/web", "r1", 2, len(plan.steps), plan.digest(), Action.ADVANCE, "1.0.0", "1.1.0")
    return pull_request_body(plan, record, "deploy/web", diff, limit=limit)


def test_a_long_diff_is_cut_at_a_line_with_a_note(tmp_path: Path) -> None:
    diff = "".join(f"+line {i:04}\n" for i in range(500))
    body = _body(tmp_path, diff)
    kept = body.split("```diff\n", 1)[1].split("\n```", 1)[0]
    assert diff.startswith(kept + "\n") and len(kept) <= 1000 and kept.endswith("+line 0089")
    assert f"*Diff truncated: {len(diff) - len(kept) - 1:,} more characters (410 lines)" in body
    assert "truncated" not in _body(tmp_path, diff, limit=len(diff))


def test_a_diff_holding_a_fence_cannot_close_its_own(tmp_path: Path) -> None:
    body = _body(tmp_path, "+```\n+text\n")
    assert "````diff\n+```\n+text\n````" in body
    assert "No file changes" in _body(tmp_path, "")


@pytest.mark.parametrize(
    ("given", "places"),
    [
        ({"token": {"file": "/run/secrets/forge"}}, (SecretRef(file="/run/secrets/forge"),)),
        ({}, (SecretRef(env="GITHUB_TOKEN"),)),
        # The older spelling keeps its order: the variable, else the file.
        (
            {"tokenEnv": "GL_TOKEN", "tokenFile": "keys/forge"},
            (SecretRef(env="GL_TOKEN"), SecretRef(file="keys/forge")),
        ),
    ],
)
def test_where_the_token_is_read(tmp_path: Path, given: dict[str, Any], places: tuple[SecretRef, ...]) -> None:
    pr = {"repository": "acme/gitops", **given}
    spec = write_spec(make_repo(tmp_path / "repo"), extra_git={"mode": "pull-request", "pullRequest": pr})
    settings = load_release(spec).git.pull_request
    assert settings is not None and settings.token == places
