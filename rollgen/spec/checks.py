"""Semantic checks: what a JSON Schema cannot say about a release spec.

Each check reads the plain document (which may also have failed the schema, so
every access is defensive) and reports problems at the offending node. The
schema and these checks together are the whole definition of a valid spec.
"""

from __future__ import annotations

import posixpath
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

from rollgen.durations import spec_problem
from rollgen.errors import Problem
from rollgen.gates.conditions import ConditionError, parse
from rollgen.gates.conditions.lexer import MAX_LENGTH
from rollgen.gates.facts import condition_kinds
from rollgen.gates.template import NAMES as TEMPLATE_NAMES
from rollgen.gates.template import placeholders
from rollgen.names import MAX_NAME, slug, workload_name
from rollgen.registry.policy import expression_problem
from rollgen.replicas import routed_canary_replicas
from rollgen.spec.gatekinds import check_gate_settings
from rollgen.spec.helmchecks import check_chart_source, check_per_version
from rollgen.spec.vocabulary import GATE_KINDS, LIVENESS_KINDS, WAVES_RESTARTS_GATE
from rollgen.spec.window_checks import check_windows
from rollgen.spec.yamldoc import Document, JsonPath

Check = Callable[[Document], Iterator[Problem]]


def _get(data: Any, *path: str | int) -> Any:
    """``data[path...]`` or ``None`` when any step is missing or of the wrong type."""
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[part] if isinstance(part, int) else data.get(part)
    return data


def _items(data: Any, *path: str) -> list[tuple[int, Any]]:
    value = _get(data, *path)
    return list(enumerate(value)) if isinstance(value, list) else []


def check_versions(doc: Document) -> Iterator[Problem]:
    """Each version runs in its own Deployment, named from its slug: the names must exist and differ."""
    stable, version = _get(doc.data, "spec", "stable"), _get(doc.data, "spec", "version")
    if isinstance(stable, str) and stable == version:
        yield doc.problem(("spec", "version"), f"spec.version must differ from spec.stable (both are {stable!r})")
        return
    app = _get(doc.data, "metadata", "name")
    for key, value in (("stable", stable), ("version", version)):
        if not isinstance(value, str):
            continue
        if not slug(value):
            yield doc.problem(("spec", key), f"{key}: {value!r} has no letter or digit to name its Deployment after")
        elif isinstance(app, str) and len(workload_name(app, value)) > MAX_NAME:
            name = workload_name(app, value)
            yield doc.problem(
                ("spec", key), f"{key}: the Deployment name {name!r} is longer than {MAX_NAME} characters"
            )
    if isinstance(stable, str) and isinstance(version, str) and slug(stable) and slug(stable) == slug(version):
        yield doc.problem(
            ("spec", "version"),
            f"spec.version {version!r} and spec.stable {stable!r} would both run in the Deployment named for "
            f"{slug(version)!r}: versions must differ in more than case and punctuation",
        )


def check_liveness(doc: Document) -> Iterator[Problem]:
    """A step counts as live only on evidence: a sync or rollout gate, or an explicit ``liveness`` choice."""
    spec = _get(doc.data, "spec")
    if not isinstance(spec, dict) or "liveness" in spec:
        return
    gates = [g for _, g in _items(spec, "gates") if isinstance(g, dict)]
    if any(kind in g for g in gates for kind in LIVENESS_KINDS):
        return
    kinds = ", ".join(LIVENESS_KINDS)
    yield doc.problem(
        ("spec", "gates") if "gates" in spec else ("spec",),
        f"no gate tells when a commit is live (a gate of kind {kinds}): add one, or state the choice "
        "explicitly with spec.liveness: {assumeAfter: 2m} (each step counts as live that long after its commit)",
        at_key="gates" in spec,
    )


