"""Metric providers' APIs on loopback, answering in the shapes their API references document.

- :class:`FakeDatadog`: ``GET /api/v1/query`` (a ``series`` list of ``pointlist``
  pairs) and ``POST /api/v2/query/scalar`` (``data.attributes.columns``), keys in
  the ``DD-API-KEY`` and ``DD-APPLICATION-KEY`` headers.
- :class:`FakeNerdGraph`: New Relic's GraphQL endpoint, ``API-Key`` header,
  ``data.actor.account.nrql.results`` rows or GraphQL ``errors``.
- :class:`FakeCloudWatch`: ``GetMetricData`` in AWS's JSON 1.0 protocol, with the
  Signature Version 4 of every request checked (:func:`sigv4_signature`, written
  from AWS's documentation and tested on its examples, apart from botocore).

What each version measures is set by the test (``measured[version]``; None: no
data); the version is found in the query text the gate sends, as a query that
filters on ``{{ version }}`` carries it. Every server also misbehaves on demand:
``stall`` (seconds before answering), ``limited`` (the next N requests get 429
with ``Retry-After: retry_after``) and ``failure`` (a status and JSON body for
every request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
from email.message import Message
from typing import Any

from testkit.gateservers import _Quiet, _Served

DATADOG_KEYS = ("dd-api-0123456789abcdef", "dd-app-fedcba9876543210")
NEW_RELIC_KEY = "NRAK-0123456789ABCDEFGHIJ"
NEW_RELIC_ACCOUNT = 1234567
AWS_KEYS = ("AKIDROLLGENTEST0001", "rollgen/test+secret/KEY0123456789abcdefghij")


class ProviderApp(_Served):
    """The parts every fake provider shares: recording, stalling, rate limiting, failing."""

    def __init__(self) -> None:
        self.measured: dict[str, float | None] = {}
        self.stall = 0.0
        self.limited = 0
        self.retry_after: str | None = "1"
        self.failure: tuple[int, Any] | None = None
        self.requests: list[tuple[str, str, Message, bytes]] = []
        self._lock = threading.Lock()

    def fresh(self) -> ProviderApp:
        """Well-behaved again, with nothing seen: a session-wide server handed to one test."""
        self.measured.clear()
        self.stall, self.limited, self.retry_after, self.failure = 0.0, 0, "1", None
        self.requests.clear()
        return self

    def value_for(self, text: str) -> float | None:
        """What the version named in ``text`` measures (the longest version found wins: 2.1.0 over 2.1)."""
        found = sorted((v for v in self.measured if v in text), key=len, reverse=True)
        if not found:
            raise LookupError(f"no known version in {text!r}")
        return self.measured[found[0]]

    def answer(self, method: str, path: str, headers: Message, body: bytes) -> tuple[int, Any, dict[str, str]]:
        raise NotImplementedError

    def __enter__(self) -> ProviderApp:
        app = self

        class Handler(_Quiet):
            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with app._lock:
                    app.requests.append((self.command, self.path, self.headers, body))
                    limited = app.limited > 0
                    app.limited -= 1 if limited else 0
                time.sleep(app.stall)
                extra: dict[str, str] = {}
                if limited:
                    status, answer = 429, {"errors": ["Rate limit exceeded"]}
                    extra = {"Retry-After": app.retry_after} if app.retry_after is not None else {}
                elif app.failure is not None:
                    status, answer = app.failure
                else:
                    try:
                        status, answer, extra = app.answer(self.command, self.path, self.headers, body)
                    except (LookupError, ValueError) as error:
                        status, answer = 400, {"errors": [f"bad request: {error}"]}
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", extra.pop("Content-Type", "application/json"))
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = _serve

        self._start(Handler)
        return self


class FakeDatadog(ProviderApp):
    """Datadog's metrics query APIs, v1 and v2; ``grouped`` answers v2 as a ``by {host}`` query (two groups)."""

    def __init__(self) -> None:
        super().__init__()
        self.grouped = False

    def fresh(self) -> FakeDatadog:
        super().fresh()
        self.grouped = False
        return self

    def answer(self, method: str, path: str, headers: Message, body: bytes) -> tuple[int, Any, dict[str, str]]:
        if (headers.get("DD-API-KEY"), headers.get("DD-APPLICATION-KEY")) != DATADOG_KEYS:
            return 403, {"errors": ["Forbidden"]}, {}
        route, _, query = path.partition("?")
        if method == "GET" and route == "/api/v1/query":
            params = dict(urllib.parse.parse_qsl(query))
            start, end = int(params["from"]), int(params["to"])
            value = self.value_for(params["query"])
            series = [] if value is None else [_series(params["query"], start, end, value)]
            return (
                200,
                {
                    "status": "ok",
                    "res_type": "time_series",
                    "resp_version": 1,
                    "query": params["query"],
                    "from_date": start * 1000,
                    "to_date": end * 1000,
                    "series": series,
                    "group_by": [],
                    "message": "",
                    "error": "",
                },
                {},
            )
        if method == "POST" and route == "/api/v2/query/scalar":
            request = json.loads(body)["data"]
            if request["type"] != "scalar_request":
                raise ValueError("data.type must be scalar_request")
            attributes = request["attributes"]
            value = self.value_for(json.dumps(attributes["queries"]))
            name = attributes["formulas"][0]["formula"] if attributes["formulas"] else attributes["queries"][0]["name"]
            values: list[float | None] = [] if value is None else [value]
            columns: list[dict[str, Any]] = [{"name": name, "type": "number", "values": values, "meta": {"unit": None}}]
            if self.grouped:
                columns[0]["values"] = [None if value is None else value / 2, None, value]
                columns.append({"name": "host", "type": "group", "values": [["web-1"], ["web-2"], ["web-3"]]})
            return 200, {"data": {"type": "scalar_response", "attributes": {"columns": columns}}}, {}
        return 404, {"errors": ["Not found"]}, {}


