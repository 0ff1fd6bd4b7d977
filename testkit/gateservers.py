"""Real servers on loopback for gate tests: a metrics app, Prometheus scraping it, a Kubernetes API.

Importable by any test (the controller's too): the fixtures in
``tests/conftest.py`` wrap these, session-scoped.

- :class:`MetricsApp`: a stdlib HTTP server exposing ``http_requests_total`` in the
  Prometheus text format, labelled by app/version/code, whose error rate a test sets.
- :class:`PrometheusServer`: Debian's ``prometheus`` on a random free port with a temp
  storage dir, scraping the app every second.
- :class:`FakeKubeAPI`: a loopback Kubernetes API serving objects in their real shapes
  on their real paths (GET, merge PATCH, list with labelSelector), with bearer-token
  auth and a kubeconfig file pointing at it, so gates go through the official client.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback port nothing listens on now, for a server started as another process (git daemon, Prometheus)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def refused_url() -> str:
    """An http:// URL on loopback where nothing listens (the port was free a moment ago)."""
    return f"http://{LOOPBACK}:{free_port()}"


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler], server_state: Any = None) -> Iterator[ThreadingHTTPServer]:
    """Run ``handler`` on a random loopback port in a thread; ``server.state`` is ``server_state``."""
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    server.daemon_threads = True
    server.state = server_state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name=handler.__name__, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def url_of(server: ThreadingHTTPServer) -> str:
    return f"http://{LOOPBACK}:{server.server_address[1]}"


