"""The ported range tables through ``rollgen detect``, against a real docker-registry.

A representative batch (every test of the tables runs against the parser in
``test_semver.py``): each range of Masterminds' TestConstraintsCheck that the
table pairs with several versions gets a repository holding exactly those
versions as tags, beside tags that are no versions; each case that holds only because pre-releases are included (the
IncludePrerelease tables say it holds, their twins say it does not) gets a repository with that one tag, once with
``prereleases: true`` and once without; Flux's TestSemVer_Latest cases run
as they are. A release spec per case names its repository. One
``rollgen detect`` pass over all the specs must write into each spec the
highest version the table says its range allows, or fail that release when
it allows none.

The tags are pushed once (one image, then tag links in each repository's
storage: :func:`testkit.registryservers.link_repository`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollgen.registry.semver import tag_version
from rollgen.spec.load import load_release
from testkit.git import git
from testkit.registryservers import Registry, copy_tags, docker_registry, link_repository, push_tags
from testkit.tools import REPO_ROOT
from tests.registry.semver_tables import TABLES

NOT_VERSIONS = ["latest", "main-42", "sha-3f2a9c0"]
SPEC = """\
apiVersion: rollgen.io/v1alpha1
kind: Release
metadata: {{name: {name}}}
spec:
  namespace: ranges
  replicas: 2
  image: {image}
  version: seed            # written by rollgen detect
  imagePolicy:
    semver: {{range: {range}, prereleases: {prereleases}}}
  source: {{kustomize: {{base: apps/web/base}}}}
  output: {{path: overlays/{name}}}
  strategy: {{canary: {{steps: [{{setWeight: 50}}]}}}}
  gates: [{{name: up, kubernetes: {{}}}}]
"""


def _cases() -> list[tuple[str, bool, list[str], str | None]]:
    """(range, prereleases, tags, the tag detect must pick or None), from the tables alone."""
    grouped: dict[str, dict[str, bool]] = {}
    for text, version, holds in TABLES["CONSTRAINTS_CHECK"]:
        grouped.setdefault(text, {})[version] = holds
    cases = [
        (text, False, list(rows), _highest([v for v, holds in rows.items() if holds]))
        for text, rows in grouped.items()
        if len(rows) > 1
    ]
    # Holds only because pre-releases are included: both tables say so, one each way.
    without = {(t, v): holds for t, v, holds in (*TABLES["CONSTRAINTS_CHECK"], *TABLES["CONSTRAINTS_VALIDATE"])}
    including = {
        (t, v): holds
        for t, v, holds in (
            *TABLES["CONSTRAINTS_CHECK_INCLUDE_PRERELEASE"],
            *TABLES["CONSTRAINTS_VALIDATE_INCLUDE_PRERELEASE"],
        )
    }
    for (text, version), holds in including.items():
        if holds and without.get((text, version)) is False:
            cases += [(text, True, [version], version), (text, False, [version], None)]
    cases += [(text, False, tags, picked) for text, tags, picked in TABLES["FLUX_LATEST"] if tags]
    return cases


def _highest(tags: list[str]) -> str | None:
    """The highest version; between equal ones the alphabetically first tag (Flux on a sorted listing)."""
    ranked = [(version.precedence, tag) for tag in tags if (version := tag_version(tag)) is not None]
    if not ranked:
        return None
    top = max(precedence for precedence, _ in ranked)
    return min(tag for precedence, tag in ranked if precedence == top)


CASES = _cases()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with docker_registry(tmp_path_factory.mktemp("registry")) as served:
        digest = push_tags(served, "ranges/seed", ["seed"])["seed"]
        for i, (_, _, tags, _) in enumerate(CASES):
            link_repository(served, "ranges/seed", f"ranges/case-{i:03d}")
            copy_tags(served, f"ranges/case-{i:03d}", digest, [*tags, *NOT_VERSIONS])
        yield served


def test_detect_writes_the_tag_each_ported_range_picks(registry: Registry, tmp_path: Path) -> None:
    work = tmp_path / "gitops"
    (work / "releases").mkdir(parents=True)
    for i, (text, prereleases, _, _) in enumerate(CASES):
        (work / "releases" / f"case-{i:03d}.yaml").write_text(
            SPEC.format(
                name=f"case-{i:03d}",
                image=f"{registry.host}/ranges/case-{i:03d}",
                range=json.dumps(text),
                prereleases=str(prereleases).lower(),
            )
        )
    git(tmp_path, "init", "-q", "-b", "main", "gitops")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "one release per ported range")

    done = subprocess.run(
        [sys.executable, "-m", "rollgen", "detect", "releases", "-o", "json"],
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert "Traceback" not in done.stderr, done.stderr
    results = {Path(r["spec"]).stem: r for r in json.loads(done.stdout)}
    wrong = []
    for i, (text, prereleases, tags, picked) in enumerate(CASES):
        name = f"case-{i:03d}"
        written = load_release(work / "releases" / f"{name}.yaml").version
        if picked is None:
            ok = results[name]["status"] == "failed" and "matches spec.imagePolicy" in results[name]["message"]
            ok = ok and written == "seed"
        else:
            ok = results[name]["status"] == "updated" and written == picked
        if not ok:
            wrong.append((text, prereleases, tags, picked, written, results[name]["status"]))
    assert wrong == []
    assert done.returncode == (1 if any(picked is None for *_, picked in CASES) else 0)
    # Each update is its own commit; the failed releases left their specs alone.
    assert int(git(work, "rev-list", "--count", "HEAD")) == 1 + sum(picked is not None for *_, picked in CASES)
