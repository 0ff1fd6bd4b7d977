"""Fleet delivery through rollgen's command line, on a real repository served by ``git daemon``.

A pipeline that fans out and in (dev -> (eu, us) -> global) with
``autoPromote``; a deny window that holds a rollout and then lets it go; a
freeze and its end; aborts held by neither. Time is injected
(``ROLLGEN_NOW``, in the future of every commit), never slept.
"""

from __future__ import annotations

from pathlib import Path

from testkit.git import git
from testkit.gitservers import GitDaemon
from testkit.pipelines import env_spec, gitops, ok, roll_out, rollgen, spec_version

PIPELINE = """\
apiVersion: rollgen.io/v1alpha1
kind: Pipeline
metadata: {name: web}
spec:
  environments:
    - name: dev
      release: dev.yaml
    - name: eu            # eu and us: one wave after dev
      release: eu.yaml
    - name: us
      release: us.yaml
      after: [dev]
    - name: global        # after both: a fan-in
      release: global.yaml
      after: [eu, us]
      autoPromote: [patch]   # a minor or major change waits for a human
"""

FAN = ("dev", "eu", "us", "global")


def bump(work: Path, env: str, version: str) -> None:
    """A new version in ``env``'s spec, committed and pushed (what ``rollgen detect`` would write)."""
    git(work, "pull", "-q", "--ff-only")
    spec = work / "releases" / f"{env}.yaml"
    spec.write_text(spec.read_text().replace(f'version: "{spec_version(work, env)[0]}"', f'version: "{version}"'))
    git(work, "commit", "-q", "-am", f"{env}: {version}")
    git(work, "push", "-q")


def subject(work: Path) -> str:
    git(work, "fetch", "-q")
    return git(work, "log", "-1", "--format=%s", "origin/main").strip()


def tip(work: Path) -> str:
    git(work, "fetch", "-q")
    return git(work, "rev-parse", "origin/main").strip()


def test_a_version_fans_out_in_one_wave_fans_in_and_a_minor_change_waits_for_approval(
    daemon: GitDaemon, tmp_path: Path
) -> None:
    specs = {f"{env}.yaml": env_spec(env, "ghcr.io/example/web", bad="1.2.0" if env == "us" else "none") for env in FAN}
    work = gitops(daemon, tmp_path, {**specs, "pipeline.yaml": PIPELINE}, FAN)
    assert ok(work, "validate", "releases").count("\n") == 0
    advance = ("pipeline", "advance", "releases/pipeline.yaml")

    # A patch completes dev: eu and us get it in one commit, global waits for both.
    bump(work, "dev", "1.0.1")
    assert roll_out(work, "dev") == 0
    lines = ok(work, *advance).splitlines()
    commit = lines[0].rpartition(" ")[2]
    assert lines == [
        f"eu: promoted 1.0.1: commit {commit}",
        f"us: promoted 1.0.1: commit {commit}",
        "global: upstream: eu, us has completed no rollout yet",
    ]
    assert subject(work) == "web: promote 1.0.1 from dev to eu, us"
    assert roll_out(work, "eu") == 0
    assert ok(work, *advance).splitlines()[-1] == "global: upstream: us has completed no rollout yet"
    assert roll_out(work, "us") == 0
    assert ok(work, *advance).splitlines()[-1].startswith("global: promoted 1.0.1: commit ")  # a patch: by itself
    assert roll_out(work, "global") == 0

    # A minor change reaches eu and us by itself, then waits for approval before global.
    bump(work, "dev", "1.1.0")
    assert roll_out(work, "dev") == 0
    ok(work, *advance)
    assert roll_out(work, "eu") == 0 and roll_out(work, "us") == 0
    before = tip(work)
    assert ok(work, *advance).splitlines()[-1] == (
        "global: waiting for approval: 1.1.0 is a minor change from 1.0.1 (autoPromote: patch)"
    )
    assert tip(work) == before  # nothing written
    rows = ok(work, "pipeline", "status", "releases/pipeline.yaml").splitlines()
    assert rows[3].endswith(
        "waiting for approval: 1.1.0 is a minor change from 1.0.1 (autoPromote: patch); "
        "waits for rollgen pipeline promote releases/pipeline.yaml global"
    )
    assert rows[4] == "waves: dev -> (eu, us) -> global"
    picture = ok(work, "pipeline", "status", "releases/pipeline.yaml", "-o", "mermaid")
    assert picture.splitlines()[:2] == ["flowchart LR", '  e0["dev<br/>1.1.0 completed"]']
    assert {"  e0 --> e1", "  e0 --> e2", "  e1 --> e3", "  e2 --> e3"} <= set(picture.splitlines())
    promoted = ok(work, "pipeline", "promote", "releases/pipeline.yaml", "global")
    assert promoted.startswith("global: promoted 1.1.0: commit ")
    body = git(work, "log", "-1", "--format=%B", "origin/main")
    assert "Approved by rollgen pipeline promote releases/pipeline.yaml: 1.1.0 is a minor change" in body
    assert spec_version(work, "global")[0] == "1.1.0"
    assert roll_out(work, "global") == 0

    # 1.2.0 completes eu and aborts in us (its gate refuses it): it never reaches global.
    bump(work, "dev", "1.2.0")
    assert roll_out(work, "dev") == 0
    ok(work, *advance)
    assert roll_out(work, "eu") == 0
    assert roll_out(work, "us") == 1
    settled = tip(work)
    assert (
        ok(work, *advance).splitlines()[-1] == "global: held: 1.2.0 was aborted in us: it reaches no later environment"
    )
    refused = rollgen(work, "pipeline", "promote", "releases/pipeline.yaml", "global")
    assert refused.returncode == 1 and "nothing to promote: held: 1.2.0 was aborted in us" in refused.stderr
    assert tip(work) == settled and spec_version(work, "global")[0] == "1.1.0"


