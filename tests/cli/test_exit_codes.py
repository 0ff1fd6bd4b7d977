"""The exit-code contract, as a table over every command (README "Exit codes", ``rollgen --help``).

0 success or nothing to do; 1 the thing asked for is not so; 2 usage or
unreadable input; 3 an unexpected error; 4 a wait timed out; 130 interrupted. Each row runs the
commands of ``before`` on a fresh repository (each must exit 0), then the
command under test, through the real CLI on a real git repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from rollgen.cli import COMMANDS, main
from rollgen.errors import EXIT_FAILURE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE
from testkit.rollouts import make_repo, write_spec

INVALID = Path(__file__).resolve().parent.parent / "spec" / "invalid" / "same-version.yaml"


@dataclass(frozen=True)
class Row:
    argv: tuple[str, ...]
    code: int
    before: tuple[tuple[str, ...], ...] = ()


# {spec} is a valid release spec ({other}: the same release to another version), {bad} an invalid one, {missing} no file; {repo} the repository; {tmp} a directory.
R = ("--repo", "{repo}")
TABLE: dict[str, Row] = {
    "validate ok": Row(("validate", "{spec}"), EXIT_OK),
    "validate invalid spec": Row(("validate", "{bad}"), EXIT_FAILURE),
    "validate unreadable file": Row(("validate", "{missing}"), EXIT_USAGE),
    "validate no file": Row(("validate",), EXIT_USAGE),
    "schema ok": Row(("schema",), EXIT_OK),
    "schema stray argument": Row(("schema", "x"), EXIT_USAGE),
    "plan ok": Row(("plan", "{spec}"), EXIT_OK),
    "plan invalid spec": Row(("plan", "{bad}"), EXIT_FAILURE),
    "plan unreadable file": Row(("plan", "{missing}"), EXIT_USAGE),
    "render ok": Row(("render", "{spec}", "--out", "{tmp}/out", *R), EXIT_OK),
    "render invalid spec": Row(("render", "{bad}", "--out", "{tmp}/out", *R), EXIT_FAILURE),
    "render no --out": Row(("render", "{spec}"), EXIT_USAGE),
    "start ok": Row(("start", "{spec}", *R), EXIT_OK),
    "start again, already done": Row(("start", "{spec}", *R), EXIT_OK, (("start", "{spec}", *R),)),
    "start while another is in progress": Row(
        ("start", "{other}", *R), EXIT_FAILURE, (("start", "{spec}", *R), ("promote", "{spec}", *R))
    ),
    "start invalid spec": Row(("start", "{bad}", *R), EXIT_FAILURE),
    "start unreadable file": Row(("start", "{missing}", *R), EXIT_USAGE),
    "start not a repository": Row(("start", "{spec}", "--repo", "{tmp}"), EXIT_USAGE),
    "status ok": Row(("status", *R), EXIT_OK),
    "status bad --interval": Row(("status", *R, "--watch", "--interval", "-1"), EXIT_USAGE),
    "status --interval without --watch": Row(("status", *R, "--interval", "1"), EXIT_USAGE),
    "status unknown branch": Row(("status", *R, "--branch", "nope"), EXIT_USAGE),
    # A generous --timeout: a wrong reading of the phase fails the row instead of hanging the suite.
    "status --watch, completed": Row(
        ("status", "{spec}", *R, "--watch", "--timeout", "120"),
        EXIT_OK,
        (("start", "{spec}", *R), ("promote", "{spec}", "--full", *R), ("run", "{spec}", *R)),
    ),
    "status --watch, aborted": Row(
        ("status", "{spec}", *R, "--watch", "--timeout", "120"),
        EXIT_FAILURE,
        (("start", "{spec}", *R), ("abort", "{spec}", "--now", *R)),
    ),
    "status --watch timed out": Row(
        ("status", "{spec}", *R, "--watch", "--interval", "0.1", "--timeout", "0.3"),
        EXIT_TIMEOUT,
        (("start", "{spec}", *R),),
    ),
    "pause ok": Row(("pause", "{spec}", *R), EXIT_OK, (("start", "{spec}", *R),)),
    "pause with no rollout": Row(("pause", "{spec}", *R), EXIT_FAILURE),
    "pause an abort": Row(
        ("pause", "{spec}", *R),
        EXIT_FAILURE,
        (("start", "{spec}", *R), ("promote", "{spec}", *R), ("abort", "{spec}", *R)),
    ),
    "resume ok": Row(("resume", "{spec}", *R), EXIT_OK, (("start", "{spec}", *R), ("pause", "{spec}", *R))),
    "resume what is not paused": Row(("resume", "{spec}", *R), EXIT_FAILURE, (("start", "{spec}", *R),)),
    "promote ok": Row(("promote", "{spec}", *R), EXIT_OK, (("start", "{spec}", *R),)),
    "promote with no rollout": Row(("promote", "{spec}", *R), EXIT_FAILURE),
    "abort ok": Row(("abort", "{spec}", "--now", *R), EXIT_OK, (("start", "{spec}", *R),)),
    "abort with no rollout: nothing to do": Row(("abort", "{spec}", *R), EXIT_OK),
    "abort an aborted rollout: nothing to do": Row(
        ("abort", "{spec}", *R), EXIT_OK, (("start", "{spec}", *R), ("abort", "{spec}", "--now", *R))
    ),
    "retry ok": Row(("retry", "{spec}", *R), EXIT_OK, (("start", "{spec}", *R), ("abort", "{spec}", "--now", *R))),
    "retry with nothing aborted": Row(("retry", "{spec}", *R), EXIT_FAILURE),
    "undo ok": Row(
        ("undo", "{spec}", *R),
        EXIT_OK,
        # promote --full goes on step by step within the bounds; run carries it to completion.
        (("start", "{spec}", *R), ("promote", "{spec}", "--full", *R), ("run", "{spec}", *R)),
    ),
    "undo with nothing to roll back": Row(("undo", "{spec}", *R), EXIT_FAILURE),
    "advance ok": Row(("advance", "{spec}", *R), EXIT_OK, (("start", "{spec}", *R),)),
    "advance on a release never adopted": Row(("advance", "{spec}", *R), EXIT_FAILURE),
    "advance after adoption starts the spec's rollout": Row(
        ("advance", "{spec}", *R), EXIT_OK, (("adopt", "{spec}", *R),)
    ),
    "adopt ok": Row(("adopt", "{spec}", *R), EXIT_OK),
    "adopt again: nothing to do": Row(("adopt", "{spec}", *R), EXIT_OK, (("adopt", "{spec}", *R),)),
    "adopt once rollouts began": Row(("adopt", "{spec}", *R), EXIT_FAILURE, (("start", "{spec}", *R),)),
    "adopt unreadable file": Row(("adopt", "{missing}", *R), EXIT_USAGE),
    "advance while aborting": Row(
        ("advance", "{spec}", *R),
        EXIT_FAILURE,
        (("start", "{spec}", *R), ("promote", "{spec}", *R), ("abort", "{spec}", *R)),
    ),
    # The test spec pauses for a human after each weight: promote --full leaves run only the completion.
    "run to completion": Row(
        ("run", "{spec}", *R), EXIT_OK, (("start", "{spec}", *R), ("promote", "{spec}", "--full", *R))
    ),
    "run an aborted rollout": Row(
        ("run", "{spec}", *R), EXIT_FAILURE, (("start", "{spec}", *R), ("abort", "{spec}", "--now", *R))
    ),
    "run on a release never adopted": Row(("run", "{spec}", *R), EXIT_FAILURE),
    "run unreadable file": Row(("run", "{missing}", *R), EXIT_USAGE),
    "detect: nothing to detect": Row(("detect", "{spec}"), EXIT_OK),
    "detect unreadable file": Row(("detect", "{missing}"), EXIT_USAGE),
    "pipeline: a release spec is no pipeline": Row(("pipeline", "status", "{spec}"), EXIT_FAILURE),
    "pipeline unreadable file": Row(("pipeline", "advance", "{missing}"), EXIT_USAGE),
    "pipeline with no action": Row(("pipeline",), EXIT_USAGE),
    "freeze with no reason": Row(("freeze", *R), EXIT_USAGE),
    "unfreeze of a branch not frozen": Row(("unfreeze", *R), EXIT_OK),
    "import unreadable file": Row(("import", "{missing}", "--out", "{tmp}/imported"), EXIT_USAGE),
    "bootstrap ok": Row(
        ("bootstrap", "argocd", "{spec}", "--repo-url", "https://git.example/gitops.git", "--out", "{tmp}/argocd", *R),
        EXIT_OK,
    ),
    "bootstrap unreadable file": Row(
        ("bootstrap", "flux", "{missing}", "--repo-url", "https://git.example/gitops.git", "--out", "{tmp}/flux", *R),
        EXIT_USAGE,
    ),
    "demo into a non-empty directory": Row(("demo", "--keep", "{repo}"), EXIT_USAGE),
    "no command": Row((), EXIT_USAGE),
    "unknown command": Row(("deploy",), EXIT_USAGE),
}


def test_the_table_covers_every_command() -> None:
    assert {row.argv[0] for row in TABLE.values() if row.argv and row.argv[0] in COMMANDS} == set(COMMANDS)


@pytest.mark.parametrize("name", list(TABLE))
def test_exit_code(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    row = TABLE[name]
    repo = make_repo(tmp_path / "work")
    spec = write_spec(repo)
    other = tmp_path / "other.yaml"  # the same release, another new version
    other.write_text(spec.read_text().replace("version: 1.1.0", "version: 1.2.0"))
    values = {
        "spec": str(spec),
        "other": str(other),
        "bad": str(INVALID),
        "missing": str(tmp_path / "missing.yaml"),
        "repo": str(repo),
        "tmp": str(tmp_path),
    }

    def argv(template: tuple[str, ...]) -> list[str]:
        return [part.format(**values) for part in template]

    for before in row.before:
        assert main(argv(before)) == EXIT_OK, (before, capsys.readouterr())
    capsys.readouterr()
    code = main(argv(row.argv))
    shown = capsys.readouterr()
    assert code == row.code, shown
    assert "Traceback" not in shown.err


def _raise(error: BaseException) -> object:
    def handler(*args: object, **kwargs: object) -> object:
        raise error

    return handler


def test_an_unexpected_error_is_one_line_and_a_log_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:

    from rollgen.rollout import operations

    repo = make_repo(tmp_path / "work")
    spec = str(write_spec(repo))
    monkeypatch.setattr(operations, "start", _raise(ZeroDivisionError("a bug")))
    assert main(["start", spec, "--repo", str(repo)]) == EXIT_INTERNAL
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("rollgen: internal error: ZeroDivisionError: a bug (traceback in ")
    log = Path(line.partition("traceback in ")[2].partition(";")[0])
    assert "Traceback" in log.read_text() and "ZeroDivisionError: a bug" in log.read_text()
    log.unlink()
    for debug in (["--debug", "start", spec], ["start", spec, "--debug"]):
        assert main([*debug, "--repo", str(repo)]) == EXIT_INTERNAL
        err = capsys.readouterr().err
        assert err.startswith("Traceback") and err.rstrip().endswith("(traceback above)")


def test_an_interrupt_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:

    from rollgen.rollout import operations

    repo = make_repo(tmp_path / "work")
    monkeypatch.setattr(operations, "start", _raise(KeyboardInterrupt()))
    assert main(["start", str(write_spec(repo)), "--repo", str(repo)]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "rollgen: interrupted\n"
