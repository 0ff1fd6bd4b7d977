"""The regular expressions gates match answers against, in a linear-time engine (RE2).

A backtracking engine can take exponential time on a pattern such as
``(1+1+)+x``, holding the interpreter so that no timeout can fire. RE2 matches
in time linear in the text, so a gate's timeout always holds; the price is the
few features that need backtracking (backreferences, lookaround), which
:func:`compile_pattern` rejects with RE2's reason. Light enough for
``rollgen validate`` to import (RE2's bindings load in milliseconds).

    >>> compile_pattern(r"version=6\\.5\\.\\d+").search("version=6.5.3 ready") is not None
    True
    >>> compile_pattern(r"(a)\\1")
    Traceback (most recent call last):
    ...
    rollgen.gates.pattern.PatternError: invalid escape sequence: \\1 (patterns use RE2 syntax: no backreferences or lookaround)
"""

from __future__ import annotations

from typing import Any

import re2  # type: ignore[import-untyped]

from rollgen.errors import RollgenError


class PatternError(RollgenError):
    """A pattern RE2 cannot compile."""


def compile_pattern(text: str) -> Any:
    """``text`` compiled by RE2 (``.search(string)`` finds a match or returns None)."""
    options = re2.Options()
    options.log_errors = False  # RE2 would print the error to stderr as well
    try:
        return re2.compile(text, options)
    except re2.error as error:
        reason = error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) else error
        raise PatternError(f"{reason} (patterns use RE2 syntax: no backreferences or lookaround)") from None
