"""The release spec as typed, frozen values.

These mirror what the user wrote (shorthands included); turning shorthands into
explicit steps is the planner's job. Objects are built only from documents that
passed validation, so constructors here do not re-check input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

from rollgen.durations import parse_duration
from rollgen.gates.analysis import MeasurementPolicy
from rollgen.secretref import SecretRef
from rollgen.spec.helmsource import HelmSource, build_helm_source
from rollgen.spec.vocabulary import DEFAULT_BRANCH, EVENT_KINDS, GATE_KINDS
from rollgen.windows import DEFAULT_ZONE, Window

IntOrPercent: TypeAlias = int | str
Traffic = Literal["replicas", "istio", "gatewayAPI"]


@dataclass(frozen=True)
class KustomizeSource:
    base: str


Source: TypeAlias = KustomizeSource | HelmSource


@dataclass(frozen=True)
class SetWeight:
    weight: int


@dataclass(frozen=True)
class SetCanaryScale:
    replicas: int


@dataclass(frozen=True)
class Pause:
    """Wait ``seconds``; ``None`` waits for ``rollgen promote``."""

    seconds: float | None


@dataclass(frozen=True)
class Analysis:
    gates: tuple[str, ...]


CanaryStep: TypeAlias = SetWeight | SetCanaryScale | Pause | Analysis


@dataclass(frozen=True)
class IstioTraffic:
    hosts: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParentRef:
    name: str
    namespace: str | None = None
    section_name: str | None = None

    def as_manifest(self) -> dict[str, str]:
        """The Gateway API ``parentRefs`` entry (unset fields left out)."""
        fields = (("name", self.name), ("namespace", self.namespace), ("sectionName", self.section_name))
        return {k: v for k, v in fields if v is not None}


@dataclass(frozen=True)
class GatewayAPITraffic:
    parent_refs: tuple[ParentRef, ...]
    hostnames: tuple[str, ...] = ()


@dataclass(frozen=True)
class Waves:
    count: int
    restart_limit: int = 0


@dataclass(frozen=True)
class Canary:
    max_surge: IntOrPercent = "25%"
    max_unavailable: IntOrPercent = "25%"
    traffic: Traffic = "replicas"
    istio: IstioTraffic | None = None
    gateway_api: GatewayAPITraffic | None = None
    steps: tuple[CanaryStep, ...] = ()
    step_weight: int | None = None
    max_weight: int | None = None
    step_weights: tuple[int, ...] = ()
    waves: Waves | None = None
    analysis: Analysis | None = None


@dataclass(frozen=True)
class BlueGreen:
    preview_service: str | None = None
    auto_promotion_enabled: bool = True
    auto_promotion_seconds: int | None = None
    scale_down_delay_seconds: int = 30
    preview_replica_count: int | None = None
    pre_promotion_analysis: Analysis | None = None
    post_promotion_analysis: Analysis | None = None


@dataclass(frozen=True)
class RollingUpdate:
    max_surge: IntOrPercent = "25%"
    max_unavailable: IntOrPercent = "25%"
    analysis: Analysis | None = None


@dataclass(frozen=True)
class Recreate:
    analysis: Analysis | None = None


Strategy: TypeAlias = Canary | BlueGreen | RollingUpdate | Recreate


@dataclass(frozen=True)
class Gate:
    """A named gate: one kind with its own settings, measured as an Argo Rollouts metric."""

    name: str
    kind: str
    config: Mapping[str, Any]
    policy: MeasurementPolicy = field(default_factory=MeasurementPolicy)
    success_condition: str | None = None
    failure_condition: str | None = None


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True)
class PullRequestSettings:
    repository: str
    provider: Literal["github", "gitlab"] = "github"
    api_url: str | None = None
    token: tuple[SecretRef, ...] = (SecretRef(env="GITHUB_TOKEN"),)
    """Where the API token is read, the first that has it (``tokenEnv``, else ``tokenFile``)."""


@dataclass(frozen=True)
class GitSettings:
    branch: str = DEFAULT_BRANCH
    remote: str = "origin"
    mode: Literal["commit", "pull-request"] = "commit"
    author: Author | None = None
    pull_request: PullRequestSettings | None = None


@dataclass(frozen=True)
class ImagePolicy:
    """How ``rollgen detect`` picks the newest allowed tag (see :mod:`rollgen.registry.policy`).

    ``kind`` is ``semver`` (``expression`` a range), ``regex`` (``expression``
    a pattern, ``order`` and an optional group ``key``) or ``buildNumber``
    (``expression`` a pattern with a group ``build``, numerical order).
    ``pin: digest`` makes a tag moved to another image a change to record.
    """

    kind: Literal["semver", "regex", "buildNumber"]
    expression: str
    order: Literal["semver", "numerical", "alphabetical"] = "semver"
    key: str | None = None
    prereleases: bool = False
    pin: Literal["tag", "digest"] = "tag"


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    replicas: int
    image: str
    # None: not named in the spec; what runs is read from Git (rollgen.rollout.drift).
    stable: str | None
    version: str
    source: Source
    output_path: str
    strategy: Strategy
    container: str | None = None
    gates: tuple[Gate, ...] = ()
    git: GitSettings = field(default_factory=GitSettings)
    progress_deadline: float | None = None
    digest: str | None = None
    image_policy: ImagePolicy | None = None
    # spec.liveness.assumeAfter: seconds after which a step counts as live without a liveness gate.
    liveness_assume_after: float | None = None
    notifications: Notifications | None = None
    windows: tuple[Window, ...] = ()

    @property
    def pinned_digest(self) -> str | None:
        """The digest the new revision's image is pinned to: ``spec.digest``, unless the policy pins tags.

        ``rollgen detect`` records the digest beside every tag it finds; with
        ``imagePolicy.pin: tag`` the digest is information only, and the
        Deployments name the tag alone.
        """
        if self.image_policy is not None and self.image_policy.pin == "tag":
            return None
        return self.digest

    def gate(self, name: str) -> Gate:
        for gate in self.gates:
            if gate.name == name:
                return gate
        raise KeyError(name)


def build_release(data: Mapping[str, Any]) -> Release:
    """Typed release from a validated document's plain data."""
    spec = data["spec"]
    return Release(
        name=data["metadata"]["name"],
        namespace=spec["namespace"],
        replicas=spec["replicas"],
        image=spec["image"],
        container=spec.get("container"),
        stable=spec.get("stable"),
        version=spec["version"],
        source=_source(spec["source"]),
        output_path=spec["output"]["path"],
        strategy=_strategy(spec["strategy"]),
        gates=tuple(_gate(g) for g in spec.get("gates", ())),
        git=_git(spec.get("git", {})),
        progress_deadline=_seconds(spec.get("progressDeadline")),
        digest=spec.get("digest"),
        image_policy=_image_policy(spec.get("imagePolicy")),
        liveness_assume_after=_seconds(spec.get("liveness", {}).get("assumeAfter")),
        notifications=_notifications(spec.get("notifications")),
        windows=build_windows(spec.get("windows", ())),
    )


