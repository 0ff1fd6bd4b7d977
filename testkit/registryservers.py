"""A real container registry on loopback for detection tests (and ``bench/detect.py``).

Debian's ``docker-registry`` (the CNCF distribution registry) runs on a free
port with its storage in a temporary directory, over plain HTTP, optionally
behind ``htpasswd`` basic auth (bcrypt)::

    with docker_registry(tmp_path / "registry") as registry:
        push_tags(registry, "team/web", ["1.0.0", "1.1.0"])

For the bearer-token flow, :func:`token_gate` puts a reverse proxy in front
of a registry: requests without a valid token get ``401`` with
``WWW-Authenticate: Bearer realm=...,service=...,scope=...``; the proxy's
``/token`` endpoint issues a random token after checking basic credentials;
requests with a token are forwarded. (docker-registry's own ``auth: token``
needs JWTs signed with a certificate chain; the proxy exercises the same
client-side flow without a PKI.) docker-registry 2.8 ignores ``n`` on
``tags/list`` and returns every tag at once; the proxy pages the list by
``n`` and ``last`` with a ``Link: <...>; rel="next"`` header, as registries
that paginate tags (distribution 3, GHCR, Harbor) do.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from testkit.gateservers import free_port, serving, url_of
from testkit.tools import require_tool

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class Registry:
    """A running registry: ``host`` is ``127.0.0.1:PORT``; ``auth`` an Authorization header for pushes."""

    host: str
    storage: Path
    auth: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}"


@contextmanager
def docker_registry(
    base: Path, *, users: dict[str, str] | None = None, ready_within: float = 20.0
) -> Iterator[Registry]:
    """Run docker-registry until the block ends; ``users`` turns on htpasswd auth (bcrypt)."""
    program = require_tool("docker-registry")
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = [
        "version: 0.1",
        "log: {level: error, accesslog: {disabled: true}}",
        f"storage: {{filesystem: {{rootdirectory: {base / 'data'}}}, delete: {{enabled: true}}}}",
        f"http: {{addr: '127.0.0.1:{port}', secret: {secrets.token_hex(16)}}}",
    ]
    auth = None
    if users:
        import bcrypt

        lines = [f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=4)).decode()}" for u, p in users.items()]
        (base / "htpasswd").write_text("\n".join(lines) + "\n")
        config.append(f"auth: {{htpasswd: {{realm: rollgen-test, path: {base / 'htpasswd'}}}}}")
        user, password = next(iter(users.items()))
        auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    (base / "config.yml").write_text("\n".join(config) + "\n")
    log = (base / "registry.log").open("wb")
    proc = subprocess.Popen([program, "serve", str(base / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    try:
        registry = Registry(f"127.0.0.1:{port}", base / "data", auth)
        _wait_ready(proc, registry, ready_within, base / "registry.log")
        yield registry
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(proc: subprocess.Popen[bytes], registry: Registry, within: float, log: Path) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection(registry.host, timeout=1)
            connection.request("GET", "/v2/")
            status = connection.getresponse().status
            connection.close()
            if status in (200, 401):
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"docker-registry did not answer within {within}s: {log.read_text()[-2000:]}")


class Pusher:
    """Pushes images through the registry API (blob upload, manifest PUT), one kept-alive connection."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.connection = http.client.HTTPConnection(registry.host, timeout=30)

    def close(self) -> None:
        self.connection.close()

    def call(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
        sent = dict(headers or {})
        if self.registry.auth:
            sent["Authorization"] = self.registry.auth
        self.connection.request(method, path, body=body, headers=sent)
        response = self.connection.getresponse()
        data = response.read()
        if response.status >= 300:
            raise AssertionError(f"{method} {path}: {response.status} {data[:300]!r}")
        return response

    def blob(self, repository: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        location = self.call("POST", f"/v2/{repository}/blobs/uploads/").getheader("Location")
        target = location.split(self.registry.host, 1)[-1]
        self.call(
            "PUT",
            f"{target}{'&' if '?' in target else '?'}digest={digest}",
            data,
            {"Content-Type": "application/octet-stream"},
        )
        return digest

    def image(self, repository: str, label: str) -> bytes:
        """An OCI manifest (config + one layer) unique to ``label``, its blobs uploaded."""
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Labels": {"v": label}},
                "rootfs": {"type": "layers", "diff_ids": []},
            }
        ).encode()
        layer = f"layer of {label}\n".encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": self.blob(repository, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": self.blob(repository, layer),
                    "size": len(layer),
                }
            ],
        }
        return json.dumps(manifest).encode()

    def tag(self, repository: str, tag: str, manifest: bytes) -> str:
        response = self.call("PUT", f"/v2/{repository}/manifests/{tag}", manifest, {"Content-Type": OCI_MANIFEST})
        return str(response.getheader("Docker-Content-Digest"))


def push_tags(registry: Registry, repository: str, tags: list[str], *, label: str | None = None) -> dict[str, str]:
    """Tag one image (unique to ``label``, default the repository) under every tag; ``{tag: digest}``."""
    pusher = Pusher(registry)
    try:
        manifest = pusher.image(repository, label or repository)
        return {tag: pusher.tag(repository, tag, manifest) for tag in tags}
    finally:
        pusher.close()


@dataclass
class TokenGate:
    """What the token proxy saw: the URL clients use, and every Authorization header it received."""

    url: str = ""
    username: str = ""
    password: str = ""
    tokens: set[str] = field(default_factory=set)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")