def check_paths(doc: Document) -> Iterator[Problem]:
    spec = _get(doc.data, "spec")
    paths: list[tuple[JsonPath, Any]] = [
        (("spec", "output", "path"), _get(spec, "output", "path")),
        (("spec", "source", "kustomize", "base"), _get(spec, "source", "kustomize", "base")),
        (("spec", "source", "helm", "chart"), _get(spec, "source", "helm", "chart")),
        (("spec", "source", "helm", "resources"), _get(spec, "source", "helm", "resources")),
    ]
    paths += [(("spec", "source", "helm", "values", i), v) for i, v in _items(spec, "source", "helm", "values")]
    paths += [
        (("spec", "gates", i, "command", "workingDir"), _get(g, "command", "workingDir"))
        for i, g in _items(spec, "gates")
    ]
    paths.append((("spec", "git", "pullRequest", "tokenFile"), _get(spec, "git", "pullRequest", "tokenFile")))
    for where, value in paths:
        if isinstance(value, str):
            reason = _outside_repo(value) or _not_canonical(value)
            if reason:
                label = where[-1] if isinstance(where[-1], str) else f"{where[-2]}[{where[-1]}]"
                yield doc.problem(where, f"{label}: {value!r} {reason}")
    output, base = _get(spec, "output", "path"), _get(spec, "source", "kustomize", "base")
    if isinstance(output, str) and isinstance(base, str) and not _outside_repo(output) and not _outside_repo(base):
        a, b = posixpath.normpath(output), posixpath.normpath(base)
        if a == b or b.startswith(a + "/") or a.startswith(b + "/"):
            yield doc.problem(
                ("spec", "output", "path"),
                "output.path must not overlap the source base: rollgen rewrites the whole output directory",
            )


def _not_canonical(path: str) -> str | None:
    """Paths are compared as written (ownership, overlap, commit trailers): one spelling per directory."""
    odd = [c for c in path if unicodedata.category(c) in ("Cc", "Cf")]
    if odd:
        return f"holds a control or invisible character ({', '.join(f'U+{ord(c):04X}' for c in odd)})"
    canonical = posixpath.normpath(path)
    if canonical != path:
        return f"must be written as {canonical!r} (no trailing '/', './' or '//')"
    return None


def _outside_repo(path: str) -> str | None:
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return "must be relative to the repository root, not absolute"
    if "\\" in path:
        return "must use '/' as the separator"
    parts = path.split("/")
    if ".." in parts:
        return "must stay inside the repository (no '..')"
    if posixpath.normpath(path) == ".":
        return "must name a directory below the repository root"
    return None


def check_durations(doc: Document) -> Iterator[Problem]:
    """Durations that match the pattern but are out of any sensible range."""
    spec = _get(doc.data, "spec")
    found: list[tuple[JsonPath, Any]] = [
        (("spec", "progressDeadline"), _get(spec, "progressDeadline")),
        (("spec", "liveness", "assumeAfter"), _get(spec, "liveness", "assumeAfter")),
    ]
    for i, step in _items(spec, "strategy", "canary", "steps"):
        found.append((("spec", "strategy", "canary", "steps", i, "pause", "duration"), _get(step, "pause", "duration")))
    for i, gate in _items(spec, "gates"):
        for key in ("interval", "initialDelay", "timeout"):
            found.append((("spec", "gates", i, key), _get(gate, key)))
    for where, value in found:
        positive = where[-1] in ("timeout", "interval", "progressDeadline")
        problem = spec_problem(value, positive=positive, most_days=7)
        if problem is not None:
            yield doc.problem(where, f"{where[-1]}: {problem}")


def check_templates(doc: Document) -> Iterator[Problem]:
    """``{{ name }}`` in a gate's settings must be a name the gate is given at run time."""
    known = ", ".join(sorted(TEMPLATE_NAMES))
    for i, gate in _items(doc.data, "spec", "gates"):
        if not isinstance(gate, dict):
            continue
        for kind in GATE_KINDS:
            for where, text in _strings(gate.get(kind), ("spec", "gates", i, kind)):
                for offset, name in placeholders(text):
                    if name not in TEMPLATE_NAMES:
                        yield _at_offset(
                            doc, where, text, offset, f"unknown name {name!r} in {{{{ }}}}; known: {known}"
                        )


def _strings(data: Any, where: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(data, str):
        yield where, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*where, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, (*where, i))


def _at_offset(doc: Document, where: JsonPath, text: str, offset: int, message: str) -> Problem:
    """A problem at character ``offset`` of a scalar: exact for one-line scalars, the scalar's start otherwise."""
    line, col = doc.values.get(where, (0, 0))
    if "\n" not in text:
        col += offset + (1 if where in doc.quoted else 0)
    return Problem(doc.path, line + 1, col + 1, message)