def build_windows(data: Sequence[Mapping[str, Any]]) -> tuple[Window, ...]:
    """Typed windows from a validated ``windows`` list (a release's or a pipeline environment's)."""
    return tuple(
        Window(
            kind=w["kind"],
            schedule=w["schedule"],
            duration=parse_duration(w["duration"]),
            time_zone=w.get("timeZone", DEFAULT_ZONE),
        )
        for w in data
    )


def _image_policy(data: Mapping[str, Any] | None) -> ImagePolicy | None:
    if data is None:
        return None
    pin = data.get("pin", "tag")
    if "semver" in data:
        return ImagePolicy(
            "semver", data["semver"]["range"], prereleases=data["semver"].get("prereleases", False), pin=pin
        )
    if "regex" in data:
        regex = data["regex"]
        return ImagePolicy("regex", regex["pattern"], regex["order"], regex.get("key"), pin=pin)
    pattern = data["buildNumber"].get("pattern", "^(?P<build>[0-9]+)$")
    return ImagePolicy("buildNumber", pattern, "numerical", "build", pin=pin)


def _seconds(text: str | int | None) -> float | None:
    return None if text is None else parse_duration(text)


def _analysis(data: Mapping[str, Any] | None) -> Analysis | None:
    return None if data is None else Analysis(tuple(data["gates"]))


def _source(data: Mapping[str, Any]) -> Source:
    if "kustomize" in data:
        return KustomizeSource(data["kustomize"]["base"])
    return build_helm_source(data["helm"])


def _canary_step(data: Mapping[str, Any]) -> CanaryStep:
    if "setWeight" in data:
        return SetWeight(data["setWeight"])
    if "setCanaryScale" in data:
        return SetCanaryScale(data["setCanaryScale"]["replicas"])
    if "pause" in data:
        return Pause(_seconds(data["pause"].get("duration")))
    return Analysis(tuple(data["analysis"]["gates"]))


