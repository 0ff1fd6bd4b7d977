"""Which tag an image policy picks: pure, no registry access.

>>> from rollgen.spec.model import ImagePolicy
>>> newest(ImagePolicy("semver", ">=6.0.0 <7"), ["5.9.0", "6.1.0", "v6.2.0", "6.3.0-rc.1", "7.0.0", "latest"])
'v6.2.0'
>>> newest(ImagePolicy("buildNumber", "^main-(?P<build>[0-9]+)$", "numerical", "build"), ["main-9", "main-10", "pr-99"])
'main-10'

Semantic version ranges and tags are read as Flux reads them
(:mod:`rollgen.registry.semver`: Masterminds/semver v3). Patterns come from
a spec, so they run on RE2 (linear time whatever the pattern), never on
Python's backtracking engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rollgen.errors import UsageError
from rollgen.registry.semver import MAX_RANGE, Version, parse_range, tag_version

if TYPE_CHECKING:  # the spec checks import this module: no cycle through the spec package
    from rollgen.spec.model import ImagePolicy

_NUMBER = re.compile(r"[0-9]{1,40}(?:\.[0-9]{1,40})?")


def newest(policy: ImagePolicy, tags: Iterable[str]) -> str | None:
    """The tag ``policy`` allows that sorts highest, or None when it allows none.

    Ties never depend on the registry's listing order: between equal
    versions (``6.2.0`` and ``v6.2.0``) the alphabetically lowest
    tag wins, the one Flux picks from a registry's sorted listing; between
    equal keys of a pattern the highest, as Flux's numerical order picks.
    """
    if policy.kind == "semver":
        return _newest_version(policy, tags)
    key = _pattern_key(policy)
    best: tuple[Any, str] | None = None
    for tag in tags:
        value = key(tag)
        if value is not None and (best is None or (value, tag) > best):
            best = (value, tag)
    return None if best is None else best[1]


def _newest_version(policy: ImagePolicy, tags: Iterable[str]) -> str | None:
    allowed = parse_range(policy.expression)
    best: tuple[Version, str] | None = None
    for tag in tags:
        version = tag_version(tag)
        if version is None or not allowed.allows(version, prereleases=policy.prereleases):
            continue
        # Higher precedence, or the same and an alphabetically lower tag (the tags swapped on purpose).
        if best is None or (version.precedence, best[1]) > (best[0].precedence, tag):
            best = (version, tag)
    return None if best is None else best[1]


def expression_problem(kind: str, expression: str, key: str | None) -> str | None:
    """What is wrong with a policy's range or pattern (for ``rollgen validate``), or None."""
    if kind == "semver" and len(expression) > MAX_RANGE:
        return None  # the schema's maxLength says so already, once
    try:
        if kind == "semver":
            parse_range(expression)
        else:
            _compile(expression, key)
    except UsageError as exc:
        return str(exc)
    return None


def _compile(expression: str, key: str | None) -> Any:
    from rollgen.gates.pattern import PatternError, compile_pattern

    try:
        pattern = compile_pattern(expression)
    except PatternError as exc:
        raise UsageError(f"imagePolicy pattern {expression!r} is not a valid RE2 expression: {exc}") from None
    if key is not None and key not in pattern.groupindex:
        raise UsageError(f"imagePolicy pattern {expression!r} has no named group {key!r}")
    return pattern


def _pattern_key(policy: ImagePolicy) -> Callable[[str], Any]:
    pattern = _compile(policy.expression, policy.key)

    def key(tag: str) -> Any:
        found = pattern.search(tag)
        if found is None:
            return None
        value = tag if policy.key is None else found.group(policy.key)
        if policy.order == "alphabetical":
            return value
        if not _NUMBER.fullmatch(value):
            return None  # a numerical order cannot place a key that is no number: the tag is not a candidate
        return Decimal(value)

    return key
