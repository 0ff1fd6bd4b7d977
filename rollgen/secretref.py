"""A secret as a spec gives it: a literal, or where to read it (``{env: NAME}``, ``{file: PATH}``). Pure values.

The spec model holds these; :mod:`rollgen.secrets` reads a reference when it is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias


@dataclass(frozen=True, kw_only=True)
class SecretRef:
    """Where a secret is read: exactly one of an environment variable or a file.

    Its text names the place, never the value, so it may go in any message:

    >>> str(SecretRef(env="DD_API_KEY")), str(SecretRef(file="/run/secrets/key"))
    ('$DD_API_KEY', '/run/secrets/key')
    """

    env: str | None = None
    file: str | None = None

    def __post_init__(self) -> None:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret reference names exactly one of env or file")

    def __str__(self) -> str:
        return f"${self.env}" if self.env is not None else str(self.file)


Secret: TypeAlias = str | SecretRef
"""A value as the spec gives it: written out (a literal) or by reference."""


def secret_of(data: Any) -> Secret:
    """The secret the spec's ``data`` stands for: a string as it is, ``{env: NAME}`` or ``{file: PATH}``.

    The schema has checked the shape; anything else is a bug, not user input.
    """
    if isinstance(data, str):
        return data
    if isinstance(data, SecretRef):
        return data
    if isinstance(data, Mapping) and len(data) == 1 and ("env" in data or "file" in data):
        return SecretRef(env=data.get("env"), file=data.get("file"))
    raise TypeError(f"not a secret: a string, {{env: NAME}} or {{file: PATH}} (got a {type(data).__name__})")


def is_reference(data: Any) -> bool:
    """Whether ``data`` is a reference (``{env: ...}``/``{file: ...}``) rather than a literal."""
    return isinstance(data, SecretRef) or (isinstance(data, Mapping) and bool({"env", "file"} & set(data)))
