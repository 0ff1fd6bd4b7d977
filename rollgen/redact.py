"""Credentials out of every text rollgen prints, logs or stores (messages, git notes, errors).

One function, :func:`redact`, for every gate, the forge client and the
measurements the controller keeps. It hides what a text can show on its own
(the userinfo of a URL, the value of a query parameter or header named like a
credential) and any secret the caller knows by value (a header's value, a token):

    >>> redact("GET https://bot:hunter2@metrics.example/q?query=up&access_token=abc&x=1 failed")
    'GET https://***@metrics.example/q?query=up&access_token=***&x=1 failed'
    >>> redact("header X-Tenant: 'acme-secret' is invalid", secrets=("acme-secret",))
    "header X-Tenant: '***' is invalid"

Light on purpose (only ``re``): ``rollgen validate`` and the notes code may import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

HIDDEN = "***"

# scheme://user:password@host or scheme://token@host: everything between // and the last @
# before the host ends. The userinfo cannot hold '/', '?', '#' or whitespace.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s'\"]+@")

# Query parameters and key=value pairs whose name says they carry a credential:
# access_token, token, private_token, apikey, api_key, api-key, key, secret, password,
# passwd, sig, signature, client_secret, auth, authorization, session ...
_SENSITIVE_NAME = r"[a-z0-9_.-]*(?:token|key|secret|passw(?:or)?d|pwd|sig|signature|auth\w*|session|credential)s?"
_PARAMETER = re.compile(rf"(?i)([?&;]|\b)({_SENSITIVE_NAME})=([^&#\s'\"]+)")

# "Authorization: Bearer abc" / "PRIVATE-TOKEN: abc" as an echoed header line.
_HEADER = re.compile(
    rf"(?i)\b(authorization|proxy-authorization|{_SENSITIVE_NAME})(\s*:\s*)(?:(bearer|basic|token)\s+)?([^\s'\",]+)"
)

# A secret shorter than this is not looked for by value: replacing "a" everywhere would
# mangle a message without protecting anything.
_MIN_SECRET = 4


def redact(text: str, *, secrets: Iterable[str] = ()) -> str:
    """``text`` with credentials replaced by ``***``: URL userinfo, credential-like
    parameters and header lines, and each of ``secrets`` wherever it appears."""
    # Stripped too: a value with a stray line break may be echoed without it.
    known = {s for secret in secrets for s in (secret, secret.strip()) if len(s) >= _MIN_SECRET}
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{HIDDEN}@", text)
    text = _PARAMETER.sub(lambda m: f"{m.group(1)}{m.group(2)}={HIDDEN}", text)
    return _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) + ' ' if m.group(3) else ''}{HIDDEN}", text)