def _series(query: str, start: int, end: int, value: float) -> dict[str, Any]:
    points = [[float(start * 1000), 0.0], [float((start + end) * 500), None], [float(end * 1000), value]]
    return {
        "metric": query.split("{", maxsplit=1)[0],
        "display_name": query,
        "scope": "*",
        "expression": query,
        "pointlist": points,
        "start": start * 1000,
        "end": end * 1000,
        "interval": 60,
        "length": len(points),
        "aggr": "sum",
        "unit": None,
        "tag_set": [],
        "query_index": 0,
    }


class FakeNerdGraph(ProviderApp):
    """New Relic's NerdGraph: one NRQL query per request; each row holds the value as ``errors``."""

    def __init__(self) -> None:
        super().__init__()
        self.rows = 1  # several rows: a FACET query's answer

    def fresh(self) -> FakeNerdGraph:
        super().fresh()
        self.rows = 1
        return self

    def answer(self, method: str, path: str, headers: Message, body: bytes) -> tuple[int, Any, dict[str, str]]:
        if headers.get("API-Key") != NEW_RELIC_KEY:
            return (
                200,
                {
                    "errors": [{"message": "Invalid API key", "extensions": {"errorClass": "UNAUTHORIZED"}}],
                    "data": {"actor": None},
                },
                {},
            )
        request = json.loads(body)
        variables = request["variables"]
        if "nrql(query: $query" not in request["query"] or variables["accountId"] != NEW_RELIC_ACCOUNT:
            return (
                200,
                {
                    "errors": [{"message": f"Account {variables['accountId']} is not accessible"}],
                    "data": {"actor": {"account": None}},
                },
                {},
            )
        value = self.value_for(variables["query"])
        rows = [] if value is None else [{"errors": value, "facet": f"web-{i}"} for i in range(self.rows)]
        if self.rows == 1:
            rows = [{"errors": value}] if value is not None else []
        return 200, {"data": {"actor": {"account": {"nrql": {"results": rows}}}}}, {}


