"""The shape of a pipeline: which environments come after which, in waves. Pure: names in, names out.

Each environment names the environments it comes ``after`` (by default the
one before it in the file; the first comes after none: ``rollgen detect``
feeds it). Environments that come after the same ones form a **wave**: they
get a version in the same ``pipeline advance`` pass. An environment after
several (a fan-in) gets a version once all of them completed it and soaked.

>>> graph = Graph.of(("dev", "eu", "us", "global"), {"eu": ("dev",), "us": ("dev",), "global": ("eu", "us")})
>>> graph.waves()
(('dev',), ('eu', 'us'), ('global',))
>>> print(graph.text())
dev -> (eu, us) -> global
>>> sorted(graph.upstream("global")), sorted(graph.upstream("eu"))
(['dev', 'eu', 'us'], ['dev'])
>>> find_cycle({"a": ("c",), "b": ("a",), "c": ("b",)})
['a', 'c', 'b', 'a']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Graph:
    """Environments in file order, each with the environments it comes after (no cycle: validate refuses one)."""

    names: tuple[str, ...]
    after: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, names: Sequence[str], after: Mapping[str, Sequence[str] | None]) -> Graph:
        """The graph of ``names`` where ``after`` leaves an environment out (or maps it to None): after the one before."""
        edges = {}
        for index, name in enumerate(names):
            given = after.get(name)
            edges[name] = tuple(given) if given is not None else tuple(names[index - 1 : index])
        return cls(tuple(names), edges)

    @cached_property
    def depth(self) -> Mapping[str, int]:
        """The length of the longest way from a first environment to each (first environments: 0)."""
        found: dict[str, int] = {}

        def of(name: str) -> int:
            if name not in found:
                found[name] = 1 + max((of(p) for p in self.after[name]), default=-1)
            return found[name]

        for name in self.names:
            of(name)
        return found

    def waves(self) -> tuple[tuple[str, ...], ...]:
        """Environments grouped by the environments they come after, in the order versions reach them."""
        groups: dict[frozenset[str], list[str]] = {}
        for name in self.names:
            groups.setdefault(frozenset(self.after[name]), []).append(name)
        ordered = sorted(groups.values(), key=lambda wave: (self.depth[wave[0]], self.names.index(wave[0])))
        return tuple(tuple(wave) for wave in ordered)

    def wave_of(self, name: str) -> tuple[str, ...]:
        return next(wave for wave in self.waves() if name in wave)

    def ancestors(self, name: str) -> frozenset[str]:
        """Every environment a version passes before it reaches ``name``."""
        seen: set[str] = set()
        pending = list(self.after[name])
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending.extend(self.after[current])
        return frozenset(seen)

    def upstream(self, name: str) -> frozenset[str]:
        """Where an abort of a version stops it from reaching ``name``: its ancestors and their waves."""
        found = set(self.ancestors(name))
        for ancestor in list(found):
            found.update(self.wave_of(ancestor))
        return frozenset(found)

    def followers(self, name: str) -> tuple[str, ...]:
        """The environments that come right after ``name``."""
        return tuple(other for other in self.names if name in self.after[other])

    def text(self) -> str:
        """The waves in one line: ``dev -> (eu, us) -> global``."""
        return " -> ".join(wave[0] if len(wave) == 1 else f"({', '.join(wave)})" for wave in self.waves())

    def mermaid(self, labels: Mapping[str, str] | None = None) -> str:
        """A Mermaid flowchart, left to right; ``labels`` adds a second line to a node (what runs there)."""
        ids = {name: f"e{index}" for index, name in enumerate(self.names)}
        lines = ["flowchart LR"]
        for name in self.names:
            extra = (labels or {}).get(name)
            text = name if not extra else f"{name}<br/>{extra}"
            lines.append(f'  {ids[name]}["{_escape(text)}"]')
        for name in self.names:
            lines += [f"  {ids[before]} --> {ids[name]}" for before in self.after[name]]
        return "\n".join(lines) + "\n"


def find_cycle(after: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One cycle of ``after`` (names it does not hold are left out) as a path that ends where it starts, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for before in after.get(name, ()):
            if before not in after:
                continue
            if state.get(before) == 1:
                return [*path[path.index(before) :], before]
            if before not in state and (cycle := visit(before)) is not None:
                return cycle
        state[name] = 2
        path.pop()
        return None

    for name in after:
        if name not in state and (cycle := visit(name)) is not None:
            return cycle
    return None


def _escape(text: str) -> str:
    return text.replace('"', "#quot;")
