"""Building a commit's tree from its parent's tree and a replaced directory.

No index and no working tree are involved: blobs are written with one
``git hash-object -w --stdin-paths``, then only the trees on the path from
the top to the replaced directory are rewritten (through one
``git mktree --batch``); everything else is shared with the parent. The cost
is one tree per directory level plus the new directory's own trees, whatever
the size of the repository.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from rollgen.errors import UsageError
from rollgen.gitops.git import TREE_MODE, Git, ObjectReader, TreeEntry, TreeWriter
from rollgen.gitops.paths import split

BLOB_MODE = "100644"

# A directory being built: file name -> blob id, or subdirectory name -> its contents.
_Dir = dict[str, "str | _Dir"]


def write_blobs(git: Git, files: Mapping[str, bytes]) -> dict[str, str]:
    """Store each file's bytes as a blob; return ``{path: blob id}``.

    ``--no-filters`` stores the bytes exactly as given (no end-of-line or
    clean filter from ``.gitattributes``): the rendered files are the truth.
    """
    if not files:
        return {}
    paths = sorted(files)
    with tempfile.TemporaryDirectory(prefix="rollgen-blobs-") as tmp:
        names = []
        for i, path in enumerate(paths):
            name = Path(tmp, str(i))
            name.write_bytes(files[path])
            names.append(str(name))
        out = git.run(
            "hash-object", "-w", "--no-filters", "--stdin-paths", input="".join(n + "\n" for n in names).encode()
        ).text.split("\n")
    return dict(zip(paths, out, strict=True))


def replace_directory(
    reader: ObjectReader, writer: TreeWriter, base_tree: str | None, root: str, blobs: Mapping[str, str]
) -> str:
    """The tree ``base_tree`` with directory ``root`` holding exactly ``blobs``.

    ``blobs`` is ``{path relative to root: blob id}``; an empty mapping
    removes ``root`` (and any parent left empty, as git keeps no empty
    directories). Returns ``base_tree`` itself when nothing changes.
    """
    new_root = _write_dir(writer, _nest(blobs)) if blobs else None
    top = _splice(reader, writer, base_tree, split(root), new_root, root)
    if top is None:
        return writer.write(())
    return top


def _nest(blobs: Mapping[str, str]) -> _Dir:
    top: _Dir = {}
    for path, sha in blobs.items():
        *dirs, name = split(path)
        here = top
        for i, part in enumerate(dirs):
            child = here.setdefault(part, {})
            if isinstance(child, str):
                raise UsageError(f"{'/'.join(dirs[: i + 1])} is both a file and a directory")
            here = child
        if name in here:
            raise UsageError(f"{path} is both a file and a directory")
        here[name] = sha
    return top


def _write_dir(writer: TreeWriter, contents: _Dir) -> str:
    entries = tuple(
        TreeEntry(BLOB_MODE, name, value)
        if isinstance(value, str)
        else TreeEntry(TREE_MODE, name, _write_dir(writer, value))
        for name, value in contents.items()
    )
    return writer.write(entries)


def _splice(
    reader: ObjectReader,
    writer: TreeWriter,
    tree: str | None,
    parts: tuple[str, ...],
    replacement: str | None,
    root: str,
) -> str | None:
    """``tree`` with the entry at ``parts`` set to ``replacement`` (a tree id, or None = removed)."""
    entries = (reader.tree(tree) or ()) if tree else ()
    name, rest = parts[0], parts[1:]
    current = next((e for e in entries if e.name == name), None)
    if current is not None and current.type != "tree":
        raise UsageError(f"cannot write directory {root}: {name} is a file in the repository")
    below = current.sha if current else None
    new = _splice(reader, writer, below, rest, replacement, root) if rest else replacement
    if new == below:
        return tree  # unchanged: share the existing tree, write nothing
    kept = tuple(e for e in entries if e.name != name)
    if new is not None:
        kept += (TreeEntry(TREE_MODE, name, new),)
    return writer.write(kept) if kept else None
