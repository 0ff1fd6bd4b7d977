"""Deterministic YAML text for rendered files.

Rendered files are committed to Git and compared byte for byte (an abort
commits the pre-rollout files back and must produce no diff), so the text
of a document depends only on its value:

- keys keep the order the renderer built them in (Kubernetes order:
  ``apiVersion``, ``kind``, ``metadata``, ``spec``), never sorted or hashed;
- multi-line strings (inline patches) are literal blocks, so reviewers read a
  patch as YAML rather than an escaped one-liner;
- no line folding, whatever the length, so a long value never moves a diff;
- every file ends with exactly one newline.

>>> print(dump_yaml({"kind": "Kustomization", "patches": [{"patch": "a: 1\\nb: 2\\n"}]}), end="")
kind: Kustomization
patches:
- patch: |
    a: 1
    b: 2
>>> dump_documents([{"a": 1}, {"b": "6.10"}])
"a: 1\\n---\\nb: '6.10'\\n"

Both the Kustomize and the Helm renderers write through here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

# libyaml's emitter when PyYAML was built with it (about 3x faster, same text: the golden
# files pass with both); representers stay in Python either way.
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_SafeDumper):  # type: ignore[valid-type,misc]
    """SafeDumper that writes multi-line strings as literal blocks and never aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        # A value shared by two places in a document must be written twice: anchors
        # (&id001) would make the text depend on object identity, not on the value.
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(document: object) -> str:
    """One YAML document, keys in insertion order, ending in a newline."""
    text: str = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 30,
    )
    return text


def dump_documents(documents: Iterable[object]) -> str:
    """Several documents separated by ``---`` (no leading separator)."""
    return "---\n".join(dump_yaml(d) for d in documents)
