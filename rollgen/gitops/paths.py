"""Repo-relative paths as rollgen accepts them: plain, normalised, inside the repository.

>>> check_path("overlays/podinfo/prod")
'overlays/podinfo/prod'
>>> check_path("overlays/../.git/config")
Traceback (most recent call last):
...
rollgen.errors.UsageError: path 'overlays/../.git/config' must be relative and normalised (no '', '.', '..' or '.git' parts)
"""

from __future__ import annotations

from rollgen.errors import UsageError


def check_path(path: str) -> str:
    """Return ``path`` unchanged when it is a clean relative path, else raise UsageError.

    Newlines are refused too: paths travel through line-based git protocols.
    """
    parts = path.split("/")
    if any(p in {"", ".", ".."} or p.lower() == ".git" for p in parts) or "\n" in path or "\0" in path:
        raise UsageError(f"path {path!r} must be relative and normalised (no '', '.', '..' or '.git' parts)")
    return path


def split(path: str) -> tuple[str, ...]:
    """The parts of a checked path: ``"a/b"`` -> ``("a", "b")``."""
    return tuple(check_path(path).split("/"))


def join(base: str, name: str) -> str:
    """``base/name``, or ``name`` alone at the top.

    >>> join("", "a"), join("a", "b")
    ('a', 'a/b')
    """
    return f"{base}/{name}" if base else name
