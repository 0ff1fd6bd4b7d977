"""Durations as release specs write them: ``30s``, ``10m``, ``1h30m``, ``500ms``.

The grammar matches Argo Rollouts' duration strings (a sequence of integer and
unit pairs), so a spec can be moved between the two without edits. As in Argo
Rollouts, a bare integer (``pause: {duration: 30}``) counts seconds.
"""

from __future__ import annotations

import re

PATTERN = r"^([0-9]+(ms|s|m|h))+$"
_PART = re.compile(r"([0-9]+)(ms|s|m|h)")
_WHOLE = re.compile(PATTERN)
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | int) -> float:
    """Seconds in a duration string, or in an integer number of seconds.

    >>> parse_duration("1h30m")
    5400.0
    >>> parse_duration("250ms")
    0.25
    >>> parse_duration(30)
    30.0
    """
    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return float(text)
    if not isinstance(text, str) or not _WHOLE.match(text):
        raise ValueError(f"invalid duration {text!r}: expected e.g. 30s, 10m, 1h30m, 500ms")
    return sum(int(n) * _SECONDS[unit] for n, unit in _PART.findall(text))


def format_duration(seconds: float) -> str:
    """The shortest duration string for ``seconds`` (the inverse of :func:`parse_duration`).

    >>> format_duration(5400)
    '1h30m'
    >>> format_duration(0.25)
    '250ms'
    """
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    if millis % 1000:
        return f"{millis}ms"
    rest = millis // 1000
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
