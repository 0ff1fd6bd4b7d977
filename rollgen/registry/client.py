"""A small client of the OCI distribution API: list tags, resolve a tag's digest, read a manifest and a blob.

What it speaks:

- ``GET /v2/<name>/tags/list?n=<page>``, following ``Link: <...>; rel="next"``
  (same origin only) until the list ends;
- ``HEAD /v2/<name>/manifests/<tag>`` with every manifest media type in
  ``Accept`` (OCI index and manifest, Docker list and manifest), the digest
  read from ``Docker-Content-Digest`` (a GET hashed locally when a registry
  leaves the header out);
- authentication as registries ask for it: a ``401`` with ``WWW-Authenticate:
  Bearer realm=...,service=...,scope=...`` sends rollgen to the token service
  (with basic credentials when it has some) and the request is repeated with
  the token; ``WWW-Authenticate: Basic`` is answered with basic credentials.

Connections are kept alive (one per origin and thread), every response is
read up to a size bound, and every call shares one deadline. Credentials go
only to the registry's origin and the token service it names; a redirect
to another origin is followed without them. Errors name the registry and
the repository, never a credential.

Loopback registries (``localhost``, ``127.0.0.0/8``, ``[::1]``) are spoken
to over plain HTTP, as Docker does; every other registry over HTTPS.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

from rollgen.errors import RollgenError
from rollgen.registry.credentials import Credentials

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
PAGE_SIZE = 1000
MAX_BODY = 8 * 1024 * 1024  # a tag page or a manifest; a token answer is far smaller
MAX_PAGES = 1000
_MAX_REDIRECTS = 5
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_NEXT = re.compile(r"<([^>]*)>\s*;\s*rel=\"?next\"?")
_PARAM = re.compile(r"(\w+)=\"([^\"]*)\"|(\w+)=([^\s,]+)")
_DOCKER_HUB = "docker.io"


class RegistryError(RollgenError):
    """The registry refused, failed or answered something rollgen cannot read."""


@dataclass(frozen=True)
class ImageName:
    """``registry`` (``host[:port]``) and ``repository`` of an image reference without tag.

    >>> ImageName.parse("ghcr.io/stefanprodan/podinfo")
    ImageName(registry='ghcr.io', repository='stefanprodan/podinfo')
    >>> ImageName.parse("nginx")
    ImageName(registry='docker.io', repository='library/nginx')
    >>> ImageName.parse("127.0.0.1:5000/web")
    ImageName(registry='127.0.0.1:5000', repository='web')
    """

    registry: str
    repository: str

    @classmethod
    def parse(cls, image: str) -> ImageName:
        first, sep, rest = image.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"):
            return cls(first, rest)
        return cls(_DOCKER_HUB, image if sep else f"library/{image}")

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the registry's API."""
        host = "registry-1.docker.io" if self.registry == _DOCKER_HUB else self.registry
        return f"{'http' if _loopback(host) else 'https'}://{host}"


@dataclass(frozen=True)
class _Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


