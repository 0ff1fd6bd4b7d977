"""Round-trip edits of a user's release spec: text in, text out.

ruamel.yaml locates ``spec.version`` (and ``spec.digest``) exactly, then only
those scalars' characters are replaced, keeping their quoting; comments,
order, blank lines and every other byte stay as the user wrote them.

>>> text = 'spec:\\n  image: web   # the app\\n  version: "1.0.0"   # bumped by rollgen detect\\n'
>>> print(set_version(text, "1.1.0"), end="")
spec:
  image: web   # the app
  version: "1.1.0"   # bumped by rollgen detect
>>> print(set_version(text, "1.1.0", "sha256:" + "a" * 64), end="")
spec:
  image: web   # the app
  version: "1.1.0"   # bumped by rollgen detect
  digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
"""

from __future__ import annotations

import io
from typing import Any

from rollgen.errors import UsageError


def set_version(text: str, version: str, digest: str | None = None) -> str:
    """``text`` with ``spec.version`` set to ``version`` and, when given, ``spec.digest`` to ``digest``.

    A missing ``digest`` key is added on the line after ``version``, at its
    indentation, quoted like it. Raises UsageError when the file has no
    ``spec.version`` scalar to edit.
    """
    spec = _spec_node(text)
    found = {key.value: (key, value) for key, value in spec.value if hasattr(key, "value")}
    if "version" not in found or not _scalar(found["version"][1]):
        raise UsageError("the spec has no spec.version to update")
    key_node, version_node = found["version"]
    edits = [(version_node, version)]
    insert: tuple[int, str] | None = None
    if digest is not None:
        if "digest" in found and _scalar(found["digest"][1]):
            edits.append((found["digest"][1], digest))
        elif spec.flow_style:
            raise UsageError(
                "spec is written in flow style ({...}); add a digest: key by hand, rollgen keeps it up to date"
            )
        else:
            end = text.find("\n", version_node.end_mark.index)
            end = len(text) if end < 0 else end + 1
            quote = version_node.style if version_node.style in ('"', "'") else '"'
            line = " " * key_node.start_mark.column + f"digest: {quote}{digest}{quote}\n"
            insert = (end, line if text[end - 1 : end] == "\n" or end == 0 else "\n" + line)
    pieces = [(node.start_mark.index, node.end_mark.index, _render(node, value)) for node, value in edits]
    if insert is not None:
        pieces.append((insert[0], insert[0], insert[1]))
    result = text
    for start, stop, replacement in sorted(pieces, reverse=True):
        result = result[:start] + replacement + result[stop:]
    return result


def _spec_node(text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import MappingNode

    try:
        root = YAML(typ="rt").compose(io.StringIO(text))
    except YAMLError as exc:
        raise UsageError(f"the spec is not readable YAML: {exc}") from None
    if not isinstance(root, MappingNode):
        raise UsageError("the spec is not a mapping")
    spec = next((value for key, value in root.value if getattr(key, "value", None) == "spec"), None)
    if not isinstance(spec, MappingNode):
        raise UsageError("the spec has no spec: mapping")
    return spec


def _scalar(node: Any) -> bool:
    from ruamel.yaml.nodes import ScalarNode

    return isinstance(node, ScalarNode) and node.style in (None, "", '"', "'")


def _render(node: Any, value: str) -> str:
    """``value`` in the node's own quoting; a plain scalar YAML would read as no string gets double quotes."""
    if node.style in ('"', "'"):
        return f"{node.style}{value}{node.style}"
    from ruamel.yaml import YAML

    loaded = YAML(typ="safe", pure=True).load(f"v: {value}\n")
    return value if loaded == {"v": value} else f'"{value}"'
