from __future__ import annotations

import pytest

from rollgen.gates.template import TemplateError, render

VALUES = {"release": "podinfo", "version": "6.5.0"}


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("{{ release }}-{{version}}", "podinfo-6.5.0"),
        ("{{  version  }}", "6.5.0"),
        ("no placeholders {", "no placeholders {"),
        ('{app="{{ release }}"}', '{app="podinfo"}'),  # PromQL braces are left alone
        ("{{ release }}{{ release }}", "podinfopodinfo"),
    ],
)
def test_known_names_are_substituted(text: str, rendered: str) -> None:
    assert render(text, VALUES) == rendered


@pytest.mark.parametrize(
    ("text", "offset", "name"),
    [("x {{ stabel }}", 2, "stabel"), ("{{ release.name }}", 0, "release.name"), ("{{ }}", 0, "")],
)
def test_unknown_names_are_errors_at_their_offset(text: str, offset: int, name: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(text, VALUES)
    assert caught.value.offset == offset
    assert f"unknown name {name!r}" in str(caught.value)
    assert "known: release, version" in str(caught.value)


def test_values_are_not_rendered_again() -> None:
    assert render("{{ version }}", {"version": "{{ release }}"}) == "{{ release }}"