class RegistryClient:
    """One registry's API; safe to share between threads (each keeps its own connections).

    ``deadline`` is a ``time.monotonic()`` value every call must finish by.
    """

    def __init__(
        self, name: ImageName, credentials: Credentials | None, *, deadline: float, page_size: int = PAGE_SIZE
    ) -> None:
        self.name = name
        self._origin = name.origin
        self._credentials = credentials
        self._deadline = deadline
        self._page_size = page_size
        self._tokens: dict[str, str] = {}  # scope -> bearer token
        self._basic = False  # the registry asked for basic credentials once: send them up front
        self._lock = threading.Lock()
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []

    def tags(self, repository: str) -> list[str]:
        """Every tag of ``repository``, across all pages."""
        url = f"{self._origin}/v2/{repository}/tags/list?{urlencode({'n': self._page_size})}"
        tags: list[str] = []
        for _ in range(MAX_PAGES):
            response = self._request("GET", url, repository, {"Accept": "application/json"})
            self._expect(response, 200, f"listing the tags of {repository}")
            try:
                page = json.loads(response.body)
                names = page.get("tags") or []
            except (ValueError, AttributeError):
                raise self._error(f"listing the tags of {repository}: the answer is not a tag list") from None
            tags.extend(t for t in names if isinstance(t, str))
            found = _NEXT.search(response.headers.get("link", ""))
            if found is None:
                return tags
            url = urljoin(url, found[1])
            if _origin(url) != self._origin:
                raise self._error(f"listing the tags of {repository}: the next page is on another host")
        raise self._error(f"listing the tags of {repository}: more than {MAX_PAGES} pages")

    def digest(self, repository: str, tag: str) -> str:
        """The digest the tag points at now (of the index for a multi-platform image)."""
        url = f"{self._origin}/v2/{repository}/manifests/{tag}"
        headers = {"Accept": ", ".join(MANIFEST_TYPES)}
        response = self._request("HEAD", url, repository, headers)
        self._expect(response, 200, f"resolving {repository}:{tag}")
        digest = response.headers.get("docker-content-digest", "")
        if not digest:
            response = self._request("GET", url, repository, headers)
            self._expect(response, 200, f"resolving {repository}:{tag}")
            digest = "sha256:" + hashlib.sha256(response.body).hexdigest()
        if not _DIGEST.fullmatch(digest):
            raise self._error(f"resolving {repository}:{tag}: the registry gave no sha256 digest")
        return digest

    def manifest(self, repository: str, tag: str) -> tuple[bytes, str]:
        """The OCI image manifest ``tag`` points at and its digest (an artifact's: a Helm chart's)."""
        url = f"{self._origin}/v2/{repository}/manifests/{tag}"
        response = self._request("GET", url, repository, {"Accept": MANIFEST_TYPES[1]})
        self._expect(response, 200, f"reading the manifest of {repository}:{tag}")
        digest = "sha256:" + hashlib.sha256(response.body).hexdigest()
        given = response.headers.get("docker-content-digest")
        if given and given != digest:
            raise self._error(f"reading the manifest of {repository}:{tag}: its digest is not {given}")
        return response.body, digest

    def blob(self, repository: str, digest: str) -> bytes:
        """The blob ``digest`` names, checked against it (at most MAX_BODY bytes)."""
        if not _DIGEST.fullmatch(digest):
            raise self._error(f"reading a blob of {repository}: {digest!r} is no sha256 digest")
        url = f"{self._origin}/v2/{repository}/blobs/{digest}"
        response = self._request("GET", url, repository, {"Accept": "*/*"})
        self._expect(response, 200, f"reading blob {digest} of {repository}")
        if "sha256:" + hashlib.sha256(response.body).hexdigest() != digest:
            raise self._error(f"reading blob {digest} of {repository}: the bytes do not match the digest")
        return response.body

    def close(self) -> None:
        """Close every connection (of every thread); call once the threads are done."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()

    def _request(self, method: str, url: str, repository: str, headers: dict[str, str]) -> _Response:
        scope = f"repository:{repository}:pull"
        answered = False  # one challenge answered per request: a token that expired is renewed once, not forever
        for _ in range(_MAX_REDIRECTS + 2):
            same_origin = _origin(url) == self._origin
            sent = dict(headers)
            if same_origin:
                token = self._tokens.get(scope)
                if token is not None:
                    sent["Authorization"] = f"Bearer {token}"
                elif self._credentials is not None and self._basic:
                    sent["Authorization"] = self._credentials.basic()
            response = self._send(method, url, sent)
            if (
                response.status == 401
                and same_origin
                and not answered
                and self._authenticate(response.headers.get("www-authenticate", ""), scope)
            ):
                answered = True
                continue
            if response.status in (301, 302, 303, 307, 308) and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            return response
        raise self._error(f"too many redirects for {urlsplit(url).path}")

    def _authenticate(self, challenge: str, scope: str) -> bool:
        """Answer a 401's challenge; True when the request should be sent again."""
        scheme, _, rest = challenge.strip().partition(" ")
        if scheme.lower() == "basic":
            if self._credentials is None:
                return False
            self._basic = True
            return True
        if scheme.lower() != "bearer":
            return False
        params = {m[0] or m[2]: m[1] or m[3] for m in _PARAM.findall(rest)}
        realm = params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise self._error("the registry asked for a token without a valid realm")
        query = {"service": params["service"]} if "service" in params else {}
        token_url = f"{realm}{'&' if '?' in realm else '?'}{urlencode({**query, 'scope': params.get('scope', scope)})}"
        headers = {"Accept": "application/json"}
        if self._credentials is not None:
            headers["Authorization"] = self._credentials.basic()
        response = self._send("GET", token_url, headers)
        if response.status != 200:
            raise self._error(f"the token service refused ({response.status}): check the registry credentials")
        try:
            answer = json.loads(response.body)
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise self._error("the token service answered without a token")
        with self._lock:
            self._tokens[scope] = token
        return True

    def _send(self, method: str, url: str, headers: dict[str, str]) -> _Response:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._error("no answer within the deadline")
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        connections: dict[str, http.client.HTTPConnection] = self._local.__dict__.setdefault("connections", {})
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile gets one fresh retry
            connection = connections.get(key)
            if connection is None:
                kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
                connection = connections[key] = kind(parts.netloc, timeout=remaining)
                with self._lock:
                    self._opened.append(connection)
            connection.timeout = remaining
            if connection.sock is not None:
                connection.sock.settimeout(remaining)
            try:
                connection.request(method, target, headers={**headers, "User-Agent": "rollgen"})
                response = connection.getresponse()
                body = response.read(MAX_BODY + 1)  # a HEAD answer reads as b"" and frees the connection
                if len(body) > MAX_BODY:
                    connection.close()
                    del connections[key]
                    raise self._error(f"an answer larger than {MAX_BODY} bytes from {parts.netloc}")
                return _Response(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                connection.close()
                del connections[key]
                if attempt == 2:
                    raise self._error(f"{parts.netloc} closed the connection ({type(exc).__name__})") from None
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                del connections[key]
                raise self._error(f"cannot reach {parts.netloc}: {type(exc).__name__}") from None
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _expect(self, response: _Response, status: int, doing: str) -> None:
        if response.status == status:
            return
        if response.status in (401, 403):
            hint = "check the registry credentials (Docker config or ROLLGEN_REGISTRY_*)"
        elif response.status == 404:
            hint = "check spec.image and the tag"
        else:
            hint = "try again later"
        raise self._error(f"{doing}: HTTP {response.status}; {hint}")

    def _error(self, message: str) -> RegistryError:
        return RegistryError(f"registry {self.name.registry}: {message}")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]", 1)[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
