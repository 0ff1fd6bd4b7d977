"""Version ranges and versions as Masterminds/semver v3 reads them: pure, no I/O.

Flux's ImagePolicy, Argo CD Image Updater, Kargo and Helm all read version
ranges with Masterminds/semver v3, so a range means here what it means
there, quirks included (the library's own test tables, ported under
tests/registry/, are the specification)::

    >>> allowed = parse_range(">=1.2, <2 || ^3.1")
    >>> [allowed.allows(parse_version(v)) for v in ("1.1.9", "1.2.0", "1.9.9", "2.0.0", "3.4.0", "4.0.0")]
    [False, True, True, False, True, False]
    >>> str(parse_range("1.2 - 1.4.5"))  # a hyphen range is rewritten as >= and <=
    '>=1.2 <=1.4.5'

The grammar: alternatives joined by ``||``; in each, comparators joined by
spaces or commas, all of which must hold. A comparator is an operator
(``=`` or none, ``!=``, ``>``, ``<``, ``>=``/``=>``, ``<=``/``=<``, ``~``/``~>``,
``^``) and a version that may stop after the major or minor part or use
``x``, ``X`` or ``*`` there (``1``, ``1.2``, ``1.x``, ``1.2.*``, ``*``), with an
optional leading ``v``, pre-release and build metadata.

A partial version is not padded with zeros everywhere: ``<=1.1`` holds for
1.1.1 (patch left open), ``>1.1`` does not (the next minor is needed), ``1.2``
means ``~1.2``. A pre-release satisfies an alternative only when one of its
comparators names a pre-release (``>=1.2.0-0``), or when the caller asks for
pre-releases (Masterminds' ``IncludePrerelease``)::

    >>> parse_range(">=1.2").allows(parse_version("1.3.0-rc.1"))
    False
    >>> parse_range(">=1.2").allows(parse_version("1.3.0-rc.1"), prereleases=True)
    True

Tags are read as Flux reads them (fluxcd/pkg/version.ParseVersion): three
dot-separated parts, then Masterminds' ``NewVersion``, which accepts a
leading ``v`` and leading zeros (``v2025.02.03``); anything else is no
version and is skipped::

    >>> [tag_version(t) is not None for t in ("v1.2.3", "2025.02.03-rc.1", "1.4", "latest", "1.2.3.4")]
    [True, True, False, False, False]

Masterminds' patterns are used as written where they are linear (one
version, the hyphen rewrite); a range's comparators are read by a scanner
that accepts exactly what its validating pattern accepts, because that
pattern backtracks exponentially on Python's engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rollgen.errors import UsageError

# As the release schema's maxLength: the scanner is linear, the hyphen rewrite quadratic at worst.
MAX_RANGE = 256
_UINT64 = 1 << 64
# Go's \s (RE2, ASCII only: no \v); Masterminds' wildcard-or-digit class, "|" included as written there.
_SPACES = "\t\n\f\r "
_WS = f"[{_SPACES}]"
_PART = "[0-9|xX*]"
_IDENT = "[0-9A-Za-z-]"
_PRE = f"-{_IDENT}+(?:\\.{_IDENT}+)*"
_METADATA = f"(?:\\+{_IDENT}+(?:\\.{_IDENT}+)*)?"
# A constraint's version: major, .minor, .patch and -pre-release are groups, build metadata is not.
_CV = f"v?({_PART}+)(\\.{_PART}+)?(\\.{_PART}+)?({_PRE})?{_METADATA}"
_CV_PLAIN = f"v?{_PART}+(?:\\.{_PART}+)?(?:\\.{_PART}+)?(?:{_PRE})?{_METADATA}"
# Operators in Masterminds' order: the alternation takes the first that lets the version match.
_OPS = "=||!=|>|<|>=|=>|<=|=<|~|~>|\\^"
_ITEM = re.compile(f"({_OPS}){_WS}*({_CV})")
_HYPHEN = re.compile(f"{_WS}*({_CV_PLAIN}){_WS}+-{_WS}+({_CV_PLAIN}){_WS}*")
# NewVersion with CoerceNewVersion (its default): partial versions and leading zeros are read.
_VERSION = re.compile(
    f"v?([0-9]+)(?:\\.([0-9]+))?(?:\\.([0-9]+))?(?:-({_IDENT}+(?:\\.{_IDENT}+)*))?(?:\\+({_IDENT}+(?:\\.{_IDENT}+)*))?"
)
_WILDCARDS = frozenset({"x", "X", "*"})
_HINT = 'e.g. ">=1.2 <2", "^1.2", "~1.2.3", "1.x", "1.2 - 1.4.5" or ">=1 <2 || >=3"'

# (major, minor, patch, pre-release key): a release's key (1,) sorts above any pre-release's (0, ...);
# identifiers compare as numbers when they are ones (up to 2^64), numbers below words, shorter first.
Precedence = tuple[int, int, int, tuple[object, ...]]


@dataclass(frozen=True, kw_only=True, slots=True)
class Version:
    """A version as Masterminds reads it; build metadata is kept but never compared."""

    major: int
    minor: int
    patch: int
    pre: str = ""
    metadata: str = ""
    precedence: Precedence = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "precedence", (self.major, self.minor, self.patch, _pre_key(self.pre)))

    def __str__(self) -> str:
        pre = f"-{self.pre}" if self.pre else ""
        metadata = f"+{self.metadata}" if self.metadata else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}{metadata}"


def _pre_key(pre: str) -> tuple[object, ...]:
    if not pre:
        return (1,)
    return (0, *((0, int(p), "") if p.isdigit() and int(p) < _UINT64 else (1, 0, p) for p in pre.split(".")))


def parse_version(text: str) -> Version | None:
    """``text`` as Masterminds' ``NewVersion`` reads it, or None when it is no version.

    >>> str(parse_version("v1.2-beta.5")), parse_version("1.2.3-beta.01")
    ('1.2.0-beta.5', None)
    """
    found = _read_version(text)
    return found if isinstance(found, Version) else None


def tag_version(tag: str) -> Version | None:
    """An image tag's version as Flux reads it (three dot-separated parts), or None: the tag is skipped."""
    return parse_version(tag) if tag.count(".") >= 2 else None


