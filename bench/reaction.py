"""How fast a bad metric becomes an abort on the remote (a script, not a test): ``python bench/reaction.py [-n 7]``.

Real pieces only: Debian's ``prometheus`` scraping a metrics app every second, a
``git daemon`` remote, ``rollgen run`` (the controller) in a thread, a
Prometheus gate with ``interval: 1s`` and ``failureLimit: 0``. Each run starts a
rollout, lets the analysis measure a healthy canary for a while, then turns
the canary's error rate to 50% and times until the first abort commit is on
the remote (polled with ``git ls-remote``-cheap reads of the bare repository
every 10 ms). The time covers: Prometheus's next scrape (<= 1 s), the next
measurement (<= 1 s), rendering the abort state and the push.

Flagger with its defaults (interval 1m, threshold 5) needs interval x threshold:
five minutes; even at a 1 s interval, x threshold is 5 s.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rollgen.cli.demo import demo_release, git, write_base
from rollgen.cli.follow import follow
from rollgen.gitops.notes import load_records
from rollgen.gitops.repo import Repo
from rollgen.rollout import operations
from rollgen.spec.load import load_release
from testkit.gateservers import MetricsApp, PrometheusServer
from testkit.gitservers import GitDaemon, git_daemon

ERROR_RATIO = (
    'sum(irate(http_requests_total{version="{{ version }}",code="500"}[3s]))'
    ' / sum(irate(http_requests_total{version="{{ version }}"}[3s]))'
)
HEALTHY_FOR = 2.5  # seconds of healthy measurements before the metric turns bad


def one_run(
    n: int, daemon: GitDaemon, work_root: Path, app: MetricsApp, prometheus: PrometheusServer
) -> tuple[float, float]:
    """Seconds from the metric turning bad to the abort commit on the remote, and to the failed measurement."""
    version = f"2.0.{n}"
    app.set_error_rate(version, 0.0)
    prometheus.wait_for(ERROR_RATIO.replace("{{ version }}", version))
    url = daemon.create(f"reaction-{n}")
    bare = daemon.base / f"reaction-{n}.git"
    work = work_root / f"work-{n}"
    git(work_root, "clone", "-q", url, str(work))
    git(work, "checkout", "-q", "-b", "main")
    gate = {
        "name": "errors",
        "interval": "1s",
        "failureLimit": 0,
        "successCondition": "result < 0.05",
        "prometheus": {"address": prometheus.url, "query": ERROR_RATIO},
    }
    document = demo_release("1.0.0", version, [gate], ({"setWeight": 50}, {"analysis": {"gates": ["errors"]}}))
    (work / "release.yaml").write_text(json.dumps(document))
    write_base(work)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "base")
    git(work, "push", "-q", "origin", "main")
    repo, release = Repo.open(work), load_release(work / "release.yaml")
    operations.start(repo, release, remote="origin")
    codes: list[int] = []
    runner = threading.Thread(
        target=lambda: codes.append(follow(repo, release, remote="origin", out=io.StringIO(), live=False))
    )
    runner.start()
    # Healthy for a while, turned bad at a random phase relative to scrapes and measurements.
    time.sleep(HEALTHY_FOR + random.random())
    bad_at = time.time()
    app.set_error_rate(version, 0.5)
    while "Rollgen-Action: abort" not in _tip_message(bare):
        time.sleep(0.01)
    reaction = time.time() - bad_at
    runner.join()
    assert codes == [1], f"run {n}: expected the rollout to abort, got {codes}"
    # The failed measurement's time, from the notes the controller kept on the step's commit.
    notes = (load_records(repo, sha) for sha in git(work, "rev-list", "origin/main").split())
    failed = next(records for records in notes if records.get("1:analysis/errors"))["1:analysis/errors"][-1]
    return reaction, failed.at - bad_at


def _tip_message(bare: Path) -> str:
    done = subprocess.run(
        ["git", "log", "-1", "--format=%B", "main"], cwd=bare, capture_output=True, text=True, check=False
    )
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=7, help="runs (default 7)")
    args = parser.parse_args()
    binary = shutil.which("prometheus")
    if binary is None or shutil.which("kubectl") is None:
        sys.exit("needs prometheus and kubectl on PATH")
    with tempfile.TemporaryDirectory(prefix="rollgen-reaction-") as temporary:
        root = Path(temporary)
        with (
            MetricsApp() as app,
            git_daemon(root / "served") as daemon,
            PrometheusServer(binary, root / "prometheus", [app.url.removeprefix("http://")]) as prometheus,
        ):
            runs = [one_run(n, daemon, root, app, prometheus) for n in range(args.n)]
    times = [total for total, _ in runs]
    detect = [seen for _, seen in runs]
    print("bad metric -> abort commit on the remote (git daemon), interval 1s, failureLimit 0, scrape 1s")
    print("runs (s):", " ".join(f"{t:.2f}" for t in times))
    print(
        f"of which: failed measurement after median {statistics.median(detect):.2f} s (scrape + interval), "
        f"abort commit pushed median {statistics.median(t - d for t, d in runs):.2f} s later"
    )
    print(
        f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s "
        f"(target < 2 s; Flagger defaults: interval 1m x threshold 5 = 5 min)"
    )


if __name__ == "__main__":
    main()