def check_gates(doc: Document) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, gate in _items(doc.data, "spec", "gates"):
        if not isinstance(gate, dict):
            continue
        name = gate.get("name")
        if isinstance(name, str):
            if name in seen:
                yield doc.problem(
                    ("spec", "gates", i, "name"), f"duplicate gate name {name!r} (first at gates[{seen[name]}])"
                )
            seen.setdefault(name, i)
        if name == WAVES_RESTARTS_GATE:
            yield doc.problem(
                ("spec", "gates", i, "name"), f"gate name {name!r} is reserved for the waves shorthand's restart check"
            )
        kinds = [k for k in GATE_KINDS if k in gate]
        if len(kinds) != 1:
            found = f"found {', '.join(kinds)}" if kinds else "found none"
            yield doc.problem(("spec", "gates", i), f"gate needs exactly one kind of {', '.join(GATE_KINDS)}; {found}")
            continue
        kind = kinds[0]
        for key in ("successCondition", "failureCondition"):
            if key not in gate:
                continue
            if kind not in condition_kinds():
                applies = ", ".join(condition_kinds())
                yield doc.problem(
                    ("spec", "gates", i, key), f"{key} applies to {applies} gates, not {kind}", at_key=True
                )
            elif isinstance(gate[key], str):
                yield from _condition_problems(doc, ("spec", "gates", i, key), gate[key])
        count = gate.get("count")
        if isinstance(count, int) and count > 1 and "interval" not in gate:
            yield doc.problem(("spec", "gates", i, "count"), "count > 1 needs an interval between measurements")


def _condition_problems(doc: Document, where: JsonPath, text: str) -> Iterator[Problem]:
    if len(text) > MAX_LENGTH:
        return  # the schema's maxLength says so
    try:
        condition = parse(text)
    except ConditionError as exc:
        yield _at_offset(doc, where, text, exc.offset, f"{where[-1]}: {exc.message}")
        return
    for offset, pattern in condition.patterns:  # `matches "..."`: expr-lang compiles it before running
        from rollgen.gates.pattern import PatternError, compile_pattern  # RE2: loaded only for a `matches`

        try:
            compile_pattern(pattern)
        except PatternError as exc:
            yield _at_offset(doc, where, text, offset, f"{where[-1]}: matches: {exc}")


def _referenced_gates(spec: Any) -> Iterator[tuple[JsonPath, Any]]:
    """Every place a gate name is used, with its path."""
    canary = ("spec", "strategy", "canary")
    for i, step in _items(spec, "strategy", "canary", "steps"):
        for j, name in enumerate(_get(step, "analysis", "gates") or []):
            yield (*canary, "steps", i, "analysis", "gates", j), name
    places = [
        ("canary", "analysis"),
        ("blueGreen", "prePromotionAnalysis"),
        ("blueGreen", "postPromotionAnalysis"),
        ("rollingUpdate", "analysis"),
        ("recreate", "analysis"),
    ]
    for strategy, key in places:
        for j, name in enumerate(_get(spec, "strategy", strategy, key, "gates") or []):
            yield ("spec", "strategy", strategy, key, "gates", j), name


def check_gate_references(doc: Document) -> Iterator[Problem]:
    spec = _get(doc.data, "spec")
    defined = {g.get("name") for _, g in _items(spec, "gates") if isinstance(g, dict)}
    for where, name in _referenced_gates(spec):
        if isinstance(name, str) and name not in defined:
            known = ", ".join(sorted(n for n in defined if isinstance(n, str))) or "none are defined under spec.gates"
            yield doc.problem(where, f"unknown gate {name!r}; defined gates: {known}")


