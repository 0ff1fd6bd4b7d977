"""Input that must never crash, hang or be executed: each gets one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollgen.spec.load import load_file


def only_problem(path: Path) -> str:
    result = load_file(path)
    assert result.release is None
    assert len(result.problems) == 1, result.problems
    return str(result.problems[0])


def test_missing_file(tmp_path: Path) -> None:
    assert only_problem(tmp_path / "nope.yaml").endswith("nope.yaml:1:1: no such file")


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in only_problem(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_bytes(b"")
    assert "empty file" in only_problem(path)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"apiVersion: x\n\x00\x01\x02\xff")
    assert ":2:1: binary file" in only_problem(path)


def test_non_utf8_file_points_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("kind: Release\nmetadata: {name: caf\u00e9}\n".encode("latin-1"))
    assert ":2:21: not valid UTF-8 (byte 0xe9)" in only_problem(path)


def test_fifty_megabyte_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as stream:
        stream.write(b"a: " + b"x" * (50 * 1024 * 1024) + b"\n")
    assert "file too large (50.0 MiB" in only_problem(path)


@pytest.mark.parametrize("depth", [100, 5000, 200_000])
def test_deep_nesting(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * depth + "]" * depth + "\n")
    assert "nesting too deep" in only_problem(path)


def test_python_tags_are_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    path = tmp_path / "tag.yaml"
    path.write_text(f'apiVersion: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert "unsupported tag" in only_problem(path)
    assert not marker.exists()


def test_custom_local_tags_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "tag.yaml"
    path.write_text("kind: !Ref Release\n")
    assert "1:7: unsupported tag '!Ref'" in only_problem(path)


def test_merge_keys_are_rejected_clearly(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {a: 1}\nother:\n  <<: *b\n")
    assert ":3:3: merge keys (<<) are not supported" in only_problem(path)


def test_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "ctrl.yaml"
    path.write_bytes(b"kind: Rel\x07ease\n")
    assert "invalid YAML" in only_problem(path)
