"""A gate's request headers as the spec gives them: literals templated, references read when sent.

    >>> from rollgen.secrets import Secrets
    >>> secrets = Secrets(environ={"GATE_TOKEN": "Bearer abc-123"})
    >>> request_headers({"Authorization": {"env": "GATE_TOKEN"}, "X-Scope-OrgID": "{{ namespace }}"},
    ...                 {"namespace": "prod"}, secrets)
    {'Authorization': 'Bearer abc-123', 'X-Scope-OrgID': 'prod'}

A value read from a reference is sent as it is (never templated: a secret is not
a template). Every header value, read or written out, is kept out of the check's
messages and values (:func:`hidden`): a literal token from before references
existed is a secret too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from rollgen.errors import RollgenError
from rollgen.gates.analysis import CheckResult
from rollgen.gates.kind import GateError
from rollgen.gates.template import render
from rollgen.redact import redact
from rollgen.secretref import is_reference, secret_of
from rollgen.secrets import Secrets


def request_headers(given: Mapping[str, Any], values: Mapping[str, str], secrets: Secrets) -> dict[str, str]:
    """The headers to send: each literal templated, each reference read."""
    return {
        name: secrets.reveal(secret_of(value), f"header {name}") if is_reference(value) else render(str(value), values)
        for name, value in given.items()
    }


@contextlib.contextmanager
def hidden(secrets: tuple[str, ...]) -> Iterator[Callable[[CheckResult], CheckResult]]:
    """A check's result, and any error raised within, with ``secrets`` out of the message and a text value.

    The value is kept in the git notes: an answer that echoed a secret must not carry it there.
    """

    def hide(result: CheckResult) -> CheckResult:
        value = redact(result.value, secrets=secrets) if isinstance(result.value, str) else result.value
        return CheckResult(result.phase, value, redact(result.message, secrets=secrets))

    try:
        yield hide
    except RollgenError as error:  # an unreachable server, a template, a broken answer: all an Error alike
        raise GateError(redact(str(error), secrets=secrets)) from None