def _read_version(text: str) -> Version | str:
    """The version, or why ``text`` is none."""
    found = _VERSION.fullmatch(text)
    if found is None:
        return "not a version"
    major, minor, patch, pre, metadata = found.groups()
    x, y, z = int(major), int(minor or 0), int(patch or 0)
    if x >= _UINT64 or y >= _UINT64 or z >= _UINT64:
        return "a number is larger than 2^64 - 1"
    if pre is None:
        return Version(major=x, minor=y, patch=z, metadata=metadata or "")
    if any(p[0] == "0" and len(p) > 1 and p.isdigit() for p in pre.split(".")):
        return f"the pre-release {pre!r} has a number with a leading zero"
    return Version(major=x, minor=y, patch=z, pre=pre, metadata=metadata or "")


@dataclass(frozen=True, kw_only=True, slots=True)
class Comparator:
    """One comparator: ``op`` and ``written`` as the range spells them, ``version`` what they compare with.

    ``fixed`` counts the leading parts the range gives (3 for ``1.2.3``, 2 for
    ``1.2`` or ``1.2.x``, 1 for ``1`` or ``1.x``, 0 for ``*``); the missing parts
    are zeros in ``version`` and wildcards to the operator (``_HOLDS[op]``
    decides; pre-releases are sorted out by :class:`Range`).
    """

    op: str
    written: str
    version: Version
    fixed: int

    def __str__(self) -> str:
        return self.op + self.written


@dataclass(frozen=True, kw_only=True, slots=True)
class Range:
    """Alternatives (``||``) of comparators that must all hold."""

    alternatives: tuple[tuple[Comparator, ...], ...]

    def allows(self, candidate: Version, *, prereleases: bool = False) -> bool:
        for comparators in self.alternatives:
            if candidate.pre and not prereleases and not any(c.version.pre for c in comparators):
                continue
            for comparator in comparators:  # a loop, not all(): this runs once per tag of a registry
                if not _HOLDS[comparator.op](candidate, comparator):
                    break
            else:
                return True
        return False

    def __str__(self) -> str:
        return " || ".join(" ".join(map(str, comparators)) for comparators in self.alternatives)


def parse_range(text: str) -> Range:
    """``text`` as Masterminds' ``NewConstraint`` reads it; UsageError names the part it cannot read."""
    if len(text) > MAX_RANGE:
        raise UsageError(f"semver range is {len(text)} characters long, at most {MAX_RANGE} are read")
    return Range(alternatives=tuple(_alternative(part, text) for part in expand_hyphen_ranges(text).split("||")))


def expand_hyphen_ranges(text: str) -> str:
    """Masterminds' first pass: each ``A - B`` becomes ``>= A, <= B `` (spaces around the dash required).

    >>> expand_hyphen_ranges("1.2 - 1.4.5 || 2")
    '>= 1.2, <= 1.4.5 || 2'
    """
    rewritten = text
    for found in _HYPHEN.finditer(text):
        rewritten = rewritten.replace(found[0], f">= {found[1]}, <= {found[2]} ", 1)
    return rewritten


