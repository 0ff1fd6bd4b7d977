"""Secrets by reference: a value written in the spec, or where to read it when it is used.

A field that may carry a secret (a gate's header, a provider's key, the forge
token, a webhook URL) holds a literal string or a reference, ``{env: NAME}`` (an
environment variable) or ``{file: PATH}`` (a file, such as a mounted Kubernetes
Secret). The spec, the plan, the notes and every message hold the reference,
never the value: :meth:`Secrets.reveal` reads it at the moment it is sent.

Pure: the environment and the file reader are given (:meth:`Secrets.of_process`
gives the process's own), so resolution is tested without touching either.

    >>> from rollgen.secretref import secret_of
    >>> secrets = Secrets(environ={"GATE_TOKEN": "Bearer abc\\n"}, read=lambda path: "")
    >>> secrets.reveal(secret_of({"env": "GATE_TOKEN"}), "header Authorization")
    'Bearer abc'
    >>> secrets.reveal(secret_of("tenant-a"), "header X-Scope-OrgID")
    'tenant-a'
    >>> secrets.reveal(SecretRef(env="UNSET"), "apiKey")
    Traceback (most recent call last):
    ...
    rollgen.secrets.SecretError: apiKey: environment variable UNSET is not set

What is read is stripped of surrounding whitespace: a file written by ``echo``
or a Secret mounted from ``kubectl create secret --from-file`` ends in a line
break that belongs to no key.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rollgen.errors import RollgenError
from rollgen.secretref import Secret, SecretRef


class SecretError(RollgenError):
    """A reference that gives no value: the variable is unset or empty, the file unreadable or empty."""


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@dataclass(frozen=True, kw_only=True)
class Secrets:
    """Where references are read: an environment, a file reader, and the directory relative paths start from."""

    environ: Mapping[str, str]
    read: Callable[[Path], str] = field(default=_read_text)
    base: Path | None = None
    """Where a relative ``file`` is found (None: the working directory)."""

    @classmethod
    def of_process(cls, base: Path | str | None = None) -> Secrets:
        """The process's environment and files: what a gate, the forge and the notifier read at run time."""
        return cls(environ=os.environ, base=None if base is None else Path(base))

    def reveal(self, secret: Secret, what: str) -> str:
        """The value of ``secret``; SecretError naming ``what`` and the reference (never a value) when there is none."""
        if isinstance(secret, str):
            return secret
        if secret.env is not None:
            if secret.env not in self.environ:
                raise SecretError(f"{what}: environment variable {secret.env} is not set")
            value = self.environ[secret.env].strip()
            if not value:
                raise SecretError(f"{what}: environment variable {secret.env} is empty")
            return value
        assert secret.file is not None
        path = Path(secret.file) if self.base is None else self.base / secret.file
        try:
            value = self.read(path).strip()
        except OSError as error:
            raise SecretError(f"{what}: cannot read {path}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise SecretError(f"{what}: {path} is not UTF-8 text") from None
        if not value:
            raise SecretError(f"{what}: {path} is empty")
        return value

    def first(self, places: Sequence[SecretRef], what: str) -> str:
        """The value at the first of ``places`` that has one: an unset variable is passed over, a file is not.

        For a setting read from a variable *else* a file (the forge token's
        ``tokenEnv``/``tokenFile``); SecretError naming every place when none has it.
        """
        for place in places:
            if place.env is not None and not self.environ.get(place.env, "").strip():
                continue
            return self.reveal(place, what)
        raise SecretError(f"no {what} found (set {' or '.join(map(str, places)) or 'one'})")
