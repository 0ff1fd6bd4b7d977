"""The revision a release's spec and repository ask for, computed cheaply.

:func:`desired_revision` is what a controller pass calls for every release:
it must cost next to nothing when nothing changed. The configuration's
*inputs* (every file the Kustomize base reads, or the chart's files and the
values files; for a published chart the values files and the pinned chart) are fingerprinted by their bytes; when the fingerprint equals
the one the live revision recorded, the configuration is the live one and
nothing is built. Otherwise the base is built once and its build digested: an
edit that builds to the same bytes (a comment, a reordered file) gives the
same configuration, so no new revision.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rollgen.errors import UsageError
from rollgen.kustomize_inputs import fingerprint, reads
from rollgen.render.helm import merged_values
from rollgen.render.helm_releases import configuration, pin_of
from rollgen.render.revision import Revision, config_digest
from rollgen.render.userbase import read_base
from rollgen.spec.helmsource import HelmSource
from rollgen.spec.model import KustomizeSource, Release

# The fingerprints of the passes under way, the innermost last.
_PASSES: list[dict[tuple[Path, KustomizeSource | HelmSource], str]] = []


@contextmanager
def one_pass() -> Iterator[None]:
    """Within it, each configuration is fingerprinted once, however many releases share it.

    For a pass over many releases (:mod:`rollgen.controller.fleet`): what a configuration
    reads does not change while it runs (a pass's commits write output
    directories only, and validate keeps those apart from everything a
    release reads), and a thousand releases on one base read it once.
    """
    _PASSES.append({})
    try:
        yield
    finally:
        _PASSES.pop()


def input_fingerprint(repo_root: Path, release: Release) -> str:
    """The fingerprint of every file the release's configuration is built from."""
    source = release.source
    key, memo = (repo_root, source), _PASSES[-1] if _PASSES else None
    if memo is not None and key in memo:
        return memo[key]
    if isinstance(source, KustomizeSource):
        found = fingerprint(repo_root, reads(repo_root, source.base))
    elif isinstance(source, HelmSource) and source.remote is not None:
        # A published chart is read from its repository, not from here: the spec pins it.
        pin = pin_of(source)
        found = config_digest([fingerprint(repo_root, source.values).encode(), repr(pin).encode()])
    else:
        assert isinstance(source, HelmSource)
        found = fingerprint(repo_root, [source.chart, *source.values])
    if memo is not None:
        memo[key] = found
    return found


def desired_revision(repo_root: Path, release: Release, live: Revision | None) -> Revision:
    """The revision the spec (``version``, ``digest``) and the repository's configuration ask for.

    ``live`` is the revision the output runs (:func:`rollgen.render.revision.live_revision`).
    Builds the Kustomize base only when its inputs differ from those ``live``
    recorded.
    """
    current = input_fingerprint(repo_root, release)
    if live is not None and live.inputs == current:
        return Revision(release.version, live.config, release.pinned_digest, current)
    source = release.source
    if isinstance(source, KustomizeSource):
        config = config_digest([read_base(repo_root, release).built.encode()])
    elif source.remote is not None:
        config = configuration(pin_of(source), merged_values(repo_root, release, source.values))
    else:
        if not (repo_root / source.chart).is_dir():
            raise UsageError(f"release {release.name}: no Helm chart at {source.chart} under {repo_root}")
        # A chart is not built here (rendering it needs Helm): its files and values are the configuration.
        config = current[:10]
    return Revision(release.version, config, release.pinned_digest, current)
