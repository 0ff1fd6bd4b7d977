"""The git CLI wrapper: errors, redaction, and the long-lived object reader and tree writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollgen.gitops.errors import GitError
from rollgen.gitops.git import Git, ObjectReader, TreeEntry, TreeWriter, hide_url_credentials, parse_tree
from testkit.git import git


def test_redact_hides_url_credentials_only() -> None:
    assert (
        hide_url_credentials("https://user:pa55@host/x and ssh://git@host/y")
        == "https://***@host/x and ssh://***@host/y"
    )
    assert hide_url_credentials("plain text: no url") == "plain text: no url"


def test_error_names_the_command_and_stderr_without_credentials(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        Git(tmp_path).run("ls-remote", "http://robot:SENTINEL-SECRET@127.0.0.1:9/nothing.git")
    message = str(caught.value)
    assert "git command failed: git ls-remote http://***@127.0.0.1:9/nothing.git" in message
    assert "SENTINEL-SECRET" not in message + caught.value.stderr + " ".join(caught.value.argv)
    assert caught.value.returncode != 0


def test_environment_is_fixed_for_every_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    out = Git(tmp_path).run("var", "GIT_EDITOR", env={"GIT_EDITOR": "ed"}).text
    assert out == "ed"
    env = Git(tmp_path).env()
    assert env["LC_ALL"] == "C" and env["GIT_TERMINAL_PROMPT"] == "0"


def test_reader_and_writer_share_one_process_each(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main", "r")
    repo = tmp_path / "r"
    blob = git(repo, "hash-object", "-w", "--stdin", input=b"data with\nnewline")
    g = Git(repo)
    with TreeWriter(g) as writer, ObjectReader(g) as reader:
        sub = writer.write((TreeEntry("100644", "file with space", blob),))
        top = writer.write((TreeEntry("40000", "dir", sub), TreeEntry("100644", "a", blob)))
        assert writer.write(()) == git(repo, "hash-object", "-t", "tree", "/dev/null")
        assert reader.tree(top) == (TreeEntry("100644", "a", blob), TreeEntry("40000", "dir", sub))
        assert reader.contents(f"{top}:dir/file with space") is not None
        info = reader.info(f"{top}:dir/file with space")
        assert info is not None and (info.sha, info.type, info.size) == (blob, "blob", 17)
        assert reader.info(f"{top}:dir/absent") is None
        assert reader.tree(blob) is None  # not a tree
        with pytest.raises(ValueError):
            reader.info("a\nb")


def test_parse_tree_handles_several_entries() -> None:
    raw = b"100644 a\0" + bytes(range(20)) + b"40000 b c\0" + bytes(20)
    assert [(e.mode, e.name, e.type) for e in parse_tree(raw, hash_bytes=20)] == [
        ("100644", "a", "blob"),
        ("40000", "b c", "tree"),
    ]


def test_a_dead_process_is_an_error_not_a_hang(tmp_path: Path) -> None:
    # Outside a repository cat-file exits at once; the first question reports its stderr.
    with pytest.raises(GitError, match="not a git repository"), ObjectReader(Git(tmp_path)) as reader:
        reader.info("HEAD")
