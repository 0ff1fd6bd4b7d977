"""Detection: write the newest allowed image into each release spec (``rollgen detect``, :mod:`rollgen.cli.detect`).

One pass, for cron or CI. For every release spec with a ``spec.imagePolicy``:
list the image's tags in its registry, pick the newest the policy allows,
resolve its digest, and when tag or digest differ from the spec's
``version``/``digest``, record them in the spec on its branch -- a commit
(``git.mode: commit``, pushed with the same compare-and-swap as every rollgen
commit) or a pull request (``git.mode: pull-request``). The spec is edited in
place (:mod:`rollgen.spec.edit`): only the version and digest lines change.
Starting the rollout is left to ``rollgen advance``, which acts on the spec.

Registries are asked concurrently (a few threads, kept-alive connections);
commits are made one after the other. A release that fails is reported and
the others go on. Exit 0 when every release was handled (nothing new is
success), 1 when any failed, 2 on usage errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollgen.errors import RollgenError, UsageError
from rollgen.freeze import standing
from rollgen.gitops.freezefile import read_freeze
from rollgen.gitops.remote import remote_named
from rollgen.gitops.repo import Identity, commit_change, push_step_branch
from rollgen.gitops.specfile import locate, version_change
from rollgen.registry import credentials
from rollgen.registry.client import ImageName, RegistryClient
from rollgen.registry.policy import newest
from rollgen.rollout.proposal import forge_for
from rollgen.rollout.reading import branch_tip
from rollgen.spec.load import load_release

if TYPE_CHECKING:
    from rollgen.spec.model import Release

WORKERS = 8
_RELEASE_DOC = re.compile(r"^kind:\s*['\"]?Release['\"]?\s*(#.*)?$", re.MULTILINE)


@dataclass(frozen=True)
class Found:
    """The newest allowed tag of a release's image and the digest it points at."""

    tag: str
    digest: str


@dataclass(frozen=True)
class Detection:
    """What one release's detection did; ``status`` is updated, proposed, current, frozen, skipped or failed."""

    spec: str
    release: str
    status: str
    version: str | None = None
    digest: str | None = None
    previous: str | None = None
    commit: str | None = None
    pull_request: str | None = None
    message: str | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "release": self.release,
            "status": self.status,
            "version": self.version,
            "digest": self.digest,
            "previous": self.previous,
            "commit": self.commit,
            "pullRequest": self.pull_request,
            "message": self.message,
        }

    def line(self) -> str:
        if self.status == "failed":
            return f"{self.release}: failed: {self.message}"
        if self.status == "skipped":
            return f"{self.release}: skipped ({self.message})"
        if self.status == "frozen":
            return f"{self.release}: {self.version} found (was {self.previous}), not written: {self.message}"
        if self.status == "current":
            return f"{self.release}: up to date at {self.version} ({self.digest})"
        where = f"commit {self.commit[:12]}" if self.commit else f"pull request {self.pull_request}"
        return f"{self.release}: {self.previous} -> {self.version} ({self.digest}), {self.status}: {where}"


def spec_files(paths: Iterable[str]) -> list[Path]:
    """The named files, and every YAML file under a named directory that holds a Release."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            for found in sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and ".git" not in p.parts):
                try:
                    if _RELEASE_DOC.search(found.read_text(errors="replace")):
                        files.append(found)
                except OSError:
                    continue
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{name}: no such file or directory")
    return files


def detect(paths: Sequence[Path], *, deadline: float, now: float, workers: int = WORKERS) -> list[Detection]:
    """Detect every spec's newest image; commit or propose the changed ones. Never raises for one release.

    A release whose branch is frozen at ``now`` (Unix seconds) gets nothing written (status ``frozen``).
    """
    loaded: list[tuple[Path, Release | Detection]] = []
    for path in paths:
        try:
            loaded.append((path, load_release(path)))
        except RollgenError as exc:
            loaded.append((path, Detection(str(path), str(path), "failed", message=str(exc))))
    wanted = [(p, r) for p, r in loaded if not isinstance(r, Detection) and r.image_policy is not None]
    found = lookup_all([r for _, r in wanted], deadline=deadline, workers=workers)
    answers = dict(zip((id(r) for _, r in wanted), found, strict=True))
    results = []
    for path, release in loaded:
        if isinstance(release, Detection):
            results.append(release)
        elif release.image_policy is None:
            results.append(Detection(str(path), _key(release), "skipped", message="no spec.imagePolicy"))
        else:
            results.append(_record(path, release, answers[id(release)], now))
    return results


def lookup_all(releases: Sequence[Release], *, deadline: float, workers: int = WORKERS) -> list[Found | RollgenError]:
    """Each release's :class:`Found` (or the error that stopped it), asked concurrently.

    One client per registry is shared by the threads: tokens are asked for
    once per repository, and each thread keeps its connections alive.
    """
    clients: dict[str, RegistryClient] = {}
    problems: dict[str, RollgenError] = {}
    for release in releases:
        name = ImageName.parse(release.image)
        if name.registry not in clients and name.registry not in problems:
            try:
                clients[name.registry] = RegistryClient(name, credentials.lookup(name.registry), deadline=deadline)
            except RollgenError as exc:
                problems[name.registry] = exc

    def one(release: Release) -> Found | RollgenError:
        name = ImageName.parse(release.image)
        if name.registry in problems:
            return problems[name.registry]
        try:
            return find_newest(clients[name.registry], release)
        except RollgenError as exc:
            return exc

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(releases)))) as pool:
            return list(pool.map(one, releases))
    finally:
        for client in clients.values():
            client.close()


def find_newest(client: RegistryClient, release: Release) -> Found:
    """The newest tag ``release``'s policy allows, with its digest."""
    assert release.image_policy is not None
    repository = ImageName.parse(release.image).repository
    tags = client.tags(repository)
    tag = newest(release.image_policy, tags)
    if tag is None:
        raise RollgenError(f"none of the {len(tags)} tags of {release.image} matches spec.imagePolicy")
    return Found(tag, client.digest(repository, tag))


