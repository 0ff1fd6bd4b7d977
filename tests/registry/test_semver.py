"""Masterminds/semver's and Flux's own test tables (tests/registry/semver_tables.yaml), every case, against the parser.

Each test runs one table and lists every row that disagrees, so a failure
names all of them at once. ``test_detect_ranges.py`` runs the check tables
through ``rollgen detect`` against a real registry.
"""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Callable

import pytest

from rollgen.errors import UsageError
from rollgen.registry import semver
from rollgen.registry.policy import newest
from rollgen.registry.semver import Range, Version, expand_hyphen_ranges, parse_range, parse_version, tag_version
from rollgen.spec.model import ImagePolicy
from tests.registry.semver_tables import TABLES


def _range(text: str) -> Range | None:
    try:
        return parse_range(text)
    except UsageError:
        return None


def _version(text: str) -> Version:
    found = parse_version(text)
    assert found is not None, text
    return found


def test_parse_constraint() -> None:
    wrong = []
    for text, kind, version, error in TABLES["PARSE_CONSTRAINT"]:
        found = _range(text)
        if found is None or error:
            wrong += [text] if (found is None) != error else []
            continue
        [[comparator]] = found.alternatives
        # As the Go test compares constraint functions: "=>" and ">=" are one operator.
        same_operator = semver._HOLDS[comparator.op] is semver._HOLDS[kind or ""]
        if not same_operator or str(comparator.version) != version:
            wrong.append(text)
    assert wrong == []


def test_one_constraint_check() -> None:
    # parseConstraint("") stands for "*" in Masterminds, but no range reaches it: NewConstraint refuses an
    # empty range (and so does Flux, see FLUX_INVALID_RANGES), and so does rollgen.
    wrong = [
        (text, version)
        for text, version, holds in TABLES["CONSTRAINT_CHECK"]
        if text and _holds(text, version, prereleases=False) != holds
    ]
    assert wrong == []
    assert {text for text, _, _ in TABLES["CONSTRAINT_CHECK"] if not text} == {""}
    assert _range("") is None


def _holds(text: str, version: str, *, prereleases: bool) -> bool | None:
    found = _range(text)
    return None if found is None else found.allows(_version(version), prereleases=prereleases)


@pytest.mark.parametrize(
    ("table", "prereleases"),
    [
        (TABLES["CONSTRAINTS_CHECK"], False),
        (TABLES["CONSTRAINTS_CHECK_INCLUDE_PRERELEASE"], True),
        (TABLES["CONSTRAINTS_VALIDATE"], False),
        (TABLES["CONSTRAINTS_VALIDATE_INCLUDE_PRERELEASE"], True),
    ],
    ids=["check", "check-include-prerelease", "validate", "validate-include-prerelease"],
)
def test_constraints_check(table: list[tuple[str, str, bool]], prereleases: bool) -> None:
    wrong = [(t, v) for t, v, holds in table if _holds(t, v, prereleases=prereleases) != holds]
    assert wrong == []


@pytest.mark.parametrize(
    ("table", "prereleases"),
    [
        (TABLES["CONSTRAINTS_VALIDATE_MESSAGES"], False),
        (TABLES["CONSTRAINTS_VALIDATE_INCLUDE_PRERELEASE_MESSAGES"], True),
    ],
    ids=["validate", "validate-include-prerelease"],
)
def test_cases_with_a_reason_do_not_hold(table: list[tuple[str, str, str]], prereleases: bool) -> None:
    wrong = [(t, v, reason) for t, v, reason in table if _holds(t, v, prereleases=prereleases) is not False]
    assert wrong == []


def test_new_constraint() -> None:
    wrong = []
    for text, alternatives, comparators, error in TABLES["NEW_CONSTRAINT"]:
        found = _range(text)
        if (found is None) != error or (
            found is not None and (len(found.alternatives), len(found.alternatives[0])) != (alternatives, comparators)
        ):
            wrong.append(text)
    assert wrong == []


def test_rewrite_range() -> None:
    assert [(t, expand_hyphen_ranges(t)) for t, _ in TABLES["REWRITE_RANGE"]] == TABLES["REWRITE_RANGE"]


def test_is_x() -> None:
    # Masterminds' isX, seen from a range: a wildcard allows every release, anything else is no version.
    for text, wildcard in TABLES["IS_X"]:
        found = _range(text)
        if wildcard:
            assert found is not None and all(found.allows(_version(v)) for v in ("0.0.1", "1.2.3", "99.0.0")), text
        else:
            assert found is None, text


@pytest.mark.parametrize("table", [TABLES["CONSTRAINT_STRING"], TABLES["TEXT_MARSHAL"], TABLES["TEXT_UNMARSHAL"]])
def test_string_forms(table: list[tuple[str, str]]) -> None:
    assert [(t, str(parse_range(t))) for t, _ in table] == table
    assert all(_range(s) is not None for _, s in table)  # the string form reads back


