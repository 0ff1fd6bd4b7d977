"""Revisions: what a release runs is an image version plus the configuration it was built from.

A :class:`Revision` is the image (``version``, the tag, and optionally a pinned
``digest``) and ``config``, a short digest of the workload configuration as
built (a Kustomize base: the bytes ``kubectl kustomize`` prints; a Helm chart:
the chart's files and the values files). A change to either is a new revision,
rolled out by the release's strategy.

**Labels.** The plan, the ``version`` pod label, the Deployment name and the
overlay directory all use a revision's *label*, derived without history:

- the version itself when it differs from the version on the other side of the
  rollout (``1.1.0`` replacing ``1.0.0``): every release so far looks as before;
- ``<version>-<config[:6]>`` for a config-only revision, one with the same
  version as the stable that runs now (``1.0.0-3f2a9c`` replacing ``1.0.0``),
  so both sides have distinct Deployments, selectors and gate queries.

A running revision keeps the label it was rolled out with: the label of the
stable side is read back from the output directory (:func:`live_revisions`),
never derived again.

**Metadata.** Each version directory of an output holds ``revision.yaml``
(:func:`revision_file`), so the live revision is read from the files at the
branch tip, without building anything.

>>> stable = Revision("1.0.0", "aaaaaaaaaa")
>>> revision_label(Revision("1.1.0", "aaaaaaaaaa"), stable)
'1.1.0'
>>> revision_label(Revision("1.0.0", "3f2a9c0d1e"), stable)
'1.0.0-3f2a9c'
>>> revision_label(stable, None)
'1.0.0'
>>> text = revision_file("1.0.0-3f2a9c", Revision("1.0.0", "3f2a9c0d1e", inputs="0123456789abcdef"))
>>> print(text.decode(), end="")
# Written by rollgen: the revision this directory runs. Do not edit.
label: 1.0.0-3f2a9c
version: 1.0.0
config: 3f2a9c0d1e
inputs: 0123456789abcdef
>>> read_revision_file(text)
('1.0.0-3f2a9c', Revision(version='1.0.0', config='3f2a9c0d1e', digest=None, inputs='0123456789abcdef'), False)
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from rollgen import yamlload
from rollgen.errors import UsageError

REVISION_FILE = "revision.yaml"
VERSIONS = "versions"
_HEADER = "# Written by rollgen: the revision this directory runs. Do not edit.\n"


@dataclass(frozen=True)
class Revision:
    """An image version (tag, ``digest`` when pinned) and the configuration ``config`` it is built from.

    ``inputs`` is the fingerprint of the files the configuration was built
    from, recorded so that an unchanged repository needs no build to tell
    that the configuration is unchanged. It is a cache key, not part of the
    revision's identity: two revisions with the same version, digest and
    config are equal whatever files produced them (a comment-only edit).
    """

    version: str
    config: str
    digest: str | None = None
    inputs: str | None = field(default=None, compare=False)


def config_digest(parts: Iterable[bytes]) -> str:
    """The short digest of a configuration given as byte strings (each length-prefixed, so boundaries count)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:10]


def revision_label(revision: Revision, other: Revision | None) -> str:
    """The label of ``revision`` rolled out against ``other`` (the stable running now, ``None`` for none)."""
    if other is None or other.version != revision.version:
        return revision.version
    return f"{revision.version}-{revision.config[:6]}"


def image_reference(image: str, revision: Revision) -> str:
    """The image a revision runs: the tag, pinned to the digest when there is one.

    >>> image_reference("ghcr.io/x/web", Revision("1.0.0", "c", "sha256:ab"))
    'ghcr.io/x/web:1.0.0@sha256:ab'
    """
    pinned = f"@{revision.digest}" if revision.digest else ""
    return f"{image}:{revision.version}{pinned}"


def revision_file(name: str, revision: Revision, *, adopted: bool = False, release: str | None = None) -> bytes:
    """The ``revision.yaml`` text of a version directory running ``revision`` under label ``name``.

    ``adopted`` marks the revision rollgen found running and adopted: it keeps
    the Deployment it had (see :mod:`rollgen.render.adopt`). ``release``
    (``<namespace>/<name>``) names the release whose output this is, so a look
    at the files alone tells one release's output from another's.
    """
    fields: dict[str, object] = {"label": name, "version": revision.version, "digest": revision.digest}
    fields.update(config=revision.config, inputs=revision.inputs, adopted=adopted or None, release=release)
    body = yaml.safe_dump({k: v for k, v in fields.items() if v is not None}, sort_keys=False)
    return (_HEADER + body).encode()


