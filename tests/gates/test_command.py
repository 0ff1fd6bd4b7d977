"""The command gate, running real processes."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from rollgen.gates.analysis import Phase
from rollgen.gates.registry import measure
from testkit.gates import COMMIT, context, gate


def run_python(code: str, **settings: Any) -> Any:
    config = {"command": [sys.executable, "-c", code, *settings.pop("args", [])], **settings.pop("config", {})}
    return measure(gate("command", config, **settings), context())


def test_exit_zero_passes_and_nonzero_fails() -> None:
    assert run_python("print('smoke ok')").phase is Phase.SUCCESSFUL
    failed = run_python(
        "import sys; print('checking', flush=True); print('login page broken', file=sys.stderr); sys.exit(3)"
    )
    assert failed.phase is Phase.FAILED
    assert failed.value == 3
    assert "exited 3" in failed.message
    assert "checking\nlogin page broken" in failed.message  # stdout and stderr, in order


def test_only_the_last_lines_of_output_are_kept() -> None:
    result = run_python("for i in range(500): print('line', i)")
    assert "line 499" in result.message and "line 480" in result.message
    assert "line 479\n" not in result.message
    assert "(480 lines)" in result.message


def test_arguments_and_env_are_templated_and_never_go_through_a_shell(tmp_path: Path) -> None:
    code = (
        "import os, sys, json; json.dump([sys.argv[1:], os.environ['TARGET'], os.environ['ROLLGEN_COMMIT'],"
        " os.environ['ROLLGEN_STEP'], os.getcwd()], open('out.json', 'w'))"
    )
    result = run_python(
        code,
        args=["{{ version }}", "$(touch pwned)", "a;b"],
        config={"env": {"TARGET": "http://{{ release }}.{{ namespace }}"}, "workingDir": str(tmp_path)},
    )
    assert result.phase is Phase.SUCCESSFUL, result.message
    argv, target, commit, step, cwd = json.loads((tmp_path / "out.json").read_text())
    assert argv == ["6.5.0", "$(touch pwned)", "a;b"]
    assert (target, commit, step) == ("http://podinfo.prod", COMMIT, "2")
    assert Path(cwd) == tmp_path
    assert not (tmp_path / "pwned").exists()


def test_a_command_that_hangs_is_killed_with_its_children_at_the_timeout(tmp_path: Path) -> None:
    # The child starts a grandchild that would outlive it, and both hold the output pipe.
    pidfile = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time;"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); open({str(pidfile)!r}, 'w').write(str(p.pid));"
        "print('started', flush=True); time.sleep(60)"
    )
    started = time.monotonic()
    result = run_python(code, timeout=1.0)
    assert time.monotonic() - started < 5
    assert result.phase is Phase.ERROR
    assert "did not finish within 1s" in result.message and "started" in result.message
    grandchild = int(pidfile.read_text())
    for _ in range(50):  # the kill is asynchronous; give the kernel a moment to reap
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the grandchild survived the timeout")


def test_a_missing_program_is_an_error() -> None:
    result = measure(gate("command", {"command": ["./no-such-smoke-test.sh"]}), context())
    assert result.phase is Phase.ERROR
    assert "cannot run './no-such-smoke-test.sh'" in result.message


def test_a_bad_working_directory_is_an_error(tmp_path: Path) -> None:
    result = run_python("pass", config={"workingDir": str(tmp_path / "missing")})
    assert result.phase is Phase.ERROR
    assert "cannot run" in result.message


def test_only_a_documented_environment_reaches_the_command(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_SENTINEL_never_passed")
    monkeypatch.setenv("ROLLGEN_TEST_SHARED", "passed on request")
    monkeypatch.setenv("TZ", "UTC")
    code = "import os, json; json.dump(dict(os.environ), open('env.json', 'w'))"
    config = {"workingDir": str(tmp_path), "passEnv": ["ROLLGEN_TEST_SHARED"], "env": {"TARGET": "x"}}
    result = run_python(code, config=config)
    assert result.phase is Phase.SUCCESSFUL, result.message
    seen = json.loads((tmp_path / "env.json").read_text())
    assert "GITHUB_TOKEN" not in seen
    assert seen["ROLLGEN_TEST_SHARED"] == "passed on request" and seen["TARGET"] == "x"
    assert seen["TZ"] == "UTC" and seen["PATH"] == os.environ["PATH"]
    assert seen["ROLLGEN_VERSION"] == "6.5.0"
    allowed = {"PATH", "HOME", "LANG", "TZ", "TMPDIR"} | {"ROLLGEN_TEST_SHARED", "TARGET"}
    assert {n for n in seen if not n.startswith(("ROLLGEN_", "LC_"))} <= allowed


def test_the_working_directory_is_relative_to_the_repository_root(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "repo" / "smoke").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)  # rollgen started elsewhere than the repository root
    config = {
        "command": [sys.executable, "-c", "import os; open('cwd', 'w').write(os.getcwd())"],
        "workingDir": "smoke",
    }
    result = measure(gate("command", config), context(root=str(tmp_path / "repo")))
    assert result.phase is Phase.SUCCESSFUL, result.message
    assert Path((tmp_path / "repo" / "smoke" / "cwd").read_text()) == tmp_path / "repo" / "smoke"
