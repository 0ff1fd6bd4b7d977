"""At commit time a release writes only a directory that is its own: not another release's, not a hand-written app.

The releases here are built directly (``dataclasses.replace``), as if their
specs were never validated together: ``validate`` refuses overlapping outputs,
this is what holds when it was bypassed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rollgen.controller.advance import advance
from rollgen.gitops.repo import Repo
from rollgen.rollout import operations
from rollgen.rollout.adoption import adopt
from rollgen.rollout.ownership import OwnershipError
from rollgen.spec.load import load_release
from rollgen.spec.model import Release
from testkit.git import git
from testkit.rollouts import BEFORE, make_repo, output_files, write_spec

DEPLOYMENT = b"""apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: ghcr.io/example/web:0.9}]}
"""


def releases(work: Path, *outputs: tuple[str, str]) -> list[Release]:
    """One release per ``(namespace, output path)``, all named web."""
    built = []
    for namespace, output in outputs:
        release = load_release(write_spec(work, namespace=namespace))
        built.append(dataclasses.replace(release, output_path=output))
    return built


def unchanged(work: Path, head: str) -> None:
    assert git(work, "rev-parse", "HEAD") == head
    assert git(work, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("first_output", "second_output"),
    [
        ("deploy/web", "deploy/web"),  # one path for two releases
        ("deploy/web", "deploy/web/stage"),  # the second nested inside the first
        ("deploy/web/prod", "deploy/web"),  # the second around the first
    ],
)
def test_a_second_release_on_anothers_output_is_refused_and_writes_nothing(
    tmp_path: Path, first_output: str, second_output: str
) -> None:
    work = make_repo(tmp_path / "work")
    prod, stage = releases(work, ("prod", first_output), ("stage", second_output))
    repo = Repo.open(work)
    operations.start(repo, prod)
    head = git(work, "rev-parse", "HEAD")
    # Whose output it is is asked before what it runs: on the same path, the other release's
    # revision would otherwise read as this spec's, "nothing to roll out".
    with pytest.raises(OwnershipError, match="overlaps the output of release prod/web"):
        operations.start(repo, stage)
    unchanged(work, head)
    # Nor can it be adopted: what runs there is the other release's.
    with pytest.raises(OwnershipError, match="overlaps the output of release prod/web"):
        adopt(repo, stage)
    unchanged(work, head)
    # The first release's own operations go on, its abort included.
    operations.abort(repo, prod, immediate=True)
    if first_output == "deploy/web":
        assert output_files(work) == BEFORE
    # A controller pass over the second release says so too, rather than "nothing to do".
    head = git(work, "rev-parse", "HEAD")
    with pytest.raises(OwnershipError, match="overlaps the output of release prod/web"):
        advance(repo, stage)
    unchanged(work, head)


def test_a_release_around_anothers_output_is_refused(tmp_path: Path) -> None:
    """The other release already writes inside this output: starting this one would delete its files."""
    work = make_repo(tmp_path / "work")
    prod, stage = releases(work, ("prod", "deploy/web"), ("stage", "deploy/web/stage"))
    repo = Repo.open(work)
    operations.start(repo, stage)
    head = git(work, "rev-parse", "HEAD")
    with pytest.raises(OwnershipError, match="stage/web"):
        operations.start(repo, prod)
    unchanged(work, head)
    assert git(work, "ls-tree", "-r", "--name-only", "HEAD", "deploy/web/stage")


def test_a_hand_written_deployment_is_not_replaced(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "work")
    (work / "deploy" / "web" / "deployment.yaml").write_bytes(DEPLOYMENT)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "the app as it runs today")
    head = git(work, "rev-parse", "HEAD")
    (release,) = releases(work, ("prod", "deploy/web"))
    with pytest.raises(OwnershipError, match="rollgen adopt") as refused:
        operations.start(Repo.open(work), release)
    assert "deploy/web/deployment.yaml" in str(refused.value)
    unchanged(work, head)


def test_a_deployment_added_by_hand_during_a_rollout_stops_the_next_commit(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "work")
    (release,) = releases(work, ("prod", "deploy/web"))
    repo = Repo.open(work)
    operations.start(repo, release)
    (work / "deploy" / "web" / "extra.yaml").write_bytes(DEPLOYMENT)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "someone adds a Deployment")
    head = git(work, "rev-parse", "HEAD")
    with pytest.raises(OwnershipError, match=r"extra\.yaml"):
        operations.promote(repo, release)
    unchanged(work, head)


def test_the_cli_says_what_to_do_with_exit_2(tmp_path: Path) -> None:
    from testkit.cli import rollgen

    work = make_repo(tmp_path / "work")
    (work / "deploy" / "web" / "deployment.yaml").write_bytes(DEPLOYMENT)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "the app as it runs today")
    done = rollgen("start", str(write_spec(work)), "--repo", str(work))
    assert done.returncode == 2
    assert "rollgen adopt" in done.stderr and "Traceback" not in done.stderr


def test_a_hand_written_deployment_is_refused_by_a_rollout_and_taken_over_by_adopt(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "work")
    (work / "deploy" / "web" / "deployment.yaml").write_bytes(DEPLOYMENT)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "the app as it runs today")
    head = git(work, "rev-parse", "HEAD")
    (prod,) = releases(work, ("prod", "deploy/web"))
    repo = Repo.open(work)
    with pytest.raises(OwnershipError, match="rollgen adopt"):
        operations.start(repo, prod)
    unchanged(work, head)
    done = adopt(repo, prod)
    assert done.commit is not None and not done.first_run
    assert git(work, "log", "-1", "--format=%s") == f"prod/web: adopt what runs, {done.label}"


@pytest.mark.parametrize("first", ["prod", "stage"])
def test_an_adopted_output_is_owned_like_one_rolled_out(tmp_path: Path, first: str) -> None:
    """An adoption commit carries no rollout trailer: its revision files say whose output it is."""
    work = make_repo(tmp_path / "work")
    prod, stage = releases(work, ("prod", "deploy/web"), ("stage", "deploy/web/stage"))
    repo = Repo.open(work)
    owner, other = (prod, stage) if first == "prod" else (stage, prod)
    adopt(repo, owner)
    head = git(work, "rev-parse", "HEAD")
    with pytest.raises(OwnershipError, match=f"overlaps the output of release {first}/web"):
        adopt(repo, other)
    unchanged(work, head)
    with pytest.raises(OwnershipError, match=f"overlaps the output of release {first}/web"):
        operations.start(repo, other)
    unchanged(work, head)
