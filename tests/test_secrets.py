"""Secrets by reference: a literal as it is, {env: NAME} and {file: PATH} read when used, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollgen.secretref import SecretRef, is_reference, secret_of
from rollgen.secrets import SecretError, Secrets
from rollgen.spec.validation import check_file
from testkit.tools import REPO_ROOT


def test_the_three_spellings() -> None:
    assert secret_of("tenant-a") == "tenant-a"
    assert secret_of({"env": "GATE_TOKEN"}) == SecretRef(env="GATE_TOKEN")
    assert secret_of({"file": "/run/secrets/key"}) == SecretRef(file="/run/secrets/key")
    assert [is_reference(v) for v in ("x", {"env": "X"}, {"file": "f"}, SecretRef(env="X"))] == [
        False,
        True,
        True,
        True,
    ]
    with pytest.raises(ValueError, match="exactly one"):
        SecretRef(env="A", file="b")
    with pytest.raises(TypeError):
        secret_of(42)


def test_a_variable_is_read_when_used_and_stripped() -> None:
    environ = {"GATE_TOKEN": "  Bearer abc\n"}
    secrets = Secrets(environ=environ)
    assert secrets.reveal(SecretRef(env="GATE_TOKEN"), "header Authorization") == "Bearer abc"
    environ["GATE_TOKEN"] = "Bearer rotated"  # read each time: a rotated token is used at once
    assert secrets.reveal(SecretRef(env="GATE_TOKEN"), "header Authorization") == "Bearer rotated"


def test_a_file_is_read_relative_to_the_base(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("dd-key\r\n")
    assert Secrets(environ={}, base=tmp_path).reveal(SecretRef(file="key"), "apiKey") == "dd-key"
    absolute = SecretRef(file=str(tmp_path / "key"))
    assert Secrets(environ={}, base=tmp_path / "elsewhere").reveal(absolute, "apiKey") == "dd-key"


def test_the_injected_reader_is_the_only_one_used() -> None:
    read: list[Path] = []
    secrets = Secrets(environ={}, read=lambda path: read.append(path) or "from-reader", base=Path("/repo"))
    assert secrets.reveal(SecretRef(file="keys/dd"), "apiKey") == "from-reader"
    assert read == [Path("/repo/keys/dd")]


@pytest.mark.parametrize(
    ("secret", "environ", "files", "message"),
    [
        (SecretRef(env="DD_API_KEY"), {}, {}, "apiKey: environment variable DD_API_KEY is not set"),
        (SecretRef(env="DD_API_KEY"), {"DD_API_KEY": " \n"}, {}, "apiKey: environment variable DD_API_KEY is empty"),
        (SecretRef(file="absent"), {}, {}, "apiKey: cannot read {tmp}/absent: No such file or directory"),
        (SecretRef(file="empty"), {}, {"empty": b"\n"}, "apiKey: {tmp}/empty is empty"),
        (SecretRef(file="binary"), {}, {"binary": b"\xff\xfe"}, "apiKey: {tmp}/binary is not UTF-8 text"),
    ],
)
def test_no_value_is_an_error_that_names_the_place_not_a_value(
    tmp_path: Path, secret: SecretRef, environ: dict[str, str], files: dict[str, bytes], message: str
) -> None:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(SecretError) as caught:
        Secrets(environ=environ, base=tmp_path).reveal(secret, "apiKey")
    assert str(caught.value) == message.format(tmp=tmp_path)


def test_the_first_place_that_has_it(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file")
    places = (SecretRef(env="GITHUB_TOKEN"), SecretRef(file="token"))
    assert Secrets(environ={"GITHUB_TOKEN": "from-env"}, base=tmp_path).first(places, "API token") == "from-env"
    assert Secrets(environ={"GITHUB_TOKEN": ""}, base=tmp_path).first(places, "API token") == "from-file"
    with pytest.raises(SecretError, match=r"^no API token found \(set \$GITHUB_TOKEN\)$"):
        Secrets(environ={}).first(places[:1], "API token")


def test_validate_refuses_a_key_written_out_without_showing_it(tmp_path: Path) -> None:
    text = (REPO_ROOT / "examples" / "datadog.yaml").read_text()
    spec = tmp_path / "release.yaml"
    spec.write_text(text.replace("apiKey: {env: DD_API_KEY}", "apiKey: dd-0123456789abcdef-literal"))
    (problem,) = check_file(spec).problems
    assert problem.message.startswith("spec.gates[1].datadog.apiKey: a secret is never written in the spec")
    assert "apiKey: {env: DD_API_KEY}" in problem.message and "dd-0123456789abcdef" not in problem.message
