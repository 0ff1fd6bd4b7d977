"""The cloudWatch gate against GetMetricData on loopback, every request's SigV4 signature checked by the server.

Credentials come from the standard AWS sources, as botocore reads them: the
environment, a shared credentials file, a web identity (through a loopback STS).
The instance metadata service is turned off: nothing here leaves loopback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from rollgen.gates.analysis import Phase
from rollgen.gates.cloudwatch import CloudWatch
from rollgen.gates.kind import GateError
from rollgen.gates.registry import config_of, measure
from testkit.gates import FakeClock, context, gate
from testkit.providerservers import AWS_KEYS, FakeCloudWatch, FakeSTS, canonical_request, sigv4_signature

QUERIES = [
    {"id": "ratio", "expression": "errors / requests", "label": "5xx ratio {{ version }}"},
    {
        "id": "errors",
        "returnData": False,
        "metricStat": {
            "metric": {
                "namespace": "AWS/ApplicationELB",
                "metricName": "HTTPCode_Target_5XX_Count",
                "dimensions": [{"name": "TargetGroup", "value": "targetgroup/web-{{ version }}/0123"}],
            },
            "period": 60,
            "stat": "Sum",
        },
    },
]


def with_keys(aws: pytest.MonkeyPatch) -> None:
    aws.setenv("AWS_ACCESS_KEY_ID", AWS_KEYS[0])
    aws.setenv("AWS_SECRET_ACCESS_KEY", AWS_KEYS[1])


def cloudwatch_gate(app: FakeCloudWatch, success: str | None = "result[0].Values[0] <= 0.01", **settings: Any) -> Any:
    config = {"region": app.region, "address": app.url, "metricDataQueries": QUERIES, **settings}
    return gate("cloudWatch", config, success_condition=success, timeout=10.0)


def test_the_signature_checks_agree_with_awss_documented_examples() -> None:
    """AWS's worked examples (IAM ListUsers in "Create a signed AWS API request", and get-vanilla of the
    Signature Version 4 test suite; AWS General Reference): the loopback server's checker is right."""
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8"), ("host", "iam.amazonaws.com"),
               ("x-amz-date", "20150830T123600Z")]  # fmt: skip
    list_users = canonical_request("GET", "/?Action=ListUsers&Version=2010-05-08", headers, b"")
    assert sigv4_signature(secret, "20150830T123600Z", "us-east-1", "iam", list_users) == (
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )
    vanilla = canonical_request(
        "GET", "/", [("host", "example.amazonaws.com"), ("x-amz-date", "20150830T123600Z")], b""
    )
    assert sigv4_signature(secret, "20150830T123600Z", "us-east-1", "service", vanilla) == (
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_a_signed_call_with_keys_from_the_environment(cloudwatch: FakeCloudWatch, aws: pytest.MonkeyPatch) -> None:
    with_keys(aws)
    cloudwatch.measured["6.5.0"] = 0.004
    clock = FakeClock(now=1_700_000_000.0)
    result = CloudWatch(clock=clock.clock).check(config_of(cloudwatch_gate(cloudwatch)), context())
    assert result.phase is Phase.SUCCESSFUL, result.message
    assert result.value == [{"Id": "ratio", "Label": "5xx ratio 6.5.0", "StatusCode": "Complete",
                             "Timestamps": [1_699_999_940.0], "Values": [0.004]}]  # fmt: skip
    method, path, headers, body = cloudwatch.requests[0]
    assert (method, path, headers["Content-Type"]) == ("POST", "/", "application/x-amz-json-1.0")
    sent = json.loads(body)
    assert (sent["StartTime"], sent["EndTime"]) == (1_699_999_700, 1_700_000_000)  # interval 5m by default
    assert sent["MetricDataQueries"][1]["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "TargetGroup", "Value": "targetgroup/web-6.5.0/0123"}
    ]
    assert AWS_KEYS[1] not in result.message and "[queries: ratio, errors]" in result.message


def test_a_bad_ratio_fails_and_no_data_point_is_no_data(cloudwatch: FakeCloudWatch, aws: pytest.MonkeyPatch) -> None:
    with_keys(aws)
    cloudwatch.measured["6.5.0"] = 0.2
    assert measure(cloudwatch_gate(cloudwatch), context()).phase is Phase.FAILED
    cloudwatch.measured["6.5.0"] = None
    result = measure(cloudwatch_gate(cloudwatch), context())
    assert result.phase is Phase.INCONCLUSIVE and "no data (no data points in the window)" in result.message


def test_a_wrong_secret_key_is_refused_by_the_signature_check(
    cloudwatch: FakeCloudWatch, aws: pytest.MonkeyPatch
) -> None:
    aws.setenv("AWS_ACCESS_KEY_ID", AWS_KEYS[0])
    aws.setenv("AWS_SECRET_ACCESS_KEY", "not/the/secret/key/0123456789")
    result = measure(cloudwatch_gate(cloudwatch), context())
    assert result.phase is Phase.ERROR and "HTTP 403 (the key is wrong or lacks a permission)" in result.message
    assert "InvalidSignatureException: The request signature we calculated does not match" in result.message
    assert "not/the/secret" not in result.message


def test_keys_from_a_shared_credentials_file_profile(
    cloudwatch: FakeCloudWatch, aws: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "aws-credentials").write_text(
        f"[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\n\n"
        f"[rollgen]\naws_access_key_id = {AWS_KEYS[0]}\naws_secret_access_key = {AWS_KEYS[1]}\n"
    )
    (tmp_path / "aws-config").write_text("[profile rollgen]\nregion = eu-west-1\n")
    aws.setenv("AWS_PROFILE", "rollgen")
    cloudwatch.measured["6.5.0"] = 0.0
    spec = gate("cloudWatch", {"address": cloudwatch.url, "metricDataQueries": QUERIES}, timeout=10.0)
    result = measure(spec, context())  # the region too comes from the profile
    assert result.phase is Phase.SUCCESSFUL, result.message


def test_keys_from_a_web_identity_carry_their_session_token(
    cloudwatch: FakeCloudWatch, aws: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text("eyJhbGciOiJSUzI1NiJ9.service-account-token.signature")
    with FakeSTS(cloudwatch) as sts:
        aws.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "token"))
        aws.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/rollgen")
        aws.setenv("AWS_ENDPOINT_URL_STS", sts.url)
        cloudwatch.token = sts.token  # the signature must cover the temporary credentials' session token
        cloudwatch.measured["6.5.0"] = 0.0
        result = measure(cloudwatch_gate(cloudwatch), context())
    assert result.phase is Phase.SUCCESSFUL, result.message
    assert (
        sts.seen[0]["Action"] == "AssumeRoleWithWebIdentity"
        and "service-account-token" in sts.seen[0]["WebIdentityToken"]
    )
    assert cloudwatch.requests[0][2]["X-Amz-Security-Token"] == sts.token


