"""The ``cloudWatch`` gate: a CloudWatch ``GetMetricData`` call judged by the gate's conditions, as Argo Rollouts runs it.

``metricDataQueries`` are written as Argo Rollouts takes them (``id``,
``expression``, ``label``, ``metricStat: {metric: {namespace, metricName,
dimensions}, period, stat, unit}``, ``period``, ``returnData``) and asked for over
the window ``[now - interval, now]`` (default ``5m``; not the gate's ``interval``
between measurements). ``result`` is the list of ``MetricDataResults`` as
CloudWatch returns them (``result[0].Values``, ``result[0].Label``, ...): the
names Argo Rollouts' conditions use. No result, or no data point in any, is no
data: Inconclusive unless ``failureCondition`` holds. An HTTP error (a throttled
call included), a result with ``StatusCode: InternalError`` or an answer in
another shape is an Error.

The call is AWS's JSON protocol over :func:`rollgen.web.fetch` (one bounded
request; see :mod:`rollgen.gates.metricapi`), signed with Signature Version 4
for the ``monitoring`` service. Credentials and, without ``region``, the region
come from the standard AWS sources (environment, shared credentials and config
files and profiles, web identity, container and instance roles), read by
botocore, the optional extra ``rollgen[aws]``: it is imported only when a
cloudWatch gate is checked, and without it the check is an Error naming the extra.
``address`` overrides the regional endpoint (a VPC endpoint, a test server).

    spec: {region: eu-west-1, metricDataQueries: [{id: rate, expression: "errors / requests"}, ...]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rollgen.durations import parse_duration
from rollgen.gates.analysis import CheckResult
from rollgen.gates.judge import judge
from rollgen.gates.kind import GateContext, GateError
from rollgen.gates.metricapi import Clock, ask
from rollgen.gates.template import render_strings

SERVICE = "monitoring"  # the signing name and endpoint prefix of CloudWatch metrics
TARGET = "GraniteServiceVersion20100801.GetMetricData"
EXTRA = "rollgen[aws]"


def endpoint(region: str) -> str:
    """The regional CloudWatch endpoint.

    >>> endpoint("eu-west-1"), endpoint("cn-north-1")
    ('https://monitoring.eu-west-1.amazonaws.com', 'https://monitoring.cn-north-1.amazonaws.com.cn')
    """
    return f"https://{SERVICE}.{region}.amazonaws.com" + (".cn" if region.startswith("cn-") else "")


def api_queries(queries: Any) -> Any:
    """Argo Rollouts' camelCase ``metricDataQueries`` as the API's PascalCase members.

    >>> api_queries([{"id": "e", "metricStat": {"metric": {"dimensions": [{"name": "A", "value": "b"}]}}}])
    [{'Id': 'e', 'MetricStat': {'Metric': {'Dimensions': [{'Name': 'A', 'Value': 'b'}]}}}]
    """
    if isinstance(queries, Mapping):
        return {key[:1].upper() + key[1:]: api_queries(value) for key, value in queries.items()}
    if isinstance(queries, list):
        return [api_queries(value) for value in queries]
    return queries


def value_of(answer: Any) -> tuple[list[dict[str, Any]], str | None]:
    """``result`` (the MetricDataResults) and, when no data point came back, why.

    >>> value_of({"MetricDataResults": [{"Id": "rate", "Values": [0.01], "Timestamps": [1.7e9],
    ...                                  "StatusCode": "Complete"}], "Messages": []})[1] is None
    True
    >>> value_of({"MetricDataResults": [{"Id": "rate", "Values": [], "Timestamps": []}]})[1]
    'no data points in the window'
    """
    results = answer.get("MetricDataResults") if isinstance(answer, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise GateError("the answer has no MetricDataResults list, as GetMetricData answers")
    for result in results:
        values = result.get("Values", [])
        if not isinstance(values, list) or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
            raise GateError(f"result {result.get('Id')!r}: Values is not a list of numbers")
        if result.get("StatusCode") == "InternalError":
            raise GateError(f"result {result.get('Id')!r}: CloudWatch says InternalError{_messages(result)}")
    if not results:
        return [], "no results"
    if not any(result.get("Values") for result in results):
        return results, "no data points in the window"
    return results, None


def _messages(holder: Mapping[str, Any]) -> str:
    said = [f"{m.get('Code')}: {m.get('Value')}" for m in holder.get("Messages") or () if isinstance(m, dict)]
    return f" ({'; '.join(said)[:300]})" if said else ""


def _botocore() -> Any:
    """The botocore package (the optional extra), with the modules a signed call uses."""
    try:
        import botocore.auth  # type: ignore[import-untyped]
        import botocore.awsrequest  # type: ignore[import-untyped]
        import botocore.exceptions  # type: ignore[import-untyped]
        import botocore.session  # type: ignore[import-untyped]
    except ImportError:
        raise GateError(f"the cloudWatch gate needs botocore, which is not installed: pip install '{EXTRA}'") from None
    return botocore


def _credentials(botocore: Any, region: str | None) -> tuple[Any, str]:
    """Credentials from the standard AWS sources, and the region (``region``, else AWS's own settings)."""
    session = botocore.session.Session()
    region = region or session.get_config_variable("region")
    if not region:
        raise GateError("no AWS region: set cloudWatch.region, or AWS_REGION where rollgen runs")
    try:
        credentials = session.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except botocore.exceptions.BotoCoreError as error:
        raise GateError(f"AWS credentials: {error}") from None
    if frozen is None or not frozen.access_key:
        raise GateError(
            "no AWS credentials found (environment, shared credentials file, profile, web identity, "
            "container or instance role)"
        )
    return frozen, str(region)


def _signed(botocore: Any, credentials: Any, region: str, url: str, body: bytes) -> dict[str, str]:
    """The headers of a GetMetricData call to ``url``, signed with SigV4."""
    request = botocore.awsrequest.AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TARGET, "Accept": "application/json"},
    )
    botocore.auth.SigV4Auth(credentials, SERVICE, region).add_auth(request)
    return dict(request.headers.items())


@dataclass(frozen=True)
class CloudWatch:
    name: str = "cloudWatch"
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({"interval": "5m"}))
    conditions: bool = True
    clock: Clock = field(default_factory=Clock)

    def check(self, config: Mapping[str, Any], context: GateContext) -> CheckResult:
        queries = api_queries(render_strings(config["metricDataQueries"], context.template_values()))
        now = int(self.clock.now())
        window = int(parse_duration(config["interval"]))
        body = json.dumps({"MetricDataQueries": queries, "StartTime": now - window, "EndTime": now}).encode()
        botocore = _botocore()
        credentials, region = _credentials(botocore, config.get("region"))
        url = str(config.get("address") or endpoint(region)).rstrip("/") + "/"
        headers = _signed(botocore, credentials, region, url, body)
        hidden = tuple(s for s in (credentials.secret_key, credentials.token) if s)
        answer = ask(
            "CloudWatch",
            url,
            timeout=float(config["timeout"]),
            clock=self.clock,
            method="POST",
            headers=headers,
            body=body,
            secrets=hidden,
        )
        value, missing = value_of(answer)
        judged = judge(value, config.get("successCondition"), config.get("failureCondition"), missing)
        ids = ", ".join(str(q.get("Id")) for q in queries)
        return CheckResult(judged.phase, judged.value, f"{judged.message}{_messages(answer)} [queries: {ids}]")


KIND = CloudWatch()
