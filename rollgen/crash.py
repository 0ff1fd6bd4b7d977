"""Keeping the traceback of an unexpected error (a bug) for its report, off the user's screen."""

from __future__ import annotations

import tempfile
import traceback


def keep_traceback(exc: BaseException) -> str:
    """Write ``exc``'s traceback to a new ``rollgen-*.log`` in the temporary directory; its path."""
    with tempfile.NamedTemporaryFile("w", prefix="rollgen-", suffix=".log", delete=False) as log:
        log.write("".join(traceback.format_exception(exc)))
    return log.name
