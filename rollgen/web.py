"""One bounded HTTP request, as the http and prometheus gates and the forge client make it (stdlib only).

Bounded three ways, because the other end may be broken or hostile:

- **time**: ``timeout`` is a deadline for the whole exchange (connecting,
  every redirect, the headers and the last byte of the body). A server that
  trickles a byte every second cannot hold the caller past it: a watchdog shuts
  the connection down when the deadline passes.
- **size**: at most ``limit`` bytes of body are read; a larger answer is an
  error, never a silent truncation that would be judged as if it were whole.
- **where credentials go**: a redirect is followed only to the same origin
  (scheme, host and port), so the headers (``Authorization``, API keys) are
  never sent to another host; any other redirect is an error.

A URL's userinfo (``https://user:pass@host``) becomes a basic ``Authorization``
header and never travels in the URL. Every error message is redacted
(:func:`rollgen.redact.redact`) of the URL's credentials and the header values.
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from rollgen.errors import RollgenError
from rollgen.redact import redact

# A health answer or a query result is small; reading more would only let a
# misbehaving endpoint stall the caller or fill memory.
MAX_BODY = 1 << 20

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")  # no CR, LF, NUL or other control characters
_CHUNK = 64 * 1024


class WebError(RollgenError):
    """No usable HTTP answer: unreachable, too slow, too large, a refused redirect, a bad URL."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    """The answer's headers, names in lower case (``retry-after``)."""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url``: what must not change for credentials to follow.

    >>> origin("https://Prom.example/api"), origin("http://127.0.0.1:9090/x")
    (('https', 'prom.example', 443), ('http', '127.0.0.1', 9090))
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def check_headers(headers: Mapping[str, str]) -> None:
    """Refuse a header that cannot go on the wire, naming it but never showing its value."""
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise WebError(f"header name {redact(name)!r} is not a valid HTTP header name")
        if not _HEADER_VALUE.fullmatch(value):
            raise WebError(
                f"header {name}: its value holds a line break, a control character or a character "
                "outside Latin-1, which cannot be sent (value not shown)"
            )


def _without_userinfo(parts: SplitResult) -> tuple[str, str | None]:
    """The URL without its userinfo, and the basic Authorization value it stood for."""
    if parts.username is None:
        return urlunsplit(parts), None
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return urlunsplit(parts._replace(netloc=netloc)), "Basic " + base64.b64encode(pair.encode()).decode()


