"""100 releases rolled out at once by 4 processes, each in its own clone, pushing to one git-daemon remote."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from rollgen.gitops.repo import Repo
from rollgen.gitops.snapshot import history
from rollgen.gitops.trailers import Action
from testkit.git import clone, git
from testkit.gitservers import GitDaemon
from testkit.rollouts import canary, make_repo, write_spec

RELEASES = 100
PROCESSES = 4

# One controller: round-robin over its releases, one operation each, until all are complete.
_WORKER = """
import sys
from pathlib import Path
from rollgen.rollout import operations
from rollgen.rollout.reading import current_state
from rollgen.gitops.errors import ConflictError
from rollgen.gitops.repo import Repo
from rollgen.spec.load import load_release

repo = Repo.open(sys.argv[1])
pending = [load_release(Path(p)) for p in sys.argv[2:]]
while pending:
    for release in list(pending):
        state = current_state(repo, release)
        try:
            if state is None:
                operations.start(repo, release, remote="origin")
            elif state.phase == "completed":
                pending.remove(release)
            else:
                operations.promote(repo, release, remote="origin", to=state.step + 1)
        except ConflictError:
            pass  # lost every race this round: a controller tries again on its next pass
"""


@pytest.mark.slow
def test_hundred_releases_four_processes_one_remote(daemon: GitDaemon, tmp_path: Path) -> None:
    names = tuple(f"ns{i:03d}" for i in range(RELEASES))
    seed = make_repo(tmp_path / "seed", names)
    url = daemon.create("scale")
    git(seed, "push", "-q", url, "main")
    specs = [write_spec(seed, namespace=name, replicas=1, strategy=canary([50])) for name in names]
    clones = [clone(url, tmp_path / f"clone{k}") for k in range(PROCESSES)]
    began = time.monotonic()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(clones[k]), *map(str, specs[k::PROCESSES])],
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(PROCESSES)
    ]
    errors = [w.communicate()[1] for w in workers]
    elapsed = time.monotonic() - began
    assert [w.returncode for w in workers] == [0] * PROCESSES, errors
    check = clone(url, tmp_path / "check")
    entries = history(Repo.open(check).git, "main", None, limit=100_000)
    per_step = Counter((e.record.release, e.record.step, e.record.action) for e in entries)
    assert set(per_step.values()) == {1}
    steps = {e.record.release: e.record.steps for e in entries}
    completed = {e.record.release for e in entries if e.record.action == Action.COMPLETE}
    assert completed == {f"{name}/web" for name in names}
    assert len(entries) == sum(n + 1 for n in steps.values())  # every step and one complete each: none lost
    print(
        f"\n{len(entries)} step commits by {PROCESSES} processes in {elapsed:.1f} s: "
        f"{len(entries) / elapsed:.1f} step commits/s"
    )
