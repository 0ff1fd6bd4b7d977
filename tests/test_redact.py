"""Redaction: a known secret whatever its letter case and encoding, credentials by their names, and never a
plain word cut."""

from __future__ import annotations

import base64

import pytest

from rollgen.redact import redact

SECRET = "s3cr3t-T0ken-42"


@pytest.mark.parametrize(
    "shown",
    [
        SECRET,
        SECRET.lower(),
        SECRET.upper(),
        "S3cR3t-t0KEN-42",
    ],
)
def test_a_known_secret_whatever_its_case(shown: str) -> None:
    text = redact(f"the server said: {shown!r} is not valid", secrets=(SECRET,))
    assert "t0ken" not in text.lower(), text


def test_a_url_encoded_secret() -> None:
    secret = "p@ss/w0rd+x="
    for shown in ("p%40ss%2Fw0rd%2Bx%3D", "p%40ss%2fw0rd%2bx%3d", "p%40ss%2Fw0rd+x%3D".replace("+", "%2B")):
        assert redact(f"GET /q?key2={shown}&x=1", secrets=(secret,)) == "GET /q?key2=***&x=1"


@pytest.mark.parametrize("user", ["", "a", "ab", "bot", "x-access-token", "oauth2"])
def test_a_secret_inside_the_base64_of_a_basic_authorization(user: str) -> None:
    """Wherever the secret falls in ``user:secret`` (each of the three byte offsets), its base64 is hidden."""
    blob = base64.b64encode(f"{user}:{SECRET}".encode()).decode()
    text = redact(f"echoed Basic {blob}", secrets=(SECRET,))
    assert len(text) < len(f"echoed Basic {blob}") and "***" in text
    visible = text.removeprefix("echoed Basic ").replace("***", "")
    assert len(visible) <= len(base64.b64encode(f"{user}:".encode())) + 4  # only what stands for "user:" and edges


def test_the_parts_of_a_known_header_value() -> None:
    basic = "Basic " + base64.b64encode(b"bot:hunter2-pass").decode()
    assert redact("got hunter2-pass and bot:hunter2-pass", secrets=(basic,)) == "got *** and ***"
    assert redact("bad token prom-0123456789-secret", secrets=("Bearer prom-0123456789-SECRET",)) == "bad token ***"


@pytest.mark.parametrize(
    "text",
    [
        "the latest version",  # the secret "test" is inside a word
        "monkey=banana keyboard: broken",
        "Author: Jane Doe <jane@example.com>",
        "authentication: failed; sessions: 3 open",
        "Prometheus HTTP 401, auth: bad token",
        "error: invalid key: foo",
        "result [0.995]: successCondition 'result >= 0.99' holds",
    ],
)
def test_a_plain_word_is_never_cut(text: str) -> None:
    assert redact(text, secrets=("test",)) == text


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("X-Api-Key: abcd1234", "abcd1234"),
        ("DD-APPLICATION-KEY: dd-app-1", "dd-app-1"),
        ("x-auth-token: zz-top-1", "zz-top-1"),
        ("invalid token: tok-123456", "tok-123456"),
        ("GET /q?api_key=k-1&private_token=t-1&sig=s-1", "k-1"),
        ("GET /q?api_key=k-1&private_token=t-1&sig=s-1", "t-1"),
        ("GET /q?api_key=k-1&private_token=t-1&sig=s-1", "s-1"),
    ],
)
def test_credentials_by_their_names(text: str, hidden: str) -> None:
    assert hidden not in redact(text)