def test_no_credentials_or_no_region_is_an_error_saying_so(cloudwatch: FakeCloudWatch, aws: pytest.MonkeyPatch) -> None:
    result = measure(cloudwatch_gate(cloudwatch), context())
    assert result.phase is Phase.ERROR and "no AWS credentials found" in result.message
    with_keys(aws)
    spec = gate("cloudWatch", {"metricDataQueries": QUERIES}, timeout=10.0)
    assert "no AWS region: set cloudWatch.region, or AWS_REGION" in measure(spec, context()).message
    assert cloudwatch.requests == []


def test_without_botocore_the_error_names_the_extra(cloudwatch: FakeCloudWatch, aws: pytest.MonkeyPatch) -> None:
    with_keys(aws)
    for name in [m for m in sys.modules if m == "botocore" or m.startswith("botocore.")]:
        aws.delitem(sys.modules, name)
    aws.setitem(sys.modules, "botocore", None)  # what an environment without the extra gives: ImportError
    result = measure(cloudwatch_gate(cloudwatch), context())
    assert result.phase is Phase.ERROR
    assert "the cloudWatch gate needs botocore, which is not installed: pip install 'rollgen[aws]'" in result.message


@pytest.mark.parametrize(
    ("failure", "shown"),
    [
        ((400, {"__type": "com.amazonaws.cloudwatch#InvalidParameterValueException",
                "message": "The value errors / for parameter MetricDataQueries.member.1.Expression is not valid."}),
         "HTTP 400: InvalidParameterValueException: The value errors / for parameter"),
        ((400, {"__type": "Throttling", "message": "Rate exceeded"}), "HTTP 400: Throttling: Rate exceeded"),
        ((200, {"MetricDataResults": [{"Id": "ratio", "Values": [], "StatusCode": "InternalError",
                                       "Messages": [{"Code": "InternalError", "Value": "retry"}]}]}),
         "result 'ratio': CloudWatch says InternalError (InternalError: retry)"),
        ((200, {"MetricDataResults": [{"Id": "ratio", "Values": [True]}]}), "Values is not a list of numbers"),
    ],
)  # fmt: skip
def test_an_error_answer_is_an_error_with_what_aws_said(
    cloudwatch: FakeCloudWatch, aws: pytest.MonkeyPatch, failure: tuple[int, Any], shown: str
) -> None:
    with_keys(aws)
    cloudwatch.failure = failure
    result = measure(cloudwatch_gate(cloudwatch), context())
    assert result.phase is Phase.ERROR and shown in result.message


def test_a_rate_limit_and_a_slow_answer(cloudwatch: FakeCloudWatch, aws: pytest.MonkeyPatch) -> None:
    with_keys(aws)
    cloudwatch.measured["6.5.0"] = 0.0
    cloudwatch.limited, cloudwatch.retry_after = 1, "1"
    clock = FakeClock()
    kind = CloudWatch(clock=clock.clock)
    assert kind.check(config_of(cloudwatch_gate(cloudwatch)), context()).phase is Phase.SUCCESSFUL
    assert clock.slept == [1.0]
    cloudwatch.limited, cloudwatch.retry_after = 1, "600"
    with pytest.raises(GateError, match=r"CloudWatch rate limit \(HTTP 429\): it asks to wait 600s"):
        kind.check(config_of(cloudwatch_gate(cloudwatch)), context())
    cloudwatch.stall = 2.0
    spec = gate("cloudWatch", {**cloudwatch_gate(cloudwatch).config}, timeout=0.5)
    result = measure(spec, context())
    assert result.phase is Phase.ERROR and "no answer within 0.5s" in result.message
