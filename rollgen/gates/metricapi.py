"""One request to a metric provider's query API, as the datadog, newRelic and cloudWatch gates make it.

- **Bounded** by :func:`rollgen.web.fetch`: one deadline (the gate's timeout) for
  the whole exchange, retries included; at most 1 MiB of answer; redirects only
  within the origin, so a key never reaches another host.
- **A rate limit** (HTTP 429) is waited out when the provider says how long
  (``Retry-After`` in seconds or as a date, else Datadog's ``X-RateLimit-Reset``)
  and that fits in what is left of the timeout; the request is then made once
  more. Otherwise it is an Error that says how long the provider asked to wait:
  the next measurement tries again, and a provider that keeps refusing reaches
  ``consecutiveErrorLimit`` like any broken check.
- **Any other status** outside 2xx is an Error naming the status and the
  provider's own words (its JSON error fields), an answer that is not JSON is an
  Error, and every message is redacted of the keys (:func:`rollgen.redact.redact`).

Time is injected (:class:`Clock`), so the waits and the query windows are tested
without sleeping.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from rollgen.gates.kind import GateError
from rollgen.redact import redact
from rollgen.web import Response, fetch

# How much of a provider's error answer a message quotes.
_QUOTED = 300


@dataclass(frozen=True, kw_only=True)
class Clock:
    """The time a check reads and waits on."""

    now: Callable[[], float] = field(default=time.time)
    """Wall-clock seconds: the end of a query's window, and what a Retry-After date is counted from."""
    monotonic: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], None] = field(default=time.sleep)


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds a rate-limited answer asks to wait, or None when it does not say.

    >>> retry_after({"retry-after": "7"}, 0.0), retry_after({"x-ratelimit-reset": "3"}, 0.0)
    (7.0, 3.0)
    >>> retry_after({"retry-after": "Thu, 01 Jan 1970 00:01:40 GMT"}, 90.0)
    10.0
    """
    for name in ("retry-after", "x-ratelimit-reset"):
        text = headers.get(name, "").strip()
        if not text:
            continue
        if text.isdigit():
            return float(text)
        try:
            return max(0.0, parsedate_to_datetime(text).timestamp() - now)
        except (TypeError, ValueError):
            continue
    return None


def ask(
    provider: str,
    url: str,
    *,
    timeout: float,
    clock: Clock,
    headers: Mapping[str, str],
    method: str = "GET",
    body: bytes | None = None,
    secrets: tuple[str, ...] = (),
) -> Any:
    """The decoded JSON answer of a 2xx response; GateError for anything else (see the module)."""
    deadline = clock.monotonic() + timeout
    response: Response | None = None
    for attempt in (1, 2):
        left = deadline - clock.monotonic()
        if left <= 0:
            raise GateError(f"{provider}: no answer within {timeout:g}s")
        # The first request has the whole timeout (its own message then names the gate's timeout).
        response = fetch(
            url,
            timeout=timeout if attempt == 1 else left,
            method=method,
            headers=headers,
            data=body,
            secrets=secrets,
            sleep=clock.sleep,
        )
        if response.status != 429:
            break
        wait = retry_after(response.headers, clock.now())
        left = deadline - clock.monotonic()
        if wait is None:
            raise GateError(f"{provider} rate limit (HTTP 429), without saying how long to wait: not measured")
        if attempt == 2 or wait >= left:
            raise GateError(
                f"{provider} rate limit (HTTP 429): it asks to wait {wait:g}s, more than the {max(left, 0):.3g}s "
                "left of this check's timeout: not measured, the next measurement tries again"
            )
        clock.sleep(wait)
    assert response is not None
    text = response.text
    try:
        answer = json.loads(response.body)
    except ValueError:
        answer = None
        if 200 <= response.status < 300:
            raise GateError(
                redact(
                    f"{provider} answered HTTP {response.status} with something that is not JSON: {text[:200]!r}",
                    secrets=secrets,
                )
            ) from None
    if not 200 <= response.status < 300:
        hint = " (the key is wrong or lacks a permission)" if response.status in (401, 403) else ""
        said = redact(provider_said(answer) or text[:200], secrets=secrets)
        raise GateError(f"{provider} answered HTTP {response.status}{hint}: {said}")
    return answer


def provider_said(answer: Any) -> str:
    """The error a provider's JSON answer states, in its own words ('' when it states none).

    Datadog: ``{"errors": ["..."]}``; NerdGraph: ``{"errors": [{"message": "..."}]}``;
    AWS JSON: ``{"__type": "...#Code", "message": "..."}``.

    >>> provider_said({"errors": [{"message": "NRQL Syntax Error"}]})
    'NRQL Syntax Error'
    >>> provider_said({"__type": "com.amazon.coral.service#Throttling", "message": "Rate exceeded"})
    'Throttling: Rate exceeded'
    """
    if not isinstance(answer, dict):
        return ""
    code = str(answer.get("__type", "")).rsplit("#", 1)[-1]
    for key in ("errors", "error", "message", "Message"):
        value = answer.get(key)
        if isinstance(value, list) and value:
            parts = [str(v.get("message", json.dumps(v))) if isinstance(v, dict) else str(v) for v in value]
            return "; ".join(parts)[:_QUOTED]
        if isinstance(value, str) and value:
            return (f"{code}: {value}" if code else value)[:_QUOTED]
    return code
