"""Durations as Go's ``time`` package reads and writes them: ``30s``, ``1.5m``, ``1h30m``, ``500ms``.

Argo Rollouts, Flagger, Flux and Argo CD all read durations with Go's
``time.ParseDuration``, so rollgen reads them the same way, case for case: a
sign, then ``0`` alone or numbers with units in any order and repeated
(``10.5s4m``); decimals (``1.5m``, ``.5s``, ``5.s``); the units ``ns``,
``us`` (also ``µs``, ``μs``), ``ms``, ``s``, ``m`` and ``h``; nothing beyond
the int64 nanoseconds Go keeps (about 292 years). A :class:`Duration` keeps
the exact nanoseconds and prints itself as Go's ``Duration.String`` does.

Where a spec gives a bare integer (``pause: {duration: 30}``) it counts
seconds, as in Argo Rollouts; on the command line a bare number does
(``--timeout 90``, ``--interval 0.5``).

>>> Duration.parse("1h30m").seconds
5400.0
>>> str(Duration.parse("10.5s4m")), str(Duration.of_spec(90)), str(Duration.parse(".5s"))
('4m10.5s', '1m30s', '500ms')
"""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

from rollgen.errors import UsageError

# The schemas' pattern for a duration string: the grammar below, not its range.
PATTERN = r"^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$"

_SECOND = 1_000_000_000
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 MICRO SIGN
    "μs": 1_000,  # U+03BC GREEK SMALL LETTER MU
    "ms": 1_000_000,
    "s": _SECOND,
    "m": 60 * _SECOND,
    "h": 3600 * _SECOND,
}
_DIGITS = frozenset("0123456789")
# Go adds digits up in a uint64 and refuses a total past 1<<63 (the size of the most negative int64).
_LIMIT = 1 << 63
_BEYOND = "beyond the range Go keeps, about 292 years either way (2562047h47m16.854775807s)"


class Duration(NamedTuple):
    """A span of time in whole nanoseconds, within Go's int64 range.

    A named tuple, not a dataclass: as immutable, and building it costs ``rollgen validate`` no import time.
    """

    nanoseconds: int

    @property
    def seconds(self) -> float:
        return self.nanoseconds / _SECOND

    @classmethod
    def parse(cls, text: str) -> Duration:
        """``text`` read exactly as Go's ``time.ParseDuration`` reads it; ValueError where Go errs.

        >>> Duration.parse("-2m3.4s")
        Duration(nanoseconds=-123400000000)
        >>> Duration.parse("1d")
        Traceback (most recent call last):
        ValueError: unknown unit "d" in duration "1d"
        """
        return cls(_parse(text))

    @classmethod
    def of_spec(cls, value: str | int) -> Duration:
        """A spec's duration: a Go duration string, or a whole number of seconds (Argo Rollouts' habit)."""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"invalid duration {value!r}: expected a string such as 1.5m, or whole seconds")
        if isinstance(value, str):
            return cls.parse(value)
        if not -_LIMIT <= value * _SECOND < _LIMIT:
            raise ValueError(f"invalid duration {value}: {_BEYOND}")
        return cls(value * _SECOND)

    @classmethod
    def of_option(cls, option: str, text: str) -> Duration:
        """A command-line option's duration, longer than 0s: a Go duration, or a bare number of seconds.

        Refused with a UsageError (exit 2) that names the option.

        >>> Duration.of_option("--timeout", "3s"), Duration.of_option("--timeout", "2.5")
        (Duration(nanoseconds=3000000000), Duration(nanoseconds=2500000000))
        """
        number = text[1:] if text[:1] in ("-", "+") else text
        bare = bool(number) and all(c in _DIGITS or c == "." for c in number)
        try:
            duration = cls.parse(f"{text}s" if bare else text)
        except ValueError as exc:  # a bare number shows as read, with its "s"
            raise UsageError(
                f"{option} {text!r}: {exc}; expected a duration such as 3s, 500ms or 2m, or a number of seconds"
            ) from None
        if duration.nanoseconds <= 0:
            raise UsageError(f"{option} {text!r}: must be longer than 0s")
        return duration

    def __str__(self) -> str:
        """As Go's ``Duration.String``: ``1h2m3s``, ``4m10.5s``, ``1.5s``, ``500ms``, ``1.1µs``, ``0s``."""
        size = abs(self.nanoseconds)
        sign = "-" if self.nanoseconds < 0 else ""
        if size == 0:
            return "0s"
        if size < 1_000:
            return f"{sign}{size}ns"
        if size < 1_000_000:
            return f"{sign}{_decimal(size, 3)}µs"
        if size < _SECOND:
            return f"{sign}{_decimal(size, 6)}ms"
        minutes, nanos = divmod(size, 60 * _SECOND)
        hours, minutes = divmod(minutes, 60)
        seconds = _decimal(nanos, 9) + "s"
        if hours:
            return f"{sign}{hours}h{minutes}m{seconds}"
        return f"{sign}{minutes}m{seconds}" if minutes else sign + seconds


