"""``rollgen demo``: the whole loop on this machine, no cluster needed.

It builds a GitOps repository in a temporary directory (a clone of a bare
"remote", as a real setup pushes to one), writes a small Kustomize base and two
release specs, and starts a tiny HTTP service standing in for the app: its
``/healthz`` and ``/metrics`` answer per version (``?version=``), healthy for
the good version, failing for the bad one. Then the controller runs for real:

1. ``web`` 1.0.0 -> 2.0.0 (good): every step committed after its gates pass;
2. ``web`` 2.0.0 -> 2.1.0 (bad): its first analysis fails, the controller
   aborts, and the output directory ends byte-identical to before the rollout;

and the demo ends with the repository's ``git log --oneline``. Needs ``git``
and ``kubectl`` (rollgen builds Kustomize bases with ``kubectl kustomize``).

The pieces (:class:`DemoService`, :func:`write_base`, :func:`demo_release`,
:func:`init_gitops`) are the end-to-end tests' too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final, Self, TextIO

from rollgen.errors import EXIT_FAILURE, EXIT_OK, UsageError
from rollgen.spec.vocabulary import LIVENESS_KINDS

APP: Final = "web"
GOOD: Final = ("1.0.0", "2.0.0")
BAD: Final = "2.1.0"
AUTHOR: Final = {"name": "rollgen demo", "email": "demo@rollgen.invalid"}


class DemoService:
    """The app as its gates see it, one answer per version; ``bad`` versions fail.

    ``GET /healthz?version=V`` answers ``ok`` (HTTP 200) or ``failing`` (500);
    ``GET /metrics?version=V`` answers ``{"errorRate": 0.0}`` or ``0.3``.
    """

    def __init__(self, bad: Sequence[str] = ()) -> None:
        self.bad = set(bad)
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the service first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, path: str) -> tuple[int, bytes]:
        parsed = urllib.parse.urlsplit(path)
        version = urllib.parse.parse_qs(parsed.query).get("version", [""])[0]
        self.requests += 1
        failing = version in self.bad
        if parsed.path == "/healthz":
            return (500, b"failing\n") if failing else (200, b"ok\n")
        if parsed.path == "/metrics":
            return 200, json.dumps({"version": version, "errorRate": 0.3 if failing else 0.0}).encode()
        return 404, b"not found\n"

    def __enter__(self) -> Self:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = service.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the demo's terminal is for the rollout

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-service", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def write_base(root: Path, app: str = APP) -> str:
    """A small Kustomize base (Deployment + Service) under ``root``; returns its repo-relative path."""
    base = f"apps/{app}/base"
    directory = root / base
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "kustomization.yaml").write_text("resources:\n  - deployment.yaml\n  - service.yaml\n")
    labels = {"app": app}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "labels": labels},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": app, "image": f"ghcr.io/example/{app}:{GOOD[0]}", "ports": [{"containerPort": 8080}]}
                    ]
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app},
        "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    # JSON is YAML: no YAML library needed to write a base.
    (directory / "deployment.yaml").write_text(json.dumps(deployment, indent=2) + "\n")
    (directory / "service.yaml").write_text(json.dumps(service, indent=2) + "\n")
    return base


def demo_release(
    stable: str,
    version: str,
    gates: Sequence[Mapping[str, Any]],
    steps: Sequence[Mapping[str, Any]],
    *,
    app: str = APP,
    progress_deadline: str | None = None,
) -> dict[str, Any]:
    """A release spec (as data) for the base :func:`write_base` made."""
    spec: dict[str, Any] = {
        "namespace": "demo",
        "replicas": 4,
        "image": f"ghcr.io/example/{app}",
        "stable": stable,
        "version": version,
        "source": {"kustomize": {"base": f"apps/{app}/base"}},
        "output": {"path": f"deploy/{app}"},
        "strategy": {"canary": {"maxSurge": 1, "maxUnavailable": 1, "steps": list(steps)}},
        "gates": list(gates),
        "git": {"branch": "main", "remote": "origin", "author": AUTHOR},
    }
    if progress_deadline is not None:
        spec["progressDeadline"] = progress_deadline
    if not any(kind in gate for gate in gates for kind in LIVENESS_KINDS):
        # No cluster behind the demo: nothing can prove a commit live, so the spec says it assumes so.
        spec["liveness"] = {"assumeAfter": "0s"}
    return {"apiVersion": "rollgen.io/v1alpha1", "kind": "Release", "metadata": {"name": app}, "spec": spec}


def demo_gates(service_url: str) -> list[dict[str, Any]]:
    """Two gates on the demo service: its health answer, and its error rate."""
    query = "?version={{ version }}"
    return [
        {
            "name": "healthy",
            "interval": "1s",
            "count": 2,
            "http": {"url": f"{service_url}/healthz{query}", "body": "ok"},
        },
        {
            "name": "error-rate",
            "interval": "1s",
            "count": 2,
            "successCondition": "result < 0.05",
            "http": {"url": f"{service_url}/metrics{query}", "jsonPath": "$.errorRate"},
        },
    ]


DEMO_STEPS: Final = (
    {"setWeight": 25},
    {"analysis": {"gates": ["healthy", "error-rate"]}},
    {"setWeight": 50},
    {"pause": {"duration": "2s"}},
    {"setWeight": 75},
    {"analysis": {"gates": ["error-rate"]}},
)


def git(cwd: Path, *args: str) -> str:
    """Plain git, as a user would run it (the demo's own setup and display)."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False, env=_git_env())
    if done.returncode != 0:
        raise UsageError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.rstrip("\n")


def _git_env() -> dict[str, str]:
    import os

    return {
        **os.environ,
        "GIT_AUTHOR_NAME": AUTHOR["name"],
        "GIT_AUTHOR_EMAIL": AUTHOR["email"],
        "GIT_COMMITTER_NAME": AUTHOR["name"],
        "GIT_COMMITTER_EMAIL": AUTHOR["email"],
        "LC_ALL": "C",
    }


def init_gitops(directory: Path, files: Mapping[str, str]) -> Path:
    """A bare ``remote.git`` and its clone ``gitops/`` holding ``files`` in one pushed commit."""
    remote, work = directory / "remote.git", directory / "gitops"
    git(directory, "init", "-q", "--bare", "-b", "main", str(remote))
    git(directory, "clone", "-q", str(remote), str(work))
    git(work, "checkout", "-q", "-b", "main")
    for relative, text in files.items():
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        (work / relative).write_text(text)
    write_base(work)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "web: base and release specs")
    git(work, "push", "-q", "origin", "main")
    return work


