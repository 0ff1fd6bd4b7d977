"""The one bounded HTTP request the gates and the forge make, against real loopback servers."""

from __future__ import annotations

import base64
import time

import pytest

from rollgen.web import WebError, fetch
from testkit.gateservers import HealthApp, StreamingApp

SECRET = "s3cr3t-Value-42"


def test_a_same_origin_redirect_is_followed_with_the_headers(health_app: HealthApp) -> None:
    health_app.answer(302, b"", headers={"Location": "/moved"})
    # After the redirect the same server answers 302 again: follow only until the loop cap.
    answer = fetch(health_app.url + "/old", timeout=5, headers={"Authorization": f"Bearer {SECRET}"})
    assert answer.status == 302  # urllib stops a redirect loop and hands the answer back
    assert health_app.seen_paths[:2] == ["/old", "/moved"]
    assert all(h["Authorization"] == f"Bearer {SECRET}" for h in health_app.seen_headers)


def test_a_redirect_to_another_origin_is_an_error_and_sends_nothing_there(
    health_app: HealthApp, other_app: HealthApp
) -> None:
    health_app.answer(307, b"", headers={"Location": other_app.url + "/steal"})
    with pytest.raises(WebError, match="redirected \\(HTTP 307\\) to another origin") as caught:
        fetch(health_app.url + "/healthz", timeout=5, headers={"Authorization": f"Bearer {SECRET}"})
    assert other_app.seen_paths == []
    assert SECRET not in str(caught.value)


def test_without_follow_redirects_the_redirect_itself_is_the_answer(
    health_app: HealthApp, other_app: HealthApp
) -> None:
    health_app.answer(301, b"", headers={"Location": other_app.url + "/x"})
    assert fetch(health_app.url, timeout=5, follow_redirects=False).status == 301
    assert other_app.seen_paths == []


def test_a_trickling_server_cannot_hold_the_request_past_its_deadline() -> None:
    with StreamingApp(b"x", every=0.2) as trickle:
        started = time.monotonic()
        with pytest.raises(WebError, match="no answer within 1s"):
            fetch(trickle.url, timeout=1.0)
        took = time.monotonic() - started
    assert trickle.sent >= 1  # it was trickling, not silent: each byte came within a socket timeout
    assert took < 3


def test_an_answer_over_the_limit_is_an_error_not_a_truncation() -> None:
    with StreamingApp(b"y" * 65536, every=0) as endless:
        with pytest.raises(WebError, match="larger than the 1000000 bytes"):
            fetch(endless.url, timeout=10, limit=1_000_000)
        assert endless.sent < 50_000_000


def test_a_declared_length_over_the_limit_is_refused_before_reading(health_app: HealthApp) -> None:
    health_app.answer(200, b"z" * 5000)
    with pytest.raises(WebError, match="the answer is 5000 bytes, more than the 4096"):
        fetch(health_app.url, timeout=5, limit=4096)


def test_userinfo_becomes_basic_auth_and_never_shows(health_app: HealthApp) -> None:
    url = health_app.url.replace("http://", f"http://bot:{SECRET}@") + "/healthz"
    assert fetch(url, timeout=5).status == 200
    sent = health_app.seen_headers[0]["Authorization"]
    assert base64.b64decode(sent.removeprefix("Basic ")).decode() == f"bot:{SECRET}"
    health_app.answer(200, b"", delay=2)
    with pytest.raises(WebError) as caught:
        fetch(url + f"?access_token={SECRET}", timeout=0.3)
    assert SECRET not in str(caught.value) and "bot" not in str(caught.value)


@pytest.mark.parametrize("value", [f"Bearer {SECRET}\r\nX-Injected: 1", f"Bearer {SECRET}\u2019", f"{SECRET}\x00"])
def test_a_header_that_cannot_be_sent_is_named_never_shown(health_app: HealthApp, value: str) -> None:
    with pytest.raises(WebError, match="header Authorization: its value holds") as caught:
        fetch(health_app.url, timeout=5, headers={"Authorization": value})
    assert SECRET not in str(caught.value)
    assert health_app.seen_paths == []


def test_a_server_that_is_not_listening_yet_is_tried_again_within_the_timeout() -> None:
    """A restarting server (connection refused) is an outage to wait out, not an Error measurement."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from testkit.gateservers import free_port

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"up\n")

        def log_message(self, format: str, *args: object) -> None:
            pass

    port = free_port()
    waits: list[float] = []
    servers: list[ThreadingHTTPServer] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:  # the server comes back after the third try
            server = ThreadingHTTPServer(("127.0.0.1", port), Ok)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)

    try:
        answer = fetch(f"http://127.0.0.1:{port}/healthz", timeout=10, sleep=sleep)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert (answer.status, answer.body) == (200, b"up\n")
    assert waits == [0.25, 0.5, 1.0]  # backing off, doubling


def test_a_server_that_never_listens_is_an_error_once_the_timeout_is_spent() -> None:
    from testkit.gateservers import free_port

    waits: list[float] = []
    with pytest.raises(WebError, match="refused"):
        fetch(f"http://127.0.0.1:{free_port()}/healthz", timeout=2, sleep=waits.append)
    # Bounded by the timeout: no wait that would not fit in what is left of it (2 s).
    assert waits[:2] == [0.25, 0.5] and waits in ([0.25, 0.5], [0.25, 0.5, 1.0])