def _alternative(text: str, whole: str) -> tuple[Comparator, ...]:
    """The comparators of one alternative, separated by spaces or by one comma (with spaces around it)."""
    comparators: list[Comparator] = []
    position = _skip_spaces(text, 0)
    if position == len(text):
        raise UsageError(f"semver range {whole!r} has an empty alternative; {_HINT}")
    while True:
        found = _ITEM.match(text, position)
        if found is None:
            raise _unreadable(text, position, whole)
        comparators.append(_comparator(found, whole))
        position = _skip_spaces(text, found.end())
        if position == len(text):
            return tuple(comparators)
        if text[position] == ",":
            position = _skip_spaces(text, position + 1)
        elif position == found.end():
            raise _unreadable(text, found.start(), whole)  # e.g. "1.2.3~": a comparator runs into the next


def _skip_spaces(text: str, position: int) -> int:
    while position < len(text) and text[position] in _SPACES:
        position += 1
    return position


def _unreadable(text: str, position: int, whole: str) -> UsageError:
    end = position
    while end < len(text) and text[end] not in _SPACES + ",":
        end += 1
    return UsageError(f"cannot read {text[position:end] or text[position:]!r} in semver range {whole!r}: {_HINT}")


def _comparator(found: re.Match[str], whole: str) -> Comparator:
    op, written, major, minor, patch, pre = found.groups()
    pre = pre or ""
    if major in _WILDCARDS:
        fixed, text = 0, f"0.0.0{pre}"
    elif minor is None or minor[1:] in _WILDCARDS:
        fixed, text = 1, f"{major}.0.0{pre}"
    elif patch is None or patch[1:] in _WILDCARDS:
        fixed, text = 2, f"{major}{minor}.0{pre}"
    else:
        fixed, text = 3, written
    version = _read_version(text)
    if isinstance(version, str):
        raise UsageError(f"cannot read {written!r} in semver range {whole!r}: {version}")
    return Comparator(op=op, written=written, version=version, fixed=fixed)


# Each operator as Masterminds' constraint functions decide it, wildcard rules and all.
def _equal(v: Version, c: Comparator) -> bool:
    return _tilde(v, c) if c.fixed < 3 else v.precedence == c.version.precedence


def _not_equal(v: Version, c: Comparator) -> bool:
    con = c.version
    if c.fixed < 3:
        if con.major != v.major or (c.fixed != 1 and con.minor != v.minor):
            return True
        if c.fixed == 1:
            return False
        if c.fixed != 2 and con.patch != v.patch:
            return True
        if c.fixed == 2:
            return v.pre != con.pre
    return v.precedence != con.precedence


def _greater(v: Version, c: Comparator) -> bool:
    con = c.version
    if c.fixed < 3 and v.major != con.major:
        return v.major > con.major
    if c.fixed == 1:
        return False  # >1 needs 2 or higher
    if c.fixed == 2:
        return v.minor > con.minor  # >1.1 needs 1.2 or higher
    return v.precedence > con.precedence


def _less(v: Version, c: Comparator) -> bool:
    return v.precedence < c.version.precedence


def _at_least(v: Version, c: Comparator) -> bool:
    return v.precedence >= c.version.precedence


def _at_most(v: Version, c: Comparator) -> bool:
    con = c.version
    if c.fixed == 3:
        return v.precedence <= con.precedence
    # <=1.1 holds for any 1.1.x; the patch is never looked at.
    return not (v.major > con.major or (v.major == con.major and v.minor > con.minor and c.fixed != 1))


def _tilde(v: Version, c: Comparator) -> bool:
    con = c.version
    if v.precedence < con.precedence:
        return False
    if con.major == con.minor == con.patch == 0 and c.fixed in (0, 3):
        return True  # ~0.0.0 and ~* allow anything above
    return v.major == con.major and (v.minor == con.minor or c.fixed == 1)


def _caret(v: Version, c: Comparator) -> bool:
    con = c.version
    if v.precedence < con.precedence:
        return False
    if con.major > 0 or c.fixed == 1:
        return v.major == con.major
    if v.major > 0:
        return False
    if con.minor > 0 or c.fixed == 2:
        return v.minor == con.minor  # ^0.2.3 stays on 0.2
    return v.minor == 0 and v.patch == con.patch  # ^0.0.3 is 0.0.3 only


_HOLDS: dict[str, Callable[[Version, Comparator], bool]] = {
    "": _equal,
    "=": _equal,
    "!=": _not_equal,
    ">": _greater,
    "<": _less,
    ">=": _at_least,
    "=>": _at_least,
    "<=": _at_most,
    "=<": _at_most,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}
