"""commit_change and friends against real repositories (local, bare, and served by git daemon)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from rollgen.gitops.change import Change
from rollgen.gitops.errors import ConflictError, DirtyWorktreeError, DivergedError, GitError
from rollgen.gitops.git import Git
from rollgen.gitops.repo import CommitResult, Identity, Repo, commit_change, push_step_branch, step_branch
from rollgen.gitops.snapshot import Snapshot, history, read_file_at
from rollgen.gitops.trailers import Action, HistoryEntry, StepRecord
from rollgen.gitops.worktree import Worktree
from testkit.git import clone, git, init_repo
from testkit.gitservers import GitDaemon
from testkit.tools import require_tool

ROOT = "overlays/podinfo/prod"


def record(step: int, release: str = "prod/podinfo", steps: int = 3) -> StepRecord:
    return StepRecord(release, "r1", step, steps, "sha256:abc", Action.ADVANCE, "6.4.0", "6.5.0")


def change(step: int, files: dict[str, bytes] | None = None, root: str = ROOT, release: str = "prod/podinfo") -> Change:
    files = files if files is not None else {"kustomization.yaml": f"step: {step}\n".encode()}
    return Change(root=root, files=files, message=f"{release}: step {step}/3", record=record(step, release))


def always(c: Change | None):  # type: ignore[no-untyped-def]
    return lambda tip: c


def tree_files(repo: Path, rev: str = "HEAD") -> list[str]:
    return git(repo, "ls-tree", "-r", "--name-only", rev).splitlines()


def test_commit_carries_files_and_trailers(repo_dir: Path) -> None:
    result = commit_change(Repo.open(repo_dir), "main", always(change(1, {"a.yaml": b"a: 1\n", "v/b.yaml": b"b\n"})))
    assert isinstance(result, CommitResult)
    assert git(repo_dir, "rev-parse", "main") == result.commit
    assert git(repo_dir, "show", f"{result.commit}:{ROOT}/v/b.yaml") == "b"
    assert git(repo_dir, "log", "-1", "--format=%(trailers:key=Rollgen-Step,valueonly)").strip() == "1/3"
    [entry] = history(Repo.open(repo_dir).git, "main")
    assert (entry.sha, entry.record, entry.subject) == (result.commit, record(1), "prod/podinfo: step 1/3")
    assert read_file_at(Repo.open(repo_dir).git, result.commit, f"{ROOT}/a.yaml") == b"a: 1\n"
    assert read_file_at(Repo.open(repo_dir).git, "HEAD~1", f"{ROOT}/a.yaml") is None


def test_directory_is_replaced_and_stale_files_vanish(repo_dir: Path) -> None:
    repo = Repo.open(repo_dir)
    commit_change(repo, "main", always(change(1, {"old.yaml": b"x\n", "sub/deep.yaml": b"y\n", "keep.yaml": b"k\n"})))
    commit_change(repo, "main", always(change(2, {"keep.yaml": b"k2\n"})))
    assert tree_files(repo_dir) == ["README", f"{ROOT}/keep.yaml"]
    assert sorted(p.relative_to(repo_dir).as_posix() for p in (repo_dir / "overlays").rglob("*")) == [
        "overlays/podinfo",
        "overlays/podinfo/prod",
        f"{ROOT}/keep.yaml",
    ]
    # No files at all removes the directory, and its parents left empty.
    commit_change(repo, "main", always(change(3, {})))
    assert tree_files(repo_dir) == ["README"]
    assert not (repo_dir / "overlays").exists()
    assert git(repo_dir, "status", "--porcelain") == ""


def test_bytes_are_stored_exactly_despite_gitattributes(repo_dir: Path) -> None:
    (repo_dir / ".gitattributes").write_text("* text=auto eol=crlf\n")
    git(repo_dir, "add", ".gitattributes")
    git(repo_dir, "commit", "-qm", "attributes")
    commit_change(Repo.open(repo_dir), "main", always(change(1, {"a.yaml": b"a\r\nb\n\x00bin"})))
    assert git(repo_dir, "cat-file", "-p", f"HEAD:{ROOT}/a.yaml").encode() == b"a\r\nb\n\x00bin"


def test_unchanged_tree_or_no_decision_makes_no_commit(repo_dir: Path) -> None:
    repo = Repo.open(repo_dir)
    first = commit_change(repo, "main", always(change(1)))
    assert first is not None
    assert commit_change(repo, "main", always(change(1))) is None
    assert commit_change(repo, "main", always(None)) is None
    assert git(repo_dir, "rev-parse", "main") == first.commit


def test_snapshot_reads_the_tip(repo_dir: Path) -> None:
    repo = Repo.open(repo_dir)
    commit_change(repo, "main", always(change(1, {"a.yaml": b"A", "d/b.yaml": b"B"})))
    seen: list[Snapshot] = []

    def decide(tip: Snapshot) -> Change | None:
        seen.append(tip)
        assert tip.read(f"{ROOT}/a.yaml") == b"A"
        assert tip.read(f"{ROOT}/missing.yaml") is None
        assert tip.read(ROOT) is None  # a directory is not a file
        assert tip.list(ROOT) == ("a.yaml", "d/b.yaml")
        assert tip.list("nowhere") == ()
        assert tip.direct_files(ROOT) == ("a.yaml",) and tip.direct_files("nowhere") == ()
        assert tip.files(ROOT) == {"a.yaml": b"A", "d/b.yaml": b"B"}
        before = tip.at(f"{tip.tip}^")
        assert before.list(ROOT) == () and before.read("README") == b"hello\n"
        last = tip.last_record("prod/podinfo")
        assert last is not None and last.record == record(1) and last.sha == tip.tip
        assert tip.last_record("prod/other") is None
        return None

    commit_change(repo, "main", decide)
    assert len(seen) == 1


def test_identity_is_configurable(repo_dir: Path) -> None:
    commit_change(
        Repo.open(repo_dir),
        "main",
        always(change(1)),
        author=Identity("Ann Author", "ann@example.com"),
        committer=Identity("Bot", "bot@example.com"),
    )
    assert (
        git(repo_dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>")
        == "Ann Author <ann@example.com>|Bot <bot@example.com>"
    )


def test_lost_compare_and_swap_redecides_on_the_new_tip(bare_dir: Path) -> None:
    repo = Repo.open(bare_dir)
    other = commit_change(repo, "main", always(change(1, release="prod/other", root="overlays/other")))
    assert other is not None
    tips: list[str | None] = []

    def decide(tip: Snapshot) -> Change:
        tips.append(tip.tip)
        if len(tips) == 1:
            # Another process commits between our read and our ref update.
            racer = commit_change(repo, "main", always(change(2, release="prod/other", root="overlays/other")))
            assert racer is not None
            tips.append(racer.commit)
        return change(1)

    result = commit_change(repo, "main", decide)
    assert result is not None and result.attempts == 2
    assert tips[0] == other.commit and tips[2] == tips[1]  # the second decision saw the racer's commit
    assert result.parent == tips[1]
    assert git(bare_dir, "show", "main:overlays/other/kustomization.yaml") == "step: 2"


def test_a_step_another_process_committed_is_not_repeated(bare_dir: Path) -> None:
    repo = Repo.open(bare_dir)

    def advance_to_1(tip: Snapshot) -> Change | None:
        last = tip.last_record("prod/podinfo")
        return None if last is not None and last.record.step >= 1 else change(1)

    calls = []

    def racing(tip: Snapshot) -> Change | None:
        calls.append(tip.tip)
        if len(calls) == 1:
            assert commit_change(repo, "main", advance_to_1) is not None
        return advance_to_1(tip)

    assert commit_change(repo, "main", racing) is None
    assert len(calls) == 2
    assert [e.record.step for e in history(repo.git, "main")] == [1]


def test_gives_up_after_max_attempts(bare_dir: Path) -> None:
    repo = Repo.open(bare_dir)
    n = iter(range(100))

    def always_raced(tip: Snapshot) -> Change:
        commit_change(repo, "main", always(change(next(n) % 3 + 1, release="prod/other", root="other")))
        return change(1)

    with pytest.raises(ConflictError, match="after 3 attempts"):
        commit_change(repo, "main", always_raced, max_attempts=3)


def test_working_copy_follows_and_keeps_unrelated_work(repo_dir: Path) -> None:
    (repo_dir / "README").write_text("edited, not staged\n")
    (repo_dir / "notes.txt").write_text("untracked\n")
    (repo_dir / "staged.txt").write_text("staged\n")
    git(repo_dir, "add", "staged.txt")
    result = commit_change(Repo.open(repo_dir), "main", always(change(1, {"a.yaml": b"a\n"})))
    assert result is not None and result.worktree_updated
    assert (repo_dir / ROOT / "a.yaml").read_bytes() == b"a\n"
    assert (repo_dir / "README").read_text() == "edited, not staged\n"
    assert (repo_dir / "notes.txt").read_text() == "untracked\n"
    assert sorted(git(repo_dir, "status", "--porcelain").splitlines()) == [" M README", "?? notes.txt", "A  staged.txt"]


def test_refuses_up_front_when_root_is_dirty(repo_dir: Path) -> None:
    repo = Repo.open(repo_dir)
    commit_change(repo, "main", always(change(1)))
    tip = git(repo_dir, "rev-parse", "main")
    (repo_dir / ROOT / "kustomization.yaml").write_text("hand edit\n")
    with pytest.raises(DirtyWorktreeError, match=r"kustomization\.yaml"):
        commit_change(repo, "main", always(change(2)))
    assert git(repo_dir, "rev-parse", "main") == tip
    assert (repo_dir / ROOT / "kustomization.yaml").read_text() == "hand edit\n"
    assert not (repo.git_dir / "rollgen" / "pending").is_dir() or not any(
        (repo.git_dir / "rollgen" / "pending").iterdir()
    )


def test_touched_but_unchanged_files_are_not_dirty(repo_dir: Path) -> None:
    repo = Repo.open(repo_dir)
    commit_change(repo, "main", always(change(1)))
    path = repo_dir / ROOT / "kustomization.yaml"
    os.utime(path, (1, 1))  # stat data no longer matches the index
    assert commit_change(repo, "main", always(change(2))) is not None
    assert path.read_text() == "step: 2\n"


def test_branch_not_checked_out_leaves_working_copy_alone(repo_dir: Path) -> None:
    git(repo_dir, "branch", "deploy")
    result = commit_change(Repo.open(repo_dir), "deploy", always(change(1)))
    assert result is not None and not result.worktree_updated
    assert not (repo_dir / "overlays").exists()
    assert git(repo_dir, "status", "--porcelain") == ""
    assert tree_files(repo_dir, "deploy") == ["README", f"{ROOT}/kustomization.yaml"]


def test_crash_between_ref_move_and_working_copy_update_is_repaired(
    repo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo.open(repo_dir)
    commit_change(repo, "main", always(change(1, {"old.yaml": b"1\n"})))

    def killed(self: Worktree, old: str, new: str, marker: Path) -> None:
        raise KeyboardInterrupt  # the process dies right after the ref moved

    with monkeypatch.context() as patch:
        patch.setattr(Worktree, "finish", killed)
        with pytest.raises(KeyboardInterrupt):
            commit_change(repo, "main", always(change(2, {"new.yaml": b"2\n"})))
    assert tree_files(repo_dir) == ["README", f"{ROOT}/new.yaml"]  # the commit landed...
    assert git(repo_dir, "status", "--porcelain") != ""  # ...the working copy did not follow
    # The rerun (which finds step 2 already committed) repairs the working copy.
    assert commit_change(repo, "main", always(change(2, {"new.yaml": b"2\n"}))) is None
    assert git(repo_dir, "status", "--porcelain") == ""
    assert sorted(p.name for p in (repo_dir / ROOT).iterdir()) == ["new.yaml"]


def test_ref_never_moved_marker_is_dropped(repo_dir: Path) -> None:
    repo = Repo.open(repo_dir)
    assert repo.worktree is not None
    tip = git(repo_dir, "rev-parse", "main")
    repo.worktree.begin("main", tip, "0" * 40)  # killed before update-ref
    assert commit_change(repo, "main", always(change(1))) is not None
    assert not any((repo.git_dir / "rollgen" / "pending").iterdir())
    assert git(repo_dir, "status", "--porcelain") == ""


def test_commit_is_signed_when_the_repository_asks(repo_dir: Path, tmp_path: Path) -> None:
    require_tool("ssh-keygen")
    key = tmp_path / "signing"
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    git(repo_dir, "config", "gpg.format", "ssh")
    git(repo_dir, "config", "user.signingkey", f"{key}.pub")
    git(repo_dir, "config", "commit.gpgsign", "true")
    (tmp_path / "allowed").write_text(f"test@rollgen.invalid {(tmp_path / 'signing.pub').read_text()}")
    git(repo_dir, "config", "gpg.ssh.allowedSignersFile", str(tmp_path / "allowed"))
    commit_change(Repo.open(repo_dir), "main", always(change(1)))
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in git(repo_dir, "cat-file", "commit", "main")
    git(repo_dir, "verify-commit", "main")  # raises unless the signature is good


def test_history_filters_by_release_newest_first(bare_dir: Path) -> None:
    repo = Repo.open(bare_dir)
    for step in (1, 2):
        commit_change(repo, "main", always(change(step)))
        commit_change(repo, "main", always(change(step, release="prod/other", root="other")))
    # A message that merely quotes a trailer is not a record.
    git(bare_dir, "commit-tree", "main^{tree}", "-p", "main", "-m", "quote\n\nRollgen-Release: prod/podinfo")
    assert [(e.record.release, e.record.step) for e in history(repo.git, "main")] == [
        ("prod/other", 2),
        ("prod/podinfo", 2),
        ("prod/other", 1),
        ("prod/podinfo", 1),
    ]
    assert [e.record.step for e in history(repo.git, "main", "prod/podinfo", limit=1)] == [2]


def test_last_record_is_found_without_walking_old_history(tmp_path: Path) -> None:
    """10,000 commits of other history: found, and git never reads beyond the match.

    The old history is written as one pack which is then deleted: had the
    lookup walked past the release's commit into it, git would fail on the
    missing objects. This proves the cost does not depend on history length.
    """
    repo_dir = init_repo(tmp_path / "deep", bare=True)
    fast_import = ["reset refs/heads/main", "from refs/heads/main^0"]
    for i in range(10_000):
        fast_import += [
            "commit refs/heads/main",
            f"committer A <a@b> {1_700_000_000 + i} +0000",
            f"data {len(f'other {i}')}",
            f"other {i}",
            f"M 644 inline f{i % 7}",
            "data 2",
            f"{i % 10}\n",
        ]
    git(repo_dir, "fast-import", "--quiet", input=("\n".join(fast_import) + "\n").encode())
    repo = Repo.open(repo_dir)
    old = git(repo_dir, "rev-parse", "main")
    commit_change(repo, "main", always(change(1, release="prod/other", root="x")))
    target = commit_change(repo, "main", always(change(2)))
    for step in (1, 2, 3):
        commit_change(repo, "main", always(change(step, release="prod/other", root="x")))
    assert target is not None
    [pack] = (repo_dir / "objects" / "pack").glob("*.pack")
    assert git(repo_dir, "rev-list", "--count", old) == "10001"
    pack.unlink()
    pack.with_suffix(".idx").unlink()
    found: list[HistoryEntry | None] = []

    def look(tip: Snapshot) -> None:
        found.append(tip.last_record("prod/podinfo"))
        with pytest.raises(GitError):  # a lookup that must walk the old history does fail
            tip.last_record("prod/absent")

    commit_change(repo, "main", look)
    assert found == [
        HistoryEntry(
            sha=target.commit, time=found[0].time if found[0] else 0, subject="prod/podinfo: step 2/3", record=record(2)
        )
    ]


# ---- remotes (git daemon on 127.0.0.1) ----


def test_push_to_remote_and_local_branch_follows(remote_url: str, tmp_path: Path) -> None:
    work = clone(remote_url, tmp_path / "a")
    result = commit_change(Repo.open(work), "main", always(change(1)), remote="origin")
    assert result is not None
    assert git(work, "ls-remote", "origin", "refs/heads/main").split()[0] == result.commit
    assert git(work, "rev-parse", "main", "origin/main") == f"{result.commit}\n{result.commit}"
    assert (work / ROOT / "kustomization.yaml").read_text() == "step: 1\n"
    assert git(work, "status", "--porcelain", "--branch").splitlines() == ["## main...origin/main"]


def test_rejected_push_is_redecided_and_keeps_the_other_commit(remote_url: str, tmp_path: Path) -> None:
    mine, theirs = clone(remote_url, tmp_path / "mine"), clone(remote_url, tmp_path / "theirs")
    decisions: list[str | None] = []

    def decide(tip: Snapshot) -> Change:
        decisions.append(tip.tip)
        if len(decisions) == 1:  # someone else pushes an ordinary commit meanwhile
            (theirs / "theirs.txt").write_text("theirs\n")
            git(theirs, "add", "theirs.txt")
            git(theirs, "commit", "-qm", "their commit")
            git(theirs, "push", "-q", "origin", "main")
        return change(1)

    result = commit_change(Repo.open(mine), "main", decide, remote="origin")
    assert result is not None and result.attempts == 2
    their_commit = git(theirs, "rev-parse", "main")
    assert decisions == [decisions[0], their_commit] and result.parent == their_commit
    assert git(mine, "ls-remote", "origin", "main").split()[0] == result.commit
    assert (mine / "theirs.txt").read_text() == "theirs\n"  # the local copy fast-forwarded over it
    assert git(mine, "status", "--porcelain") == ""


def push_elsewhere(remote_url: str, where: Path, name: str) -> str:
    """Another clone pushes a commit: the first clone's tracking ref is now stale."""
    other = clone(remote_url, where)
    (other / name).write_text("theirs\n")
    git(other, "add", name)
    git(other, "commit", "-qm", f"their {name}")
    git(other, "push", "-q", "origin", "main")
    return git(other, "rev-parse", "main").strip()