@functools.lru_cache(maxsize=4096)
def _revision_data(text: bytes) -> Any:
    """A ``revision.yaml`` parsed once: a pass reads each for its revision and for its writer."""
    return yamlload.load(text)


def read_revision_file(text: bytes) -> tuple[str, Revision, bool]:
    """The label, revision and adopted mark a ``revision.yaml`` records."""
    data: Any = _revision_data(text)
    revision = Revision(str(data["version"]), str(data["config"]), data.get("digest"), data.get("inputs"))
    return str(data["label"]), revision, bool(data.get("adopted"))


def writers(files: Mapping[str, bytes]) -> set[str]:
    """The releases named by every ``revision.yaml`` among ``files``, at any depth (nested outputs too).

    >>> writers({"versions/1-0-0/revision.yaml": revision_file("1.0.0", Revision("1.0.0", "c"), release="prod/web"),
    ...          "stage/versions/1-0-0/revision.yaml": revision_file("1.0.0", Revision("1.0.0", "c"), release="stage/web"),
    ...          "kustomization.yaml": b"resources: []"}) == {"prod/web", "stage/web"}
    True
    """
    found = set()
    for path, text in files.items():
        if posixpath.basename(path) == REVISION_FILE:
            data: Any = _revision_data(text)
            if isinstance(data, dict) and isinstance(data.get("release"), str):
                found.add(data["release"])
    return found


def frozen_directories(files: Mapping[str, bytes], companion: str, output: str) -> Iterator[tuple[str, bytes, bytes]]:
    """Each version directory of an output's ``files`` that records a revision: its path, revision text and ``companion``.

    ``companion`` is the file a renderer freezes beside ``revision.yaml`` (a
    Kustomize build, a chart's pin); ``output`` names the directory in errors.
    A revision without it cannot be rendered again: UsageError, never a guess.
    """
    for path, text in files.items():
        directory, name = posixpath.split(path)
        if name != REVISION_FILE or posixpath.dirname(directory) != VERSIONS:
            continue
        frozen = files.get(f"{directory}/{companion}")
        if frozen is None:
            raise UsageError(
                f"{output}/{directory} has {REVISION_FILE} but no {companion}: restore it from Git history"
            )
        yield directory, text, frozen


def live_revisions(files: Mapping[str, bytes]) -> dict[str, Revision]:
    """Every revision an output directory runs, by label, in the order its kustomization lists them.

    ``files`` are the output directory's files by path relative to it (as
    committed at the branch tip). Version directories without metadata (an
    output written before revisions existed) are left out.
    """
    order = _listed(files.get("kustomization.yaml"))
    found: dict[str, tuple[str, Revision]] = {}
    for path, text in files.items():
        directory, name = posixpath.split(path)
        if name == REVISION_FILE and posixpath.dirname(directory) == VERSIONS:
            found[directory] = read_revision_file(text)[:2]
    ranked = sorted(found, key=lambda d: (order.index(d) if d in order else len(order), d))
    return dict(found[d] for d in ranked)


def live_revision(files: Mapping[str, bytes]) -> Revision | None:
    """The revision an output converges to: the last one its kustomization lists (``None`` when it has none).

    Before and after a rollout that is the only revision; during one, the
    states list the stable first and the new revision last.
    """
    revisions = live_revisions(files)
    return list(revisions.values())[-1] if revisions else None


def listed_revision_files(kustomization: bytes | None) -> list[str]:
    """The ``revision.yaml`` paths of the version directories an output's kustomization lists, in its order.

    >>> listed_revision_files(b"resources: [versions/1-0-0, shared, versions/1-1-0]")
    ['versions/1-0-0/revision.yaml', 'versions/1-1-0/revision.yaml']
    """
    return [f"{d}/{REVISION_FILE}" for d in _listed(kustomization) if posixpath.dirname(d) == VERSIONS]


def _listed(kustomization: bytes | None) -> list[str]:
    if kustomization is None:
        return []
    data: Any = yamlload.load(kustomization)
    resources = data.get("resources") if isinstance(data, dict) else None
    return [str(r) for r in resources or ()]