def check_canary(doc: Document) -> Iterator[Problem]:
    where: JsonPath = ("spec", "strategy", "canary")
    canary = _get(doc.data, *where)
    if not isinstance(canary, dict):
        return
    styles = [k for k in ("steps", "stepWeight", "stepWeights", "waves") if k in canary]
    if len(styles) > 1:
        yield doc.problem(
            (*where, styles[1]),
            f"choose one of steps, stepWeight/maxWeight, stepWeights or waves; found {', '.join(styles)}",
            at_key=True,
        )
    elif not styles:
        yield doc.problem(where, "canary needs steps, stepWeight/maxWeight, stepWeights or waves")
    if ("stepWeight" in canary) != ("maxWeight" in canary):
        missing = "maxWeight" if "stepWeight" in canary else "stepWeight"
        yield doc.problem(where, f"stepWeight and maxWeight go together; {missing} is missing")
    step_weight, max_weight = canary.get("stepWeight"), canary.get("maxWeight")
    if isinstance(step_weight, int) and isinstance(max_weight, int) and max_weight < step_weight:
        yield doc.problem(
            (*where, "maxWeight"), f"maxWeight ({max_weight}) must be at least stepWeight ({step_weight})"
        )
    if "analysis" in canary and "steps" in canary:
        yield doc.problem(
            (*where, "analysis"),
            "canary.analysis applies to the shorthands; with explicit steps add analysis steps",
            at_key=True,
        )
    yield from _increasing(doc, (*where, "stepWeights"), [(i, w) for i, w in _items(canary, "stepWeights")])
    weights = [(i, _get(s, "setWeight")) for i, s in _items(canary, "steps")]
    yield from _increasing(doc, (*where, "steps"), [(i, w) for i, w in weights if w is not None], key="setWeight")
    replicas = _get(doc.data, "spec", "replicas")
    if isinstance(replicas, int):
        for i, step in _items(canary, "steps"):
            scale = _get(step, "setCanaryScale", "replicas")
            if isinstance(scale, int) and scale > replicas:
                yield doc.problem(
                    (*where, "steps", i, "setCanaryScale", "replicas"),
                    f"setCanaryScale.replicas ({scale}) exceeds spec.replicas ({replicas})",
                )
        count = _get(canary, "waves", "count")
        if isinstance(count, int) and count > replicas - 1:
            yield doc.problem(
                (*where, "waves", "count"),
                f"waves.count ({count}) must be at most spec.replicas - 1 ({replicas - 1}): each wave moves at least one pod",
            )
    traffic = canary.get("traffic", "replicas")
    if "waves" in canary and traffic != "replicas":
        yield doc.problem(
            (*where, "waves"),
            f"waves move pods and traffic follows them only with traffic: replicas, not {traffic}",
            at_key=True,
        )
    if traffic != "replicas" and isinstance(replicas, int):
        yield from _routed_scale(doc, where, _items(canary, "steps"), replicas)
    for block, needs in (("istio", "istio"), ("gatewayAPI", "gatewayAPI")):
        if block in canary and traffic != needs:
            yield doc.problem(
                (*where, block), f"canary.{block} needs traffic: {needs} (traffic is {traffic})", at_key=True
            )
    if traffic == "gatewayAPI" and "gatewayAPI" not in canary:
        yield doc.problem((*where, "traffic"), "traffic: gatewayAPI needs canary.gatewayAPI.parentRefs")
    steps = _items(canary, "steps")
    if steps and isinstance(steps[0][1], dict) and ("pause" in steps[0][1] or "analysis" in steps[0][1]):
        yield doc.problem(
            (*where, "steps", 0),
            "the first canary step must be setWeight or setCanaryScale: a pause or analysis needs a step to judge",
        )


def _routed_scale(doc: Document, where: JsonPath, steps: list[tuple[int, Any]], replicas: int) -> Iterator[Problem]:
    """With routed traffic canary pods never shrink: a setCanaryScale may not go below what the weight needs."""
    pods, weight = 0, 0
    for i, step in steps:
        set_weight, scale = _get(step, "setWeight"), _get(step, "setCanaryScale", "replicas")
        if isinstance(set_weight, int):
            pods, weight = max(pods, routed_canary_replicas(replicas, min(max(set_weight, 0), 100))), set_weight
        elif isinstance(scale, int):
            if scale < pods:
                yield doc.problem(
                    (*where, "steps", i, "setCanaryScale", "replicas"),
                    f"setCanaryScale {scale} would shrink the canary below the {pods} pods it runs at weight {weight}%",
                )
            pods = max(pods, scale)


