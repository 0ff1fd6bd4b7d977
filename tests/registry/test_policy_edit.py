"""Image policies pick the right tag; a spec edit changes only the version lines (pure, no registry)."""

from __future__ import annotations

import difflib
import time
from pathlib import Path

import pytest

from rollgen.errors import UsageError
from rollgen.registry.policy import newest
from rollgen.spec.edit import set_version
from rollgen.spec.model import ImagePolicy
from rollgen.spec.validation import check_file

TAGS = ["1.0.0", "1.2.0", "v1.10.1", "1.11.0-rc.1", "2.0.0", "0.9.9", "latest", "1.10", "main-7", "main-12", "main-x"]


@pytest.mark.parametrize(
    ("range_", "prereleases", "expected"),
    [
        (">=1.0.0 <2", False, "v1.10.1"),  # numeric, not string, order: 1.10.1 beats 1.2.0; 2.0.0 is outside
        (">=1.0.0 <2", True, "1.11.0-rc.1"),  # asked for: the pre-release is the newest
        ("<1", False, "0.9.9"),
        (">=1.0.0 <1.10", False, "1.2.0"),
        ("<1 || >=2", False, "2.0.0"),
        ("=1.2.0", False, "1.2.0"),
        (">=3", False, None),
    ],
)
def test_semver_range_picks_the_highest_inside(range_: str, prereleases: bool, expected: str | None) -> None:
    assert newest(ImagePolicy("semver", range_, prereleases=prereleases), TAGS) == expected


def test_a_prerelease_is_never_picked_unless_asked() -> None:
    tags = ["6.0.0", "6.1.0-rc.1", "6.1.0-alpha"]
    assert newest(ImagePolicy("semver", ">=6.0.0 <7"), tags) == "6.0.0"


def test_unreadable_range_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="cannot read"):
        newest(ImagePolicy("semver", ">=six"), TAGS)


def test_regex_orders_numerically_or_alphabetically() -> None:
    numerical = ImagePolicy("regex", r"^main-(?P<n>[0-9]+)$", "numerical", "n")
    alphabetical = ImagePolicy("regex", r"^main-", "alphabetical")
    assert newest(numerical, TAGS) == "main-12"
    assert newest(alphabetical, TAGS) == "main-x"
    build = ImagePolicy("buildNumber", r"^main-(?P<build>[0-9]+)$", "numerical", "build")
    assert newest(build, TAGS) == "main-12"


def test_pattern_errors_name_the_pattern() -> None:
    with pytest.raises(UsageError, match="not a valid RE2"):
        newest(ImagePolicy("regex", "(", "alphabetical"), TAGS)
    with pytest.raises(UsageError, match="no named group 'build'"):
        newest(ImagePolicy("regex", "^main", "numerical", "build"), TAGS)


def test_a_pattern_from_a_spec_runs_in_linear_time() -> None:
    # Exponential on a backtracking engine (Python's re takes longer than the age of the universe here).
    policy = ImagePolicy("regex", r"^(a+)+$", "alphabetical")
    started = time.monotonic()
    assert newest(policy, ["a" * 5000 + "b"] * 20) is None
    assert time.monotonic() - started < 1.0


SPEC = """\
# yaml-language-server: $schema=../schemas/release.schema.json
# Web: detected from the registry, rolled out by advance.
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata:
  name: web     # the Deployment's name

spec:
  namespace: prod
  image: 'registry.example/team/web'   # single quotes, kept
  stable: "1.0.0"
  # the version below is written by rollgen detect
  version: "1.1.0"   # do not edit by hand
  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
  imagePolicy: {semver: {range: '>=1.0.0 <2'}, pin: digest}
  replicas: 3
"""


def _changed(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_edit_changes_exactly_the_version_lines() -> None:
    digest = "sha256:" + "ab" * 32
    after = set_version(SPEC, "1.2.0", digest)
    assert _changed(SPEC, after) == [
        '-  version: "1.1.0"   # do not edit by hand',
        "-  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000",
        '+  version: "1.2.0"   # do not edit by hand',
        f"+  digest: {digest}",
    ]


def test_edit_adds_a_missing_digest_after_version_and_keeps_plain_style_safe() -> None:
    spec = "spec:\n  version: 1.1.0 # plain\n  replicas: 1\n"
    after = set_version(spec, "1.10", "sha256:" + "c" * 64)
    # A plain 1.10 would read back as the float 1.1: the edit quotes it.
    assert after == f'spec:\n  version: "1.10" # plain\n  digest: "sha256:{"c" * 64}"\n  replicas: 1\n'
    assert set_version(spec, "1.2.0") == "spec:\n  version: 1.2.0 # plain\n  replicas: 1\n"


def test_edit_refuses_a_spec_without_version() -> None:
    with pytest.raises(UsageError, match=r"no spec\.version"):
        set_version("spec:\n  replicas: 1\n", "1.0.0")


@pytest.mark.parametrize(
    ("policy", "where", "message"),
    [
        ('{regex: {pattern: "^main-(", order: numerical}}', "11:34", "not a valid RE2 expression: missing ): ^main-("),
        ('{regex: {pattern: "^main-", order: numerical, key: n}}', "11:34", "has no named group 'n'"),
        ("{buildNumber: {pattern: '^b[0-9]+$'}}", "11:40", "has no named group 'build'"),
        ("{semver: {range: '>=one'}}", "11:33", "cannot read '>=one' in semver range"),
        (
            "{semver: {range: '1.2 - 1.x, != 1.4.0-01'}}",
            "11:33",
            "cannot read '1.4.0-01' in semver range '1.2 - 1.x, != 1.4.0-01': the pre-release '01' has a number",
        ),
        ("{semver: {range: '^1.2 ||'}}", "11:33", "has an empty alternative"),
    ],
)
def test_validate_reports_a_bad_policy_where_it_is(tmp_path: Path, policy: str, where: str, message: str) -> None:
    problems = check_file(_spec_with(tmp_path, policy)).problems
    assert [f"{p.line}:{p.col}" for p in problems] == [where]
    assert message in problems[0].message


@pytest.mark.parametrize("range_", ["^1.2 || ~1.3, !=1.3.4", "1.2 - 1.4.5", ">= 1.2, < 3", "v1.x", "*", "~> 2.0"])
def test_validate_accepts_the_ranges_flux_accepts(tmp_path: Path, range_: str) -> None:
    assert check_file(_spec_with(tmp_path, f"{{semver: {{range: '{range_}'}}}}")).problems == ()


def _spec_with(tmp_path: Path, policy: str) -> Path:
    spec = tmp_path / "web.yaml"
    spec.write_text(
        "apiVersion: rollgen.io/v1alpha1\nkind: Release\nmetadata:\n  name: web\nspec:\n  namespace: prod\n"
        '  replicas: 2\n  image: registry.example/web\n  stable: "1.0.0"\n  version: "1.1.0"\n'
        f"  imagePolicy: {policy}\n  source: {{kustomize: {{base: apps/web/base}}}}\n  output: {{path: overlays/web}}\n"
        "  strategy: {canary: {steps: [{setWeight: 50}]}}\n  gates: [{name: up, kubernetes: {}}]\n"
    )
    return spec
