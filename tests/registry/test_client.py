"""The OCI distribution client against Debian's docker-registry: pagination, token flow, basic auth, digests."""

from __future__ import annotations

import base64
import contextlib
import json
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from rollgen.errors import UsageError
from rollgen.registry import credentials
from rollgen.registry.client import ImageName, RegistryClient, RegistryError
from rollgen.registry.credentials import Credentials
from testkit.registryservers import Registry, copy_tags, docker_registry, push_tags, token_gate

FILLER = [f"build-{i}" for i in range(250)]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with docker_registry(tmp_path_factory.mktemp("registry")) as served:
        digest = push_tags(served, "team/web", ["1.0.0"])["1.0.0"]
        copy_tags(served, "team/web", digest, FILLER)
        push_tags(served, "team/web", ["1.2.0"], label="the 1.2.0 build")
        yield served


def _client(host: str, creds: Credentials | None = None, *, page_size: int = 1000) -> RegistryClient:
    return RegistryClient(
        ImageName.parse(f"{host}/team/web"), creds, deadline=time.monotonic() + 30, page_size=page_size
    )


def test_tags_follow_link_pages_and_the_token_flow(registry: Registry) -> None:
    with token_gate(registry, "alice", "s3cret-pass") as gate:
        client = _client(gate.host, Credentials("alice", "s3cret-pass"), page_size=40)
        try:
            tags = client.tags("team/web")
        finally:
            client.close()
    assert sorted(tags) == sorted([*FILLER, "1.0.0", "1.2.0"])
    assert len(tags) == len(set(tags))
    pages = [p for p in gate.paths if "/tags/list" in p]
    assert len(pages) == 1 + -(-252 // 40)  # the first page twice (401, then with the token), then one per page
    assert gate.token_requests == [{"service": "rollgen-test", "scope": "repository:team/web:pull"}]
    # The basic credentials went to the token endpoint only; the registry API saw the bearer token.
    basic = "Basic " + base64.b64encode(b"alice:s3cret-pass").decode()
    assert [p for p, a in zip(gate.paths, gate.authorizations, strict=True) if a == basic] == [gate.paths[1]]
    assert gate.paths[1].startswith("/token?")


def test_wrong_token_credentials_fail_without_echoing_them(registry: Registry) -> None:
    with token_gate(registry, "alice", "right") as gate:
        client = _client(gate.host, Credentials("alice", "wrong-password-123"))
        with pytest.raises(RegistryError, match="token service refused") as failure:
            client.tags("team/web")
        client.close()
    assert "wrong-password-123" not in str(failure.value)
    assert repr(Credentials("alice", "wrong-password-123")) == "Credentials(username='alice')"


def test_digest_is_the_tags_manifest(registry: Registry) -> None:
    pushed = push_tags(registry, "team/web", ["1.2.0"], label="the 1.2.0 build")["1.2.0"]
    client = _client(registry.host)
    try:
        assert client.digest("team/web", "1.2.0") == pushed
        assert client.digest("team/web", "1.0.0") != pushed
        with pytest.raises(RegistryError, match=r"HTTP 404; check spec\.image"):
            client.digest("team/web", "9.9.9")
    finally:
        client.close()


def test_basic_auth_with_htpasswd(tmp_path: Path) -> None:
    with docker_registry(tmp_path / "registry", users={"bob": "hunter2-pw"}) as served:
        push_tags(served, "team/web", ["3.0.0"])
        anonymous = _client(served.host)
        with pytest.raises(RegistryError, match="HTTP 401; check the registry credentials"):
            anonymous.tags("team/web")
        anonymous.close()
        client = _client(served.host, Credentials("bob", "hunter2-pw"))
        try:
            assert client.tags("team/web") == ["3.0.0"]
        finally:
            client.close()


def test_credentials_from_env_docker_config_and_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"ROLLGEN_REGISTRY_HOST": "reg.example", "ROLLGEN_REGISTRY_USERNAME": "u", "ROLLGEN_REGISTRY_PASSWORD": "p"}
    assert credentials.lookup("reg.example", env) == Credentials("u", "p")
    assert credentials.lookup("other.example", {**env, "HOME": str(tmp_path)}) is None  # never sent elsewhere
    with pytest.raises(UsageError, match="together"):
        credentials.lookup("reg.example", {"ROLLGEN_REGISTRY_USERNAME": "u"})

    helper = tmp_path / "bin" / "docker-credential-rgtest"
    helper.parent.mkdir()
    # A real helper program: reads the host on stdin, answers for one registry only.
    helper.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 3\n'
        "read host\n"
        'if [ "$host" = helped.example ]; then echo \'{"Username":"h","Secret":"from-helper"}\'; '
        "else echo 'credentials not found in native keychain' >&2; exit 1; fi\n"
    )
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{helper.parent}:{Path('/usr/bin')}:{Path('/bin')}")
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text(
        json.dumps(
            {
                "auths": {"https://saved.example:5000/": {"auth": base64.b64encode(b"s:from-auths").decode()}},
                "credHelpers": {"helped.example": "rgtest"},
                "credsStore": "rgtest",
            }
        )
    )
    docker = {"DOCKER_CONFIG": str(config)}
    assert credentials.lookup("saved.example:5000", docker) == Credentials("s", "from-auths")
    assert credentials.lookup("helped.example", docker) == Credentials("h", "from-helper")
    assert credentials.lookup("unknown.example", docker) is None  # the store has nothing: anonymous
    (config / "config.json").write_text(json.dumps({"credHelpers": {"helped.example": "absent"}}))
    with pytest.raises(UsageError, match=r"docker-credential-absent .* not on PATH"):
        credentials.lookup("helped.example", docker)


