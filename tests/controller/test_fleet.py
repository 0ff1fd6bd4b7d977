"""Many releases in one pass: ``rollgen advance|status DIR``, against a real repository and a bare remote."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgen.cli import main
from rollgen.controller import fleet
from rollgen.errors import EXIT_FAILURE, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE
from rollgen.gitops.repo import Repo
from rollgen.rollout import operations
from rollgen.rollout.adoption import adopt
from rollgen.shard import parse_shard
from rollgen.spec.load import load_release
from testkit.gateservers import serving, url_of
from testkit.git import git, init_repo
from testkit.rollouts import canary, make_repo, write_spec


def monorepo(tmp_path: Path, namespaces: tuple[str, ...], **extra: Any) -> Path:
    """A GitOps repository with one release per namespace under releases/, pushed to a bare remote 'origin'."""
    work = make_repo(tmp_path / "work", namespaces)
    (work / "releases").mkdir()
    for ns in namespaces:
        spec = write_spec(work, namespace=ns, strategy=canary([25, 50]))
        data = yaml.safe_load(spec.read_text())
        data["spec"].update(extra.get(ns, {}))
        data["spec"] = {k: v for k, v in data["spec"].items() if v is not None}  # None removes a field
        (work / "releases" / f"{ns}.yaml").write_text(yaml.safe_dump(data))
        spec.unlink()
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "releases")
    remote = init_repo(tmp_path / "remote.git", bare=True)
    git(work, "remote", "add", "origin", str(remote))
    git(work, "push", "-q", "--force", "origin", "main")  # the bare remote starts with a commit of its own
    return work


def start(work: Path, ns: str) -> None:
    operations.start(Repo.open(work), load_release(work / "releases" / f"{ns}.yaml"), remote="origin")


def run(work: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main([*argv, "--repo", str(work)])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


@pytest.fixture
def git_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The subcommand of every git process started while the test runs."""
    started: list[str] = []
    real = subprocess.Popen.__init__

    def spy(self: Any, args: Any, *rest: Any, **kw: Any) -> None:
        if isinstance(args, (list, tuple)) and len(args) > 1 and args[0] == "git":
            started.append(str(args[1]))
        real(self, args, *rest, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", spy)
    yield started


def test_one_pass_advances_every_release_and_reports_each_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = monorepo(tmp_path, ("a", "b", "c"))
    (work / "releases" / "d.yaml").write_text(
        (work / "releases" / "c.yaml").read_text().replace("replicas: 4", "replicas: -1")
    )
    start(work, "a")
    start(work, "b")
    monkeypatch.chdir(work)  # spec paths are relative to the repository, as in a cron job's checkout
    code, lines, _ = run(work, capsys, "advance", "releases")
    assert code == EXIT_FAILURE  # the bad spec; the others were still advanced
    by_release = {line.split("  ")[0]: line.split("  ", 2)[1:] for line in lines}
    assert by_release["a/web"][0] in ("progressing", "waiting") and by_release["a/web"][1].startswith(
        "committed advance step 2/"
    )
    assert by_release["b/web"][0] in ("progressing", "waiting") and "step 2/" in by_release["b/web"][1]
    # Never adopted: advance refuses it (and names rollgen adopt), the others still advance.
    assert by_release["c/web"][0] == "error" and "rollgen adopt" in by_release["c/web"][1]
    assert by_release["releases/d.yaml"][0] == "error" and "replicas" in by_release["releases/d.yaml"][1]
    # Both steps reached the remote.
    log = git(
        tmp_path / "remote.git",
        "log",
        "--format=%(trailers:key=Rollgen-Release,valueonly)%(trailers:key=Rollgen-Step,valueonly)",
        "main",
    )
    assert "a/web\n2/" in log and "b/web\n2/" in log


def test_idle_releases_cost_no_git_process_of_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], git_processes: list[str]
) -> None:
    namespaces = tuple(f"n{i}" for i in range(8))
    # Idle: n1..n7 adopted, each spec asking for the version that runs.
    work = monorepo(tmp_path, namespaces, **{ns: {"version": "1.0.0", "stable": None} for ns in namespaces[1:]})
    start(work, "n0")
    repo = Repo.open(work)
    operations.abort(repo, load_release(work / "releases" / "n0.yaml"), immediate=True, remote="origin")
    for ns in namespaces[1:]:
        adopt(repo, load_release(work / "releases" / f"{ns}.yaml"), remote="origin")
    counts = []
    for specs in ([str(work / "releases" / "n0.yaml")], [str(work / "releases")]):
        git_processes.clear()
        code, lines, _ = run(work, capsys, "advance", *specs)
        assert code == EXIT_FAILURE and lines[0].startswith("n0/web  aborted  the rollout of 1.1.0 was aborted")
        counts.append(sorted(git_processes))
    # One fetch of the branch, one of the notes, one object reader, at most one walk (the record index
    # brought up to the tip, once per tip): for 1 release or 8, the 8 cost nothing of their own.
    assert Counter(counts[1]) <= Counter(counts[0]), counts
    for count in counts:
        assert (count.count("fetch"), count.count("cat-file")) == (2, 1), counts
        assert count.count("log") <= 1, counts