def _increasing(
    doc: Document, where: JsonPath, weights: list[tuple[int, Any]], key: str | None = None
) -> Iterator[Problem]:
    previous: int | None = None
    for i, weight in weights:
        if not isinstance(weight, int):
            continue
        if previous is not None and weight <= previous:
            path = (*where, i, key) if key else (*where, i)
            yield doc.problem(path, f"weights must increase strictly: {weight} after {previous}")
        previous = weight


def check_bounds(doc: Document) -> Iterator[Problem]:
    """maxSurge and maxUnavailable both literally 0 could never move a pod (Kubernetes rejects it too)."""
    for strategy in ("canary", "rollingUpdate"):
        where: JsonPath = ("spec", "strategy", strategy)
        block = _get(doc.data, *where)
        if isinstance(block, dict) and block.get("maxSurge") in (0, "0%") and block.get("maxUnavailable") in (0, "0%"):
            yield doc.problem(
                (*where, "maxUnavailable"), "maxSurge and maxUnavailable cannot both be 0: no pod could ever move"
            )


def check_blue_green(doc: Document) -> Iterator[Problem]:
    where: JsonPath = ("spec", "strategy", "blueGreen")
    bg = _get(doc.data, *where)
    if not isinstance(bg, dict):
        return
    preview, name = bg.get("previewService"), _get(doc.data, "metadata", "name")
    if isinstance(preview, str) and preview == name:
        yield doc.problem((*where, "previewService"), f"previewService must differ from the main Service ({name!r})")
    count, replicas = bg.get("previewReplicaCount"), _get(doc.data, "spec", "replicas")
    if isinstance(count, int) and isinstance(replicas, int) and count > replicas:
        yield doc.problem(
            (*where, "previewReplicaCount"), f"previewReplicaCount ({count}) exceeds spec.replicas ({replicas})"
        )
    if bg.get("autoPromotionEnabled") is False and "autoPromotionSeconds" in bg:
        yield doc.problem(
            (*where, "autoPromotionSeconds"),
            "autoPromotionSeconds contradicts autoPromotionEnabled: false",
            at_key=True,
        )


def check_git(doc: Document) -> Iterator[Problem]:
    where: JsonPath = ("spec", "git")
    git = _get(doc.data, *where)
    if not isinstance(git, dict):
        return
    if git.get("mode") == "pull-request" and "pullRequest" not in git:
        yield doc.problem((*where, "mode"), "mode: pull-request needs git.pullRequest (repository and token)")
    repository = _get(git, "pullRequest", "repository")
    github = _get(git, "pullRequest", "provider") in (None, "github")
    # The schema's pattern admits GitLab's nested groups; GitHub has no such thing.
    if github and isinstance(repository, str) and repository.count("/") > 1:
        yield doc.problem(
            (*where, "pullRequest", "repository"), f"repository: a GitHub repository is owner/name, got {repository!r}"
        )
    if "pullRequest" in git and git.get("mode", "commit") != "pull-request":
        yield doc.problem((*where, "pullRequest"), "git.pullRequest applies only with mode: pull-request", at_key=True)


def check_image_policy(doc: Document) -> Iterator[Problem]:
    policy = _get(doc.data, "spec", "imagePolicy")
    key = _get(policy, "regex", "key")
    keys = {"semver": None, "regex": key if isinstance(key, str) else None, "buildNumber": "build"}
    for kind, field in (("semver", "range"), ("regex", "pattern"), ("buildNumber", "pattern")):
        expression = _get(policy, kind, field)
        if isinstance(expression, str):
            problem = expression_problem(kind, expression, keys[kind])
            if problem is not None:
                yield doc.problem(("spec", "imagePolicy", kind, field), problem)


CHECKS: tuple[Check, ...] = (
    check_versions,
    check_liveness,
    check_templates,
    check_paths,
    check_durations,
    check_gates,
    check_gate_settings,
    check_gate_references,
    check_canary,
    check_bounds,
    check_blue_green,
    check_chart_source,
    check_per_version,
    check_git,
    check_image_policy,
    check_windows,
)


def semantic_problems(doc: Document) -> list[Problem]:
    return [problem for check in CHECKS for problem in check(doc)]
