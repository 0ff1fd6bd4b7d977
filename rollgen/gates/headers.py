"""A gate's request headers as the spec gives them: literals templated, references read when sent.

    >>> from rollgen.secrets import Secrets
    >>> secrets = Secrets(environ={"GATE_TOKEN": "Bearer abc-123"})
    >>> request_headers({"Authorization": {"env": "GATE_TOKEN"}, "X-Scope-OrgID": "{{ namespace }}"},
    ...                 {"namespace": "prod"}, secrets)
    ({'Authorization': 'Bearer abc-123', 'X-Scope-OrgID': 'prod'}, ('Bearer abc-123',))

A value read from a reference is sent as it is (never templated: a secret is not
a template) and comes back among the values every message is redacted of.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollgen.gates.template import render
from rollgen.secrets import Secrets, is_reference, secret_of


def request_headers(
    given: Mapping[str, Any], values: Mapping[str, str], secrets: Secrets
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The headers to send, and the secret values among them."""
    headers: dict[str, str] = {}
    hidden: list[str] = []
    for name, value in given.items():
        if is_reference(value):
            headers[name] = secrets.reveal(secret_of(value), f"header {name}")
            hidden.append(headers[name])
        else:
            headers[name] = render(str(value), values)
    return headers, tuple(hidden)