WINDOWED = """\
  windows:
    - kind: deny               # no change on the evening of the release party
      schedule: "0 22 * * *"
      duration: 1h
"""


def at(when: str) -> dict[str, str]:
    return {"ROLLGEN_NOW": when}


def test_a_deny_window_holds_a_rollout_then_lets_it_go_and_never_holds_an_abort(
    daemon: GitDaemon, tmp_path: Path
) -> None:
    spec = env_spec("dev", "ghcr.io/example/web", bad="1.2.0", policy=WINDOWED)
    work = gitops(daemon, tmp_path, {"dev.yaml": spec}, ("dev",))
    bump(work, "dev", "1.1.0")
    inside, after = at("2030-01-01T22:30:00Z"), at("2030-01-01T23:00:00Z")
    before = tip(work)

    held = ok(work, "advance", "releases/dev.yaml", env=inside)
    assert "held: inside deny window '0 22 * * *' for 1h0m0s (UTC) until 2030-01-01T23:00:00Z" in held
    assert tip(work) == before  # no rollout starts
    assert "held: inside deny window" in ok(work, "status", "releases/dev.yaml", env=inside)

    # The window closes: the rollout starts; inside the next day's window no step is committed.
    assert "committed start step 1/" in ok(work, "advance", "releases/dev.yaml", env=after)
    next_day = at("2030-01-02T22:10:00Z")
    step_one = tip(work)
    assert "held: inside deny window" in ok(work, "advance", "releases/dev.yaml", env=next_day)
    assert tip(work) == step_one
    # A human may promote inside it, with a reason, which the commit keeps.
    refused = rollgen(work, "promote", "releases/dev.yaml", env=next_day)
    assert refused.returncode == 1 and "rollgen promote --reason TEXT commits anyway" in refused.stderr
    ok(work, "promote", "releases/dev.yaml", "--reason", "hotfix for INC-42", env=next_day)
    assert "by rollgen promote: hotfix for INC-42" in git(work, "log", "-1", "--format=%B", "origin/main")
    # Let go, the rollout completes.
    for _ in range(10):
        ok(work, "advance", "releases/dev.yaml", env=at("2030-01-03T12:00:00Z"))
    assert "completed" in ok(work, "status", "releases/dev.yaml", env=at("2030-01-03T12:00:00Z"))

    # 1.2.0 fails its gate: begun outside the window, its abort goes on inside it.
    bump(work, "dev", "1.2.0")
    outside = at("2030-01-04T12:00:00Z")
    ok(work, "advance", "releases/dev.yaml", env=outside)  # start
    ok(work, "advance", "releases/dev.yaml", env=outside)  # step 2: the analysis comes next
    window = at("2030-01-04T22:30:00Z")
    aborting = rollgen(work, "advance", "releases/dev.yaml", env=window)
    assert aborting.returncode == 1 and "aborting" in aborting.stdout
    assert "abort" in subject(work)


def test_a_freeze_stops_every_pass_until_unfrozen_and_never_an_abort(daemon: GitDaemon, tmp_path: Path) -> None:
    pipeline = PIPELINE.split("    - name: us", maxsplit=1)[0]  # dev -> eu
    specs = {f"{env}.yaml": env_spec(env, "ghcr.io/example/web", bad="1.2.0") for env in ("dev", "eu")}
    work = gitops(daemon, tmp_path, {**specs, "pipeline.yaml": pipeline}, ("dev", "eu"))
    bump(work, "dev", "1.1.0")
    assert roll_out(work, "dev") == 0

    frozen = ok(work, "freeze", "--reason", "release day", "--until", "48h")
    assert frozen.startswith("main: frozen: release day (until ")
    assert git(work, "show", "origin/main:.rollgen/freeze.yaml").startswith("# rollgen freeze")
    assert "Rollgen-Freeze: begin" in git(work, "log", "-1", "--format=%B", "origin/main")
    bump(work, "dev", "1.1.1")
    before = tip(work)
    assert "frozen: release day" in ok(work, "advance", "releases")
    assert ok(work, "pipeline", "advance", "releases/pipeline.yaml").splitlines() == [
        "eu: frozen: release day (until " + frozen.split("(until ")[1].split(")")[0] + ")"
    ]
    assert "frozen: release day" in ok(work, "status", "releases/dev.yaml")
    assert tip(work) == before  # nothing moved

    # An abort under way goes on: a bad version's gate fails while frozen.
    ok(work, "unfreeze")
    bump(work, "dev", "1.2.0")  # supersedes 1.1.1 before it began
    ok(work, "advance", "releases/dev.yaml")  # start
    ok(work, "advance", "releases/dev.yaml")  # step 2, the analysis next
    ok(work, "freeze", "--reason", "incident")
    aborting = rollgen(work, "advance", "releases/dev.yaml")
    assert aborting.returncode == 1 and "aborting" in aborting.stdout
    ok(work, "unfreeze", "--reason", "incident closed")
    assert "Rollgen-Freeze: end" in git(work, "log", "-1", "--format=%B", "origin/main")
    assert git(work, "ls-tree", "origin/main", ".rollgen") == ""