def test_a_refusal_on_a_stale_tip_is_confirmed_on_the_remote_tip(remote_url: str, tmp_path: Path) -> None:
    """The first look skips the fetch; only a successful push trusts it, so a refusal is looked at again."""
    mine = clone(remote_url, tmp_path / "mine")
    theirs = push_elsewhere(remote_url, tmp_path / "theirs", "ready.txt")
    seen: list[str | None] = []

    def decide(tip: Snapshot) -> Change:
        seen.append(tip.tip)
        if tip.read("ready.txt") is None:
            raise DivergedError("not ready on this tip")
        return change(1)

    result = commit_change(Repo.open(mine), "main", decide, remote="origin")
    assert result is not None and result.parent == theirs
    assert seen[-1] == theirs and seen[0] != theirs  # stale first, then the fetched tip


def test_nothing_to_do_on_a_stale_tip_is_confirmed_on_the_remote_tip(remote_url: str, tmp_path: Path) -> None:
    mine = clone(remote_url, tmp_path / "mine")
    theirs = push_elsewhere(remote_url, tmp_path / "theirs", "request.txt")
    result = commit_change(
        Repo.open(mine), "main", lambda tip: change(1) if tip.read("request.txt") else None, remote="origin"
    )
    assert result is not None and result.parent == theirs