@contextlib.contextmanager
def _workspace(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        if keep.exists() and any(keep.iterdir()):
            raise UsageError(f"--keep {keep}: the directory is not empty")
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="rollgen-demo-") as temporary:
        yield Path(temporary)


def run_demo(keep: Path | None = None, out: TextIO | None = None, *, live: bool | None = None) -> int:
    """The demo; exit 0 when both rollouts ended as they should (good completed, bad aborted)."""
    from rollgen.cli.follow import follow
    from rollgen.gitops.repo import Repo
    from rollgen.rollout import operations
    from rollgen.spec.load import load_release

    stream = out if out is not None else sys.stdout
    from rollgen.tools import find_tool

    for tool in ("git", "kubectl"):
        if find_tool(tool) is None:
            raise UsageError(f"the demo needs {tool} on PATH (kubectl also comes with pip install 'rollgen[demo]')")

    def say(text: str) -> None:
        stream.write(f"\n== {text}\n")
        stream.flush()

    began = time.monotonic()
    with DemoService(bad=[BAD]) as service, _workspace(keep) as directory:
        gates = demo_gates(service.url)
        specs = {
            "releases/web-2.0.0.yaml": demo_release(GOOD[0], GOOD[1], gates, DEMO_STEPS),
            "releases/web-2.1.0.yaml": demo_release(GOOD[1], BAD, gates, DEMO_STEPS),
        }
        work = init_gitops(directory, {path: json.dumps(doc, indent=2) + "\n" for path, doc in specs.items()})
        repo = Repo.open(work)
        say(f"GitOps repository {work} (remote {directory / 'remote.git'}); app answers at {service.url}")
        results = []
        for path, expected, story in (
            ("releases/web-2.0.0.yaml", EXIT_OK, f"good release: {GOOD[0]} -> {GOOD[1]}"),
            ("releases/web-2.1.0.yaml", EXIT_FAILURE, f"bad release: {GOOD[1]} -> {BAD} (its error rate is 30%)"),
        ):
            release = load_release(work / path)
            before = git(work, "rev-parse", f"HEAD:{release.output_path}") if expected == EXIT_FAILURE else ""
            say(f"{story}: rollgen start {path} && rollgen run {path}")
            operations.start(repo, release, remote="origin")
            code = follow(repo, release, remote="origin", out=stream, live=live)
            results.append(code == expected)
            if before:
                after = git(work, "rev-parse", f"HEAD:{release.output_path}")
                same = "byte-identical" if after == before else "DIFFERENT"
                stream.write(
                    f"{release.output_path} after the abort: tree {after[:12]}, {same} to before the rollout\n"
                )
                results.append(after == before)
        say("git log --oneline")
        stream.write(git(work, "log", "--oneline") + "\n")
        done = "both rollouts ended as expected" if all(results) else "UNEXPECTED outcome (see above)"
        kept = f"; repository kept in {directory}" if keep is not None else ""
        say(f"{done} in {time.monotonic() - began:.1f}s{kept}")
    return EXIT_OK if all(results) else EXIT_FAILURE


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build the demo repository in DIR and keep it")


def handle_demo(args: argparse.Namespace) -> int:
    return run_demo(args.keep)
