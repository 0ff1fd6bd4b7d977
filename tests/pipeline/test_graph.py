"""The shape of a pipeline (rollgen.pipeline.graph): waves, ancestors, what an abort stops, pictures; pure."""

from __future__ import annotations

from rollgen.pipeline.graph import Graph, find_cycle

FLEET = Graph.of(
    ("dev", "eu", "us", "ap", "eu-2", "global"),
    {"us": ("dev",), "ap": ("dev",), "eu-2": ("eu",), "global": ("eu-2", "us", "ap")},
)


def test_the_default_is_the_environment_before() -> None:
    chain = Graph.of(("dev", "staging", "production"), {})
    assert chain.after == {"dev": (), "staging": ("dev",), "production": ("staging",)}
    assert chain.text() == "dev -> staging -> production"


def test_waves_group_environments_after_the_same_ones_in_the_order_versions_reach_them() -> None:
    assert FLEET.waves() == (("dev",), ("eu", "us", "ap"), ("eu-2",), ("global",))
    assert FLEET.text() == "dev -> (eu, us, ap) -> eu-2 -> global"
    assert FLEET.followers("dev") == ("eu", "us", "ap")


def test_an_abort_in_a_wave_stops_what_comes_after_any_of_it() -> None:
    # eu-2 comes after eu only, yet us and ap are eu's wave: a version aborted there does not reach eu-2.
    assert FLEET.upstream("eu-2") == {"dev", "eu", "us", "ap"}
    assert FLEET.ancestors("global") == {"dev", "eu", "us", "ap", "eu-2"}
    assert FLEET.upstream("dev") == frozenset()


def test_cycles_are_found_and_unknown_names_left_to_the_caller() -> None:
    assert find_cycle({"a": (), "b": ("a",)}) is None
    assert find_cycle({"a": ("b",), "b": ("a",)}) == ["a", "b", "a"]
    assert find_cycle({"a": ("nowhere",)}) is None


def test_the_mermaid_picture_names_every_environment_and_edge() -> None:
    picture = Graph.of(("dev", "end"), {}).mermaid({"dev": "1.1.0 completed"})
    # Node ids are positions: an environment may be named like a Mermaid keyword ("end").
    assert picture == 'flowchart LR\n  e0["dev<br/>1.1.0 completed"]\n  e1["end"]\n  e0 --> e1\n'