class _Odd(BaseHTTPRequestHandler):
    """A registry that misbehaves on purpose: redirects away, answers too much, never answers, pages elsewhere."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[int, str, str]]] = []
    other_port: ClassVar[int] = 0

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        self.seen.append((port, self.path, self.headers.get("Authorization", "")))
        if self.path.startswith("/v2/away/") and "Authorization" not in self.headers:
            self._send(401, b"", {"WWW-Authenticate": 'Basic realm="odd"'})
        elif self.path.startswith("/v2/away/"):
            self._send(307, b"", {"Location": f"http://127.0.0.1:{self.other_port}/v2/landed/tags/list"})
        elif self.path.startswith("/v2/landed/"):
            self._send(200, b'{"tags": ["1.0.0"]}', {})
        elif self.path.startswith("/v2/huge/"):
            self._send(200, b'{"tags": ["' + b"x" * (9 * 1024 * 1024) + b'"]}', {})
        elif self.path.startswith("/v2/slow/"):
            time.sleep(3)
            self._send(200, b'{"tags": []}', {})
        else:  # /v2/elsewhere/: the next page is on another host
            link = f'<http://127.0.0.1:{self.other_port}/v2/elsewhere/tags/list?last=a>; rel="next"'
            self._send(200, b'{"tags": ["a"]}', {"Link": link})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up: its deadline passed
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def odd() -> Iterator[tuple[str, int]]:
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Odd) for _ in range(2)]
    _Odd.seen.clear()
    _Odd.other_port = servers[1].server_address[1]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield f"127.0.0.1:{servers[0].server_address[1]}", servers[1].server_address[1]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_misbehaving_registries_are_bounded(odd: tuple[str, int]) -> None:
    host, other = odd
    client = RegistryClient(ImageName.parse(f"{host}/x"), Credentials("u", "pw-xyz"), deadline=time.monotonic() + 30)
    try:
        assert client.tags("away") == ["1.0.0"]
        # Basic credentials after the challenge; the redirect to another origin was followed without them.
        seen = [(port == other, auth != "") for port, _, auth in _Odd.seen]
        assert seen == [(False, False), (False, True), (True, False)]
        with pytest.raises(RegistryError, match="larger than"):
            client.tags("huge")
        with pytest.raises(RegistryError, match="next page is on another host"):
            client.tags("elsewhere")
    finally:
        client.close()
    hurried = RegistryClient(ImageName.parse(f"{host}/x"), None, deadline=time.monotonic() + 0.5)
    started = time.monotonic()
    with pytest.raises(RegistryError, match=r"cannot reach .*TimeoutError"):
        hurried.tags("slow")
    assert time.monotonic() - started < 2
    hurried.close()


def test_an_expired_token_is_renewed_once(registry: Registry) -> None:
    with token_gate(registry, "alice", "s3cret-pass") as gate:
        client = _client(gate.host, Credentials("alice", "s3cret-pass"))
        try:
            assert "1.2.0" in client.tags("team/web")
            gate.tokens.clear()  # the token service forgets every token it issued: they expired
            assert client.digest("team/web", "1.2.0").startswith("sha256:")
        finally:
            client.close()
    assert len(gate.token_requests) == 2
