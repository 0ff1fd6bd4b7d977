"""The YAML a Kustomize build of a spec's base parses, read as strictly as ``kubectl kustomize`` reads it.

Kustomize refuses a file with a YAML syntax error, or with a key defined twice
in one mapping, and its message names neither the file nor the column
(``line 9: mapping key "replicas" already defined at line 8``). Read here
first, every such error is ``file:line:col`` in the file itself, all at once,
before anything is built. Plain filesystem reads: which files are parsed is
:func:`rollgen.kustomize_inputs.parsed`; what a build refuses beyond that is the
build's to say (see :mod:`rollgen.preflight`).

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "kustomization.yaml").write_text("resources: [deploy.yaml]\\n")
    >>> _ = (root / "deploy.yaml").write_text("kind: Deployment\\nspec:\\n  replicas: 2\\n  replicas: 3\\n")
    >>> [str(p) for p in yaml_problems(root, ".", lambda name: name)]
    ["deploy.yaml:4:3: duplicate key 'replicas' (first defined at line 3)"]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

from rollgen.errors import Problem
from rollgen.kustomize_inputs import parsed

_Composer = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "<<"


def yaml_problems(repo: Path, base: str, shown: Callable[[str], str]) -> list[Problem]:
    """Every YAML error in the files the build of ``base`` parses; ``shown`` names a repository path in problems."""
    problems: list[Problem] = []
    for name in parsed(repo, base):
        problems += _file_problems(repo / name, shown(name))
    return problems


def _file_problems(path: Path, name: str) -> list[Problem]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        return [Problem(name, 1, 1, f"cannot be read ({error.strerror or error})")]
    except UnicodeDecodeError as error:
        return [Problem(name, 1, 1, f"not valid UTF-8 (byte {error.start})")]
    try:
        documents = list(yaml.compose_all(text, Loader=_Composer))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return [Problem(name, *where, f"not valid YAML: {error.problem or error.context}")]
    except yaml.YAMLError as error:
        return [Problem(name, 1, 1, f"not valid YAML: {error}")]
    return [problem for document in documents if document is not None for problem in _duplicates(document, name)]


def _duplicates(root: yaml.Node, name: str) -> Iterator[Problem]:
    """A key defined twice in one mapping, at the second one (aliases are followed once)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value != _MERGE:
                    if key.value in first:
                        yield Problem(
                            name,
                            key.start_mark.line + 1,
                            key.start_mark.column + 1,
                            f"duplicate key {key.value!r} (first defined at line {first[key.value]})",
                        )
                    else:
                        first[key.value] = key.start_mark.line + 1
                stack += [key, value]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
