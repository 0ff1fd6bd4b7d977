"""Every release spec of a repository, changed or not: what ``validate``'s whole-repository checks compare with.

Its own module because it runs git: ``rollgen validate`` of a spec outside any
repository never imports :mod:`subprocess` for it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from rollgen.spec.discover import is_release_spec, release_specs


def repository_specs(root: Path) -> list[Path]:
    """Every release spec in the repository at ``root``, sorted.

    In a git work tree, among the YAML files git lists (tracked, or untracked
    and not ignored: what ``git add -A`` would commit), so an ignored directory
    costs nothing; elsewhere among every file under ``root``, as
    :func:`release_specs` finds them.
    """
    if not (root / ".git").exists():
        return sorted(release_specs([root]))
    argv = [
        "git",
        "-C",
        str(root),
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
        "--",
        "*.yaml",
        "*.yml",
    ]
    try:
        listed = subprocess.run(argv, capture_output=True, check=False)
    except OSError:  # no git: the tree is all there is to go by
        return sorted(release_specs([root]))
    if listed.returncode != 0:  # a .git git cannot read (a worktree's file pointing nowhere): walk the tree
        return sorted(release_specs([root]))
    names = sorted(set(listed.stdout.decode("utf-8", "surrogateescape").split("\0")) - {""})
    return [root / name for name in names if is_release_spec(root / name)]
