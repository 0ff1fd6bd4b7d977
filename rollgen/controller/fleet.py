"""Many releases in one pass: every release spec under the paths given, one line each.

One cron job or CI job drives a whole GitOps repository: :func:`load` reads
the specs (a bad one is reported, never fatal to the others) and keeps the
shard's share; :func:`tips` fetches each remote branch once and reads its tip
through one ``git cat-file`` process, with the newest record of every release
found in one walk of the history; :func:`advance_all` then runs the
per-release pass (:func:`rollgen.controller.advance.advance`) against that shared
view, and :func:`states` reads where each rollout stands from it. An idle
release (its rollout over) therefore costs no git process of its own.

Each release's outcome is a :class:`Report` whose ``exit_code`` follows the
contract of :mod:`rollgen.errors`; the pass exits with the worst of them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollgen.controller.advance import Pass, advance
from rollgen.controller.decision import Abort, Advance, Hold, WaitUntil
from rollgen.controller.notify import Notifier, events_of, notifier_for
from rollgen.crash import keep_traceback
from rollgen.errors import EXIT_FAILURE, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, NothingToDo, RollgenError, UsageError
from rollgen.gitops.depth import ensure_history
from rollgen.gitops.git import ObjectReader
from rollgen.gitops.notes import fetch_notes
from rollgen.gitops.remote import fetch_branch, remote_named, tracking_ref
from rollgen.gitops.repo import Repo
from rollgen.gitops.snapshot import Snapshot, newest_records
from rollgen.render.desired import one_pass
from rollgen.rollout.reading import read_state
from rollgen.rollout.state import RolloutPhase, RolloutState, release_key
from rollgen.shard import Shard, select
from rollgen.spec.discover import release_specs
from rollgen.spec.load import load_release
from rollgen.spec.model import Release


@dataclass(frozen=True, kw_only=True)
class Target:
    """One release spec: the typed release, or why it could not be loaded (``problem``, ``exit_code``)."""

    spec: Path
    release: Release | None = None
    problem: str = ""
    exit_code: int = EXIT_OK

    @property
    def key(self) -> str:
        """``<namespace>/<name>``, or the spec's path when it could not be loaded."""
        return str(self.spec) if self.release is None else release_key(self.release)


@dataclass(frozen=True, kw_only=True)
class Report:
    """What one pass did to one release: ``<release>  <phase>  <message>``, and its exit code."""

    release: str
    spec: str
    phase: str
    message: str
    exit_code: int
    current: Pass | None = None

    def line(self) -> str:
        return f"{self.release}  {self.phase}  {self.message}"

    def data(self) -> dict[str, Any]:
        """For ``-o json|yaml``: the line's fields, and the step the release is at."""
        row: dict[str, Any] = {"release": self.release, "spec": self.spec, "phase": self.phase}
        row["message"] = self.message
        row["exitCode"] = self.exit_code
        if self.current is not None:
            after = self.current.after
            row |= {"step": after.step, "steps": after.steps, "commit": after.commit}
            row |= {"committed": self.current.committed, "from": after.from_label, "to": after.to_label}
        return row


def load_targets(paths: Sequence[str], shard: Shard | None = None) -> tuple[Target, ...]:
    """Every release spec named or under a directory named, loaded; only the shard's share of them.

    Raises UsageError when the paths hold no release spec at all (a typo in a
    cron job must not look like an idle repository).
    """
    files = release_specs(Path(p) for p in paths)
    if not files:
        raise UsageError(f"no release spec under {' '.join(paths)}: name spec files or directories that hold them")
    targets = []
    for spec in files:
        try:
            targets.append(Target(spec=spec, release=load_release(spec)))
        except RollgenError as exc:
            code = exc.exit_code if spec.is_file() else EXIT_USAGE
            targets.append(Target(spec=spec, problem=str(exc).replace("\n", "; "), exit_code=code))
    return select(targets, lambda t: t.key, shard)


@contextlib.contextmanager
def tips(repo: Repo, releases: Iterable[Release]) -> Iterator[Callable[[Release], tuple[Snapshot, str | None]]]:
    """For each release, the shared view of its branch's tip and the remote it was fetched from.

    Each remote branch is fetched once (with the remote's notes), each tip
    read through one shared object reader, and each branch's history walked
    once for the newest record of all its releases. A fetch that fails is
    raised when a release of that branch asks for its view, so only those
    releases fail.
    """
    wanted = list(releases)
    remotes = {name: remote_named(repo.git, name) for name in {r.git.remote for r in wanted}}
    keys: dict[tuple[str | None, str], list[str]] = {}
    for release in wanted:
        keys.setdefault((remotes[release.git.remote], release.git.branch), []).append(release_key(release))
    with ObjectReader(repo.git) as reader:
        views: dict[tuple[str | None, str], Snapshot | RollgenError] = {}
        fetched_notes: set[str] = set()
        for (remote, branch), names in keys.items():
            try:
                if remote is not None:
                    fetch_branch(repo.git, remote, branch)
                    if remote not in fetched_notes:
                        fetch_notes(repo, remote)
                        fetched_notes.add(remote)
                ref = tracking_ref(remote, branch) if remote is not None else f"refs/heads/{branch}"
                ensure_history(repo.git, ref, remote=remote, branch=branch)  # a shallow clone: never a cut history
                info = reader.info(f"{ref}^{{commit}}")
                tip = info.sha if info is not None else None
                views[(remote, branch)] = Snapshot(repo.git, reader, tip, newest_records(repo.git, tip, names))
            except RollgenError as exc:
                views[(remote, branch)] = exc

        def view(release: Release) -> tuple[Snapshot, str | None]:
            remote = remotes[release.git.remote]
            found = views[(remote, release.git.branch)]
            if isinstance(found, RollgenError):
                raise found
            return found, remote

        yield view


