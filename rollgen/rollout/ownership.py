"""Who owns an output directory, checked before every rollout commit writes it.

A rollout commit replaces its release's output directory whole: every file it
does not list is deleted. So before writing, rollgen makes sure the directory
is the release's own:

* no other release's rollgen commit wrote under it (two releases on one
  ``output.path``, or one release's output nested inside another's), and no
  other release's output holds it (files directly in a directory above it
  written by another release's commit);
* it holds no workload (Deployment, StatefulSet, DaemonSet) that rollgen did
  not write: replacing a hand-written Deployment would delete what runs. An
  application already running from that directory is taken over with
  ``rollgen adopt SPEC``.

``validate`` refuses overlapping ``output.path`` values between the specs it
is given; this check also holds for releases whose specs were never validated
together. It reads history restricted to the paths involved (``git log --
PATH``), at most :data:`_LOOK_BACK` rollgen commits.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from typing import Final

from rollgen import yamlload
from rollgen.errors import UsageError
from rollgen.gitops.change import Change
from rollgen.gitops.git import Git
from rollgen.gitops.paths import join
from rollgen.gitops.records import index_at
from rollgen.gitops.snapshot import Snapshot
from rollgen.render.revision import REVISION_FILE, listed_revision_files, writers

_WORKLOADS: Final = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
_LOOK_BACK: Final = 200


class OwnershipError(UsageError):
    """The output directory belongs to another release, or holds a workload rollgen did not write."""


def check_owner(
    git: Git,
    tip: Snapshot,
    release: str,
    change: Change,
    step_0: Callable[[], Mapping[str, bytes]],
) -> None:
    """Refuse ``change`` (before anything is written) when its directory is not ``release``'s own to replace.

    A workload file counts as rollgen's when a rollgen commit of ``release``
    left it so, when ``change`` writes it unchanged, or when it is what
    ``step_0()`` renders (``rollgen render SPEC --step 0`` committed by hand,
    the documented way to prepare an output path). ``rollgen adopt`` takes a
    hand-written workload over, so it asks :func:`refuse_other_owner` alone.
    """
    if tip.tip is None:
        return
    root = change.root
    under = refuse_other_owner(git, tip, release, root)
    mine = next((sha for sha, who in under if who == release), None)
    written = tip.at(mine).files(root) if mine is not None else {}
    present = tip.files(root)
    foreign = [
        name
        for name, data in sorted(present.items())
        if data not in (written.get(name), change.files.get(name)) and _holds_workload(data)
    ]
    rendered = step_0() if foreign else {}
    for name in foreign:
        if rendered.get(name) != present[name]:
            raise OwnershipError(
                f"{release}: {join(root, name)} holds a workload rollgen did not write; a rollout would "
                "replace it. Take the running application over with `rollgen adopt SPEC` (SPEC: this release's spec), "
                "or move the file out of output.path"
            )


def refuse_other_owner(git: Git, tip: Snapshot, release: str, root: str) -> list[tuple[str, str]]:
    """Refuse when another release's output overlaps ``root``: under it, or directly in a directory above it.

    Another release's output is known by its files (a ``revision.yaml``
    naming that release: an adoption commit carries no trailer) and by its
    rollgen commits. Checked before anything is decided from what ``root``
    holds: another release's revisions there would otherwise read as this
    release's (a second release on one ``output.path`` would find "nothing to
    roll out"). Returns the newest rollgen commits under ``root``
    (``(commit, release)``).
    """
    if tip.tip is None:
        return []
    parents = [root.rsplit("/", i)[0] for i in range(1, root.count("/") + 1)]
    _refuse_other_revisions(tip, release, root, parents)
    above = [join(p, name) for p in parents for name in tip.direct_files(p)]
    # The newest rollgen commit under the directory says who writes it now. When it is this
    # release's, every older one was checked when this release's commits were made.
    under = _rollgen_commits(git, tip.tip, [root], 1)
    if under and under[0][1] != release:
        under = _rollgen_commits(git, tip.tip, [root], _LOOK_BACK)
    for commits, where in (
        (under, f"under {root}"),
        (_rollgen_commits(git, tip.tip, above, _LOOK_BACK), f"above {root}"),
    ):
        other = next(((who, sha) for sha, who in commits if who and who != release), None)
        if other is not None:
            raise _overlap(release, root, other[0], f"its commit {other[1][:12]} wrote {where}")
    return under


def refuse_foreign_revisions(release: str, root: str, files: Mapping[str, bytes], where: str) -> None:
    """Refuse when a ``revision.yaml`` among ``files`` (the output at ``root``, or near it) names another release."""
    others = sorted(writers(files) - {release})
    if others:
        raise _overlap(release, root, others[0], f"its revisions are {where}")


def _overlap(release: str, root: str, other: str, evidence: str) -> OwnershipError:
    return OwnershipError(
        f"{release}: output.path {root} overlaps the output of release {other} ({evidence}); a rollout replaces "
        "its whole output directory, so give each release an output.path that neither contains nor lies inside "
        "another's"
    )


def _refuse_other_revisions(tip: Snapshot, release: str, root: str, parents: list[str]) -> None:
    """Refuse when a ``revision.yaml`` under ``root``, or listed by a directory above it, names another release."""
    under = {p: t for p in tip.list(root) if posixpath.basename(p) == REVISION_FILE and (t := tip.read(join(root, p)))}
    refuse_foreign_revisions(release, root, under, f"under {root}")
    for parent in parents:
        try:
            listed = listed_revision_files(tip.read(join(parent, "kustomization.yaml")))
        except yamlload.YAMLError:
            continue  # not an output rollgen wrote: rollgen never writes a malformed kustomization
        texts = {p: t for p in listed if (t := tip.read(join(parent, p)))}
        refuse_foreign_revisions(release, root, texts, f"in {parent}, above {root}")


def _rollgen_commits(git: Git, ref: str, paths: list[str], most: int) -> list[tuple[str, str]]:
    """``(commit, release)`` of the newest rollgen commits that changed any of ``paths`` (none: none).

    From the tip's record index (:mod:`rollgen.gitops.records`), which keeps the
    files each rollgen commit changed: no walk of the history per check.
    """
    if not paths:
        return []
    return index_at(git, ref).touching(paths, most)


def _holds_workload(data: bytes) -> bool:
    try:
        documents = list(yamlload.load_all(data))
    except (yamlload.YAMLError, UnicodeDecodeError):
        return False  # not a manifest a GitOps engine applies either
    return any(isinstance(doc, dict) and doc.get("kind") in _WORKLOADS for doc in documents)
