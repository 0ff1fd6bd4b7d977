"""Reading and annotating objects through the Kubernetes API, for the argocd, flux and kubernetes gates.

The official ``kubernetes`` client is imported here lazily (it is heavy and
``rollgen validate`` must not pay for it). It is an extra (``rollgen[kubernetes]``,
about 150 MB with its tree) that the image and the chart install; without it a
pass over a release with such a gate is refused before it commits anything
(:func:`require_client`), and a check that gets here anyway is a GateError that
names the extra. Credentials come from the gate's
``kubeconfig``/``context``, else ``KUBECONFIG`` or ``~/.kube/config``, else the
pod's service account. Every call gets what is left of the check's timeout, and
the client's own retries are off: the analysis decides when to try again.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from rollgen.errors import UsageError
from rollgen.gates.facts import FACTS
from rollgen.gates.kind import GateError
from rollgen.gates.registry import GateSpec

EXTRA: Final = "rollgen[kubernetes]"


MISSING_CLIENT: Final = (
    "reading the cluster needs the official Kubernetes client, which this installation of rollgen lacks: "
    f"pip install '{EXTRA}' (the container image and the chart have it)"
)


def require_client(gates: Iterable[GateSpec]) -> None:
    """Refuse, before a pass commits anything, gates that read the cluster when the client is not installed.

    Without it every check of such a gate would be an Error, and a rollout
    would wait out its deadline and abort for a reason that is not the release's.
    """
    needing = [f"{g.name} ({g.kind})" for g in gates if g.kind in FACTS and FACTS[g.kind].cluster]
    # Looked up, not imported: the import takes a second.
    if needing and importlib.util.find_spec("kubernetes") is None:
        raise UsageError(f"gate{'s' if len(needing) > 1 else ''} {', '.join(needing)}: {MISSING_CLIENT}")


def kubeconfig_path(config: Mapping[str, Any]) -> str | None:
    """The kubeconfig to use, or None for in-cluster credentials."""
    if config.get("kubeconfig"):
        return str(config["kubeconfig"])
    if os.environ.get("KUBECONFIG"):
        return os.environ["KUBECONFIG"]
    default = Path.home() / ".kube" / "config"
    return str(default) if default.is_file() else None


@dataclass(frozen=True, order=True)
class Access:
    """One RBAC permission: ``verb`` on ``resource`` of API ``group`` ("" is the core group).

    Each gate module declares what it needs in ``ACCESS`` and connects with it;
    :class:`Kube` refuses any call outside it, so the chart's Role (checked
    against these declarations in the tests) grants exactly what the gates use.
    """

    group: str
    resource: str
    verb: str


class Kube:
    """A thin client over the API paths the gates read, returning objects as plain dicts."""

    def __init__(self, api: Any, deadline: float, access: Collection[Access]) -> None:
        self._api = api
        self._deadline = deadline
        self._access = frozenset(access)

    def _allow(self, group: str, resource: str, verb: str) -> None:
        if Access(group, resource, verb) not in self._access:
            raise GateError(f"{verb} {resource}.{group or 'core'} is not in the gate's declared ACCESS")

    def _timeout(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise GateError("the Kubernetes API did not answer within the gate's timeout")
        return left

    def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError, NewConnectionError
        from urllib3.exceptions import TimeoutError as Urllib3Timeout

        try:
            response = method(*args, _request_timeout=self._timeout(), _preload_content=False, **kwargs)
            return json.loads(response.data)
        except ApiException as error:
            if error.status == 404:
                return None
            raise GateError(f"{what}: HTTP {error.status} {error.reason}: {_status_message(error.body)}") from None
        except (HTTPError, OSError) as error:
            host = getattr(self._api.configuration, "host", "?")
            reason = getattr(error, "reason", None) or error  # urllib3 wraps the cause in MaxRetryError
            # NewConnectionError subclasses urllib3's TimeoutError, yet a refusal is no timeout.
            if isinstance(reason, (Urllib3Timeout, TimeoutError)) and not isinstance(reason, NewConnectionError):
                raise GateError(
                    f"{what}: the Kubernetes API at {host} did not answer within the gate's timeout"
                ) from None
            raise GateError(f"{what}: cannot reach the Kubernetes API at {host}: {reason}") from None
        except ValueError as error:
            raise GateError(f"{what}: the Kubernetes API answered with something that is not JSON ({error})") from None

    def custom_object(self, group: str, version: str, namespace: str, plural: str, name: str) -> dict[str, Any] | None:
        """The object, or None if it does not exist."""
        from kubernetes.client import CustomObjectsApi

        self._allow(group, plural, "get")
        what = f"reading {plural}.{group} {namespace}/{name}"
        got: dict[str, Any] | None = self._call(
            what, CustomObjectsApi(self._api).get_namespaced_custom_object, group, version, namespace, plural, name
        )
        return got

    def annotate_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, annotations: Mapping[str, str]
    ) -> None:
        from kubernetes.client import CustomObjectsApi

        self._allow(group, plural, "patch")
        what = f"annotating {plural}.{group} {namespace}/{name}"
        patch = {"metadata": {"annotations": dict(annotations)}}
        got = self._call(
            what,
            CustomObjectsApi(self._api).patch_namespaced_custom_object,
            group,
            version,
            namespace,
            plural,
            name,
            patch,
            _content_type="application/merge-patch+json",
        )
        if got is None:
            raise GateError(f"{what}: not found")

    def deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        from kubernetes.client import AppsV1Api

        self._allow("apps", "deployments", "get")
        what = f"reading Deployment {namespace}/{name}"
        got: dict[str, Any] | None = self._call(what, AppsV1Api(self._api).read_namespaced_deployment, name, namespace)
        return got

    def pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        from kubernetes.client import CoreV1Api

        self._allow("", "pods", "list")
        what = f"listing pods in {namespace} with {label_selector}"
        got = self._call(what, CoreV1Api(self._api).list_namespaced_pod, namespace, label_selector=label_selector)
        if got is None:
            raise GateError(f"{what}: not found")
        return list(got.get("items") or [])


def _status_message(body: Any) -> str:
    try:
        return str(json.loads(body)["message"])
    except (ValueError, TypeError, KeyError):
        return str(body)[:200]


@contextmanager
def connect(config: Mapping[str, Any], access: Collection[Access]) -> Iterator[Kube]:
    """A :class:`Kube` for the gate's cluster, good for ``config['timeout']`` seconds, limited to ``access``."""
    try:
        from kubernetes import client
        from kubernetes import config as kubeconfig
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        raise GateError(MISSING_CLIENT) from None

    deadline = time.monotonic() + float(config["timeout"])
    configuration = client.Configuration()
    path = kubeconfig_path(config)
    try:
        if path is None:
            kubeconfig.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            kubeconfig.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=path,
                context=config.get("context"),
                client_configuration=configuration,
                persist_config=False,
            )
    except (ConfigException, OSError, ValueError) as error:
        where = "in-cluster credentials" if path is None else f"kubeconfig {path}"
        raise GateError(f"cannot load {where}: {error}") from None
    configuration.retries = 0
    with client.ApiClient(configuration) as api:
        yield Kube(api, deadline, access)