class FakeCloudWatch(ProviderApp):
    """CloudWatch's GetMetricData (AWS JSON 1.0): a result per query that returns data, the value as its one point."""

    def __init__(self, region: str = "eu-west-1") -> None:
        super().__init__()
        self.region = region
        self.keys = AWS_KEYS
        self.token: str | None = None  # a session token the signature must cover

    def fresh(self) -> FakeCloudWatch:
        super().fresh()
        self.token = None
        return self

    def answer(self, method: str, path: str, headers: Message, body: bytes) -> tuple[int, Any, dict[str, str]]:
        problem = self._signature_problem(method, path, headers, body)
        if problem is not None:
            return 403, {"__type": "com.amazon.coral.service#InvalidSignatureException", "message": problem}, {}
        if headers.get("X-Amz-Target") != "GraniteServiceVersion20100801.GetMetricData":
            return 400, {"__type": "com.amazon.coral.service#UnknownOperationException"}, {}
        request = json.loads(body)
        if not request["EndTime"] > request["StartTime"]:
            return 400, _aws_error("InvalidParameterValue", "The parameter StartTime must be less than EndTime."), {}
        value = self.value_for(json.dumps(request["MetricDataQueries"]))
        results = [
            {
                "Id": q["Id"],
                "Label": q.get("Label", q["Id"]),
                "StatusCode": "Complete",
                "Timestamps": [] if value is None else [float(request["EndTime"] - 60)],
                "Values": [] if value is None else [value],
            }
            for q in request["MetricDataQueries"]
            if q.get("ReturnData", True)
        ]
        return 200, {"MetricDataResults": results, "Messages": []}, {"Content-Type": "application/x-amz-json-1.0"}

    def _signature_problem(self, method: str, path: str, headers: Message, body: bytes) -> str | None:
        found = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            headers.get("Authorization", ""),
        )
        if found is None:
            return "no AWS4-HMAC-SHA256 Authorization header"
        key, day, region, service, signed, signature = found.groups()
        if (key, region, service) != (self.keys[0], self.region, "monitoring"):
            return f"credential scope {key}/{region}/{service} is not this server's"
        if self.token is not None and headers.get("X-Amz-Security-Token") != self.token:
            return "the session token is missing"
        names = signed.split(";")
        if "host" not in names or "x-amz-date" not in names:
            return "host and x-amz-date must be signed"
        canonical = canonical_request(method, path, [(n, headers.get(n, "")) for n in names], body)
        expected = sigv4_signature(self.keys[1], headers.get("X-Amz-Date", ""), region, service, canonical)
        return (
            None
            if hmac.compare_digest(expected, signature) and headers["X-Amz-Date"][:8] == day
            else ("The request signature we calculated does not match the signature you provided.")
        )


def _aws_error(code: str, message: str) -> dict[str, str]:
    return {"__type": f"com.amazonaws.cloudwatch#{code}", "message": message}


def canonical_request(method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> str:
    """A SigV4 canonical request (paths and queries already in canonical form, as these tests send them)."""
    path, _, query = target.partition("?")
    pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    canonical_query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in pairs
    )
    canonical_headers = "".join(f"{name.lower()}:{' '.join(value.split())}\n" for name, value in headers)
    signed = ";".join(name.lower() for name, _ in headers)
    return "\n".join(
        [method, path or "/", canonical_query, canonical_headers, signed, hashlib.sha256(body).hexdigest()]
    )


def sigv4_signature(secret: str, amz_date: str, region: str, service: str, canonical: str) -> str:
    """The Signature Version 4 of a canonical request, derived as AWS's documentation spells it out."""

    def sign(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    day = amz_date[:8]
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = sign(sign(sign(sign(f"AWS4{secret}".encode(), day), region), service), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class FakeSTS(_Served):
    """AWS STS's AssumeRoleWithWebIdentity (the query protocol, an XML answer): the temporary keys of ``cloudwatch``."""

    def __init__(self, cloudwatch: FakeCloudWatch, token: str = "web-identity-session-token-0123") -> None:
        self.cloudwatch, self.token = cloudwatch, token
        self.seen: list[dict[str, str]] = []

    def __enter__(self) -> FakeSTS:
        sts = self

        class Handler(_Quiet):
            def do_POST(self) -> None:
                form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
                sts.seen.append(form)
                key, secret = sts.cloudwatch.keys
                body = (
                    '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                    "<AssumeRoleWithWebIdentityResult>"
                    "<SubjectFromWebIdentityToken>system:serviceaccount:rollgen:rollgen</SubjectFromWebIdentityToken>"
                    "<Audience>sts.amazonaws.com</Audience>"
                    f"<AssumedRoleUser><Arn>{form.get('RoleArn', '')}/{form.get('RoleSessionName', '')}</Arn>"
                    "<AssumedRoleId>AROACLKWSDQRAOEXAMPLE:rollgen</AssumedRoleId></AssumedRoleUser>"
                    f"<Credentials><SessionToken>{sts.token}</SessionToken><SecretAccessKey>{secret}</SecretAccessKey>"
                    f"<Expiration>2099-01-01T00:00:00Z</Expiration><AccessKeyId>{key}</AccessKeyId></Credentials>"
                    "<Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.example</Provider>"
                    "</AssumeRoleWithWebIdentityResult>"
                    "<ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>"
                    "</AssumeRoleWithWebIdentityResponse>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._start(Handler)
        return self