def advance_all(
    repo: Repo,
    targets: Sequence[Target],
    *,
    notifier: Callable[[Target], Notifier] | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[Report, ...]:
    """One controller pass over every target: a failing release never stops the others.

    After each release's pass, what it did is announced through the
    ``notifier`` made for its spec (none: nothing is sent); the caller closes
    the notifiers.
    """
    loaded = [t.release for t in targets if t.release is not None]
    reports = []
    with tips(repo, loaded) as view, one_pass():
        for target in targets:
            if target.release is None:
                reports.append(_failed(target, target.problem, target.exit_code))
                continue
            try:
                shared, remote = view(target.release)
                current = advance(repo, target.release, remote=remote, clock=clock, view=shared)
            except NothingToDo as exc:
                reports.append(
                    _report(target, RolloutPhase.NONE.value, str(exc).partition(": ")[2] or str(exc), EXIT_OK)
                )
                continue
            except RollgenError as exc:
                reports.append(_failed(target, str(exc), exc.exit_code))
                continue
            except Exception as exc:  # a bug in one release's pass: the others still get theirs
                said = f"internal error: {type(exc).__name__}: {exc} (traceback in {keep_traceback(exc)})"
                reports.append(_failed(target, said, EXIT_INTERNAL))
                continue
            if notifier is not None:
                send = notifier(target)
                for event in events_of(current.before, current.after, current.judgement, measured=current.measured):
                    send.emit(event)
            reports.append(passed(target, current))
    return tuple(reports)


def states(repo: Repo, targets: Sequence[Target]) -> tuple[tuple[Target, RolloutState | RollgenError | None], ...]:
    """Where each target's rollout stands (None: none ever began), read from the shared views."""
    loaded = [t.release for t in targets if t.release is not None]
    found: list[tuple[Target, RolloutState | RollgenError | None]] = []
    with tips(repo, loaded) as view:
        for target in targets:
            if target.release is None:
                continue
            try:
                found.append((target, read_state(view(target.release)[0], target.release)))
            except RollgenError as exc:
                found.append((target, exc))
    return tuple(found)


class Notifiers:
    """One :class:`~rollgen.controller.notify.Notifier` per release spec that has webhooks, all closed together.

    Closing waits for the queued deliveries (each bounded by its deadline), so
    a short-lived pass still delivers before it exits; ``report`` gets one line
    per failed delivery (never a URL).
    """

    def __init__(self, report: Callable[[str], None]) -> None:
        self._report = report
        self._made: dict[Path, Notifier] = {}

    def __call__(self, target: Target) -> Notifier:
        assert target.release is not None
        if target.spec not in self._made:
            self._made[target.spec] = notifier_for(target.release, target.spec, self._report)
        return self._made[target.spec]

    def __enter__(self) -> Notifiers:
        return self

    def __exit__(self, *exc: object) -> None:
        for notifier in self._made.values():
            notifier.close()


def exit_code(reports: Iterable[Report]) -> int:
    """The worst outcome: 3 any unexpected error, 2 any unusable input, 1 any release not so, else 0."""
    return max((r.exit_code for r in reports), default=EXIT_OK)


def passed(target: Target, current: Pass) -> Report:
    """The report of a pass that ran: what happened, or what the release waits for."""
    after = current.after
    code = EXIT_FAILURE if after.phase in (RolloutPhase.ABORTING, RolloutPhase.ABORTED) else EXIT_OK
    return _report(target, after.phase.value, _said(current), code, current)


def _said(current: Pass) -> str:
    after = current.after
    parts = []
    if current.committed:
        what = f" {after.plan_step.action}" if after.plan_step is not None else ""
        parts.append(f"committed {after.action} step {after.step}/{after.steps}{what} @{after.commit[:7]}")
    decision = current.judgement.decision if current.judgement is not None else None
    if isinstance(decision, Abort):
        parts.append(f"aborting: {decision.reason}")
    elif isinstance(decision, Hold):
        parts.append(f"held for a human (rollgen promote | rollgen abort): {decision.reason}")
    elif isinstance(decision, WaitUntil) and not current.committed:
        parts.append(f"waiting: {decision.reason}")
    if current.judgement is not None and current.judgement.gates and not current.committed:
        parts.append(
            "gates "
            + ", ".join(
                f"{v.stage} {v.gate} {v.verdict.phase} ({v.verdict.count} measured)" for v in current.judgement.gates
            )
        )
    elif isinstance(decision, Advance) and not current.committed:
        parts.append("all gates passed")
    if current.note:
        parts.append(current.note)
    if not parts:
        parts.append(
            f"nothing to do: {after.from_label} -> {after.to_label} {after.phase}"
            if after.phase.over
            else f"waiting for {after.waiting_for()}"
        )
    if not current.committed and after.phase.unfinished:
        # Where it waits: the step (and what it does) that is live.
        what = f" {after.plan_step.action}" if after.plan_step is not None else ""
        parts.insert(0, f"at step {after.step}/{after.steps}{what}")
    return "; ".join(parts)


def _report(target: Target, phase: str, message: str, code: int, current: Pass | None = None) -> Report:
    return Report(
        release=target.key, spec=str(target.spec), phase=phase, message=message, exit_code=code, current=current
    )


def _failed(target: Target, message: str, code: int) -> Report:
    return _report(target, "error", message, code)
