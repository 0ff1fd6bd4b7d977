"""--shard INDEX/COUNT: every release has exactly one shard, stably."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollgen.errors import UsageError
from rollgen.shard import Shard, parse_shard, select, shard_of

KEYS = st.text(min_size=1, max_size=60)


@given(st.lists(KEYS, unique=True, max_size=50), st.integers(min_value=1, max_value=8))
def test_the_shards_partition_the_releases(keys: list[str], count: int) -> None:
    shards = [select(keys, str, Shard(i, count)) for i in range(count)]
    assert sorted(k for shard in shards for k in shard) == sorted(keys)
    assert sum(len(s) for s in shards) == len(keys)


def test_one_shard_owns_everything_and_no_shard_selects_everything() -> None:
    keys = [f"prod/web-{n}" for n in range(20)]
    assert select(keys, str, Shard(0, 1)) == tuple(keys) == select(keys, str, None)


def test_the_hash_is_the_same_in_another_process() -> None:
    # Python's hash() is salted per process; two jobs must agree on the owner of each release.
    keys = [f"ns-{n}/app-{n}" for n in range(30)]
    code = f"from rollgen.shard import shard_of; print([shard_of(k, 7) for k in {keys!r}])"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == str([shard_of(k, 7) for k in keys])


def test_the_releases_spread_over_the_shards() -> None:
    counts = [0] * 4
    for n in range(4000):
        counts[shard_of(f"team-{n % 13}/service-{n}", 4)] += 1
    assert min(counts) > 900


@pytest.mark.parametrize("text", ["3", "1/0", "3/3", "-1/2", "a/b", "1/2/3", ""])
def test_bad_shards_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--shard"):
        parse_shard(text)


def test_parse() -> None:
    assert parse_shard(" 2/5 ") == Shard(2, 5)
