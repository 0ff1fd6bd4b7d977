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
