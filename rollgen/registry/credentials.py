"""Registry credentials: the environment first, then the Docker config file.

- ``ROLLGEN_REGISTRY_USERNAME`` and ``ROLLGEN_REGISTRY_PASSWORD`` (a password
  or token), sent only to the registry named by ``ROLLGEN_REGISTRY_HOST``
  (``host[:port]``, required with them) and the token service it points to;
- ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``):
  ``credHelpers[host]``, else ``auths[host]`` (``auth``, base64 of
  ``user:password``, or ``username``/``password``), else ``credsStore``.
  A helper is the program ``docker-credential-<name>`` on PATH, run with the
  argument ``get`` and the host on its standard input (never a shell).

A secret lives only in :class:`Credentials`, whose ``repr`` hides it; no
message rollgen prints contains it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollgen.errors import RollgenError, UsageError

ENV_HOST = "ROLLGEN_REGISTRY_HOST"
ENV_USERNAME = "ROLLGEN_REGISTRY_USERNAME"
ENV_PASSWORD = "ROLLGEN_REGISTRY_PASSWORD"
_HELPER_TIMEOUT = 30.0
_DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io", "docker.io")


@dataclass(frozen=True)
class Credentials:
    """A user name and a password or token for one registry."""

    username: str
    password: str = field(repr=False)

    def basic(self) -> str:
        """The value of an ``Authorization: Basic`` header."""
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def lookup(host: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials for ``host`` (``registry[:port]``), or None to ask anonymously."""
    env = os.environ if env is None else env
    username, password = env.get(ENV_USERNAME), env.get(ENV_PASSWORD)
    if username or password:
        if not (username and password and env.get(ENV_HOST)):
            raise UsageError(f"set {ENV_HOST}, {ENV_USERNAME} and {ENV_PASSWORD} together (or none of them)")
        if env[ENV_HOST] == host:
            return Credentials(username, password)
    config = _docker_config(env)
    if config is None:
        return None
    helpers = config.get("credHelpers") or {}
    for key in _keys(host):
        if isinstance(helpers.get(key), str):
            return _from_helper(helpers[key], host, required=True)
    auths = config.get("auths") or {}
    for key, entry in auths.items():
        if isinstance(entry, dict) and _normalize(key) in _keys(host):
            found = _from_auth_entry(entry, host)
            if found is not None:
                return found
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        return _from_helper(store, host, required=False)
    return None


def _keys(host: str) -> tuple[str, ...]:
    return _DOCKER_HUB_KEYS if host in _DOCKER_HUB_KEYS else (host,)


def _normalize(key: str) -> str:
    """``https://index.docker.io/v1/`` stays (Docker Hub's key); ``https://host:5000/`` -> ``host:5000``."""
    if key in _DOCKER_HUB_KEYS:
        return key
    bare = key.split("://", 1)[-1]
    return bare.split("/", 1)[0]


def _docker_config(env: Mapping[str, str]) -> dict[str, Any] | None:
    directory = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else Path(env.get("HOME", "~")) / ".docker"
    path = directory.expanduser() / "config.json"
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the Docker config {path}: {type(exc).__name__}; fix or remove it") from None
    if not isinstance(data, dict):
        raise UsageError(f"the Docker config {path} is not a JSON object; fix or remove it")
    return data


def _from_auth_entry(entry: Mapping[str, Any], host: str) -> Credentials | None:
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            username, sep, password = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            sep = ""
        if not sep:
            raise UsageError(f"the Docker config's auth for {host} is not base64 of user:password; log in again")
        return Credentials(username, password)
    if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        return Credentials(entry["username"], entry["password"])
    return None


def _from_helper(name: str, host: str, *, required: bool) -> Credentials | None:
    program = shutil.which(f"docker-credential-{name}")
    if program is None:
        if required:
            raise UsageError(
                f"the Docker config names credential helper docker-credential-{name} for {host}, "
                "but it is not on PATH; install it or remove it from credHelpers"
            )
        return None
    try:
        result = subprocess.run(
            [program, "get"], input=host.encode(), capture_output=True, timeout=_HELPER_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RollgenError(
            f"credential helper docker-credential-{name} failed for {host}: {type(exc).__name__}"
        ) from None
    if result.returncode != 0:
        # Helpers answer "credentials not found" with a failure: ask anonymously then.
        return None
    try:
        data = json.loads(result.stdout)
        username, secret = data["Username"], data["Secret"]
    except (ValueError, KeyError, TypeError):
        raise RollgenError(f"credential helper docker-credential-{name} gave no Username/Secret for {host}") from None
    if not isinstance(username, str) or not isinstance(secret, str) or not secret:
        return None
    return Credentials(username, secret)
