"""Reading YAML fast: PyYAML's C loader (libyaml) when it is built in, its safe Python loader otherwise.

Both load the same safe subset (no Python objects). Where a problem must be
reported with its line and column, :mod:`rollgen.spec.yamldoc` reads instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

YAMLError = yaml.YAMLError


def load(text: str | bytes) -> Any:
    """The one document in ``text``.

    >>> load(b"a: [1, 2]")
    {'a': [1, 2]}
    """
    return yaml.load(text, Loader=_Loader)


def load_all(text: str | bytes) -> Iterator[Any]:
    """Every document in ``text``, lazily.

    >>> list(load_all("a: 1\\n---\\nb: 2\\n"))
    [{'a': 1}, {'b': 2}]
    """
    return yaml.load_all(text, Loader=_Loader)