class _Deadline:
    """Shuts the request's connections down once ``seconds`` have passed, unblocking any read."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(0.001, self.at - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        # A duplicate of the descriptor: shutting it down ends the same connection, and it
        # stays valid even after the HTTP layer closed its own (no reuse of a closed fd).
        with self._lock:
            self._sockets.append(sock.dup())
            if self.expired:
                _shut(self._sockets[-1])

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer: nothing left to unblock
        sock.shutdown(socket.SHUT_RDWR)


def _opener(deadline: _Deadline, follow_redirects: bool, shown: str) -> Any:
    import http.client
    import urllib.request

    def watched(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
        class Watched(base):  # type: ignore[valid-type,misc]
            def connect(self) -> None:
                create: Any = getattr(self, "_create_connection")  # noqa: B009 (private in the stubs)

                def create_watched(*args: Any, **kwargs: Any) -> socket.socket:
                    sock: socket.socket = create(*args, **kwargs)
                    deadline.watch(sock)
                    return sock

                self._create_connection = create_watched
                super().connect()

        return Watched

    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(watched(http.client.HTTPConnection), req)

    class HTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(watched(http.client.HTTPSConnection), req, context=getattr(self, "_context", None))

    class SameOrigin(urllib.request.HTTPRedirectHandler):
        def redirect_request(
            self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
        ) -> urllib.request.Request | None:
            if not follow_redirects:
                return None  # the 3xx answer is returned to the caller as it is
            if origin(newurl) != origin(req.full_url):
                raise WebError(
                    f"{shown}: redirected (HTTP {code}) to another origin, {redact(newurl)}: not followed, so "
                    "no credential reaches another host; point the gate at the final URL"
                )
            followed: urllib.request.Request | None = super().redirect_request(req, fp, code, msg, headers, newurl)
            if followed is not None:
                followed.timeout = deadline.remaining()
            return followed

    return urllib.request.build_opener(HTTP, HTTPS, SameOrigin)


def fetch(
    url: str,
    *,
    timeout: float,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
    limit: int = MAX_BODY,
    follow_redirects: bool = True,
    secrets: tuple[str, ...] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> Response:
    """The status and body of ``url``; WebError when there is no whole answer within ``timeout`` s.

    An HTTP error status is an answer, not an exception: the caller judges it.
    ``secrets`` are redacted from error messages on top of the header values.
    A connection that could not be made (refused, no such host yet: a server
    restarting, a network blip) is tried again after 0.25 s, then twice as
    long each time, within ``timeout``; nothing was sent, so any method is safe
    to repeat. Anything after the connection is made is not retried.
    """
    import http.client
    import urllib.error
    import urllib.request

    headers = dict(headers or {})
    hidden = (*secrets, *headers.values())
    shown = f"{method} {redact(url, secrets=hidden)}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a malformed port raises here rather than mid-request)
    except ValueError as error:
        raise WebError(f"{shown}: {redact(str(error), secrets=hidden)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebError(f"{redact(url, secrets=hidden)!r} is not an http:// or https:// URL")
    url, basic = _without_userinfo(parts)
    if basic is not None:
        if any(name.lower() == "authorization" for name in headers):
            raise WebError(f"{shown}: credentials both in the URL and in an Authorization header; keep one")
        headers["Authorization"] = basic
        hidden = (*hidden, basic)
    check_headers(headers)
    deadline = _Deadline(timeout)
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    too_slow = f"{shown}: no answer within {timeout:g}s"
    try:
        try:
            answer = _connect(deadline, follow_redirects, shown, request, sleep)
            status = int(answer.status)
        except urllib.error.HTTPError as error_answer:
            answer, status = error_answer, error_answer.code
        with answer:
            body = _read(answer, limit, deadline, shown)
            return Response(status, body, {name.lower(): value for name, value in answer.headers.items()})
    except WebError as error:
        raise WebError(redact(str(error), secrets=hidden)) from None
    except TimeoutError:
        raise WebError(too_slow) from None
    except urllib.error.URLError as error:
        if deadline.expired or isinstance(error.reason, TimeoutError):
            raise WebError(too_slow) from None
        raise WebError(f"{shown}: {redact(str(error.reason), secrets=hidden)}") from None
    except (OSError, ValueError, http.client.HTTPException) as error:  # resets, malformed answers, a cut connection
        if deadline.expired:
            raise WebError(too_slow) from None
        raise WebError(f"{shown}: {redact(str(error), secrets=hidden)}") from None
    finally:
        deadline.close()


_RETRY_FIRST: Final = 0.25


def _connect(
    deadline: _Deadline,
    follow_redirects: bool,
    shown: str,
    request: Any,
    sleep: Callable[[float], None],
) -> Any:
    """Open ``request``; a connection refused or a host not found is tried again while the deadline allows."""
    import urllib.error

    wait = _RETRY_FIRST
    while True:
        try:
            return _opener(deadline, follow_redirects, shown).open(request, timeout=deadline.remaining())
        except urllib.error.URLError as error:
            unreachable = isinstance(error.reason, (ConnectionRefusedError, socket.gaierror))
            if not unreachable or isinstance(error, urllib.error.HTTPError) or wait >= deadline.remaining():
                raise
        sleep(wait)
        wait *= 2


def _read(answer: Any, limit: int, deadline: _Deadline, shown: str) -> bytes:
    """At most ``limit`` bytes of ``answer``'s body, chunk by chunk; WebError beyond that."""
    declared = answer.headers.get("Content-Length")
    length = int(declared) if declared is not None and declared.isdigit() else None
    if length is not None and length > limit:
        raise WebError(f"{shown}: the answer is {length} bytes, more than the {limit} this request reads")
    chunks: list[bytes] = []
    size = 0
    for chunk in _chunks(answer):
        size += len(chunk)
        if size > limit:
            raise WebError(f"{shown}: the answer is larger than the {limit} bytes this request reads")
        chunks.append(chunk)
    # The watchdog ends a slow answer by closing the connection, which reads as an early end.
    if deadline.expired:
        raise TimeoutError
    if length is not None and size != length:
        raise WebError(f"{shown}: the connection closed after {size} of {length} bytes")
    return b"".join(chunks)


def _chunks(answer: Any) -> Iterator[bytes]:
    # read1 returns what has arrived (at most _CHUNK), so the size is checked as bytes come in.
    while chunk := answer.read1(_CHUNK):
        yield chunk
