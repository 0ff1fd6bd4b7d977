"""What a schema cannot say about ``windows`` (a release's, a pipeline environment's): the cron, the zone, the length."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rollgen.durations import parse_duration
from rollgen.errors import Problem
from rollgen.spec.yamldoc import Document, JsonPath
from rollgen.windows import schedule_problem, zone_problem


def window_problems(doc: Document, where: JsonPath, windows: Any) -> Iterator[Problem]:
    """Every problem of the ``windows`` list at ``where`` that the schema lets through."""
    if not isinstance(windows, list):
        return
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in where).lstrip(".")
    for index, window in enumerate(windows):
        if not isinstance(window, dict):
            continue
        at: JsonPath = (*where, index)
        schedule, zone, duration = window.get("schedule"), window.get("timeZone"), window.get("duration")
        if isinstance(schedule, str) and schedule and (problem := schedule_problem(schedule)) is not None:
            yield doc.problem((*at, "schedule"), f"{field}[{index}].schedule: {problem}")
        if isinstance(zone, str) and zone and (problem := zone_problem(zone)) is not None:
            yield doc.problem((*at, "timeZone"), f"{field}[{index}].timeZone: {problem}")
        if isinstance(duration, (str, int)) and not isinstance(duration, bool):
            try:
                seconds = parse_duration(duration)
            except ValueError:
                continue  # the schema says what a duration looks like
            if seconds <= 0:
                yield doc.problem(
                    (*at, "duration"), f"{field}[{index}].duration: a window must stay open longer than 0s"
                )


def check_windows(doc: Document) -> Iterator[Problem]:
    """A release's ``spec.windows``."""
    spec = doc.data.get("spec")
    if isinstance(spec, dict):
        yield from window_problems(doc, ("spec", "windows"), spec.get("windows"))