@contextmanager
def token_gate(registry: Registry, username: str, password: str) -> Iterator[TokenGate]:
    """A reverse proxy demanding bearer tokens (issued at ``/token`` after basic auth) in front of ``registry``."""
    gate = TokenGate(username=username, password=password)
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real registry front does

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            authorization = self.headers.get("Authorization", "")
            gate.paths.append(self.path)
            gate.authorizations.append(authorization)
            if self.path.startswith("/token"):
                from urllib.parse import parse_qs, urlsplit

                gate.token_requests.append({k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()})
                if authorization != expected:
                    self._reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"Content-Type": "application/json"})
                    return
                token = secrets.token_urlsafe(24)
                gate.tokens.add(token)
                self._reply(200, json.dumps({"token": token}).encode(), {"Content-Type": "application/json"})
                return
            if authorization.removeprefix("Bearer ") not in gate.tokens:
                name = self.path.split("/v2/", 1)[-1].rsplit("/tags/", 1)[0].rsplit("/manifests/", 1)[0]
                challenge = f'Bearer realm="{gate.url}/token",service="rollgen-test",scope="repository:{name}:pull"'
                self._reply(
                    401,
                    b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                    {"Content-Type": "application/json", "WWW-Authenticate": challenge},
                )
                return
            # Forwarded with the registry's own credentials (when it has htpasswd on), never the client's;
            # a tag list is asked for whole and paged here (see _paginate).
            upstream = {"Accept": self.headers.get("Accept") or "*/*"}
            if registry.auth:
                upstream["Authorization"] = registry.auth
            target = self.path.partition("?")[0] if "/tags/list" in self.path else self.path
            request = urllib.request.Request(registry.url + target, method=self.command, headers=upstream)
            try:
                answer = urllib.request.urlopen(request, timeout=30)
            except urllib.error.HTTPError as refused:  # relay the registry's own errors (404...)
                answer = refused
            with answer:
                body = answer.read()
                keep = {
                    k: v
                    for k, v in answer.headers.items()
                    if k.lower() in ("content-type", "link", "docker-content-digest")
                }
            if answer.status == 200 and "/tags/list" in self.path:
                body = _paginate(self.path, body, keep)
            self._reply(answer.status, body, keep)

        do_HEAD = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as server:
        gate.url = url_of(server)
        yield gate


def copy_tags(registry: Registry, repository: str, digest: str, tags: list[str]) -> None:
    """Point many more tags at a manifest already pushed, by writing the registry's tag links.

    A manifest PUT per tag costs ~25 ms; a benchmark needs 100,000 tags. The
    registry keeps a tag as two link files naming the manifest digest (its
    filesystem driver's layout), and lists and resolves tags from them alone.
    """
    root = registry.storage / "docker/registry/v2/repositories" / repository / "_manifests/tags"
    algorithm, hex_digest = digest.split(":")
    for tag in tags:
        current = root / tag / "current"
        index = root / tag / "index" / algorithm / hex_digest
        current.mkdir(parents=True, exist_ok=True)
        index.mkdir(parents=True, exist_ok=True)
        (current / "link").write_text(digest)
        (index / "link").write_text(digest)


def link_repository(registry: Registry, source: str, target: str) -> None:
    """A new repository sharing ``source``'s blobs and manifests (no tags yet: give it some with copy_tags).

    Its layer and revision links are symlinks to ``source``'s, so a test can
    hold hundreds of repositories, each with its own tags, for one push.
    """
    root = registry.storage / "docker/registry/v2/repositories"
    (root / target / "_manifests").mkdir(parents=True)
    (root / target / "_layers").symlink_to(root / source / "_layers", target_is_directory=True)
    (root / target / "_manifests" / "revisions").symlink_to(
        root / source / "_manifests" / "revisions", target_is_directory=True
    )


def _paginate(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One page of a full tag list: at most ``n`` tags after ``last`` (sorted), and a next link when more remain."""
    from urllib.parse import parse_qs, urlencode, urlsplit

    parts = urlsplit(path)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if "n" not in query:
        return body
    listing = json.loads(body)
    tags = sorted(t for t in listing.get("tags") or [] if t > query.get("last", ""))
    page = tags[: int(query["n"])]
    if len(tags) > len(page):
        headers["Link"] = f'<{parts.path}?{urlencode({"n": query["n"], "last": page[-1]})}>; rel="next"'
    return json.dumps({"name": listing["name"], "tags": page}).encode()


def skopeo_push(registry: Registry, repository: str, tag: str, work: Path) -> str:
    """Build a one-layer OCI image layout in ``work`` and push it with skopeo; returns the pushed digest."""
    import io
    import tarfile

    program = require_tool("skopeo")
    layout = work / "layout"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes) -> dict[str, Any]:
        hex_digest = hashlib.sha256(data).hexdigest()
        (blobs / hex_digest).write_bytes(data)
        return {"digest": f"sha256:{hex_digest}", "size": len(data)}

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        content = f"{repository}:{tag}\n".encode()
        info = tarfile.TarInfo("version.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    layer_blob = blob(layer.getvalue())
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer_blob["digest"]]}}
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(json.dumps(config).encode())},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer_blob}],
    }
    entry = {"mediaType": OCI_MANIFEST, **blob(json.dumps(manifest).encode())}
    entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    authfile = work / "auth.json"
    auths = {registry.host: {"auth": registry.auth.removeprefix("Basic ")}} if registry.auth else {}
    authfile.write_text(json.dumps({"auths": auths}))
    digestfile = work / "digest"
    subprocess.run(
        [
            program,
            "--insecure-policy",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            "--dest-authfile",
            str(authfile),
            "--digestfile",
            str(digestfile),
            f"oci:{layout}:{tag}",
            f"docker://{registry.host}/{repository}:{tag}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return digestfile.read_text().strip()