def spec_problem(value: object, *, positive: bool = False, most_days: int | None = None) -> str | None:
    """Why a spec's duration cannot be used, or None: negative, 0 where it must be ``positive``, longer than
    ``most_days``, or past Go's range.

    Text outside the grammar gets None here: the schema's pattern (:data:`PATTERN`) reports it.

    >>> spec_problem("-1m"), spec_problem("0s", positive=True), spec_problem(691200, most_days=7)
    ('must not be negative', 'must be longer than 0s', '691200s is longer than 7 days')
    >>> spec_problem("1 minute"), spec_problem("1.5m")
    (None, None)
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)) or (isinstance(value, int) and value < 0):
        return None  # not a duration at all, or a negative count of seconds: the schema says what is wrong
    try:
        duration = Duration.of_spec(value)
    except ValueError as exc:
        # The schema accepts it, yet it cannot be read: it is past Go's range.
        return str(exc) if isinstance(value, int) or _grammar().fullmatch(value) else None
    if duration.nanoseconds < 0:
        return "must not be negative"
    if positive and not duration.nanoseconds:
        return "must be longer than 0s"
    if most_days is not None and duration.nanoseconds > most_days * 86400 * _SECOND:
        return f"{value if isinstance(value, str) else f'{value}s'} is longer than {most_days} days"
    return None


def is_go_duration(value: object) -> bool:
    """Whether ``value`` is a Go duration string that a spec takes as written: readable, and not negative.

    >>> is_go_duration("1.5m"), is_go_duration("-1s"), is_go_duration("1d"), is_go_duration(30)
    (True, False, False, False)
    """
    if not isinstance(value, str):
        return False
    try:
        return Duration.parse(value).nanoseconds >= 0
    except ValueError:
        return False


def parse_duration(value: str | int) -> float:
    """Seconds in a spec's duration: a Go duration string, or a whole number of seconds.

    >>> parse_duration("1h30m"), parse_duration("250ms"), parse_duration(30)
    (5400.0, 0.25, 30.0)
    """
    return Duration.of_spec(value).seconds


def format_duration(seconds: float) -> str:
    """``seconds``, to the millisecond, as Go prints a duration (what :func:`parse_duration` reads back).

    >>> format_duration(5400), format_duration(3723), format_duration(1.5), format_duration(0.25), format_duration(0)
    ('1h30m0s', '1h2m3s', '1.5s', '250ms', '0s')
    """
    return str(Duration(round(seconds * 1000) * 1_000_000))


@cache
def _grammar() -> re.Pattern[str]:
    return re.compile(PATTERN)  # compiled only for a rare value past the range, not at every start


def _decimal(value: int, places: int) -> str:
    """``value / 10**places`` in decimal, without trailing zeros (nor a point when whole)."""
    whole, fraction = divmod(value, 10**places)
    digits = f"{fraction:0{places}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def _parse(text: str) -> int:
    """Go's ``time.ParseDuration``, step for step, including its float64 arithmetic for fractions."""
    rest, negative = text, False
    if rest[:1] in ("-", "+"):
        rest, negative = rest[1:], rest[0] == "-"
    if rest == "0":
        return 0
    if not rest:
        raise _invalid(text)
    total, at, end = 0, 0, len(rest)
    while at < end:
        if rest[at] != "." and rest[at] not in _DIGITS:
            raise _invalid(text)
        start, whole = at, 0
        while at < end and rest[at] in _DIGITS:
            whole = whole * 10 + ord(rest[at]) - 48
            if whole > _LIMIT:
                raise _beyond(text)
            at += 1
        digits_before = at > start
        fraction, scale, digits_after = 0, 1.0, False
        if at < end and rest[at] == ".":
            at += 1
            start, full = at, False
            while at < end and rest[at] in _DIGITS:
                # Past int64, further digits are read but dropped: they cannot change the nanoseconds.
                more = fraction * 10 + ord(rest[at]) - 48
                if full or fraction > (_LIMIT - 1) // 10 or more > _LIMIT:
                    full = True
                else:
                    fraction, scale = more, scale * 10
                at += 1
            digits_after = at > start
        if not digits_before and not digits_after:
            raise _invalid(text)
        start = at
        while at < end and rest[at] != "." and rest[at] not in _DIGITS:
            at += 1
        if at == start:
            raise ValueError(f"missing unit in duration {_quote(text)}")
        unit = _UNITS.get(rest[start:at])
        if unit is None:
            raise ValueError(f"unknown unit {_quote(rest[start:at])} in duration {_quote(text)}")
        if whole > _LIMIT // unit:
            raise _beyond(text)
        value = whole * unit
        if fraction:
            # As Go: float64 keeps a fraction of an hour exact to the nanosecond; truncated, not rounded.
            value += int(float(fraction) * (float(unit) / scale))
        total += value
        if value > _LIMIT or total > _LIMIT:
            raise _beyond(text)
    if not negative and total > _LIMIT - 1:
        raise _beyond(text)
    return -total if negative else total


def _invalid(text: str) -> ValueError:
    return ValueError(f"invalid duration {_quote(text)}")


def _beyond(text: str) -> ValueError:
    return ValueError(f"invalid duration {_quote(text)}: {_BEYOND}")


def _quote(text: str) -> str:
    """``text`` in double quotes as Go's time package quotes it: each byte outside printable ASCII as ``\\xNN``.

    An argument that is not UTF-8 reaches Python with its bytes as surrogate escapes; they are shown as those bytes.
    """
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    return '"' + "".join(_quoted_byte(b) for b in data) + '"'


def _quoted_byte(byte: int) -> str:
    if byte < 0x20 or byte >= 0x80:
        return f"\\x{byte:02x}"
    return "\\" + chr(byte) if chr(byte) in '"\\' else chr(byte)