class _Served:
    """A test server run by :func:`serving` for the length of a ``with`` block; ``url`` is where."""

    url = ""
    _served: contextlib.ExitStack | None = None

    def _start(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._served = contextlib.ExitStack()
        self.url = url_of(self._served.enter_context(serving(handler)))

    def __exit__(self, *exc: object) -> None:
        assert self._served is not None
        self._served.close()


# --- the metrics app ----------------------------------------------------------------------------


class MetricsApp(_Served):
    """Counters that grow by ``rate`` requests per second per version, ``error_rate`` of them 5xx.

    The counters are computed from the time, so the rate Prometheus sees is exactly
    what the test set, from the next scrape on.
    """

    def __init__(self, app: str = "podinfo") -> None:
        self.app = app
        self.rate = 100.0
        self._lock = threading.Lock()
        # version -> (error rate, ok total and error total at the last change, time of that change)
        self._versions: dict[str, tuple[float, float, float, float]] = {}

    def set_error_rate(self, version: str, error_rate: float) -> None:
        with self._lock:
            ok, errors = self._totals(version, time.time())
            self._versions[version] = (error_rate, ok, errors, time.time())

    def _totals(self, version: str, now: float) -> tuple[float, float]:
        error_rate, ok, errors, since = self._versions.get(version, (0.0, 0.0, 0.0, now))
        elapsed = now - since
        return ok + elapsed * self.rate * (1 - error_rate), errors + elapsed * self.rate * error_rate

    def exposition(self) -> str:
        now = time.time()
        lines = ["# TYPE http_requests_total counter"]
        with self._lock:
            for version in sorted(self._versions):
                ok, errors = self._totals(version, now)
                labels = f'app="{self.app}",version="{version}"'
                lines.append(f'http_requests_total{{{labels},code="200"}} {ok:.3f}')
                lines.append(f'http_requests_total{{{labels},code="500"}} {errors:.3f}')
        return "\n".join(lines) + "\n"

    def __enter__(self) -> MetricsApp:
        app = self

        class Handler(_Quiet):
            def do_GET(self) -> None:
                body = app.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._start(Handler)
        return self


# --- Prometheus ---------------------------------------------------------------------------------


class PrometheusServer:
    """Debian's ``prometheus`` on loopback, scraping ``targets`` (host:port) every second."""

    def __init__(self, binary: str, storage: Path, targets: list[str]) -> None:
        self.binary = binary
        self.storage = storage
        self.targets = targets
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PrometheusServer:
        self.storage.mkdir(parents=True, exist_ok=True)
        config = self.storage / "prometheus.yml"
        config.write_text(
            json.dumps(
                {  # JSON is YAML, and needs no YAML library here
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "scrape_configs": [{"job_name": "app", "static_configs": [{"targets": self.targets}]}],
                }
            )
        )
        log = (self.storage / "prometheus.log").open("wb")
        self._process = subprocess.Popen(
            [
                self.binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.storage / 'data'}",
                f"--web.listen-address={LOOPBACK}:{self.port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        try:
            self._wait_until(lambda: self._get("/-/ready").startswith("Prometheus"), "ready")
            self._wait_until(lambda: bool(self.query("up == 1")), "scraping its targets")
        except BaseException:
            self.__exit__()
            raise
        return self

    def _get(self, path: str) -> str:
        with urllib.request.urlopen(self.url + path, timeout=2) as answer:
            return str(answer.read().decode())

    def query(self, promql: str) -> list[Any]:
        """The result list of an instant query (for waiting on data in tests)."""
        answer = json.loads(self._get("/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
        return list(answer["data"]["result"])

    def _wait_until(self, ready: Any, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                log = (self.storage / "prometheus.log").read_text(errors="replace")
                raise RuntimeError(f"prometheus exited {self._process.returncode}:\n{log[-2000:]}")
            with contextlib.suppress(OSError, ValueError, KeyError):
                if ready():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"prometheus not {what} within {timeout:g}s")

    def wait_for(self, promql: str, timeout: float = 30.0) -> None:
        """Wait until ``promql`` returns at least one finite sample."""

        def has_data() -> bool:
            return any(sample["value"][1] not in ("NaN", "+Inf", "-Inf") for sample in self.query(promql))

        self._wait_until(has_data, f"returning data for {promql}", timeout)

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


# --- the Kubernetes API -------------------------------------------------------------------------

_OBJECT_PATH = re.compile(
    r"^/(?P<prefix>api/v1|apis/[^/]+/[^/]+)/namespaces/(?P<namespace>[^/]+)/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?$"
)
_REQUIREMENT = re.compile(
    r"\s*(?:(?P<key>[^\s,!=()]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^\s,()]*)"
    r"|(?P<setkey>[^\s,!=()]+)\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\)"
    r"|(?P<bang>!)?(?P<exists>[^\s,!=()]+))\s*(?:,|$)"
)


def selector_matches(selector: str, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy a Kubernetes label selector string."""
    position = 0
    while position < len(selector):
        found = _REQUIREMENT.match(selector, position)
        if found is None or found.end() == position:
            raise ValueError(f"unable to parse requirement: {selector[position:]!r}")
        position = found.end()
        if found["key"] is not None:
            if (labels.get(found["key"]) == found["value"]) != (found["op"] in ("=", "==")):
                return False
        elif found["setkey"] is not None:
            values = {v.strip() for v in found["values"].split(",")}
            inside = found["setkey"] in labels and labels[found["setkey"]] in values
            if inside != (found["setop"] == "in"):
                return False
        elif (found["exists"] in labels) == bool(found["bang"]):
            return False
    return True


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class FakeKubeAPI(_Served):
    """A loopback Kubernetes API over an in-memory store of objects in their real shapes.

    ``put(obj)`` stores an object under the path its apiVersion/kind/namespace/name
    give; ``requests`` records (method, path) pairs and ``patches`` the merge patches
    received; ``stall`` makes every answer wait that long (to test timeouts).
    """

    PLURALS: ClassVar[dict[str, str]] = {
        "Application": "applications",
        "Kustomization": "kustomizations",
        "HelmRelease": "helmreleases",
        "GitRepository": "gitrepositories",
        "Deployment": "deployments",
        "Pod": "pods",
    }

    def __init__(self, token: str = "rollgen-test-token") -> None:
        self.token = token
        self.stall = 0.0
        self.requests: list[tuple[str, str]] = []
        self.patches: list[tuple[str, Any]] = []
        self._objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._objects.clear()
            self.requests.clear()
            self.patches.clear()
            self.stall = 0.0

    def _key(self, obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
        api_version = obj["apiVersion"]
        prefix = "api/v1" if api_version == "v1" else f"apis/{api_version}"
        meta = obj["metadata"]
        return prefix, meta["namespace"], self.PLURALS[obj["kind"]], meta["name"]

    def put(self, *objects: Mapping[str, Any]) -> None:
        with self._lock:
            for obj in objects:
                stored = copy.deepcopy(dict(obj))
                stored["metadata"].setdefault("resourceVersion", "1")
                self._objects[self._key(stored)] = stored

    def get(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """The stored object with the same identity as ``obj``, as it is now."""
        with self._lock:
            return copy.deepcopy(self._objects[self._key(obj)])

    def _answer(self, method: str, raw_path: str, authorization: str | None, body: bytes) -> tuple[int, Any]:
        path, _, query = raw_path.partition("?")
        with self._lock:
            self.requests.append((method, path))
        if authorization != f"Bearer {self.token}":
            return 401, _status(401, "Unauthorized", "Unauthorized")
        found = _OBJECT_PATH.match(path)
        if found is None:
            return 404, _status(404, "NotFound", f"the server could not find the requested resource {path}")
        key = (found["prefix"], found["namespace"], found["plural"], found["name"] or "")
        with self._lock:
            if found["name"] is None and method == "GET":
                selector = urllib.parse.parse_qs(query).get("labelSelector", [""])[0]
                try:
                    items = [
                        copy.deepcopy(obj)
                        for (prefix, ns, plural, _), obj in sorted(self._objects.items())
                        if (prefix, ns, plural) == key[:3]
                        and selector_matches(selector, obj["metadata"].get("labels") or {})
                    ]
                except ValueError as error:
                    return 400, _status(400, "BadRequest", str(error))
                return 200, {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}
            if key not in self._objects:
                return 404, _status(404, "NotFound", f'{found["plural"]} "{found["name"]}" not found')
            if method == "PATCH":
                patch = json.loads(body)
                self.patches.append((path, patch))
                obj = merge_patch(self._objects[key], patch)
                obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
                self._objects[key] = obj
            return 200, copy.deepcopy(self._objects[key])

    def __enter__(self) -> FakeKubeAPI:
        api = self

        class Handler(_Quiet):
            def _serve(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if method == "PATCH" and self.headers.get("Content-Type") != "application/merge-patch+json":
                    status, answer = 415, _status(415, "UnsupportedMediaType", f"{self.headers.get('Content-Type')}")
                else:
                    status, answer = api._answer(method, self.path, self.headers.get("Authorization"), body)
                time.sleep(api.stall)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a timeout test): nothing to tell it

            def do_GET(self) -> None:
                self._serve("GET")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

        self._start(Handler)
        return self

    def write_kubeconfig(self, path: Path, context: str = "fake", token: str | None = None) -> Path:
        """A kubeconfig whose ``context`` points at this server with a bearer token."""
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": context, "cluster": {"server": self.url}}],
                    "users": [{"name": context, "user": {"token": token or self.token}}],
                    "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
                    "current-context": context,
                }
            )
        )
        return path


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


# --- an HTTP endpoint to gate on ----------------------------------------------------------------


class HealthApp(_Served):
    """An HTTP endpoint whose answer (status, body, delay) a test sets; records request headers."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b"ok\n"
        self.content_type = "text/plain"
        self.delay = 0.0
        self.seen_headers: list[Message] = []  # case-insensitive, as HTTP header names are
        self.seen_paths: list[str] = []
        self.seen_bodies: list[bytes] = []
        self.headers: dict[str, str] = {}

    def answer(
        self,
        status: int = 200,
        body: bytes | str | Any = b"ok\n",
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer ``status`` with ``body`` (bytes, text, or anything else as JSON) after ``delay`` s."""
        self.status, self.delay, self.headers = status, delay, dict(headers or {})
        if isinstance(body, bytes):
            self.body, self.content_type = body, "text/plain"
        elif isinstance(body, str):
            self.body, self.content_type = body.encode(), "text/plain"
        else:
            self.body, self.content_type = json.dumps(body).encode(), "application/json"

    def fresh(self) -> HealthApp:
        """Back to answering 200 ``ok``, with nothing seen: a session-wide server handed to one test."""
        self.answer()
        self.seen_headers.clear()
        self.seen_paths.clear()
        self.seen_bodies.clear()
        return self

    def __enter__(self) -> HealthApp:
        app = self

        class Handler(_Quiet):
            def _serve(self) -> None:
                app.seen_headers.append(self.headers)
                app.seen_paths.append(self.path)
                app.seen_bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                time.sleep(app.delay)
                try:
                    self.send_response(app.status)
                    self.send_header("Content-Type", app.content_type)
                    self.send_header("Content-Length", str(len(app.body)))
                    for name, value in app.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(app.body)
                except OSError:
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_HEAD = _serve

        self._start(Handler)
        return self


class StreamingApp(_Served):
    """An endpoint that answers 200 and then sends ``chunk`` every ``every`` seconds, without end.

    ``every=2, chunk=b"x"`` is a server trickling a byte every 2 s; ``every=0`` with a large
    chunk is an endless answer as fast as the client reads. No Content-Length: the body
    ends only when the connection does. ``sent`` counts the bytes written so far.
    """

    def __init__(self, chunk: bytes = b"x", every: float = 2.0) -> None:
        self.chunk, self.every = chunk, every
        self.sent = 0
        self._stop = threading.Event()

    def __enter__(self) -> StreamingApp:
        app = self

        class Handler(_Quiet):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes

            def do_GET(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    while not app._stop.wait(app.every):
                        self.wfile.write(app.chunk)
                        self.wfile.flush()
                        app.sent += len(app.chunk)
                except OSError:
                    pass  # the client hung up: what a bounded client does

            do_POST = do_PATCH = do_PUT = do_GET

        self._start(Handler)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        super().__exit__(*exc)
