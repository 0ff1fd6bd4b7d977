"""The ``command`` gate: a smoke test run as an argument list (never through a shell).

Exit 0 is Successful, any other exit Failed; not finishing within the timeout
is an Error (the whole process group is killed, so no grandchild lingers). The
last lines of its output go into the message. Arguments and env values may use
``{{ version }}`` and friends. ``workingDir`` is relative to the repository root,
wherever rollgen was started.

The command does not inherit rollgen's environment (which may hold the forge
token or cloud credentials): it gets only :data:`PASSED` (PATH, HOME, LANG,
LC_*, TZ, TMPDIR), the variables named in ``passEnv`` (e.g. KUBECONFIG),
``env``, and ROLLGEN_RELEASE, ROLLGEN_NAMESPACE, ROLLGEN_VERSION, ROLLGEN_STABLE,
ROLLGEN_COMMIT and ROLLGEN_STEP.

    spec: {command: ["./smoke.sh", "--target", "{{ version }}"], env: {}, passEnv: [KUBECONFIG], workingDir: "."}
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rollgen.gates.analysis import CheckResult, Phase
from rollgen.gates.kind import GateContext, GateError
from rollgen.gates.template import render

# What every command gets from rollgen's environment: enough to find programs, a home,
# the locale and time zone; nothing that could be a credential.
PASSED = ("PATH", "HOME", "LANG", "TZ", "TMPDIR")


def environment(inherited: Mapping[str, str], passed: Sequence[str]) -> dict[str, str]:
    """The part of ``inherited`` a command may see: :data:`PASSED`, ``LC_*`` and ``passed``.

    >>> environment({"PATH": "/bin", "LC_ALL": "C", "GITHUB_TOKEN": "x", "KUBECONFIG": "k"}, ["KUBECONFIG"])
    {'PATH': '/bin', 'LC_ALL': 'C', 'KUBECONFIG': 'k'}
    """
    wanted = {*PASSED, *passed}
    return {name: value for name, value in inherited.items() if name in wanted or name.startswith("LC_")}


# Enough of the output to see why a smoke test failed, little enough for a status line.
TAIL_LINES = 20
TAIL_CHARS = 2000


def tail(output: bytes) -> str:
    """The last lines of ``output``, for a message.

    >>> tail(b"\\n".join(b"line %d" % i for i in range(30)))[:14]
    '... (10 lines)'
    """
    lines = output.decode("utf-8", errors="replace").rstrip().splitlines()
    kept = "\n".join(lines[-TAIL_LINES:])[-TAIL_CHARS:]
    return kept if len(lines) <= TAIL_LINES else f"... ({len(lines) - TAIL_LINES} lines)\n{kept}"


@dataclass(frozen=True)
class Command:
    name: str = "command"
    defaults: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({"env": MappingProxyType({}), "passEnv": (), "workingDir": "."})
    )
    conditions: bool = False

    def check(self, config: Mapping[str, Any], context: GateContext) -> CheckResult:
        values = context.template_values()
        argv = [render(str(arg), values) for arg in config["command"]]
        env = environment(os.environ, config["passEnv"])
        env.update({f"ROLLGEN_{name.upper()}": value for name, value in values.items()})
        env.update({name: render(str(value), values) for name, value in config["env"].items()})
        timeout = float(config["timeout"])
        working_dir = Path(config["workingDir"])
        if not working_dir.is_absolute():
            if context.root is None:
                raise GateError("a command gate runs in a working copy of the repository, not in a bare one")
            working_dir = Path(context.root) / working_dir
        try:
            process = subprocess.Popen(
                argv,
                cwd=working_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise GateError(f"cannot run {argv[0]!r}: {error.strerror or error}") from None
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # The command leads its own session: kill the group, so grandchildren holding
            # the pipe open cannot keep communicate() waiting.
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            return CheckResult(
                Phase.ERROR, None, f"{argv[0]} did not finish within {timeout:g}s\n{tail(output)}".rstrip()
            )
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        phase = Phase.SUCCESSFUL if process.returncode == 0 else Phase.FAILED
        return CheckResult(phase, process.returncode, f"{argv[0]} exited {process.returncode}\n{tail(output)}".rstrip())


KIND = Command()