def _record(path: Path, release: Release, found: Found | RollgenError, now: float) -> Detection:
    key = _key(release)
    if isinstance(found, RollgenError):
        return Detection(str(path), key, "failed", message=str(found))
    assert release.image_policy is not None
    # Pinned by digest, a moved tag (same tag, new digest) is a change too; pinned by tag it is not.
    moved = release.image_policy.pin == "digest" and found.digest != release.digest
    if found.tag == release.version and not moved:
        return Detection(str(path), key, "current", found.tag, found.digest, release.version)
    try:
        repo, _ = locate(path, "detect")
        frozen = standing(read_freeze(repo, release.git.branch, remote_named(repo.git, release.git.remote)), now)
        if frozen is not None:
            return Detection(str(path), key, "frozen", found.tag, found.digest, release.version, message=frozen.line())
        if release.git.mode == "pull-request":
            url = _propose(path, release, found)
            if url is not None:
                return Detection(str(path), key, "proposed", found.tag, found.digest, release.version, pull_request=url)
            commit = None
        else:
            commit = _commit(path, release, found)
    except RollgenError as exc:
        return Detection(str(path), key, "failed", found.tag, found.digest, release.version, message=str(exc))
    if commit is None:  # the branch already holds this version (another pass, a human, or a merged pull request)
        return Detection(str(path), key, "current", found.tag, found.digest, release.version)
    return Detection(str(path), key, "updated", found.tag, found.digest, release.version, commit=commit)


def _key(release: Release) -> str:
    return f"{release.namespace}/{release.name}"


def _decide(relative: str, release: Release, found: Found) -> Any:
    """The commit's ``decide``: the spec as the branch tip holds it, with the new version lines."""
    return version_change(relative, release.git.branch, found.tag, found.digest, _message(release, relative, found))


def _message(release: Release, relative: str, found: Found) -> str:
    return (
        f"{_key(release)}: new image {found.tag} detected (was {release.version})\n\n"
        f"{release.image}:{found.tag} is {found.digest};\n"
        f"{relative} now names it in spec.version and spec.digest."
    )


def _identity(release: Release) -> Any:
    author = release.git.author
    return None if author is None else Identity(author.name, author.email)


def _commit(path: Path, release: Release, found: Found) -> str | None:
    repo, relative = locate(path, "detect")
    who = _identity(release)
    result = commit_change(
        repo,
        release.git.branch,
        _decide(relative, release, found),
        remote=remote_named(repo.git, release.git.remote),
        author=who,
        committer=who,
    )
    return None if result is None else result.commit


def _propose(path: Path, release: Release, found: Found) -> str | None:
    """The URL of the pull request proposing ``found`` (opened now or before); None when the branch has it."""
    repo, relative = locate(path, "detect")
    remote, base = remote_named(repo.git, release.git.remote), release.git.branch
    if remote is None:
        raise UsageError(f"git.mode pull-request pushes to remote {release.git.remote!r}, which this repository lacks")
    forge = forge_for(repo, release)
    branch = f"rollgen/{_key(release)}/detect-{found.tag}"
    pull = forge.find_open(branch)
    if pull is not None:
        return pull.url
    with branch_tip(repo, base, remote) as tip:
        change = _decide(relative, release, found)(tip)
    if change is None:
        return None  # the branch already names it: the pull request was merged
    who = _identity(release)
    pushed = push_step_branch(repo, remote, base, change, author=who, committer=who, name=branch)
    title, _, body = change.message.partition("\n\n")
    return forge.open_pull_request(pushed.name, base, title, body).url