def test_a_fresh_clone_commits_without_fetching_first(
    remote_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = clone(remote_url, tmp_path / "mine")
    fetches: list[tuple[str, ...]] = []
    real_run = Git.run

    def run(self: Git, *args: str, **kwargs: Any) -> Any:
        if args[:1] == ("fetch",):
            fetches.append(args)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(Git, "run", run)
    result = commit_change(Repo.open(mine), "main", always(change(1)), remote="origin")
    assert result is not None and result.attempts == 1
    assert fetches == []
    assert git(mine, "ls-remote", "origin", "main").split()[0] == result.commit


def test_local_branch_with_unpushed_commits_is_not_dropped(remote_url: str, tmp_path: Path) -> None:
    work = clone(remote_url, tmp_path / "w")
    git(work, "commit", "-q", "--allow-empty", "-m", "local only")
    local = git(work, "rev-parse", "main")
    with pytest.raises(DivergedError, match="not on origin/main"):
        commit_change(Repo.open(work), "main", always(change(1)), remote="origin")
    assert git(work, "rev-parse", "main") == local


def test_first_commit_to_an_empty_remote(daemon: GitDaemon, tmp_path: Path) -> None:
    url = daemon.create(tmp_path.name)
    work = tmp_path / "w"
    git(tmp_path, "clone", "-q", url, "w")  # an empty repository: main is unborn
    result = commit_change(Repo.open(work), "main", always(change(1)), remote="origin")
    assert result is not None and result.parent is None
    assert git(work, "ls-remote", "origin", "main").split()[0] == result.commit
    assert (work / ROOT / "kustomization.yaml").read_text() == "step: 1\n"


def test_concurrent_writers_to_one_remote_lose_nothing(remote_url: str, tmp_path: Path) -> None:
    writers, steps = 3, 3
    clones = [clone(remote_url, tmp_path / f"c{i}") for i in range(writers)]
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def run(i: int) -> None:
        try:
            start.wait()
            release = f"prod/app{i}"

            for step in range(1, steps + 1):

                def decide(tip: Snapshot, step: int = step) -> Change | None:
                    last = tip.last_record(release)
                    done = last.record.step if last else 0
                    return None if done >= step else change(step, root=f"apps/app{i}", release=release)

                commit_change(Repo.open(clones[i]), "main", decide, remote="origin", max_attempts=50)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    check = clone(remote_url, tmp_path / "check")
    records = [(e.record.release, e.record.step) for e in history(Repo.open(check).git, "main", limit=100)]
    assert sorted(records) == sorted((f"prod/app{i}", s) for i in range(writers) for s in range(1, steps + 1))
    assert git(check, "rev-list", "--count", "--merges", "main") == "0"  # linear: no merge, no force


def test_step_branch_is_pushed_once_and_reruns_converge(remote_url: str, tmp_path: Path) -> None:
    work = clone(remote_url, tmp_path / "w")
    repo = Repo.open(work)
    pushed = push_step_branch(repo, "origin", "main", change(1))
    assert pushed.name == step_branch(record(1)) == "rollgen/prod/podinfo/r1/step-1"
    assert git(work, "ls-remote", "origin", pushed.name).split()[0] == pushed.commit
    assert pushed.base == git(work, "rev-parse", "origin/main")
    assert push_step_branch(repo, "origin", "main", change(1)) == pushed  # rerun after a crash
    with pytest.raises(ConflictError, match="already exists"):
        push_step_branch(repo, "origin", "main", change(1, {"other.yaml": b"x"}))
    assert git(work, "rev-parse", "main") == pushed.base  # the base branch is untouched
