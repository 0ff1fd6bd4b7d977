"""One HTTP request with a hard timeout, as the prometheus and http gates make it (stdlib only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rollgen.gates.kind import GateError

# A health answer or a query result is small; reading more would only let a
# misbehaving endpoint stall the gate or fill memory.
MAX_BODY = 1 << 20


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def fetch(
    url: str,
    *,
    timeout: float,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> Response:
    """The status and body of ``url``; GateError when there is no HTTP answer within ``timeout``.

    An HTTP error status is an answer, not an exception: the caller judges it.
    """
    # Imported here: urllib.request pulls in ssl and email, too slow for `rollgen validate`.
    import socket
    import urllib.error
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise GateError(f"{url!r} is not an http:// or https:// URL")
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Response(answer.status, answer.read(MAX_BODY))
    except urllib.error.HTTPError as answer:
        with answer:
            return Response(answer.code, answer.read(MAX_BODY))
    except TimeoutError:
        raise GateError(f"{method} {url}: no answer within {timeout:g}s") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise GateError(f"{method} {url}: no answer within {timeout:g}s") from None
        raise GateError(f"{method} {url}: {reason}") from None
    except (OSError, ValueError) as error:  # reset connections, malformed answers, bad URLs
        raise GateError(f"{method} {url}: {error}") from None