def test_fuzz_seeds_are_read_or_refused() -> None:
    for text in TABLES["FUZZ_CONSTRAINT_SEEDS"]:
        _range(text)  # anything but UsageError fails the test
    for text in TABLES["FUZZ_VERSION_SEEDS"]:
        parse_version(text)


def test_new_version() -> None:
    assert [(v, parse_version(v) is None) for v, _ in TABLES["NEW_VERSION"]] == TABLES["NEW_VERSION"]


def test_original_and_parts() -> None:
    assert all(parse_version(v) is not None for v in TABLES["ORIGINAL"])
    # Original(): the tag rollgen writes is the tag as listed, never a normalised form.
    tags = [v for v in TABLES["ORIGINAL"] if tag_version(v) is not None]
    assert tags and all(newest(ImagePolicy("semver", ">=0.0.0-0", prereleases=True), [t]) == t for t in tags)
    for text, *parts in TABLES["PARTS"]:
        found = _version(text)
        assert [found.major, found.minor, found.patch, found.pre, found.metadata] == parts


def test_coerce_string() -> None:
    assert [(v, str(_version(v))) for v, _ in TABLES["COERCE_STRING"]] == TABLES["COERCE_STRING"]


def _compare(a: Version, b: Version) -> int:
    return (a.precedence > b.precedence) - (a.precedence < b.precedence)


@pytest.mark.parametrize(
    ("table", "relation"),
    [
        (TABLES["COMPARE"], _compare),
        (TABLES["LESS_THAN"], operator.lt),
        (TABLES["LESS_THAN_EQUAL"], operator.le),
        (TABLES["GREATER_THAN"], operator.gt),
        (TABLES["GREATER_THAN_EQUAL"], operator.ge),
        (TABLES["EQUAL"], operator.eq),
    ],
    ids=["compare", "lt", "le", "gt", "ge", "equal"],
)
def test_ordering(table: list[tuple[str, str, object]], relation: Callable[[object, object], object]) -> None:
    def outcome(a: str, b: str) -> object:
        x, y = _version(a), _version(b)
        return relation(x, y) if relation is _compare else relation(x.precedence, y.precedence)

    assert [(a, b, outcome(a, b)) for a, b, _ in table] == table


def test_pre_release_and_metadata_identifiers() -> None:
    assert [(p, parse_version(f"1.0.0-{p}") is not None) for p, _ in TABLES["VALIDATE_PRERELEASE"]] == (
        TABLES["VALIDATE_PRERELEASE"]
    )
    assert [(m, parse_version(f"1.0.0+{m}") is not None) for m, _ in TABLES["VALIDATE_METADATA"]] == (
        TABLES["VALIDATE_METADATA"]
    )


def test_flux_reads_tags() -> None:
    assert [(t, tag_version(t) is None) for t, _ in TABLES["FLUX_PARSE_VERSION"]] == TABLES["FLUX_PARSE_VERSION"]


def test_flux_ranges_and_latest() -> None:
    assert all(_range(r) is not None for r in TABLES["FLUX_VALID_RANGES"])
    assert all(_range(r) is None for r in TABLES["FLUX_INVALID_RANGES"])
    assert [(r, t, newest(ImagePolicy("semver", r), t)) for r, t, _ in TABLES["FLUX_LATEST"]] == TABLES["FLUX_LATEST"]


def test_partial_versions_mean_what_masterminds_means() -> None:
    # The examples: rollgen read both the other way before.
    assert parse_range("<=1.1").allows(_version("1.1.1"))
    assert not parse_range(">1.1 <2").allows(_version("1.1.1"))


def test_equal_versions_pick_the_lowest_tag_whatever_the_listing_order() -> None:
    policy = ImagePolicy("semver", "^1")
    assert newest(policy, ["v1.2.0", "1.2.0", "1.1.0"]) == "1.2.0"
    assert newest(policy, ["1.2.0", "v1.2.0"]) == "1.2.0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (">=six", "cannot read '>=six' in semver range '>=six'"),
        ("12.3.34~ 1.2.3", "cannot read '12.3.34~'"),
        (">=1.0 ||", "has an empty alternative"),
        ("1x", "cannot read '1x' in semver range '1x': not a version"),
        ("v1.2.3-beta.01", "the pre-release 'beta.01' has a number with a leading zero"),
        ("18446744073709551616", "a number is larger than 2^64 - 1"),
        ("1" * 257, "257 characters long"),
    ],
)
def test_a_bad_range_says_what_it_cannot_read(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_range(text)


def test_reading_stays_linear_on_hostile_ranges() -> None:
    # Masterminds' validating pattern backtracks exponentially on such input in Python's engine.
    hostile = ["1  " * 85 + "!", "1 " * 127 + "~", "1.1.1" * 51 + " - ", "|" * 256, ", " * 128]
    started = time.monotonic()
    for text in hostile:
        _range(text)
    assert time.monotonic() - started < 0.5