def test_a_failing_release_never_stops_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = monorepo(tmp_path, ("a", "b"))
    start(work, "a")
    start(work, "b")
    real = fleet.advance

    def buggy(repo: Repo, release: Any, **kw: Any) -> Any:
        if release.namespace == "a":
            raise ZeroDivisionError("a bug")
        return real(repo, release, **kw)

    monkeypatch.setattr(fleet, "advance", buggy)
    code, lines, err = run(work, capsys, "advance", str(work / "releases"), "-o", "json")
    assert code == EXIT_INTERNAL and "Traceback" not in err
    rows = {row["release"]: row for row in json.loads("\n".join(lines))}
    assert rows["a/web"]["phase"] == "error" and "ZeroDivisionError: a bug" in rows["a/web"]["message"]
    # The traceback is kept for the bug report, not printed.
    log = re.search(r"traceback in (\S+)\)", rows["a/web"]["message"])
    assert log is not None and "ZeroDivisionError: a bug" in Path(log.group(1)).read_text()
    Path(log.group(1)).unlink()
    assert rows["a/web"]["exitCode"] == EXIT_INTERNAL
    assert rows["b/web"]["committed"] is True and rows["b/web"]["step"] == 2 and rows["b/web"]["exitCode"] == EXIT_OK


def test_shards_split_the_releases_without_overlap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespaces = tuple(f"n{i}" for i in range(9))
    work = monorepo(tmp_path, namespaces)
    seen: list[str] = []
    for index in range(3):
        code, lines, _ = run(work, capsys, "status", str(work / "releases"), "--shard", f"{index}/3", "-o", "json")
        assert code == EXIT_OK
        keys = [row["release"] for row in json.loads("\n".join(lines))]
        assert all(parse_shard(f"{index}/3").owns(key) for key in keys)
        seen += keys
    assert sorted(seen) == sorted(f"{ns}/web" for ns in namespaces)
    assert run(work, capsys, "advance", str(work / "releases"), "--shard", "3/3")[0] == EXIT_USAGE
    assert run(work, capsys, "advance", str(tmp_path / "nothing-here"))[0] == EXIT_USAGE


def test_status_of_a_directory_shows_every_release_and_the_bad_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = monorepo(tmp_path, ("a", "b"))
    start(work, "a")
    (work / "releases" / "z.yaml").write_text("apiVersion: rollgen.io/v1alpha1\nkind: Release\nspec: {}\n")
    code, lines, _ = run(work, capsys, "status", str(work / "releases"))
    assert code == EXIT_FAILURE
    assert lines[0].startswith(f"{work / 'releases' / 'z.yaml'}: error: ")
    assert lines[1].startswith("a/web: progressing at step 1/")
    assert lines[2].startswith("b/web: no rollout; spec and Git differ, next pass: adopt: ")


# --- notifications, through a real loopback receiver ---------------------------------------------


@pytest.fixture
def receiver() -> Iterator[tuple[list[dict[str, Any]], list[int], str]]:
    """Bodies received, the statuses to answer with in turn (then 200), and the receiver's URL."""
    bodies: list[dict[str, Any]] = []
    statuses: list[int] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                status = statuses.pop(0) if statuses else 200
                if status == 200:
                    bodies.append(json.loads(body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as server:
        yield bodies, statuses, url_of(server)


HOOKED = {"notifications": {"webhooks": [{"name": "audit", "kind": "json", "urlEnv": "ROLLGEN_TEST_HOOK"}]}}


def test_a_pass_that_commits_a_step_sends_the_step_event(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    receiver: tuple[list[dict[str, Any]], list[int], str],
) -> None:
    bodies, _, url = receiver
    work = monorepo(tmp_path, ("a", "b"), a=HOOKED)
    start(work, "a")
    start(work, "b")
    monkeypatch.setenv("ROLLGEN_TEST_HOOK", url)
    code, _, err = run(work, capsys, "advance", str(work / "releases"))
    assert code == EXIT_OK, err
    # Only release a has a webhook; its pass committed step 2: the body arrived before the command returned.
    # (step 2 waits for a human: its pause is announced with it)
    assert [(b["event"], b["release"], b["step"]) for b in bodies] == [("step", "a/web", 2), ("paused", "a/web", 2)]
    assert bodies[0]["commit"] == git(
        tmp_path / "remote.git", "log", "-1", "--format=%H", "--grep=^Rollgen-Release: a/web$", "main"
    )
    assert url not in err


def test_a_failing_webhook_changes_neither_the_pass_nor_its_exit_code(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    receiver: tuple[list[dict[str, Any]], list[int], str],
) -> None:
    bodies, statuses, url = receiver
    work = monorepo(tmp_path, ("a",), a=HOOKED)
    start(work, "a")
    statuses += [500] * 10
    monkeypatch.setenv("ROLLGEN_TEST_HOOK", url)
    code, lines, err = run(work, capsys, "advance", str(work / "releases"))
    assert code == EXIT_OK and lines[0].startswith("a/web  waiting  committed advance step 2/")
    assert bodies == [] and "notification step to webhook 'audit' failed after 3 attempt(s): HTTP 500" in err
    assert url not in err


def test_run_over_a_directory_is_a_controller_that_passes_until_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = monorepo(tmp_path, ("a", "b"))
    start(work, "a")
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("rollgen.cli.controller.time.sleep", nap)
    code, lines, err = run(work, capsys, "run", str(work / "releases"))
    assert code == 130 and "interrupted" in err
    # Passes go on at once while one commits; then it sleeps until the soonest wait (a human: the idle period).
    assert lines[0].startswith("a/web  waiting  committed advance step 2/9 setWeight @")
    assert lines[1].startswith("b/web  error  ") and "rollgen adopt" in lines[1]  # never adopted
    # Step 2 waits for a human: the next passes come after the idle period, each one line per release.
    assert lines[2:] == ["a/web  waiting  at step 2/9 setWeight; waiting: paused until `rollgen promote`", lines[1]] * 2
    assert naps == [pytest.approx(30, abs=1)] * 2
