"""The semver level of a version change (``major``, ``minor``, ``patch``): what ``autoPromote`` compares. Pure.

A tiny reading of ``MAJOR.MINOR.PATCH`` (a leading ``v`` allowed, a
pre-release or build suffix ignored), enough to tell which number changed;
the full Masterminds grammar is :mod:`rollgen.registry.policy`'s business.

>>> change_level("1.4.2", "1.4.3"), change_level("v1.4.2", "v1.5.0"), change_level("1.4.2", "2.0.0-rc.1")
('patch', 'minor', 'major')
>>> change_level("1.4.2", "1.3.9")  # a step back is a change of that level too
'minor'
>>> change_level("1.4.2", "latest") is None
True
"""

from __future__ import annotations

import re
from typing import Literal

Level = Literal["major", "minor", "patch"]
LEVELS: tuple[Level, ...] = ("patch", "minor", "major")

_CORE = re.compile(r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:[-+].*)?$")


def change_level(running: str, candidate: str) -> Level | None:
    """The highest of major, minor, patch that differs from ``running`` to ``candidate``; None when either is no semver.

    Equal numbers (a new build or pre-release of the same version) count as a patch.
    """
    old, new = _CORE.match(running), _CORE.match(candidate)
    if old is None or new is None:
        return None
    if old[1] != new[1]:
        return "major"
    if old[2] != new[2]:
        return "minor"
    return "patch"
