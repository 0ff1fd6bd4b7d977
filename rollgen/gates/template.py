"""``{{ name }}`` substitution in queries, URLs and command arguments.

Plain substitution of the step's known names (no Jinja: a query is data, not a
program), and an unknown name is an error rather than an empty string:

    >>> render("rate(x{version='{{ version }}'}[1m])", {"version": "6.5.0"})
    "rate(x{version='6.5.0'}[1m])"
    >>> render("{{ verison }}", {"version": "6.5.0"})
    Traceback (most recent call last):
    ...
    rollgen.gates.template.TemplateError: offset 0: unknown name 'verison' in {{ }} (known: version)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from rollgen.errors import RollgenError

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# Every name a gate is given (``GateContext.template_values``); validation refuses any other.
NAMES: Final = frozenset({"release", "namespace", "version", "stable", "commit", "step"})


def placeholders(text: str) -> Iterator[tuple[int, str]]:
    """Each ``{{ name }}`` in ``text``: its offset and the name.

    >>> list(placeholders("a{{ version }}b{{x}}"))
    [(1, 'version'), (15, 'x')]
    """
    for match in _PLACEHOLDER.finditer(text):
        yield match.start(), match.group(1)


class TemplateError(RollgenError):
    def __init__(self, offset: int, message: str) -> None:
        self.offset = offset
        super().__init__(f"offset {offset}: {message}")


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every ``{{ name }}`` replaced by ``values[name]``."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            known = ", ".join(sorted(values))
            raise TemplateError(match.start(), f"unknown name {name!r} in {{{{ }}}} (known: {known})")
        return values[name]

    return _PLACEHOLDER.sub(substitute, text)


def render_strings(data: Any, values: Mapping[str, str]) -> Any:
    """``data`` (strings, and lists and mappings holding them) with every string rendered; other values as they are.

    >>> render_strings({"a": "x{{ step }}", "b": [1, "{{ step }}"]}, {"step": "2"})
    {'a': 'x2', 'b': [1, '2']}
    """
    if isinstance(data, str):
        return render(data, values)
    if isinstance(data, Mapping):
        return {key: render_strings(value, values) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [render_strings(value, values) for value in data]
    return data
