"""Credentials out of every text rollgen prints, logs or stores (messages, git notes, errors).

One function, :func:`redact`, for every gate, the forge client and the
measurements the controller keeps. It hides what a text can show on its own
(the userinfo of a URL, the value of a query parameter or header named like a
credential) and any secret the caller knows by value (a header's value, a token):

    >>> redact("GET https://bot:hunter2@metrics.example/q?query=up&access_token=abc&x=1 failed")
    'GET https://***@metrics.example/q?query=up&access_token=***&x=1 failed'
    >>> redact("header X-Tenant: 'acme-secret' is invalid", secrets=("acme-secret",))
    "header X-Tenant: '***' is invalid"

A known secret is found whatever its letter case (a server may echo it lower-cased)
and in the encodings it travels in: URL-encoded, and inside the base64 of a basic
``Authorization`` (``user:secret``, wherever the secret falls in it):

    >>> redact("echoed s3cr3t-t0ken and S3CR3T-T0KEN", secrets=("s3cr3t-T0ken",))
    'echoed *** and ***'
    >>> redact("sent Basic Ym90OnMzY3IzdC10MGtlbg==", secrets=("s3cr3t-t0ken",))
    'sent Basic Ym90On***g=='

It never cuts a plain word: a secret is replaced only where it stands on its own
(not inside a longer word: the secret ``test`` leaves ``latest`` alone), and a
name is taken for a credential's only when it is one (``api_key=``,
``X-Auth-Token:``, ``token:``; not ``monkey=``, ``author:``, ``authentication:``
or the ``auth:`` of "errorType auth: bad token").

Light on purpose (only ``re``, ``base64``, ``urllib.parse``): ``rollgen validate``
and the notes code may import it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator
from urllib.parse import quote, quote_plus

HIDDEN = "***"

# scheme://user:password@host or scheme://token@host: everything between // and the last @
# before the host ends. The userinfo cannot hold '/', '?', '#' or whitespace.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s'\"]+@")

# Names of query parameters, key=value pairs and header lines that carry a credential: one of
# these words, alone or as the last part of a name joined by '_', '-' or '.' (access_token,
# X-Api-Key, PRIVATE-TOKEN, client_secret). A word that merely ends like one (monkey, author,
# passkeys) is not a credential's name.
_CREDENTIAL_WORDS = (
    r"token|key|apikey|secret|password|passwd|pwd|sig|signature|auth|authorization|authtoken|accesstoken"
    r"|session|sessionid|credential|credentials"
)
_SENSITIVE_NAME = rf"(?:[a-z0-9]+[_.-])*(?:{_CREDENTIAL_WORDS})"
_PARAMETER = re.compile(rf"(?i)(?<![a-z0-9_.-])({_SENSITIVE_NAME})=([^&#\s'\"]+)")

# "Authorization: Bearer abc" / "PRIVATE-TOKEN: abc" as an echoed header line. Alone, only the words
# that name a credential in a sentence too ("token: abc"); "key: ...", "auth: ..." and "session: ..."
# begin plain sentences ("errorType auth: bad token") and count only as a part of a longer name.
_HEADER_ALONE = r"token|secret|password|passwd|apikey|authorization|proxy-authorization|credentials?"
_HEADER = re.compile(
    rf"(?i)(?<![a-z0-9_.-])((?:[a-z0-9]+[_.-])+(?:{_CREDENTIAL_WORDS})|{_HEADER_ALONE})"
    r"(\s*:\s*)(?:(bearer|basic|token)\s+)?([^\s'\",]+)"
)

# A secret shorter than this is not looked for by value: replacing "a" everywhere would
# mangle a message without protecting anything.
_MIN_SECRET = 4
# The base64 of a secret inside a longer base64 text (a basic Authorization of user:secret)
# is looked for only when this long: shorter runs of base64 letters occur in plain text.
_MIN_ENCODED = 8


def _base64_cores(secret: bytes) -> Iterator[str]:
    """The base64 letters that stand for ``secret`` alone, for each of the 3 places it can start in a longer text.

    Base64 turns 3 bytes into 4 letters, so a secret preceded by ``k`` bytes
    (``k`` = 0, 1 or 2 modulo 3) is encoded differently; the letters that mix its
    bytes with a neighbour's are left off, the rest depend on the secret only.
    """
    for before in range(3):
        encoded = base64.b64encode(b"\0" * before + secret).decode().rstrip("=")
        start = (0, 2, 3)[before]
        tail = (before + len(secret)) % 3  # bytes in the last, partial group: their last letter mixes
        yield encoded[start : len(encoded) - (1 if tail else 0)]


def _parts(secret: str) -> set[str]:
    """``secret`` and the credentials inside it: the token of ``Bearer <token>``, the pair and password of
    ``Basic <base64 of user:password>`` (a server may echo any of them without the rest)."""
    found = {secret, secret.strip()}
    scheme, _, credential = secret.strip().partition(" ")
    if scheme.lower() in ("bearer", "token", "basic") and credential.strip():
        found.add(credential.strip())
    if scheme.lower() == "basic":
        try:
            pair = base64.b64decode(credential.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            pair = ""
        found |= {pair, pair.partition(":")[2]} if ":" in pair else set()
    return found


def _forms(secret: str) -> tuple[set[str], set[str]]:
    """The texts ``secret`` may show as: whole words (the secret, URL-encoded) and runs inside base64."""
    words = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    encoded = {core for core in _base64_cores(secret.encode()) if len(core) >= _MIN_ENCODED}
    return {w for w in words if len(w) >= _MIN_SECRET}, encoded


def _known(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for every form of every secret, longest first."""
    words: set[str] = set()
    encoded: set[str] = set()
    for secret in secrets:
        for form in _parts(secret):  # stripped too: a value with a stray line break may be echoed without it
            if len(form) >= _MIN_SECRET:
                more_words, more_encoded = _forms(form)
                words |= more_words
                encoded |= more_encoded
    if not words and not encoded:
        return None
    # Alone means no letter or digit right before or after (only where the form itself starts or
    # ends with one: a secret ending in '=' may be followed by anything).
    alone = [
        ("(?<![A-Za-z0-9])" if w[0].isalnum() else "") + re.escape(w) + ("(?![A-Za-z0-9])" if w[-1].isalnum() else "")
        for w in words
    ]
    inside = [re.escape(e) for e in encoded]
    ordered = sorted(zip([*words, *encoded], [*alone, *inside], strict=True), key=lambda p: -len(p[0]))
    return re.compile("|".join(pattern for _, pattern in ordered), re.IGNORECASE)


def redact(text: str, *, secrets: Iterable[str] = ()) -> str:
    """``text`` with credentials replaced by ``***``: URL userinfo, credential-like
    parameters and header lines, and each of ``secrets`` wherever it appears."""
    known = _known(secrets)
    if known is not None:
        text = known.sub(HIDDEN, text)
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{HIDDEN}@", text)
    text = _PARAMETER.sub(lambda m: f"{m.group(1)}={HIDDEN}", text)
    return _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) + ' ' if m.group(3) else ''}{HIDDEN}", text)
