"""A new user's first session, command by command, asserting what each screen says.

A GitOps repository cloned from a bare remote, a spec written by hand, then
validate, plan, start, a bounded watch, pause, resume, promote, a gate error
seen in ``status`` the moment it is measured, an abort, and why in ``git log``.
Real git, real ``kubectl kustomize``, an http gate against a closed local port.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from testkit.gateservers import refused_url
from testkit.git import clone, git, init_repo
from testkit.rollouts import EXAMPLES
from testkit.tools import require_tool

SPEC = "releases/web.yaml"


def say(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``rollgen ARGS`` typed in the repository, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "rollgen", *args], cwd=work, capture_output=True, text=True, timeout=300, check=False
    )


def ok(work: Path, *args: str) -> str:
    run = say(work, *args)
    assert run.returncode == 0, f"rollgen {' '.join(args)}: {run.returncode}\n{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.stderr
    return run.stdout


def test_a_new_users_first_rollout_read_screen_by_screen(tmp_path: Path) -> None:
    require_tool("kubectl")
    remote = init_repo(tmp_path / "gitops.git", bare=True)
    work = clone(str(remote), tmp_path / "gitops")
    shutil.copytree(EXAMPLES / "apps" / "web" / "base", work / "apps" / "web" / "base")
    spec = {
        "apiVersion": "rollgen.io/v1alpha1",
        "kind": "Release",
        "metadata": {"name": "web"},
        "spec": {
            "namespace": "prod",
            "replicas": 4,
            "image": "ghcr.io/example/web",
            "stable": "1.0.0",
            "version": "1.1.0",
            "source": {"kustomize": {"base": "apps/web/base"}},
            "output": {"path": "deploy/web"},
            "strategy": {
                "canary": {
                    "maxSurge": "100%",
                    "maxUnavailable": 0,
                    "traffic": "replicas",
                    "steps": [
                        {"setWeight": 50},
                        {"pause": {}},
                        {"setWeight": 75},
                        {"analysis": {"gates": ["healthz"]}},
                    ],
                }
            },
            # One measurement a minute: each advance pass measures the refused gate once.
            "gates": [{"name": "healthz", "interval": "1m", "http": {"url": f"{refused_url()}/healthz"}}],
            "liveness": {"assumeAfter": "0s"},  # no cluster here: nothing proves a commit live
            "git": {"branch": "main", "remote": "origin"},
        },
    }
    (work / "releases").mkdir()
    (work / SPEC).write_text(yaml.safe_dump(spec, sort_keys=False))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "web: base and release spec")
    git(work, "push", "-q", "origin", "main")

    # validate, plan: the spec is fine, and the plan shows the pause and the gate.
    ok(work, "validate", SPEC)
    plan = ok(work, "plan", SPEC)
    assert "pause" in plan and "healthz" in plan

    # start: step 1 is committed and pushed.
    assert "prod/web: progressing at step 1/" in ok(work, "start", SPEC)
    assert "Rollgen-Action: start" in git(remote, "log", "-1", "--format=%B", "main")

    # A bounded watch: the rollout is still going, so it gives up with exit 4 and says so.
    watched = say(work, "status", "--watch", "--interval", "0.2", "--timeout", "1")
    assert watched.returncode == 4 and "timed out after 1s waiting for prod/web" in watched.stderr
    assert watched.stdout.startswith("prod/web: progressing at step 1/")

    # The cron pass commits step 2, which waits for a human: status says so, with or without the spec.
    ok(work, "advance", SPEC)
    for args in ((), (SPEC,)):
        assert "waiting for a human (rollgen promote)" in ok(work, "status", *args)

    # pause: held; a cron pass does nothing; status says how to go on.
    assert "PAUSED" in ok(work, "pause", SPEC)
    assert "waiting for rollgen resume" in ok(work, "status")
    head = git(work, "rev-parse", "HEAD")
    assert "paused: waiting for rollgen resume" in ok(work, "advance", SPEC)
    assert git(work, "rev-parse", "HEAD") == head

    # resume, promote: step 3, then the gate's step.
    assert "(committed)" in ok(work, "resume", SPEC)
    assert "PAUSED" not in ok(work, "status")
    assert "at step 3/" in ok(work, "promote", SPEC)
    ok(work, "advance", SPEC)  # through step 3's surge to the step whose gate is judged next
    while "gates healthz" not in ok(work, "status", SPEC):
        ok(work, "promote", SPEC)

    # The gate's first measurement fails to connect: status shows it now, not at the abort.
    shown = ok(work, "advance", SPEC)
    assert "healthz" in shown and "refused" in shown
    status = ok(work, "status")
    assert "gate healthz [" in status and ": Error at " in status and "refused" in status

    # abort: walks back; every commit says why, and status too.
    ok(work, "abort", SPEC)
    assert "walking back: 1 of " in ok(work, "status")
    while "aborting" in ok(work, "status", SPEC):
        ok(work, "abort", SPEC)
    assert "aborted at step 0/" in ok(work, "status")
    log = git(work, "log", "-1", "--format=%B", "origin/main")
    assert "Aborted because a human asked for it (rollgen abort)." in log
    assert "Rollgen-Reason: a human asked for it (rollgen abort)" in log
    watched = say(work, "status", SPEC, "--watch")
    assert watched.returncode == 1 and "aborted because a human asked for it" in watched.stdout