def _strategy(data: Mapping[str, Any]) -> Strategy:
    if "canary" in data:
        c = data["canary"]
        istio = c.get("istio")
        gateway = c.get("gatewayAPI")
        waves = c.get("waves")
        return Canary(
            max_surge=c.get("maxSurge", "25%"),
            max_unavailable=c.get("maxUnavailable", "25%"),
            traffic=c.get("traffic", "replicas"),
            istio=None
            if istio is None
            else IstioTraffic(tuple(istio.get("hosts", ())), tuple(istio.get("gateways", ()))),
            gateway_api=None
            if gateway is None
            else GatewayAPITraffic(
                tuple(ParentRef(p["name"], p.get("namespace"), p.get("sectionName")) for p in gateway["parentRefs"]),
                tuple(gateway.get("hostnames", ())),
            ),
            steps=tuple(_canary_step(s) for s in c.get("steps", ())),
            step_weight=c.get("stepWeight"),
            max_weight=c.get("maxWeight"),
            step_weights=tuple(c.get("stepWeights", ())),
            waves=None if waves is None else Waves(waves["count"], waves.get("restartLimit", 0)),
            analysis=_analysis(c.get("analysis")),
        )
    if "blueGreen" in data:
        b = data["blueGreen"]
        return BlueGreen(
            preview_service=b.get("previewService"),
            auto_promotion_enabled=b.get("autoPromotionEnabled", True),
            auto_promotion_seconds=b.get("autoPromotionSeconds"),
            scale_down_delay_seconds=b.get("scaleDownDelaySeconds", 30),
            preview_replica_count=b.get("previewReplicaCount"),
            pre_promotion_analysis=_analysis(b.get("prePromotionAnalysis")),
            post_promotion_analysis=_analysis(b.get("postPromotionAnalysis")),
        )
    if "rollingUpdate" in data:
        r = data["rollingUpdate"]
        return RollingUpdate(r.get("maxSurge", "25%"), r.get("maxUnavailable", "25%"), _analysis(r.get("analysis")))
    return Recreate(_analysis(data["recreate"].get("analysis")))


# Spec field -> MeasurementPolicy field; unset fields keep the policy's (Argo Rollouts') defaults.
_POLICY_FIELDS = {
    "interval": "interval",
    "count": "count",
    "failureLimit": "failure_limit",
    "inconclusiveLimit": "inconclusive_limit",
    "consecutiveErrorLimit": "consecutive_error_limit",
    "initialDelay": "initial_delay",
    "timeout": "timeout",
}
_DURATIONS = {"interval", "initialDelay", "timeout"}


def _gate(data: Mapping[str, Any]) -> Gate:
    kind = next(k for k in data if k in GATE_KINDS)
    settings: dict[str, Any] = {
        field: parse_duration(data[key]) if key in _DURATIONS else data[key]
        for key, field in _POLICY_FIELDS.items()
        if key in data
    }
    return Gate(
        name=data["name"],
        kind=kind,
        config=MappingProxyType(dict(data[kind])),
        policy=MeasurementPolicy(**settings),
        success_condition=data.get("successCondition"),
        failure_condition=data.get("failureCondition"),
    )


def _git(data: Mapping[str, Any]) -> GitSettings:
    author = data.get("author")
    pr = data.get("pullRequest")
    return GitSettings(
        branch=data.get("branch", DEFAULT_BRANCH),
        remote=data.get("remote", "origin"),
        mode=data.get("mode", "commit"),
        author=None if author is None else Author(author["name"], author["email"]),
        pull_request=None
        if pr is None
        else PullRequestSettings(
            repository=pr["repository"],
            provider=pr.get("provider", "github"),
            api_url=pr.get("apiURL"),
            token=_token(pr),
        ),
    )


def _token(pr: Mapping[str, Any]) -> tuple[SecretRef, ...]:
    if "token" in pr:
        return (SecretRef(**pr["token"]),)
    # The older spelling: the variable (GITHUB_TOKEN unless named), else the file.
    file = pr.get("tokenFile")
    return (SecretRef(env=pr.get("tokenEnv", "GITHUB_TOKEN")), *((SecretRef(file=file),) if file else ()))


# --- notifications (spec.notifications; sent by rollgen.controller.notify) ---


@dataclass(frozen=True)
class Webhook:
    """One receiver: its body ``kind``, the events it wants, where its URL is read and its signing ``secret``.

    Both are secrets, read when an event is sent; with a ``secret`` every body
    is signed (:func:`rollgen.controller.webhooks.signature`).
    """

    name: str
    kind: Literal["slack", "json", "cloudevents", "teams"]
    events: frozenset[str]
    url: SecretRef
    secret: SecretRef | None = None


@dataclass(frozen=True)
class Notifications:
    webhooks: tuple[Webhook, ...] = ()
    commit_url: str | None = None


def _signing_secret(webhook: Mapping[str, Any]) -> SecretRef | None:
    """``secret: {env|file}``, or ``secretEnv: NAME`` (the schema allows one of them)."""
    if "secret" in webhook:
        return SecretRef(**webhook["secret"])
    return SecretRef(env=webhook["secretEnv"]) if "secretEnv" in webhook else None


def _notifications(data: Mapping[str, Any] | None) -> Notifications | None:
    if data is None:
        return None

    return Notifications(
        webhooks=tuple(
            Webhook(
                name=w["name"],
                kind=w["kind"],
                events=frozenset(w.get("events", EVENT_KINDS)),
                url=SecretRef(**w["url"]) if "url" in w else SecretRef(env=w.get("urlEnv"), file=w.get("urlFile")),
                secret=_signing_secret(w),
            )
            for w in data.get("webhooks", ())
        ),
        commit_url=data.get("commitURL"),
    )
