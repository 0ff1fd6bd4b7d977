"""Where a rollout stands, written as commit trailers.

Every commit rollgen makes ends with one trailer block, so ``git log`` alone
tells any process (or person) where each rollout is::

    podinfo: step 2/5 of 6.4.0 -> 6.5.0 (canary 25%)

    Rollgen-Release: prod/podinfo
    Rollgen-Rollout: 3f2a9c1d0b7e
    Rollgen-Step: 2/5
    Rollgen-Plan: sha256:9b1c0d
    Rollgen-Action: advance
    Rollgen-From: 6.4.0
    Rollgen-To: 6.5.0

>>> record = StepRecord("prod/podinfo", "3f2a9c1d0b7e", 2, 5, "sha256:9b1c0d",
...                     Action.ADVANCE, "6.4.0", "6.5.0")
>>> record.to_trailers()[2]
('Rollgen-Step', '2/5')
>>> StepRecord.from_trailers(parse_trailers(format_trailers(record))) == record
True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from rollgen.gitops.errors import TrailerError

RELEASE = "Rollgen-Release"
ROLLOUT = "Rollgen-Rollout"
STEP = "Rollgen-Step"
PLAN = "Rollgen-Plan"
ACTION = "Rollgen-Action"
FROM = "Rollgen-From"
TO = "Rollgen-To"
KEYS = (RELEASE, ROLLOUT, STEP, PLAN, ACTION, FROM, TO)
WAIT = "Rollgen-Wait"
REASON = "Rollgen-Reason"
CONFIG = "Rollgen-Config"
# Written only when they say something, so a reader without the spec knows what a step
# waits for, why a rollout was aborted and which configuration it rolled out; older
# commits simply lack them.
OPTIONAL_KEYS = (WAIT, REASON, CONFIG)
# A reason is a sentence for humans, not a log: one line, bounded.
REASON_LIMIT = 300

# Kubernetes names (DNS-1123): the release also becomes part of branch names.
_DNS = r"[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?"
_RELEASE = re.compile(rf"{_DNS}/{_DNS}")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._+-]*")
_STEP = re.compile(r"(\d+)/(\d+)")


class Action(StrEnum):
    """What a commit did to its rollout."""

    START = "start"
    ADVANCE = "advance"
    PROMOTE = "promote"
    ABORT = "abort"
    RETRY = "retry"
    UNDO = "undo"
    COMPLETE = "complete"
    PAUSE = "pause"
    """A human holds the rollout where it is (no file changes); ``resume`` lets it go on."""
    RESUME = "resume"

    @property
    def marks(self) -> bool:
        """A pause or resume: a mark on the step before it (a hold means a pause), not a step of its own."""
        return self in (Action.PAUSE, Action.RESUME)


@dataclass(frozen=True)
class StepRecord:
    """The machine-readable state one rollgen commit carries.

    ``release`` is ``<namespace>/<name>``; ``rollout`` stays the same across
    one rollout's commits (see :func:`rollout_id`); ``step`` of ``steps`` is
    the plan position the commit puts live (0 = the pre-rollout state, as
    after an abort); ``plan`` is the plan's digest, so a changed spec is
    noticed; ``from_label``/``to_label`` are the stable and new versions.
    ``wait`` says what the step waits for once live (``pause``, ``pause 30``
    seconds, ``gates a,b``; several joined by ``; ``), so ``rollgen status``
    knows it without the spec; ``reason`` is why an abort began; ``config``
    is the configuration digest of the revision rolled out (``to_label``),
    so an abort can tell a fixed configuration from the one it stopped.
    Invalid values raise :class:`TrailerError` at construction, so a record
    that exists can always be written.
    """

    release: str
    rollout: str
    step: int
    steps: int
    plan: str
    action: Action
    from_label: str
    to_label: str
    wait: str = ""
    reason: str = ""
    config: str = ""

    def __post_init__(self) -> None:
        if not _RELEASE.fullmatch(self.release):
            raise TrailerError(f"release must be <namespace>/<name> in lowercase DNS form, got {self.release!r}")
        for key, value in (
            (ROLLOUT, self.rollout),
            (PLAN, self.plan),
            *(((CONFIG, self.config),) if self.config else ()),
        ):
            if not _TOKEN.fullmatch(value):
                raise TrailerError(f"{key} must be one word of [A-Za-z0-9:._+-], got {value!r}")
        for key, value in ((FROM, self.from_label), (TO, self.to_label)):
            _check_value(key, value)
        for key, value in ((WAIT, self.wait), (REASON, self.reason)):
            if value:
                _check_value(key, value)
        if not isinstance(self.action, Action):
            raise TrailerError(f"{ACTION} must be one of {', '.join(Action)}, got {self.action!r}")
        if type(self.step) is not int or type(self.steps) is not int or not 0 <= self.step <= self.steps:
            raise TrailerError(f"{STEP} must be i/n with 0 <= i <= n, got {self.step!r}/{self.steps!r}")
        if self.steps < 1:
            raise TrailerError(f"{STEP}: a plan has at least one step, got {self.step}/{self.steps}")

    def to_trailers(self) -> tuple[tuple[str, str], ...]:
        """The trailers, in the documented order."""
        return (
            (RELEASE, self.release),
            (ROLLOUT, self.rollout),
            (STEP, f"{self.step}/{self.steps}"),
            (PLAN, self.plan),
            (ACTION, self.action.value),
            (FROM, self.from_label),
            (TO, self.to_label),
            *(((WAIT, self.wait),) if self.wait else ()),
            *(((REASON, self.reason),) if self.reason else ()),
            *(((CONFIG, self.config),) if self.config else ()),
        )

    @classmethod
    def from_trailers(cls, pairs: Iterable[tuple[str, str]]) -> StepRecord:
        """Read a record back; keys are matched case-insensitively (as git does).

        Trailers outside the vocabulary (``Signed-off-by``...) are ignored; a
        missing or repeated rollgen key is an error.
        """
        found: dict[str, str] = {}
        by_lower = {k.lower(): k for k in (*KEYS, *OPTIONAL_KEYS)}
        for key, value in pairs:
            known = by_lower.get(key.strip().lower())
            if known is None:
                continue
            if known in found:
                raise TrailerError(f"trailer {known} appears more than once")
            found[known] = value.strip()
        missing = [k for k in KEYS if k not in found]
        if missing:
            raise TrailerError(f"missing trailer(s): {', '.join(missing)}")
        step = _STEP.fullmatch(found[STEP])
        if step is None:
            raise TrailerError(f"{STEP} must be i/n, got {found[STEP]!r}")
        try:
            action = Action(found[ACTION])
        except ValueError:
            raise TrailerError(f"{ACTION} must be one of {', '.join(Action)}, got {found[ACTION]!r}") from None
        return cls(
            release=found[RELEASE],
            rollout=found[ROLLOUT],
            step=int(step[1]),
            steps=int(step[2]),
            plan=found[PLAN],
            action=action,
            from_label=found[FROM],
            to_label=found[TO],
            wait=found.get(WAIT, ""),
            reason=found.get(REASON, ""),
            config=found.get(CONFIG, ""),
        )


def format_trailers(record: StepRecord) -> str:
    """The trailer block: one ``Key: value`` line per trailer, newline-terminated."""
    return "".join(f"{key}: {value}\n" for key, value in record.to_trailers())


def parse_trailers(text: str) -> tuple[tuple[str, str], ...]:
    """Split ``Key: value`` lines (as ``git log --format=%(trailers:only,unfold)`` prints).

    >>> parse_trailers("Rollgen-Step: 1/3\\nSigned-off-by: A <a@b>\\n")
    (('Rollgen-Step', '1/3'), ('Signed-off-by', 'A <a@b>'))
    """
    pairs = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key and not key[0].isspace():
            pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def compose_message(message: str, record: StepRecord) -> str:
    """``message`` (subject, blank line, body) followed by the record's trailer block.

    >>> r = StepRecord("prod/app", "abc", 1, 2, "d1", Action.START, "1.0", "1.1")
    >>> print(compose_message("app: start 1.0 -> 1.1\\n", r), end="")
    app: start 1.0 -> 1.1
    <BLANKLINE>
    Rollgen-Release: prod/app
    Rollgen-Rollout: abc
    Rollgen-Step: 1/2
    Rollgen-Plan: d1
    Rollgen-Action: start
    Rollgen-From: 1.0
    Rollgen-To: 1.1
    """
    text = message.strip("\n")
    subject = text.partition("\n")[0]
    if not subject.strip():
        raise TrailerError("a commit message needs a non-empty subject line")
    return f"{text}\n\n{format_trailers(record)}"


def one_line(text: str, limit: int = REASON_LIMIT) -> str:
    """``text`` as one trailer value: whitespace runs (newlines too) become one space, cut at ``limit``.

    >>> one_line("gate latency: Error\\n  connection refused")
    'gate latency: Error connection refused'
    """
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def rollout_id(release: str, from_label: str, to_label: str, start_commit: str) -> str:
    """A short id, the same for every commit of one rollout and different for the next.

    The start commit (the tip the rollout began from) makes a retried or
    repeated rollout of the same versions a new rollout.

    >>> rollout_id("prod/podinfo", "6.4.0", "6.5.0", "0" * 40)
    '15681c15778e'
    """
    key = "\0".join((release, from_label, to_label, start_commit)).encode()
    return hashlib.sha256(key).hexdigest()[:12]


def release_pattern(release: str) -> str:
    """A basic regular expression (``git log --grep``) matching exactly the release's trailer line.

    >>> release_pattern("prod/podinfo.v2")
    '^Rollgen-Release: prod/podinfo\\\\.v2$'
    """
    escaped = re.sub(r"([.\[\]\\*^$])", r"\\\1", release)
    return f"^{RELEASE}: {escaped}$"


def _check_value(key: str, value: str) -> None:
    if not value or value != value.strip() or "\n" in value or "\r" in value:
        raise TrailerError(f"{key} must be one non-empty line without surrounding spaces, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """One rollgen commit: its id, committer time (Unix seconds), subject and record."""

    sha: str
    time: int
    subject: str
    record: StepRecord
