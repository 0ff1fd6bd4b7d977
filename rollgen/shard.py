"""Sharding releases between several controllers: ``--shard INDEX/COUNT``.

Several ``rollgen advance`` jobs over the same repository are already safe
(each commit is a compare-and-swap on the branch), but they would all judge
and race on the same releases. With ``--shard i/n`` a job keeps only the
releases whose key hashes to ``i``, so ``n`` jobs split the work and every
release has exactly one of them. The hash is SHA-256 of the release key
(``<namespace>/<name>``, as in the ``Rollgen-Release`` trailer): stable across
processes, machines and Python versions, unlike :func:`hash`.

    >>> shard = parse_shard("1/3")
    >>> shard
    Shard(index=1, count=3)
    >>> [sum(shard_of(f"prod/web-{n}", 3) == i for n in range(300)) for i in range(3)]
    [103, 102, 95]
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from rollgen.errors import UsageError

T = TypeVar("T")

_SHARD = re.compile(r"(\d+)/(\d+)")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (from 0) of ``count``."""

    index: int
    count: int

    def owns(self, key: str) -> bool:
        return shard_of(key, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """``"INDEX/COUNT"`` (INDEX from 0, as a Kubernetes Indexed Job numbers its pods)."""
    found = _SHARD.fullmatch(text.strip())
    if found is None:
        raise UsageError(f"--shard {text!r}: expected INDEX/COUNT, e.g. 0/3 (INDEX counts from 0)")
    index, count = int(found.group(1)), int(found.group(2))
    if count < 1 or index >= count:
        raise UsageError(f"--shard {text}: INDEX must be at least 0 and less than COUNT, COUNT at least 1")
    return Shard(index, count)


def shard_of(key: str, count: int) -> int:
    """The shard (0 to ``count - 1``) release ``key`` belongs to."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def select(items: Iterable[T], key: Callable[[T], str], shard: Shard | None) -> tuple[T, ...]:
    """The items whose key the shard owns (all of them without a shard), in their order."""
    return tuple(item for item in items if shard is None or shard.owns(key(item)))
